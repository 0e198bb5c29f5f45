#include "common_options.h"

#include <cmath>
#include <filesystem>
#include <iostream>

#include "contents_option.h"
#include "heapwalk/error.h"
#include "heapwalk/report/format.h"
#include "huge_pages.h"

namespace heapwalk::cli {

namespace po = boost::program_options;

namespace {

const char* format_name(OutputFormat f) {
  switch (f) {
    case OutputFormat::kText: return "text";
    case OutputFormat::kJson: return "json";
    case OutputFormat::kDot: return "dot";
  }
  return "?";
}

}  // namespace

VerbParser::VerbParser(std::string verb, std::string usage, std::vector<OutputFormat> formats)
    : verb_(std::move(verb)),
      usage_(std::move(usage)),
      formats_(std::move(formats)),
      desc_("Options") {
  std::string choices;
  for (OutputFormat f : formats_)
    choices += (choices.empty() ? "" : "|") + std::string(format_name(f));
  desc_.add_options()("help,h", "show this help")("format",
                                                  po::value(&format_text_)->default_value("text"),
                                                  ("output format: " + choices).c_str())(
      "max-decompressed", po::value(&max_decompressed_text_),
      "refuse zstd input that decompresses to more than SIZE (default: physical memory)")(
      "allow-truncated", "analyse a dump that was cut short (what is missing is reported)")(
      "max-memory", po::value(&max_memory_text_),
      "refuse, before using it, input whose analysis needs more than SIZE of memory")(
      "binary", po::value(&binary_text_),
      "the program's executable (ELF): names globals and types from its symbols")(
      "no-cache", "neither read nor write the analysis cache (also HEAPWALK_NO_CACHE=1)")(
      "cache-dir", po::value(&cache_dir_text_),
      "where the analysis cache lives (default $HEAPWALK_CACHE_DIR, else ~/.cache/heapwalk)");
}

bool VerbParser::parse(const std::vector<std::string>& args, CommonOptions& out, size_t min_files,
                       size_t max_files) {
  po::options_description all;
  all.add(desc_);
  all.add_options()("file", po::value(&out.files));
  po::positional_options_description positional;
  positional.add("file", -1);
  // allow_bare options: "--name" and "--name=VALUE" are taken here, before
  // Boost's parser could take the next word as the value.
  auto bare = [this](const std::string& word) -> std::pair<std::string, std::string> {
    for (const auto& [name, implicit] : bare_) {
      const std::string flag = "--" + name;
      if (word == flag) return {name, implicit};
      // Boost would read an empty value as "take the next word".
      if (word == flag + "=")
        throw UsageError(verb_ + ": " + flag + "= needs a value after the '='");
      if (word.rfind(flag + "=", 0) == 0) return {name, word.substr(flag.size() + 1)};
    }
    return {};
  };
  // "--show-contents 128 FILE" would make 128 a FILE: say what to write.
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    const std::string& next = args[i + 1];
    const bool number = !next.empty() && next.size() <= 20 &&
                        next.find_first_not_of("0123456789") == std::string::npos;
    for (const auto& [name, implicit] : bare_)
      if (args[i] == "--" + name && number && !std::filesystem::exists(next))
        throw UsageError(verb_ + ": write --" + name + "=" + next + " (after a blank, '" + next +
                         "' would be a FILE)");
  }
  try {
    po::store(
        po::command_line_parser(args).options(all).positional(positional).extra_parser(bare).run(),
        vm_);
    po::notify(vm_);
  } catch (const po::error& e) {
    throw UsageError(verb_ + ": " + e.what());
  }
  if (vm_.count("help")) {
    std::cout << "usage: heapwalk " << verb_ << " " << usage_ << "\n\n" << desc_ << "\n";
    out.help = true;
    return false;
  }
  bool known = false;
  for (OutputFormat f : formats_) {
    if (format_text_ == format_name(f)) {
      out.format = f;
      known = true;
    }
  }
  if (!known) throw UsageError(verb_ + ": unknown --format '" + format_text_ + "'");
  if (!max_decompressed_text_.empty())
    out.load.input.max_decompressed_bytes = parse_size(max_decompressed_text_);
  if (!max_memory_text_.empty()) out.load.max_memory = parse_size(max_memory_text_);
  out.load.read.allow_truncated = vm_.count("allow-truncated") > 0;
  out.load.show_progress = true;  // only ever drawn on a terminal
  // The analysis cache is on unless asked otherwise (cache/analysis_cache.h).
  out.load.cache.enabled = vm_.count("no-cache") == 0;
  out.load.cache.directory = cache_dir_text_;
  out.binary = binary_text_;
  if (out.files.size() < min_files || out.files.size() > max_files)
    throw UsageError(
        verb_ + ": expected " +
        (min_files == max_files ? std::to_string(min_files)
                                : std::to_string(min_files) + " to " + std::to_string(max_files)) +
        " FILE argument" + (max_files == 1 ? "" : "s") + ", got " +
        std::to_string(out.files.size()) + " (usage: heapwalk " + verb_ + " " + usage_ + ")");
  use_huge_pages_for(out.files);  // may re-execute heapwalk (huge_pages.h)
  return true;
}

void VerbParser::allow_bare(const std::string& name, const std::string& implicit) {
  bare_.emplace_back(name, implicit);
}

std::unique_ptr<ElfSymbols> open_binary(const CommonOptions& options, const Snapshot& snapshot,
                                        std::ostream& warnings) {
  if (options.binary.empty()) return nullptr;
  auto binary = std::make_unique<ElfSymbols>(ElfSymbols::open(options.binary));
  BinaryMatch match = match_binary(snapshot, *binary);
  for (const std::string& w : match.warnings)
    warnings << "heapwalk: warning: " << report::safe_text(w) << "\n";
  if (!match.layout_matches) return nullptr;
  return binary;
}

int print_result(OutputFormat format, const report::Json& j,
                 void (*render)(const report::Json&, std::ostream&)) {
  announce_sensitive(j, format, std::cout, std::cerr);
  if (format == OutputFormat::kJson)
    std::cout << report::to_text(j);
  else
    render(j, std::cout);
  return kExitOk;
}

uint64_t parse_size(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw UsageError("not a size: '" + text + "' (examples: 4096, 64KiB, 512MiB, 1.5GB)");
  }
  std::string unit = text.substr(used);
  static const struct {
    const char* name;
    double factor;
  } kUnits[] = {{"", 1},
                {"B", 1},
                {"KiB", 1024.0},
                {"MiB", 1048576.0},
                {"GiB", 1073741824.0},
                {"TiB", 1099511627776.0},
                {"KB", 1e3},
                {"MB", 1e6},
                {"GB", 1e9},
                {"TB", 1e12},
                {"K", 1024.0},
                {"M", 1048576.0},
                {"G", 1073741824.0}};
  for (const auto& u : kUnits) {
    if (unit == u.name) {
      double bytes = value * u.factor;
      if (!(bytes >= 0) || bytes > 1.8e19) throw UsageError("size out of range: '" + text + "'");
      return static_cast<uint64_t>(std::llround(bytes));
    }
  }
  throw UsageError("unknown size unit in '" + text +
                   "' (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)");
}

}  // namespace heapwalk::cli

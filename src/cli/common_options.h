// Options every verb that reads a dump shares, and their parsing with
// Boost.Program_options, so that all verbs spell them the same way.
#pragma once

#include <boost/program_options.hpp>
#include <iosfwd>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "heapwalk/report/json.h"
#include "heapwalk/snapshot.h"
#include "heapwalk/symbols/elf_symbols.h"

namespace heapwalk::cli {

enum class OutputFormat { kText, kJson, kDot };

struct CommonOptions {
  std::vector<std::string> files;
  OutputFormat format = OutputFormat::kText;
  LoadOptions load;
  bool help = false;
  std::string binary;  // --binary EXE: the program's executable ("" = none)
};

// Adds --format, --max-decompressed, --max-memory, --allow-truncated, --binary, --no-cache,
// --cache-dir and --help to
// `desc` and declares FILE as the positional argument(s).
class VerbParser {
 public:
  VerbParser(std::string verb, std::string usage,
             std::vector<OutputFormat> formats = {OutputFormat::kText, OutputFormat::kJson});
  boost::program_options::options_description& options() { return desc_; }
  // Parses args; on --help prints usage and returns false (the verb exits 0).
  // Throws UsageError for unknown options, bad values or a wrong file count.
  bool parse(const std::vector<std::string>& args, CommonOptions& out, size_t min_files = 1,
             size_t max_files = 1);
  boost::program_options::variables_map& values() { return vm_; }
  // Lets option `name` (already added, taking a value) also be given bare,
  // `--name`, meaning `--name=implicit`; its value then only ever comes after
  // '=' so that `--name FILE` leaves FILE a positional argument (Boost's own
  // implicit_value would take FILE as the value).
  void allow_bare(const std::string& name, const std::string& implicit);

 private:
  std::string verb_, usage_;
  std::vector<OutputFormat> formats_;
  boost::program_options::options_description desc_;
  boost::program_options::variables_map vm_;
  std::string format_text_, max_decompressed_text_, max_memory_text_, binary_text_, cache_dir_text_;
  std::vector<std::pair<std::string, std::string>> bare_;  // allow_bare: (name, implicit)
};

// The --binary executable, checked against the dump: nullptr without
// --binary, or (after a warning) when it does not match the dump's layout.
// Every mismatch (Go version, layout, stripped) is one "heapwalk: warning:"
// line on `warnings`. Throws InputError when the file is not a usable ELF.
std::unique_ptr<ElfSymbols> open_binary(const CommonOptions& options, const Snapshot& snapshot,
                                        std::ostream& warnings);

// Writes a verb's result to stdout: the JSON itself for --format json, else
// the text `render` makes of it (verbs build JSON first so text and JSON can
// never disagree), after the sensitive-output banner when the JSON is marked
// sensitive (contents_option.h). Returns kExitOk.
int print_result(OutputFormat format, const report::Json& j,
                 void (*render)(const report::Json&, std::ostream&));

// Parses "512MiB", "1.5GB", "4096": bytes. Throws UsageError.
uint64_t parse_size(const std::string& text);

}  // namespace heapwalk::cli

// `heapwalk unreachable FILE [--by type|site|size] [--limit N] [--format text|json]`:
// what the next collection would free, grouped by label (type, else
// allocation site, else slot size: passes/labels.h), by allocation site, or
// by slot size; largest total first.
//
// Unreachable means "not marked by Go's mark" (passes/mark.h). Phantom records
// (Go 1.22+ span bitmaps written as objects) are never garbage and are shown
// apart. Objects that carry a finalizer are unreachable too but are not freed
// by the next collection: it queues their finalizer instead; that share is
// shown so that the total is not mistaken for memory returned at once.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/symbols/elf_symbols.h"
#include "heapwalk/truncation.h"
#include "src/cli/common_options.h"
#include "src/cli/verb.h"

namespace heapwalk::cli {
namespace {

struct Group {
  std::string label;  // display label, or "N B" when grouping by size
  uint64_t size = 0;  // the slot size when grouping by size
  uint64_t count = 0, bytes = 0;
};

constexpr const char* kPhantomExplanation =
    "Go 1.22+ writes the heap bitmap at the end of small pointerful spans as object records; "
    "they are not Go objects, nothing points to them, and they are not counted as garbage";

// Roots the dump format has no record for: objects kept only by them are
// live in the process yet unreachable here.
std::vector<std::string> caveats(const GoVersion& version) {
  std::vector<std::string> out;
  if (version.at_least(1, 23)) {
    out.push_back(
        "Go 1.23+: weak handles (package unique, package weak) are roots the dump does not "
        "record; some objects that look unreachable may be kept by them");
  }
  if (version.at_least(1, 24)) {
    out.push_back(
        "Go 1.24+: cleanups (runtime.AddCleanup; every *os.File from Go 1.25) are roots the dump "
        "does not record; an object a cleanup's closure captures looks unreachable here but is "
        "never freed");
  }
  return out;
}

}  // namespace

int run_unreachable(const std::vector<std::string>& args) {
  VerbParser parser("unreachable",
                    "[--by type|site|size] [--limit N] [options] FILE\n"
                    "What the next garbage collection would free, largest groups first.");
  uint64_t limit = 20;
  std::string by = "type";
  parser.options().add_options()(
      "by", boost::program_options::value(&by)->default_value("type"),
      "group by type (the best label: type, else allocation site, else size), site or size")(
      "limit", boost::program_options::value<uint64_t>(&limit)->default_value(20),
      "show the N groups with the most bytes (0: all)");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  if (by != "type" && by != "site" && by != "size")
    throw UsageError("unreachable: unknown --by '" + by + "' (type, site or size)");

  const Snapshot snapshot = load_snapshot(options.files.front(), options.load);
  require_roots(snapshot.facts(), options.files.front(), "unreachable",
                "histogram --all gives sizes");
  std::unique_ptr<ElfSymbols> binary = open_binary(options, snapshot, std::cerr);
  const MarkResult full = mark(snapshot);
  const FinalizerAnalysis finalizers =
      analyze_finalizers(snapshot, full, mark(snapshot, kMaskWithoutFinalizers));
  Labels labels;
  if (by != "size") labels = labels_of(snapshot, binary.get());

  std::map<std::string, Group> by_key;
  for (ObjectId v = 1; v < snapshot.vertex_count(); ++v) {
    if (full.is_live(v) || snapshot.is_phantom(v)) continue;
    std::string key;
    if (by == "size") {
      char padded[24];  // zero-padded so that the map orders sizes numerically
      std::snprintf(padded, sizeof padded, "%020llu",
                    static_cast<unsigned long long>(snapshot.size(v)));
      key = padded;
    } else if (by == "site" && labels.site(v)) {
      key = labels.site(v)->label();
    } else {
      key = labels.label(snapshot, v);
    }
    Group& g = by_key[key];
    if (g.count == 0) {
      g.size = by == "size" ? snapshot.size(v) : 0;
      g.label = by == "size" ? report::count(g.size) + " B" : key;
    }
    ++g.count;
    g.bytes += snapshot.size(v);
  }
  std::vector<Group> groups;
  groups.reserve(by_key.size());
  for (auto& [key, g] : by_key) groups.push_back(std::move(g));
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.size > b.size;
  });
  const size_t shown = limit == 0 ? groups.size() : std::min<size_t>(groups.size(), limit);
  Group rest;
  for (size_t i = shown; i < groups.size(); ++i) {
    ++rest.size;  // number of groups left out
    rest.count += groups[i].count;
    rest.bytes += groups[i].bytes;
  }
  const std::vector<std::string> notes = caveats(snapshot.go_version());
  const uint64_t total_bytes = full.live_bytes + full.unreachable_bytes;

  if (options.format == OutputFormat::kJson) {
    report::Json json;
    json["schema"] = report::kJsonSchema;
    json["file"] = options.files.front();
    json["go_version"] = snapshot.facts().params.go_version;
    json["unreachable"] = {{"objects", full.unreachable_objects},
                           {"bytes", full.unreachable_bytes}};
    json["live"] = {{"objects", full.live_objects}, {"bytes", full.live_bytes}};
    json["finalizer_pending"] = {{"objects", finalizers.pending.objects},
                                 {"bytes", finalizers.pending.bytes}};
    json["by"] = by;
    report::Json list = report::Json::array();
    for (size_t i = 0; i < shown; ++i) {
      report::Json row;
      if (by == "size")
        row["size"] = groups[i].size;
      else
        row["label"] = groups[i].label;
      row["count"] = groups[i].count;
      row["bytes"] = groups[i].bytes;
      list.push_back(std::move(row));
    }
    json["groups"] = std::move(list);
    json["groups_omitted"] = {{"groups", rest.size}, {"count", rest.count}, {"bytes", rest.bytes}};
    json["span_bitmap_records"] = {{"objects", snapshot.phantom_count()},
                                   {"bytes", snapshot.phantom_bytes()},
                                   {"explanation", kPhantomExplanation}};
    json["caveats"] = notes;
    std::cout << report::to_text(json) << "\n";
    return kExitOk;
  }

  using report::bytes_human;
  using report::count;
  std::cout << "Unreachable in " << report::safe_text(options.files.front()) << " ("
            << report::safe_text(snapshot.facts().params.go_version)
            << "): " << count(full.unreachable_objects) << " objects, "
            << bytes_human(full.unreachable_bytes) << " ("
            << report::percent(full.unreachable_bytes, total_bytes) << " of the heap's "
            << bytes_human(total_bytes) << ")\n";
  if (finalizers.pending.objects > 0) {
    std::cout << "  of which " << count(finalizers.pending.objects) << " objects, "
              << bytes_human(finalizers.pending.bytes)
              << ", have a finalizer: the next collection queues it instead of freeing them\n";
  }
  if (!groups.empty()) {
    // Columns: objects, bytes, share, then the group's name (a slot size is
    // short and goes first; labels are long and go last).
    std::cout << "\n";
    char line[96];
    const bool sizes = by == "size";
    const int first = sizes ? 14 : 0;  // the slot-size column, absent for labels
    std::snprintf(line, sizeof line, "%*s %12s %12s %8s", first, sizes ? "slot size" : "",
                  "objects", "bytes", "share");
    std::cout << line << (sizes ? "" : "  label") << "\n";
    auto row = [&](const std::string& name, uint64_t objects, uint64_t bytes) {
      std::snprintf(line, sizeof line, "%*s %12s %12s %8s", first, sizes ? name.c_str() : "",
                    count(objects).c_str(), bytes_human(bytes).c_str(),
                    report::percent(bytes, full.unreachable_bytes).c_str());
      std::cout << line << (sizes ? "" : "  " + report::safe_text(name)) << "\n";
    };
    for (size_t i = 0; i < shown; ++i) row(groups[i].label, groups[i].count, groups[i].bytes);
    if (rest.size > 0)
      row(count(rest.size) + (sizes ? " more sizes" : " more groups"), rest.count, rest.bytes);
    row("total", full.unreachable_objects, full.unreachable_bytes);
  }
  if (snapshot.phantom_count() > 0) {
    std::cout << "\nSpan bitmaps: " << count(snapshot.phantom_count()) << " records, "
              << bytes_human(snapshot.phantom_bytes())
              << ", not included above: " << kPhantomExplanation << ".\n";
  }
  for (const std::string& note : notes) std::cout << "\nCaveat: " << note << ".\n";
  return kExitOk;
}

}  // namespace heapwalk::cli

// `heapwalk unreachable FILE [--limit N] [--format text|json]`: what the next
// collection would free, grouped by slot size, largest total first.
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

#include "heapwalk/error.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "src/cli/common_options.h"
#include "src/cli/verb.h"

namespace heapwalk::cli {
namespace {

struct SizeGroup {
  uint64_t size = 0, count = 0, bytes = 0;
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
                    "heapwalk unreachable FILE [--limit N] [--format text|json]\n"
                    "What the next garbage collection would free, grouped by slot size.");
  uint64_t limit = 20;
  parser.options().add_options()("limit",
                                 boost::program_options::value<uint64_t>(&limit)->default_value(20),
                                 "show the N size groups with the most bytes (0: all)");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;

  const Snapshot snapshot = load_snapshot(options.files.front(), options.load);
  const MarkResult full = mark(snapshot);
  const FinalizerAnalysis finalizers =
      analyze_finalizers(snapshot, full, mark(snapshot, kMaskWithoutFinalizers));

  std::map<uint64_t, SizeGroup> by_size;
  for (ObjectId v = 1; v < snapshot.vertex_count(); ++v) {
    if (full.is_live(v) || snapshot.is_phantom(v)) continue;
    SizeGroup& g = by_size[snapshot.size(v)];
    g.size = snapshot.size(v);
    ++g.count;
    g.bytes += g.size;
  }
  std::vector<SizeGroup> groups;
  groups.reserve(by_size.size());
  for (const auto& [size, g] : by_size) groups.push_back(g);
  std::stable_sort(groups.begin(), groups.end(), [](const SizeGroup& a, const SizeGroup& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.size > b.size;
  });
  const size_t shown = limit == 0 ? groups.size() : std::min<size_t>(groups.size(), limit);
  SizeGroup rest;
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
    report::Json list = report::Json::array();
    for (size_t i = 0; i < shown; ++i) {
      list.push_back(
          {{"size", groups[i].size}, {"count", groups[i].count}, {"bytes", groups[i].bytes}});
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
    std::cout << "\n";
    char line[128];
    std::snprintf(line, sizeof line, "%14s %12s %14s %8s\n", "slot size", "objects", "bytes",
                  "share");
    std::cout << line;
    auto row = [&](const std::string& label, uint64_t objects, uint64_t bytes) {
      std::snprintf(line, sizeof line, "%14s %12s %14s %8s\n", label.c_str(),
                    count(objects).c_str(), bytes_human(bytes).c_str(),
                    report::percent(bytes, full.unreachable_bytes).c_str());
      std::cout << line;
    };
    for (size_t i = 0; i < shown; ++i) {
      row(count(groups[i].size) + " B", groups[i].count, groups[i].bytes);
    }
    if (rest.size > 0) row(count(rest.size) + " more sizes", rest.count, rest.bytes);
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

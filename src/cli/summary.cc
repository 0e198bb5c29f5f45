// heapwalk summary FILE [--format text|json]
//
// One screen on what the dump holds. The JSON is built first and the text is
// rendered from it, so the two can never disagree.
#include <algorithm>
#include <iostream>
#include <map>

#include "common_options.h"
#include "goroutine_function.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/truncation.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;

namespace {

const char* const kSummaryStats[] = {"HeapAlloc",  "HeapObjects", "HeapInuse",  "HeapSys",
                                     "StackInuse", "Sys",         "TotalAlloc", "Mallocs",
                                     "Frees",      "NumGC"};

Json goroutine_summary(const DumpFacts& f) {
  std::map<std::string, uint64_t> by_state, system_by_state;
  std::map<std::pair<std::string, std::string>, uint64_t> groups;
  uint64_t system = 0;
  for (const GoroutineRecord& g : f.goroutines) {
    std::string state = goroutine_state(f, g);
    if (g.system) {
      ++system;
      ++system_by_state[state];
      continue;
    }
    ++by_state[state];
    ++groups[{state, goroutine_function(f, g)}];
  }
  std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> sorted(groups.begin(),
                                                                               groups.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  Json list = Json::array();
  for (const auto& [key, n] : sorted)
    list.push_back({{"count", n}, {"state", key.first}, {"function", key.second}});
  return {
      {"count", f.goroutines.size()}, {"user", f.goroutines.size() - system}, {"system", system},
      {"by_state", by_state},         {"system_by_state", system_by_state},   {"groups", list}};
}

// Text names of root kinds, as a Go engineer says them.
const char* root_kind_title(const std::string& kind) {
  static const std::pair<const char*, const char*> kTitles[] = {
      {"data", "globals (data)"},
      {"bss", "globals (bss)"},
      {"stack_frame", "goroutine stacks"},
      {"goroutine_context", "goroutine contexts"},
      {"defer", "defers"},
      {"panic", "panics"},
      {"finalizer", "finalizers"},
      {"queued_finalizer", "queued finalizers"},
      {"other", "other roots"}};
  for (const auto& [key, title] : kTitles)
    if (kind == key) return title;
  return "roots";
}

std::string plural(uint64_t n, const char* noun) {
  return report::count(n) + " " + noun + (n == 1 ? "" : "s");
}

int stat_index(const std::string& name) {
  for (int i = 0; i <= kNumGC; ++i)
    if (name == mem_stat_name(i)) return i;
  return -1;
}

// Compares the object records with MemStats and says why they differ.
Json memstats_check(const Snapshot& s, uint64_t objects, uint64_t bytes) {
  Json j;
  const DumpFacts& f = s.facts();
  if (!f.has_memstats) {
    j["agrees"] = false;
    j["explanation"] = "the dump has no memstats record";
    return j;
  }
  uint64_t heap_objects = f.memstats[kHeapObjects], heap_alloc = f.memstats[kHeapAlloc];
  uint64_t real_objects = objects - s.phantom_count(), real_bytes = bytes - s.phantom_bytes();
  j["record_objects"] = real_objects;
  j["record_bytes"] = real_bytes;
  j["heap_objects_delta"] = static_cast<int64_t>(real_objects - heap_objects);
  j["heap_alloc_delta"] = static_cast<int64_t>(real_bytes - heap_alloc);
  bool agrees = real_objects == heap_objects && real_bytes == heap_alloc;
  j["agrees"] = agrees;
  std::string why;
  if (agrees) {
    why = s.phantom_count() ? "object records, less " + report::count(s.phantom_count()) +
                                  " span-bitmap records (Go 1.22+), equal HeapObjects and HeapAlloc"
                            : "object records equal HeapObjects and HeapAlloc exactly";
  } else if (real_objects < heap_objects) {
    why =
        "fewer records than HeapObjects: MemStats are read before the dump writer finishes "
        "sweeping, so objects a finished collection freed are counted there but not dumped";
  } else {
    why =
        "more records than HeapObjects: slots the runtime does not count as objects were "
        "dumped (for Go 1.22+, span bitmap records not recognised as such)";
  }
  j["explanation"] = why;
  return j;
}

Json build(const Snapshot& s, const std::string& file, const ElfSymbols* binary) {
  const DumpFacts& f = s.facts();
  Json j;
  j["schema"] = report::kJsonSchema;

  Json dump;
  dump["file"] = file;
  dump["format"] = f.format;
  dump["go_version"] = f.params.go_version;
  dump["arch"] = f.params.arch;
  dump["ptr_size"] = f.params.pointer_size;
  dump["big_endian"] = f.params.big_endian;
  dump["bytes"] = s.input().bytes().size();
  if (s.input().was_compressed()) dump["compressed_bytes"] = s.input().compressed_size();
  dump["truncated"] = f.truncated;
  if (f.truncated) dump["truncated_at"] = f.truncated_at;
  j["dump"] = dump;

  Json records;
  for (int tag = 1; tag < kRecordTagCount; ++tag)
    records[record_tag_name(tag)] = f.record_counts[tag];
  j["records"] = records;

  uint64_t bytes = 0;
  for (ObjectId id = 1; id <= s.object_count(); ++id) bytes += s.size(id);
  Json objects;
  objects["count"] = s.object_count();
  objects["bytes"] = bytes;
  objects["span_bitmap_records"] = {{"count", s.phantom_count()}, {"bytes", s.phantom_bytes()}};
  j["objects"] = objects;

  const PointerStats& p = s.stats();
  j["pointers"] = {{"fields", p.fields},     {"nil", p.nil},   {"heap_edges", p.heap_edges},
                   {"interior", p.interior}, {"self", p.self}, {"unresolved", p.unresolved}};

  Json roots;
  std::array<uint64_t, kRootKindCount> by_kind{};
  for (const Root& r : s.roots())
    if (r.target != kNoObject) ++by_kind[static_cast<int>(r.kind)];
  for (int k = 0; k < kRootKindCount; ++k)
    roots[root_kind_name(static_cast<RootKind>(k))] = by_kind[k];
  j["roots"] = roots;
  j["root_words"] = {
      {"count", p.root_words}, {"nil", p.root_nil}, {"unresolved", p.root_unresolved}};

  j["goroutines"] = goroutine_summary(f);

  if (f.has_memstats) {
    Json ms;
    for (const char* name : kSummaryStats) ms[name] = f.memstats[stat_index(name)];
    j["memstats"] = ms;
  }
  j["memstats_check"] = memstats_check(s, s.object_count(), bytes);

  const TruncationReport cut = truncation_report(f);
  if (cut.truncated) {
    j["dump"]["missing"] = cut.missing;
    j["dump"]["roots_complete"] = cut.roots_complete;
  }
  if (cut.roots_complete) {
    MarkResult m = mark(s);
    // The second mark only feeds the finalizer analysis: gone before labels.
    FinalizerAnalysis fa = analyze_finalizers(s, m, mark(s, kMaskWithoutFinalizers));
    auto set = [](const ObjectSet& o) { return Json{{"objects", o.objects}, {"bytes", o.bytes}}; };
    j["finalizers"] = {{"registered", fa.registered},
                       {"queued", fa.queued},
                       {"unresolved", fa.unresolved},
                       {"pending", set(fa.pending)},
                       {"held_until_finalizers_run", set(fa.held_until_finalizers_run)},
                       {"kept_only_by_finalizers", set(fa.kept_only_by_finalizers)},
                       {"cyclic", set(fa.cyclic)},
                       {"never_freed", set(fa.immortal)}};
    j["live"] = {{"objects", m.live_objects}, {"bytes", m.live_bytes}};
    j["unreachable"] = {{"objects", m.unreachable_objects}, {"bytes", m.unreachable_bytes}};
    Json by_root;
    for (int k = 0; k < kRootKindCount; ++k)
      by_root[root_kind_name(static_cast<RootKind>(k))] = {{"objects", m.live_objects_by_root[k]},
                                                           {"bytes", m.live_bytes_by_root[k]}};
    j["live_by_root"] = by_root;
    // From here on only the mark bits are needed: the per-object root kinds
    // (a byte per object) go before labels, this verb's memory peak.
    std::vector<uint8_t>().swap(m.first_root);
    // How much of the live heap the labels pass can name (passes/labels.h).
    LabelCounts names = label_coverage(s, labels_of(s, binary), m);
    j["names"] = {{"typed_bytes", names.typed_live_bytes},
                  {"sited_bytes", names.sited_live_bytes},
                  {"unnamed_bytes", names.unnamed_live_bytes},
                  {"type_conflicts", names.conflicts}};
    if (binary && binary->dwarf())
      j["names"]["dwarf"] = {{"objects", names.by_dwarf},
                             {"conflicts", names.dwarf_conflicts},
                             {"interior_skipped", names.dwarf_interior}};
  }

  Json anomalies;
  anomalies["duplicate_objects"] = p.duplicate_objects;
  anomalies["overlapping_objects"] = p.overlapping_objects;
  anomalies["duplicate_types"] = p.duplicate_types;
  j["anomalies"] = anomalies;

  Json caveats = Json::array();
  GoVersion v = s.go_version();
  if (cut.truncated) caveats.push_back("the dump was " + cut.describe());
  if (cut.roots_complete && j["unreachable"]["objects"].get<uint64_t>() > 0) {
    // Roots the dump format cannot carry: objects held only through them look
    // like garbage here. Name the ones this dump's Go version has.
    std::string missing =
        "stack objects (address-taken locals), globals of modules other than the first";
    if (v.at_least(1, 23)) missing += ", weak handles (Go 1.23+)";
    if (v.at_least(1, 24)) missing += ", runtime.AddCleanup cleanups (Go 1.24+)";
    if (v.at_least(1, 25)) missing += " such as every open *os.File's";
    caveats.push_back("not recorded in the dump: " + missing +
                      "; objects kept only through these are counted unreachable");
  }
  j["caveats"] = caveats;
  return j;
}

std::string line(const std::string& label, const std::string& value) {
  std::string out = "  " + label;
  out.resize(std::max<size_t>(24, out.size() + 2), ' ');
  return out + value + "\n";
}

std::string objects_and_bytes(const Json& j) {
  return plural(j["objects"].get<uint64_t>(), "object") + ", " +
         report::bytes_human(j["bytes"].get<uint64_t>());
}

void render_text(const Json& j, std::ostream& out) {
  using report::bytes_human;
  using report::count;
  using report::safe_text;
  const Json& d = j["dump"];
  out << safe_text(d["file"].get<std::string>()) << ": Go heap dump, "
      << safe_text(d["go_version"].get<std::string>()) << " "
      << safe_text(d["arch"].get<std::string>()) << ", " << d["ptr_size"].get<int>() * 8 << "-bit, "
      << bytes_human(d["bytes"].get<uint64_t>());
  if (d.contains("compressed_bytes"))
    out << " (" << bytes_human(d["compressed_bytes"].get<uint64_t>()) << " zstd)";
  out << "\n";
  if (d["truncated"].get<bool>())
    out << "  TRUNCATED at offset " << d["truncated_at"].get<uint64_t>() << "\n";

  out << "\nHeap\n";
  const Json& o = j["objects"];
  out << line("objects", count(o["count"].get<uint64_t>()) + " (" +
                             bytes_human(o["bytes"].get<uint64_t>()) + ")");
  if (j.contains("live")) {
    uint64_t total = o["bytes"].get<uint64_t>();
    out << line("live", objects_and_bytes(j["live"]) + "  " +
                            report::percent(j["live"]["bytes"].get<uint64_t>(), total));
    std::string garbage = objects_and_bytes(j["unreachable"]);
    if (j.contains("finalizers") &&
        j["finalizers"]["held_until_finalizers_run"]["objects"].get<uint64_t>() > 0)
      garbage += "  (freed by the next GC, except " +
                 objects_and_bytes(j["finalizers"]["held_until_finalizers_run"]) +
                 " held until finalizers run)";
    else
      garbage += "  (freed by the next GC)";
    out << line("unreachable", garbage);
  }
  if (j.contains("names")) {
    const Json& n = j["names"];
    uint64_t live = j["live"]["bytes"].get<uint64_t>();
    out << line("named",
                "of live bytes: " + report::percent(n["typed_bytes"].get<uint64_t>(), live) +
                    " by type, " + report::percent(n["sited_bytes"].get<uint64_t>(), live) +
                    " by allocation site, " +
                    report::percent(n["unnamed_bytes"].get<uint64_t>(), live) + " not at all");
    if (n.contains("dwarf"))
      out << line("", "(" + count(n["dwarf"]["objects"].get<uint64_t>()) +
                          " objects typed by DWARF from the executable, " +
                          count(n["dwarf"]["conflicts"].get<uint64_t>()) +
                          " named otherwise by the dump)");
  }
  const Json& pb = o["span_bitmap_records"];
  if (pb["count"].get<uint64_t>())
    out << line("span bitmaps", count(pb["count"].get<uint64_t>()) + " records, " +
                                    bytes_human(pb["bytes"].get<uint64_t>()) +
                                    "  (Go 1.22+ heap bitmaps dumped as objects; not Go objects)");
  const Json& p = j["pointers"];
  out << line("pointer fields", count(p["fields"].get<uint64_t>()) + ": " +
                                    count(p["heap_edges"].get<uint64_t>()) + " into objects (" +
                                    count(p["interior"].get<uint64_t>()) + " interior), " +
                                    count(p["nil"].get<uint64_t>()) + " nil, " +
                                    count(p["unresolved"].get<uint64_t>()) + " outside any object");

  if (j.contains("finalizers")) {
    const Json& fz = j["finalizers"];
    out << "\nFinalizers: " << count(fz["registered"].get<uint64_t>()) << " registered, "
        << count(fz["queued"].get<uint64_t>()) << " queued\n";
    if (fz["pending"]["objects"].get<uint64_t>())
      out << line("pending", objects_and_bytes(fz["pending"]) +
                                 "  unreachable; the next GC queues their finalizers");
    if (fz["kept_only_by_finalizers"]["objects"].get<uint64_t>())
      out << line("kept by finalizers", objects_and_bytes(fz["kept_only_by_finalizers"]) +
                                            "  live only through objects with finalizers");
    if (fz["cyclic"]["objects"].get<uint64_t>())
      out << line("NEVER FREED", objects_and_bytes(fz["never_freed"]) + "  held by " +
                                     count(fz["cyclic"]["objects"].get<uint64_t>()) +
                                     " objects with finalizers on cycles through themselves");
  }
  if (j.contains("live_by_root")) {
    out << "\nLive objects by their nearest root\n";
    for (const auto& [kind, v] : j["live_by_root"].items()) {
      if (v["objects"].get<uint64_t>() == 0) continue;
      out << line(root_kind_title(kind),
                  objects_and_bytes(v) + "  (" +
                      plural(j["roots"][kind].get<uint64_t>(), "root pointer") + ")");
    }
  } else {
    out << "\nRoots\n";
    for (const auto& [kind, n] : j["roots"].items())
      if (n.get<uint64_t>())
        out << line(root_kind_title(kind), plural(n.get<uint64_t>(), "root pointer"));
  }

  const Json& g = j["goroutines"];
  out << "\nGoroutines: " << count(g["count"].get<uint64_t>()) << " ("
      << count(g["system"].get<uint64_t>()) << " of the runtime)\n";
  size_t shown = 0;
  for (const auto& group : g["groups"]) {
    if (++shown > 8) {
      out << "  ... " << plural(g["groups"].size() - 8, "more group")
          << " (heapwalk summary --format json lists them)\n";
      break;
    }
    std::string n = count(group["count"].get<uint64_t>());
    out << "  " << std::string(n.size() < 7 ? 7 - n.size() : 0, ' ') << n << "  "
        << safe_text(group["state"].get<std::string>()) << " in "
        << safe_text(group["function"].get<std::string>()) << "\n";
  }

  if (j.contains("memstats")) {
    const Json& m = j["memstats"];
    out << "\nMemStats\n";
    for (const char* name :
         {"HeapAlloc", "HeapInuse", "HeapSys", "StackInuse", "Sys", "TotalAlloc"})
      out << line(name, bytes_human(m[name].get<uint64_t>()));
    out << line("HeapObjects", count(m["HeapObjects"].get<uint64_t>()));
    out << line("NumGC", count(m["NumGC"].get<uint64_t>()));
    const Json& c = j["memstats_check"];
    out << line("records vs MemStats",
                std::string(c["agrees"].get<bool>() ? "agree: " : "DIFFER: ") +
                    c["explanation"].get<std::string>());
  }

  out << "\nRecords\n  ";
  int column = 0;
  for (const auto& [tag, n] : j["records"].items()) {
    if (n.get<uint64_t>() == 0) continue;
    std::string cell = tag + " " + count(n.get<uint64_t>());
    if (column && column + cell.size() + 2 > 78) {
      out << "\n  ";
      column = 0;
    }
    out << (column ? "  " : "") << cell;
    column += static_cast<int>(cell.size()) + (column ? 2 : 0);
  }
  out << "\n";
  const Json& a = j["anomalies"];
  for (const auto& [name, n] : a.items())
    if (n.get<uint64_t>()) out << "  note: " << count(n.get<uint64_t>()) << " " << name << "\n";
  for (const auto& c : j["caveats"]) out << "\nNote: " << c.get<std::string>() << "\n";
}

}  // namespace

int run_summary(const std::vector<std::string>& args) {
  VerbParser parser("summary", "[options] FILE");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  Snapshot snapshot = load_snapshot(options.files[0], options.load);
  std::unique_ptr<ElfSymbols> binary = open_binary(options, snapshot, std::cerr);
  Json j = build(snapshot, options.files[0], binary.get());
  return print_result(options.format, j, render_text);
}

}  // namespace heapwalk::cli

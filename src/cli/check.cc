// heapwalk check FILE --rules FILE [--rule TEXT]... [-n N] [--format text|json] [--binary EXE]
//
// Budgets for CI (include/heapwalk/rules/rules.h has the language): each rule
// is measured on the dump and passes when the value is at most its limit.
// A failing rule explains itself, so that a CI log alone says what went
// wrong: the objects it counted grouped by label (top N by bytes), and one
// retention path (retention_path.h) to a member of the largest group, or for
// live_bytes to the object that retains the most.
//
// What each measure counts (live = Go's mark, passes/mark.h):
// - live_bytes / live_objects: the live heap; unreachable_bytes: garbage the
//   next collection frees (Go 1.22+ span bitmaps excluded);
// - retained SEL: bytes that go when every live object SEL matches goes, the
//   set as a whole (passes/retained_by_set.h: shared objects count);
// - bytes SEL / count SEL: bytes / number of live objects SEL matches;
// - goroutines [wait:STATE]: user goroutines (optionally in that state:
//   the wait reason of a waiting one, else its status);
// - finalizer-cycles: objects with finalizers on a cycle Go never frees
//   (passes/finalizers.h, "cyclic"); the rule is "at most 0";
// - cycle_bytes: bytes of live objects on reference cycles of two or more
//   objects (passes/cycles.h, live_cycle_bytes: the cycles `heapwalk cycles`
//   lists).
//
// Exit: 0 every rule passed, 3 one failed, 1 malformed rules (FILE:LINE:COL)
// or bad options, 2 unreadable dump or rules file.
//
// JSON: {"schema":1, "file", "live_bytes", "passed", "failed",
//   "results":[{"rule", "source", "line", "measure", "selector"?:{"kind","value"},
//   "unit":"bytes"|"count", "value", "limit", "pass", "matched"?:{"objects","bytes"},
//   "offenders"?:[{"label","count","bytes"}], "offenders_total"?,
//   "path"?, "note"?}]} (offenders, path and note only for failing rules;
//   path as in `heapwalk paths`).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "common_options.h"
#include "goroutine_function.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/cycles.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/passes/retained_by_set.h"
#include "heapwalk/passes/root_paths.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/rules/rules.h"
#include "retention_path.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;
using rules::Measure;
using rules::Rule;
using rules::SelectorKind;

namespace {

// The passes a rule set needs, each computed at most once and only when a
// rule asks for it.
class Analysis {
 public:
  Analysis(const Snapshot& s, const ElfSymbols* binary) : s_(s), binary_(binary), mark_(mark(s)) {}

  const Snapshot& s() const { return s_; }
  const ElfSymbols* binary() const { return binary_; }
  const MarkResult& live() const { return mark_; }
  const Labels& labels() {
    if (!labels_) labels_ = labels_of(s_, binary_);
    return *labels_;
  }
  const RootPaths& paths() {
    if (!paths_) paths_ = compute_root_paths(s_);
    return *paths_;
  }
  const std::vector<uint64_t>& weight() {
    if (weight_.empty()) weight_ = object_weights(s_);
    return weight_;
  }
  const DominatorTree& tree() {
    if (!tree_) tree_ = heap_dominators(s_);
    return *tree_;
  }
  const FinalizerAnalysis& finalizers() {
    if (!finalizers_) finalizers_ = analyze_finalizers(s_, mark_, mark(s_, kMaskWithoutFinalizers));
    return *finalizers_;
  }
  const CycleAnalysis& cycles() {
    if (!cycles_) cycles_ = find_cycles(s_, mark_, finalizers(), paths(), nullptr);
    return *cycles_;
  }
  // Live objects on cycles, ascending.
  std::vector<ObjectId> cycle_members() {
    std::vector<ObjectId> out;
    for (const Cycle& c : cycles().cycles)
      if (c.live) out.insert(out.end(), c.members.begin(), c.members.end());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  const Snapshot& s_;
  const ElfSymbols* binary_;
  MarkResult mark_;
  std::optional<Labels> labels_;
  std::optional<RootPaths> paths_;
  std::vector<uint64_t> weight_;
  std::optional<DominatorTree> tree_;
  std::optional<FinalizerAnalysis> finalizers_;
  std::optional<CycleAnalysis> cycles_;
};

// Live objects the rule's type:/site: selector matches.
std::vector<ObjectId> select(Analysis& a, const Rule& rule) {
  const Labels& labels = a.labels();
  std::vector<ObjectId> out;
  if (rule.selector == SelectorKind::kType) {
    for (ObjectId v = 1; v < a.s().vertex_count(); ++v)
      if (a.live().is_live(v) && type_name_matches(labels.type_name(v), rule.value))
        out.push_back(v);
  } else {
    // One substring search per distinct site, then a lookup per object.
    std::vector<char> hit(labels.sites().size(), 0);
    for (size_t i = 1; i < hit.size(); ++i)
      hit[i] = labels.sites()[i].label().find(rule.value) != std::string::npos;
    for (ObjectId v = 1; v < a.s().vertex_count(); ++v)
      if (a.live().is_live(v) && labels.site_index(v) && hit[labels.site_index(v)])
        out.push_back(v);
  }
  return out;
}

// What a failing rule blames: objects (grouped by label, one path to an
// example) or goroutines (grouped by state and function).
struct Evidence {
  std::vector<ObjectId> objects;
  bool objects_live = true;          // else unreachable: no path to show
  ObjectId path_target = kNoObject;  // overrides "an example of the largest group"
  std::map<std::pair<std::string, std::string>, uint64_t> goroutines;  // (state, function)
  std::string note;
};

struct Group {
  std::string label;
  uint64_t count = 0, bytes = 0;
  ObjectId example = kNoObject;  // lowest id
};

std::vector<Group> group_by_label(Analysis& a, const std::vector<ObjectId>& ids) {
  std::unordered_map<std::string, size_t> index;
  std::vector<Group> groups;
  for (ObjectId v : ids) {
    std::string label = a.labels().label(a.s(), v);
    auto [it, fresh] = index.try_emplace(label, groups.size());
    if (fresh) groups.push_back(Group{std::move(label), 0, 0, v});
    Group& g = groups[it->second];
    ++g.count;
    g.bytes += a.s().size(v);
    g.example = std::min(g.example, v);
  }
  std::sort(groups.begin(), groups.end(), [](const Group& x, const Group& y) {
    return x.bytes != y.bytes ? x.bytes > y.bytes : x.label < y.label;
  });
  return groups;
}

Json selector_json(const Rule& rule) {
  const char* kind = rule.selector == SelectorKind::kType   ? "type"
                     : rule.selector == SelectorKind::kSite ? "site"
                                                            : "wait";
  return {{"kind", kind}, {"value", rule.value}};
}

const char* base_measure(Measure m) {
  switch (m) {
    case Measure::kLiveBytes: return "live_bytes";
    case Measure::kLiveObjects: return "live_objects";
    case Measure::kUnreachableBytes: return "unreachable_bytes";
    case Measure::kCycleBytes: return "cycle_bytes";
    case Measure::kRetained: return "retained";
    case Measure::kBytes: return "bytes";
    case Measure::kCount: return "count";
    case Measure::kGoroutines: return "goroutines";
    case Measure::kFinalizerCycles: return "finalizer-cycles";
  }
  return "?";
}

Json evaluate(Analysis& a, const Rule& rule, uint64_t top_n) {
  const Snapshot& s = a.s();
  Json r;
  r["rule"] = rules::describe(rule);
  r["source"] = rule.source;
  r["line"] = rule.line;
  r["measure"] = base_measure(rule.measure);
  if (rule.selector != SelectorKind::kNone) r["selector"] = selector_json(rule);
  r["unit"] = rule.is_size ? "bytes" : "count";
  uint64_t value = 0;
  Evidence ev;
  // Evidence is gathered only when the rule fails (below); `collect` says how.
  std::vector<ObjectId> matched, retained_objects;
  switch (rule.measure) {
    case Measure::kLiveBytes: value = a.live().live_bytes; break;
    case Measure::kLiveObjects: value = a.live().live_objects; break;
    case Measure::kUnreachableBytes: value = a.live().unreachable_bytes; break;
    case Measure::kCycleBytes: value = live_cycle_bytes(a.cycles()); break;
    case Measure::kFinalizerCycles: value = a.finalizers().cyclic.objects; break;
    case Measure::kRetained:
    case Measure::kBytes:
    case Measure::kCount: {
      matched = select(a, rule);
      uint64_t bytes = 0;
      for (ObjectId v : matched) bytes += s.size(v);
      r["matched"] = {{"objects", matched.size()}, {"bytes", bytes}};
      if (rule.measure == Measure::kCount) {
        value = matched.size();
      } else if (rule.measure == Measure::kBytes) {
        value = bytes;
      } else {
        std::vector<uint8_t> in_set(s.vertex_count(), 0);
        for (ObjectId v : matched) in_set[v] = 1;
        const SetRetained kept = retained_by_set(s.view(), kSuperRoot, in_set, a.weight(),
                                                 a.live().live_bytes, a.live().live_objects, true);
        value = kept.bytes;
        // Blame what the set holds (its members included), not only the members.
        if (value > rule.limit) {
          for (ObjectId v = 1; v < s.vertex_count(); ++v)
            if (a.live().is_live(v) && !kept.was_reached(v)) retained_objects.push_back(v);
        }
      }
      break;
    }
    case Measure::kGoroutines:
      for (const GoroutineRecord& g : s.facts().goroutines)
        if (!g.system &&
            (rule.selector != SelectorKind::kWait || goroutine_state(s.facts(), g) == rule.value))
          ++value;
      break;
  }
  const bool pass = value <= rule.limit;
  r["value"] = value;
  r["limit"] = rule.limit;
  r["pass"] = pass;
  if (pass) return r;

  // ---- why it failed ----
  switch (rule.measure) {
    case Measure::kLiveBytes:
    case Measure::kLiveObjects: {
      for (ObjectId v = 1; v < s.vertex_count(); ++v)
        if (a.live().is_live(v)) ev.objects.push_back(v);
      // The path that explains most of the heap: to the object retaining the most.
      const DominatorTree& t = a.tree();
      for (ObjectId v = 1; v < s.vertex_count(); ++v)
        if (t.reachable(v) &&
            (ev.path_target == kNoObject || t.retained[v] > t.retained[ev.path_target]))
          ev.path_target = v;
      break;
    }
    case Measure::kUnreachableBytes:
      for (ObjectId v = 1; v < s.vertex_count(); ++v)
        if (!a.live().is_live(v) && !s.is_phantom(v)) ev.objects.push_back(v);
      ev.objects_live = false;
      ev.note =
          "unreachable: no root holds these objects; the next collection frees them "
          "(see `heapwalk unreachable`)";
      break;
    case Measure::kCycleBytes: ev.objects = a.cycle_members(); break;
    case Measure::kFinalizerCycles:
      ev.objects = a.finalizers().cyclic.ids;
      ev.note =
          "objects with finalizers on a reference cycle: Go never runs these finalizers "
          "nor frees what they hold (" +
          report::bytes_human(a.finalizers().immortal.bytes) + " in all)";
      break;
    case Measure::kRetained:
      // Offenders: what the set retains by label; the path leads to a member.
      ev.objects = std::move(retained_objects);
      ev.path_target = *std::min_element(matched.begin(), matched.end());
      ev.note = "offenders: what these objects retain together, themselves included";
      break;
    case Measure::kBytes:
    case Measure::kCount: ev.objects = std::move(matched); break;
    case Measure::kGoroutines:
      for (const GoroutineRecord& g : s.facts().goroutines) {
        if (g.system) continue;
        const std::string state = goroutine_state(s.facts(), g);
        if (rule.selector == SelectorKind::kWait && state != rule.value) continue;
        ++ev.goroutines[{state, goroutine_function(s.facts(), g)}];
      }
      break;
  }
  Json offenders = Json::array();
  if (rule.measure == Measure::kGoroutines) {
    std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> sorted(
        ev.goroutines.begin(), ev.goroutines.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    for (const auto& [key, n] : sorted) {
      if (offenders.size() == top_n) break;
      offenders.push_back({{"state", key.first}, {"function", key.second}, {"count", n}});
    }
    r["offenders"] = std::move(offenders);
    r["offenders_total"] = sorted.size();
    return r;
  }
  const std::vector<Group> groups = group_by_label(a, ev.objects);
  for (const Group& g : groups) {
    if (offenders.size() == top_n) break;
    offenders.push_back({{"label", g.label}, {"count", g.count}, {"bytes", g.bytes}});
  }
  r["offenders"] = std::move(offenders);
  r["offenders_total"] = groups.size();
  ObjectId target = ev.path_target;
  if (target == kNoObject && ev.objects_live && !groups.empty()) target = groups.front().example;
  if (target != kNoObject && a.paths().reached(target)) {
    const bool with_tree =
        rule.measure == Measure::kLiveBytes || rule.measure == Measure::kLiveObjects;
    const PathContext c{s, a.labels(), a.binary(), with_tree ? &a.tree() : nullptr};
    r["path"] = path_json(c, target, a.paths().path_to(target), 1);
  }
  if (!ev.note.empty()) r["note"] = ev.note;
  return r;
}

std::string amount(const Json& r, const char* key) {
  const uint64_t v = r[key].get<uint64_t>();
  if (r["unit"] == "count") return report::count(v);
  std::string out = report::bytes_human(v);
  if (v >= 1024) out += " (" + report::count(v) + " B)";
  return out;
}

void render_text(const Json& j, std::ostream& out) {
  const uint64_t live = j["live_bytes"].get<uint64_t>();
  out << report::safe_text(j["file"].get<std::string>()) << ": " << j["results"].size()
      << " rules, " << j["passed"].get<uint64_t>() << " passed, " << j["failed"].get<uint64_t>()
      << " failed (live " << report::bytes_human(live) << ")\n";
  for (const Json& r : j["results"]) {
    const bool pass = r["pass"].get<bool>();
    out << (pass ? "PASS  " : "FAIL  ") << report::safe_text(r["rule"].get<std::string>()) << ": "
        << amount(r, "value") << (pass ? " <= " : " > ") << amount(r, "limit") << "  ["
        << report::safe_text(r["source"].get<std::string>()) << ":" << r["line"].get<uint64_t>()
        << "]\n";
    if (pass) continue;
    if (r.contains("matched"))
      out << "      matches " << report::count(r["matched"]["objects"].get<uint64_t>())
          << " live objects, " << report::bytes_human(r["matched"]["bytes"].get<uint64_t>())
          << "\n";
    if (r.contains("note"))
      out << "      " << report::safe_text(r["note"].get<std::string>()) << "\n";
    const Json& offenders = r["offenders"];
    if (offenders.empty()) {
      out << "      nothing to blame: the measure is zero\n";
      continue;
    }
    out << "      top offenders:\n";
    for (const Json& o : offenders) {
      if (o.contains("function"))
        out << "        " << report::count(o["count"].get<uint64_t>())
            << (o["count"].get<uint64_t>() == 1 ? " goroutine [" : " goroutines [")
            << report::safe_text(o["state"].get<std::string>()) << "] "
            << report::safe_text(o["function"].get<std::string>()) << "\n";
      else
        out << "        " << report::count(o["count"].get<uint64_t>())
            << (o["count"].get<uint64_t>() == 1 ? " object, " : " objects, ")
            << report::bytes_human(o["bytes"].get<uint64_t>()) << "  "
            << report::safe_text(o["label"].get<std::string>()) << "\n";
    }
    if (r["offenders_total"].get<uint64_t>() > offenders.size())
      out << "        ... "
          << report::count(r["offenders_total"].get<uint64_t>() - offenders.size()) << " more\n";
    if (r.contains("path")) {
      out << "      one retention path:";
      std::ostringstream path;
      render_path(r["path"], live, path);
      std::istringstream lines(path.str());
      std::string line;
      while (std::getline(lines, line)) out << (line.empty() ? "" : "      " + line) << "\n";
    }
  }
}

// The text of a --rules file; exit 2 when it cannot be read.
std::string read_rules_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(path, InputError::kNoOffset,
                     std::string("cannot read rules: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(path, InputError::kNoOffset, "cannot read rules");
  return text.str();
}

}  // namespace

int run_check(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  VerbParser parser(
      "check",
      "--rules FILE [--rule TEXT]... [-n N] [options] FILE\n"
      "Checks the dump against budgets (README.md, \"heapwalk check\", has the rules\n"
      "language). Exit 0 all rules pass, 3 a rule failed, 1 malformed rules.");
  std::vector<std::string> rule_files, rule_texts;
  uint64_t top_n = 5;
  parser.options().add_options()("rules", po::value(&rule_files),
                                 "read rules from FILE (repeatable)")(
      "rule", po::value(&rule_texts), "one rule, e.g. 'max live_bytes 512MiB' (repeatable)")(
      "limit,n", po::value<uint64_t>(&top_n)->default_value(5),
      "offenders shown per failing rule (0: all)");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  if (rule_files.empty() && rule_texts.empty())
    throw UsageError("check: give rules with --rules FILE or --rule 'TEXT'");

  // Rules first: a malformed rules file fails fast, before the dump is read.
  std::vector<Rule> all;
  try {
    for (const std::string& f : rule_files) {
      std::vector<Rule> r = rules::parse_rules(read_rules_file(f), f);
      all.insert(all.end(), r.begin(), r.end());
    }
    for (size_t i = 0; i < rule_texts.size(); ++i) {
      std::vector<Rule> r = rules::parse_rules(rule_texts[i], "--rule " + std::to_string(i + 1));
      if (r.empty()) throw rules::ParseError("--rule " + std::to_string(i + 1), 1, 1, "empty rule");
      all.insert(all.end(), r.begin(), r.end());
    }
  } catch (const rules::ParseError& e) {
    std::cerr << "heapwalk: " << report::safe_text(e.what()) << "\n";
    return kExitUsage;
  }
  if (all.empty()) throw UsageError("check: the rules files hold no rules");

  const Snapshot s = load_snapshot(options.files.front(), options.load);
  if (s.facts().truncated)
    throw InputError(options.files.front(), InputError::kNoOffset,
                     "the dump was cut short: liveness is unknown, rules cannot be checked");
  std::unique_ptr<ElfSymbols> binary = open_binary(options, s, std::cerr);
  Analysis a(s, binary.get());

  Json results = Json::array();
  uint64_t failed = 0;
  for (const Rule& rule : all) {
    results.push_back(evaluate(a, rule, top_n == 0 ? ~uint64_t{0} : top_n));
    failed += !results.back()["pass"].get<bool>();
  }
  Json j;
  j["schema"] = report::kJsonSchema;
  j["file"] = options.files.front();
  j["live_bytes"] = a.live().live_bytes;
  j["passed"] = all.size() - failed;
  j["failed"] = failed;
  j["results"] = std::move(results);
  print_result(options.format, j, render_text);
  return failed ? kExitCheckFailed : kExitOk;
}

}  // namespace heapwalk::cli

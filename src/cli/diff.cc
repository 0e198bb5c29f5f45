// heapwalk diff BASE TARGET [--by type|site] [--fail-on-growth SIZE] [-n N]
//                           [--format text|json] [--binary EXE]
//
// Growth between two dumps of the same program (a short and a long load
// test, last release and today). Objects are matched by LABEL, never by
// address: addresses are reused between runs and collections. Per label:
// count, bytes and retained bytes (each nested member once,
// passes/retained_by_group.h) in each dump and the delta, largest byte
// growth first (ties: retained growth, then label); user goroutines by state
// in each; totals. Grouping as `histogram`: type (the display label) or site
// (the allocation site, else the display label). Live objects only.
//
// The dumps are analysed one after the other, so peak memory is that of the
// larger one. --fail-on-growth SIZE: exit 3 when live bytes grew by more
// than SIZE (CI); exit 0 otherwise, 2 when a dump is unreadable.
//
// JSON: {"schema":1, "base", "target", "by",
//   "totals":{"live_objects","live_bytes","unreachable_bytes","goroutines"}: each
//            {"base","target","delta"},
//   "rows":[{"label","base":{"count","bytes","retained"},"target":{...},
//            "delta":{"count","bytes","retained"}}],
//   "not_shown":{"labels"}, "goroutines":[{"state","base","target","delta"}],
//   "fail_on_growth":{"limit","growth","pass"}|null}.
#include <algorithm>
#include <iostream>
#include <map>
#include <unordered_map>

#include "common_options.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/passes/retained_by_group.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;

namespace {

struct Amounts {
  uint64_t count = 0, bytes = 0, retained = 0;
};

// What one dump contributes: per-label amounts and totals.
struct Side {
  std::unordered_map<std::string, Amounts> labels;
  std::map<std::string, uint64_t> goroutines;  // user goroutines by state
  uint64_t live_objects = 0, live_bytes = 0, unreachable_bytes = 0, goroutine_count = 0;
};

Side analyse(const std::string& file, const CommonOptions& options, const std::string& by) {
  const Snapshot s = load_snapshot(file, options.load);
  if (s.facts().truncated)
    throw InputError(file, InputError::kNoOffset,
                     "the dump was cut short: liveness is unknown, nothing to compare");
  std::unique_ptr<ElfSymbols> binary = open_binary(options, s, std::cerr);
  const Labels labels = labels_of(s, binary.get());
  const MarkResult live = mark(s);
  Side side;
  side.live_objects = live.live_objects;
  side.live_bytes = live.live_bytes;
  side.unreachable_bytes = live.unreachable_bytes;
  std::unordered_map<std::string, uint32_t> index;
  std::vector<std::string> names;
  std::vector<uint32_t> group_of(s.vertex_count(), kNoGroup);
  for (ObjectId v = 1; v < s.vertex_count(); ++v) {
    if (!live.is_live(v)) continue;
    std::string key = by == "site" && labels.site(v) ? labels.site(v)->label() : labels.label(s, v);
    auto [it, fresh] = index.try_emplace(key, static_cast<uint32_t>(names.size()));
    if (fresh) names.push_back(key);
    group_of[v] = it->second;
    Amounts& a = side.labels[key];
    ++a.count;
    a.bytes += s.size(v);
  }
  const DominatorTree tree = heap_dominators(s);
  const GroupRetained retained = retained_by_group(tree, dominator_children(tree), kSuperRoot,
                                                   group_of, static_cast<uint32_t>(names.size()));
  for (size_t i = 0; i < names.size(); ++i) side.labels[names[i]].retained = retained.bytes[i];
  for (const GoroutineRecord& g : s.facts().goroutines) {
    if (g.system) continue;
    ++side.goroutine_count;
    ++side.goroutines[goroutine_state(s.facts(), g)];
  }
  return side;
}

int64_t delta(uint64_t base, uint64_t target) {
  return static_cast<int64_t>(target) - static_cast<int64_t>(base);
}

Json triple(uint64_t base, uint64_t target) {
  return {{"base", base}, {"target", target}, {"delta", delta(base, target)}};
}

Json amounts_json(const Amounts& a) {
  return {{"count", a.count}, {"bytes", a.bytes}, {"retained", a.retained}};
}

std::string signed_bytes(int64_t d) {
  const uint64_t m = d < 0 ? uint64_t(0) - uint64_t(d) : uint64_t(d);
  return (d < 0 ? "-" : d > 0 ? "+" : "±") + report::bytes_human(m);
}

std::string signed_count(int64_t d) {
  const uint64_t m = d < 0 ? uint64_t(0) - uint64_t(d) : uint64_t(d);
  return (d < 0 ? "-" : d > 0 ? "+" : "±") + report::count(m);
}

void render_text(const Json& j, std::ostream& out) {
  const Json& t = j["totals"];
  out << report::safe_text(j["base"].get<std::string>()) << " -> "
      << report::safe_text(j["target"].get<std::string>()) << " (by " << j["by"].get<std::string>()
      << ")\n";
  auto bytes_line = [&](const char* name, const Json& x) {
    out << "  " << name << report::bytes_human(x["base"].get<uint64_t>()) << " -> "
        << report::bytes_human(x["target"].get<uint64_t>()) << " ("
        << signed_bytes(x["delta"].get<int64_t>()) << ")\n";
  };
  auto count_line = [&](const char* name, const Json& x) {
    out << "  " << name << report::count(x["base"].get<uint64_t>()) << " -> "
        << report::count(x["target"].get<uint64_t>()) << " ("
        << signed_count(x["delta"].get<int64_t>()) << ")\n";
  };
  bytes_line("live bytes:        ", t["live_bytes"]);
  count_line("live objects:      ", t["live_objects"]);
  bytes_line("unreachable bytes: ", t["unreachable_bytes"]);
  count_line("goroutines:        ", t["goroutines"]);
  out << "\ngrowth by " << j["by"].get<std::string>() << ", largest first:\n";
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"Δbytes", "Δcount", "Δretained", "bytes", "count", "label"});
  for (const Json& r : j["rows"]) {
    cells.push_back({signed_bytes(r["delta"]["bytes"].get<int64_t>()),
                     signed_count(r["delta"]["count"].get<int64_t>()),
                     signed_bytes(r["delta"]["retained"].get<int64_t>()),
                     report::bytes_human(r["base"]["bytes"].get<uint64_t>()) + " -> " +
                         report::bytes_human(r["target"]["bytes"].get<uint64_t>()),
                     report::count(r["base"]["count"].get<uint64_t>()) + " -> " +
                         report::count(r["target"]["count"].get<uint64_t>()),
                     report::safe_text(r["label"].get<std::string>())});
  }
  // Widths in characters: "Δ" and "±" are two bytes in UTF-8.
  auto width = [](const std::string& s) {
    size_t w = 0;
    for (unsigned char c : s) w += (c & 0xC0) != 0x80;
    return w;
  };
  std::vector<size_t> w(5, 0);
  for (const auto& row : cells)
    for (size_t i = 0; i < 5; ++i) w[i] = std::max(w[i], width(row[i]));
  for (const auto& row : cells) {
    out << " ";
    for (size_t i = 0; i < 5; ++i) out << " " << std::string(w[i] - width(row[i]), ' ') << row[i];
    out << "  " << row[5] << "\n";
  }
  if (j["not_shown"]["labels"].get<uint64_t>())
    out << "  ... " << report::count(j["not_shown"]["labels"].get<uint64_t>())
        << " more labels (-n 0 shows all)\n";
  out << "\ngoroutines by state:\n";
  for (const Json& g : j["goroutines"])
    out << "  " << report::count(g["base"].get<uint64_t>()) << " -> "
        << report::count(g["target"].get<uint64_t>()) << " ("
        << signed_count(g["delta"].get<int64_t>()) << ")  "
        << report::safe_text(g["state"].get<std::string>()) << "\n";
  if (!j["fail_on_growth"].is_null()) {
    const Json& f = j["fail_on_growth"];
    out << "\n"
        << (f["pass"].get<bool>() ? "PASS" : "FAIL") << "  live bytes grew by "
        << signed_bytes(f["growth"].get<int64_t>()) << (f["pass"].get<bool>() ? " <= " : " > ")
        << report::bytes_human(f["limit"].get<uint64_t>()) << " (--fail-on-growth)\n";
  }
}

}  // namespace

int run_diff(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  VerbParser parser("diff",
                    "[--by type|site] [--fail-on-growth SIZE] [-n N] [options] BASE TARGET\n"
                    "Growth between two dumps of the same program, matched by label (never by\n"
                    "address). Exit 3 when --fail-on-growth is given and live bytes grew more.");
  std::string by = "type", growth_text;
  uint64_t limit = 20;
  parser.options().add_options()("by", po::value(&by)->default_value("type"),
                                 "match objects by type or site")(
      "fail-on-growth", po::value(&growth_text),
      "exit 3 when live bytes grow by more than SIZE (e.g. 10MiB)")(
      "limit,n", po::value<uint64_t>(&limit)->default_value(20), "show N labels (0: all)");
  CommonOptions options;
  if (!parser.parse(args, options, 2, 2)) return kExitOk;
  if (by != "type" && by != "site")
    throw UsageError("diff: unknown --by '" + by + "' (type or site)");
  std::optional<uint64_t> growth_limit;
  if (parser.values().count("fail-on-growth")) {
    try {
      growth_limit = parse_size(growth_text);
    } catch (const UsageError& e) {
      throw UsageError(std::string("diff: --fail-on-growth: ") + e.what());
    }
  }

  const Side base = analyse(options.files[0], options, by);
  const Side target = analyse(options.files[1], options, by);

  struct Row {
    const std::string* label;
    Amounts base, target;
  };
  std::vector<Row> rows;
  for (const auto& [label, a] : base.labels) {
    auto it = target.labels.find(label);
    rows.push_back({&label, a, it == target.labels.end() ? Amounts{} : it->second});
  }
  for (const auto& [label, a] : target.labels)
    if (!base.labels.count(label)) rows.push_back({&label, Amounts{}, a});
  std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
    const int64_t bx = delta(x.base.bytes, x.target.bytes),
                  by_ = delta(y.base.bytes, y.target.bytes);
    if (bx != by_) return bx > by_;
    const int64_t rx = delta(x.base.retained, x.target.retained),
                  ry = delta(y.base.retained, y.target.retained);
    if (rx != ry) return rx > ry;
    return *x.label < *y.label;
  });

  Json j;
  j["schema"] = report::kJsonSchema;
  j["base"] = options.files[0];
  j["target"] = options.files[1];
  j["by"] = by;
  j["totals"] = {{"live_objects", triple(base.live_objects, target.live_objects)},
                 {"live_bytes", triple(base.live_bytes, target.live_bytes)},
                 {"unreachable_bytes", triple(base.unreachable_bytes, target.unreachable_bytes)},
                 {"goroutines", triple(base.goroutine_count, target.goroutine_count)}};
  Json list = Json::array();
  const size_t shown = limit == 0 ? rows.size() : std::min<size_t>(limit, rows.size());
  for (size_t i = 0; i < shown; ++i) {
    const Row& r = rows[i];
    list.push_back({{"label", *r.label},
                    {"base", amounts_json(r.base)},
                    {"target", amounts_json(r.target)},
                    {"delta",
                     {{"count", delta(r.base.count, r.target.count)},
                      {"bytes", delta(r.base.bytes, r.target.bytes)},
                      {"retained", delta(r.base.retained, r.target.retained)}}}});
  }
  j["rows"] = std::move(list);
  j["not_shown"] = {{"labels", rows.size() - shown}};
  std::map<std::string, std::pair<uint64_t, uint64_t>> states;
  for (const auto& [state, n] : base.goroutines) states[state].first = n;
  for (const auto& [state, n] : target.goroutines) states[state].second = n;
  std::vector<Json> g;
  for (const auto& [state, n] : states)
    g.push_back({{"state", state},
                 {"base", n.first},
                 {"target", n.second},
                 {"delta", delta(n.first, n.second)}});
  std::stable_sort(g.begin(), g.end(), [](const Json& x, const Json& y) {
    return x["delta"].get<int64_t>() > y["delta"].get<int64_t>();
  });
  j["goroutines"] = g;
  const int64_t growth = delta(base.live_bytes, target.live_bytes);
  const bool pass = !growth_limit || growth <= 0 || uint64_t(growth) <= *growth_limit;
  if (growth_limit)
    j["fail_on_growth"] = {{"limit", *growth_limit}, {"growth", growth}, {"pass", pass}};
  else
    j["fail_on_growth"] = nullptr;
  print_result(options.format, j, render_text);
  return pass ? kExitOk : kExitCheckFailed;
}

}  // namespace heapwalk::cli

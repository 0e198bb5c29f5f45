// heapwalk goroutines FILE [--format text|json] [--binary EXE]
//
// The leaked-goroutine view: goroutines grouped by identical stack (function
// names, innermost first) and state, largest retained first, then by count.
//
// Retained bytes of a goroutine: what it ALONE keeps alive through its stack
// frames, its ctxt word, and its defer and panic records. In the snapshot
// graph every root hangs off the super-root, so objects held by one
// goroutine's frames are dominated by the super-root itself. We therefore
// build our own graph: the snapshot's objects, plus one vertex per goroutine
// between the super-root and the targets of that goroutine's root entries
// (super-root -> goroutine vertex -> objects); every other root stays on the
// super-root. Dominators of that graph (passes/dominators.h): the goroutine
// vertex's retained size is exactly the bytes freed if that goroutine went
// away; objects shared by two goroutines (or also held by a global) belong to
// neither. A group's retained bytes are the sum over its goroutines; its top
// labels are the own sizes of the objects those goroutines dominate, by
// display label (passes/labels.h).
//
// Waiting time: the dump has no "now". A nonzero waitsince (nanotime at the
// start of the first collection that found the goroutine blocked) says it
// has been blocked since before that collection ("seen_blocked_by_gc" counts
// such goroutines), and the latest such collection ran before the dump, so
// the gap between the two is a lower bound of the wait ("waited_at_least_ns",
// the longest in the group; see goroutine_waited_at_least in snapshot.h).
//
// JSON: {"schema":1, "file", "live_bytes", "goroutines", "groups":[{"count",
// "status", "wait_reason", "state", "system", "stack":[innermost first],
// "retained", "seen_blocked_by_gc", "waited_at_least_ns", "goids":[first few],
// "top_labels":[{"label", "bytes"}]}]}.
#include <algorithm>
#include <iostream>
#include <map>
#include <unordered_map>

#include "common_options.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/truncation.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;

namespace {

constexpr size_t kTopLabels = 5;
constexpr size_t kGoidsShown = 8;

// The goroutine (index into facts().goroutines) a root entry belongs to, or
// kNoGoroutine for roots that are not a goroutine's.
uint32_t goroutine_of(const DumpFacts& f, const Root& r,
                      const std::unordered_map<uint64_t, uint32_t>& by_address) {
  auto lookup = [&](uint64_t address) {
    auto it = by_address.find(address);
    return it == by_address.end() ? kNoGoroutine : it->second;
  };
  switch (r.kind) {
    case RootKind::kStackFrame:
      return r.owner < f.frames.size() ? f.frames[r.owner].goroutine : kNoGoroutine;
    case RootKind::kGoroutineContext: return r.owner < f.goroutines.size() ? r.owner : kNoGoroutine;
    case RootKind::kDefer:
      return r.owner < f.defers.size() ? lookup(f.defers[r.owner].goroutine) : kNoGoroutine;
    case RootKind::kPanic:
      return r.owner < f.panics.size() ? lookup(f.panics[r.owner].goroutine) : kNoGoroutine;
    default: return kNoGoroutine;
  }
}

struct GoroutineGraph {
  std::vector<uint32_t> rowstart, targets;
  uint32_t first_goroutine = 0;  // vertex of goroutine 0; goroutine i is first_goroutine + i
};

// The snapshot's CSR with goroutine vertices appended; only the super-root's
// row changes. O(V + E + G).
GoroutineGraph goroutine_graph(const Snapshot& s) {
  const DumpFacts& f = s.facts();
  const uint32_t n = s.vertex_count();
  const auto g = static_cast<uint32_t>(f.goroutines.size());
  std::unordered_map<uint64_t, uint32_t> by_address;
  for (uint32_t i = 0; i < g; ++i) by_address.emplace(f.goroutines[i].address, i);

  const GraphView view = s.view();
  std::vector<uint32_t> owner_of_edge;  // per super-root edge: goroutine or kNoGoroutine
  auto root_edges = view.successors(kSuperRoot);
  std::vector<uint32_t> per_goroutine(g, 0);
  for (size_t i = 0; i < root_edges.size(); ++i) {
    uint32_t root_index = s.edge_offset(s.first_edge(kSuperRoot) + static_cast<uint32_t>(i));
    uint32_t owner = root_index < s.roots().size()
                         ? goroutine_of(f, s.roots()[root_index], by_address)
                         : kNoGoroutine;
    if (owner != kNoGoroutine && owner >= g) owner = kNoGoroutine;
    owner_of_edge.push_back(owner);
    if (owner != kNoGoroutine) ++per_goroutine[owner];
  }

  GoroutineGraph out;
  out.first_goroutine = n;
  out.rowstart.reserve(size_t{n} + g + 1);
  out.targets.reserve(view.edge_count() + g);
  out.rowstart.push_back(0);
  for (size_t i = 0; i < root_edges.size(); ++i)
    if (owner_of_edge[i] == kNoGoroutine) out.targets.push_back(root_edges[i]);
  for (uint32_t i = 0; i < g; ++i) out.targets.push_back(n + i);
  for (uint32_t v = 1; v < n; ++v) {
    out.rowstart.push_back(static_cast<uint32_t>(out.targets.size()));
    auto succ = view.successors(v);
    out.targets.insert(out.targets.end(), succ.begin(), succ.end());
  }
  // Goroutine rows: counting sort of the super-root edges by owner.
  const auto base = static_cast<uint32_t>(out.targets.size());
  uint32_t at = base;
  for (uint32_t i = 0; i < g; ++i) {
    out.rowstart.push_back(at);
    at += per_goroutine[i];
  }
  out.rowstart.push_back(at);
  out.targets.resize(at);
  std::vector<uint32_t> fill(out.rowstart.begin() + n, out.rowstart.begin() + n + g);
  for (size_t i = 0; i < root_edges.size(); ++i)
    if (owner_of_edge[i] != kNoGoroutine) out.targets[fill[owner_of_edge[i]]++] = root_edges[i];
  return out;
}

struct Group {
  std::string state, status, wait_reason;
  bool system = false;
  std::vector<std::string> stack;
  uint64_t count = 0, retained = 0, seen_blocked = 0;
  uint64_t waited_at_least = 0;  // ns: the longest lower bound among its goroutines
  std::vector<uint64_t> goids;
  std::unordered_map<std::string, uint64_t> labels;
};

Json build(const Snapshot& s, const std::string& file, const Labels& labels) {
  const DumpFacts& f = s.facts();
  const GoroutineGraph gg = goroutine_graph(s);
  const auto vertices = static_cast<uint32_t>(gg.rowstart.size() - 1);
  const GraphView view{gg.rowstart.data(), gg.targets.data(), vertices};
  std::vector<uint64_t> weight(vertices, 0);
  for (ObjectId v = 1; v < s.vertex_count(); ++v) weight[v] = s.size(v);
  const DominatorTree tree = compute_dominators(view, kSuperRoot, weight);

  // Groups, keyed by (state, status, system, stack).
  std::map<std::tuple<std::string, uint64_t, bool, std::vector<std::string>>, size_t> index;
  std::vector<Group> groups;
  std::vector<uint32_t> group_of(f.goroutines.size());
  for (uint32_t i = 0; i < f.goroutines.size(); ++i) {
    const GoroutineRecord& g = f.goroutines[i];
    std::vector<std::pair<uint64_t, std::string>> frames;
    uint64_t end = std::min<uint64_t>(g.first_frame + uint64_t{g.frame_count}, f.frames.size());
    for (uint64_t k = g.first_frame; k < end; ++k)
      frames.emplace_back(f.frames[k].depth, f.frames[k].function);
    std::stable_sort(frames.begin(), frames.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> stack;
    for (auto& fr : frames) stack.push_back(std::move(fr.second));
    std::string state = goroutine_state(f, g);
    auto [it, fresh] = index.try_emplace({state, g.status, g.system, stack}, groups.size());
    if (fresh) {
      Group gr;
      gr.state = state;
      gr.status = goroutine_status_name(g.status);
      gr.wait_reason = g.status == 4 ? g.wait_reason : std::string();
      gr.system = g.system;
      gr.stack = std::move(stack);
      groups.push_back(std::move(gr));
    }
    Group& gr = groups[it->second];
    group_of[i] = static_cast<uint32_t>(it->second);
    ++gr.count;
    if (g.wait_since) ++gr.seen_blocked;
    gr.waited_at_least = std::max(gr.waited_at_least, goroutine_waited_at_least(f, g));
    if (gr.goids.size() < kGoidsShown) gr.goids.push_back(g.goid);
    uint32_t gv = gg.first_goroutine + i;
    if (tree.reachable(gv)) gr.retained += tree.retained[gv];
  }

  // Which goroutine (if any) dominates each object: idoms come before their
  // children in preorder.
  std::vector<uint32_t> owner(vertices, kNoGoroutine);
  std::unordered_map<uint64_t, std::string> name_cache;  // raw label key -> display label
  for (uint32_t v : tree.preorder) {
    if (v == kSuperRoot) continue;
    if (v >= gg.first_goroutine) {
      owner[v] = v - gg.first_goroutine;
      continue;
    }
    owner[v] = owner[tree.idom[v]];
    if (owner[v] == kNoGoroutine) continue;
    uint64_t key = labels.type_index(v)   ? (uint64_t{2} << 62) | labels.type_index(v)
                   : labels.site_index(v) ? (uint64_t{1} << 62) | labels.site_index(v)
                                          : s.size(v);
    auto [it, fresh] = name_cache.try_emplace(key);
    if (fresh) it->second = labels.label(s, v);
    groups[group_of[owner[v]]].labels[it->second] += s.size(v);
  }

  std::vector<size_t> order(groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Group &x = groups[a], &y = groups[b];
    if (x.retained != y.retained) return x.retained > y.retained;
    if (x.count != y.count) return x.count > y.count;
    return x.system < y.system;
  });

  Json list = Json::array();
  for (size_t i : order) {
    const Group& gr = groups[i];
    std::vector<std::pair<std::string, uint64_t>> top(gr.labels.begin(), gr.labels.end());
    std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (top.size() > kTopLabels) top.resize(kTopLabels);
    Json tl = Json::array();
    for (const auto& [label, bytes] : top) tl.push_back({{"label", label}, {"bytes", bytes}});
    list.push_back({{"count", gr.count},
                    {"status", gr.status},
                    {"wait_reason", gr.wait_reason},
                    {"state", gr.state},
                    {"system", gr.system},
                    {"stack", gr.stack},
                    {"retained", gr.retained},
                    {"seen_blocked_by_gc", gr.seen_blocked},
                    {"waited_at_least_ns", gr.waited_at_least},
                    {"goids", gr.goids},
                    {"top_labels", std::move(tl)}});
  }
  Json j;
  j["schema"] = report::kJsonSchema;
  j["file"] = file;
  j["live_bytes"] = tree.retained[kSuperRoot];
  j["goroutines"] = f.goroutines.size();
  j["groups"] = std::move(list);
  return j;
}

void render_text(const Json& j, std::ostream& out) {
  using report::bytes_human;
  using report::count;
  using report::safe_text;
  const uint64_t live = j["live_bytes"].get<uint64_t>();
  out << safe_text(j["file"].get<std::string>()) << ": " << count(j["goroutines"].get<uint64_t>())
      << " goroutines in " << count(j["groups"].size()) << " groups, by bytes retained (live "
      << bytes_human(live) << ")\n";
  for (const Json& g : j["groups"]) {
    const uint64_t n = g["count"].get<uint64_t>();
    out << "\n"
        << count(n) << (n == 1 ? " goroutine [" : " goroutines [")
        << safe_text(g["state"].get<std::string>()) << "]"
        << (g["system"].get<bool>() ? " (runtime)" : "") << ", retaining "
        << bytes_human(g["retained"].get<uint64_t>()) << " ("
        << report::percent(g["retained"].get<uint64_t>(), live) << ")\n";
    std::string goids;
    for (const Json& id : g["goids"])
      goids += (goids.empty() ? "" : " ") + std::to_string(id.get<uint64_t>());
    if (n > g["goids"].size()) goids += " ...";
    out << "  goids " << goids << "\n";
    if (uint64_t b = g["seen_blocked_by_gc"].get<uint64_t>()) {
      out << "  " << count(b) << (b == n ? (n == 1 ? " is" : " are") : " of them")
          << " blocked since before a collection";
      const uint64_t waited = g["waited_at_least_ns"].get<uint64_t>();
      if (waited >= 1'000'000'000)
        out << (n == 1 ? "" : "; the longest") << " for at least "
            << report::duration_floor(waited);
      out << "\n";
    }
    const Json& stack = g["stack"];
    size_t shown = 0;
    for (const Json& fn : stack) {
      if (++shown > 12) {
        out << "    ... " << count(stack.size() - 12) << " more frames\n";
        break;
      }
      out << "    " << safe_text(fn.get<std::string>()) << "\n";
    }
    if (stack.empty()) out << "    (no frames)\n";
    for (const Json& l : g["top_labels"])
      out << "  "
          << std::string(10 - std::min<size_t>(10, bytes_human(l["bytes"].get<uint64_t>()).size()),
                         ' ')
          << bytes_human(l["bytes"].get<uint64_t>()) << "  "
          << safe_text(l["label"].get<std::string>()) << "\n";
  }
}

}  // namespace

int run_goroutines(const std::vector<std::string>& args) {
  VerbParser parser(
      "goroutines",
      "[options] FILE\n"
      "Goroutines grouped by stack and state, with the bytes each group alone keeps alive.");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  const Snapshot s = load_snapshot(options.files.front(), options.load);
  require_roots(s.facts(), options.files.front(), "goroutines");
  std::unique_ptr<ElfSymbols> binary = open_binary(options, s, std::cerr);
  const Labels labels = labels_of(s, binary.get());
  const Json j = build(s, options.files.front(), labels);
  return print_result(options.format, j, render_text);
}

}  // namespace heapwalk::cli

#include "heapwalk/passes/cycles.h"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <utility>

#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/strong_components.h"

namespace heapwalk {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// The cycle graph in CSR form over all snapshot vertices (ids unchanged):
// rows of objects not considered are empty and nothing points at them.
struct CycleGraph {
  std::vector<uint32_t> rowstart, targets;
  std::span<const uint32_t> successors(uint32_t v) const {
    return {targets.data() + rowstart[v], targets.data() + rowstart[v + 1]};
  }
};

CycleGraph build_graph(const Snapshot& s, const std::vector<bool>& considered) {
  const uint32_t n = s.vertex_count();
  // (object, funcval) of registered finalizers whose ends are both considered.
  std::vector<std::pair<ObjectId, ObjectId>> closures;
  for (const FinalizerRecord& f : s.facts().finalizers) {
    if (f.queued || !f.funcval) continue;
    const ObjectId object = s.find(f.object), funcval = s.find(f.funcval);
    if (object == kNoObject || funcval == kNoObject || object == funcval) continue;
    if (considered[object] && considered[funcval]) closures.push_back({object, funcval});
  }
  std::sort(closures.begin(), closures.end());
  closures.erase(std::unique(closures.begin(), closures.end()), closures.end());

  CycleGraph g;
  g.rowstart.assign(n + 1, 0);
  g.targets.reserve(s.view().edge_count() + closures.size());
  size_t c = 0;
  for (ObjectId v = 0; v < n; ++v) {
    if (v == kSuperRoot || considered[v]) {
      for (ObjectId w : s.successors(v))
        if (w != v && considered[w]) g.targets.push_back(w);
      for (; c < closures.size() && closures[c].first == v; ++c)
        g.targets.push_back(closures[c].second);
    }
    g.rowstart[v + 1] = static_cast<uint32_t>(g.targets.size());
  }
  return g;
}

// The snapshot edge from `from` to `to` with the lowest field offset, or
// kNoEdge when only a finalizer closure links them.
uint32_t pointer_edge(const Snapshot& s, ObjectId from, ObjectId to) {
  const auto succ = s.successors(from);
  uint32_t best = kNoEdge;
  for (uint32_t i = 0; i < succ.size(); ++i) {
    if (succ[i] != to) continue;
    const uint32_t e = s.first_edge(from) + i;
    if (best == kNoEdge || s.edge_offset(e) < s.edge_offset(best)) best = e;
  }
  return best;
}

bool is_context_label(const std::string& label) {
  return label.find("context.") != std::string::npos;
}

// Per-label counts of a cycle's members, one label string per distinct
// (type, else site, else size) key; `context[i]` tells whether members[i]'s
// label names a context type.
std::vector<CycleLabel> count_labels(const Snapshot& s, const Labels& labels,
                                     const std::vector<ObjectId>& members,
                                     std::vector<bool>& context) {
  std::unordered_map<uint64_t, size_t> by_key;
  std::vector<CycleLabel> rows;
  context.assign(members.size(), false);
  for (size_t i = 0; i < members.size(); ++i) {
    const ObjectId v = members[i];
    uint64_t key;
    if (labels.type_index(v))
      key = (uint64_t{2} << 62) | labels.type_index(v);
    else if (labels.site_index(v))
      key = (uint64_t{1} << 62) | labels.site_index(v);
    else
      key = s.size(v) & ((uint64_t{1} << 62) - 1);
    auto [it, fresh] = by_key.try_emplace(key, rows.size());
    if (fresh) rows.push_back({labels.label(s, v), 0, 0});
    rows[it->second].objects += 1;
    rows[it->second].bytes += s.size(v);
    context[i] = is_context_label(rows[it->second].label);
  }
  // Different keys can render alike (two types of one truncated name): merge.
  std::sort(rows.begin(), rows.end(),
            [](const CycleLabel& a, const CycleLabel& b) { return a.label < b.label; });
  std::vector<CycleLabel> merged;
  for (CycleLabel& r : rows) {
    if (!merged.empty() && merged.back().label == r.label) {
      merged.back().objects += r.objects;
      merged.back().bytes += r.bytes;
    } else {
      merged.push_back(std::move(r));
    }
  }
  std::stable_sort(merged.begin(), merged.end(),
                   [](const CycleLabel& a, const CycleLabel& b) { return a.objects > b.objects; });
  return merged;
}

}  // namespace

CycleAnalysis find_cycles(const Snapshot& s, const CycleOptions& options) {
  const MarkResult full = mark(s);
  const FinalizerAnalysis finalizers = analyze_finalizers(s, full, mark(s, kMaskWithoutFinalizers));
  return find_cycles(s, full, finalizers, compute_root_paths(s), nullptr, options);
}

CycleAnalysis find_cycles(const Snapshot& s, const MarkResult& full,
                          const FinalizerAnalysis& finalizers, const RootPaths& paths,
                          const Labels* labels, const CycleOptions& options) {
  const uint32_t n = s.vertex_count();
  std::vector<bool> considered(n, false);
  for (ObjectId v = 1; v < n; ++v)
    considered[v] = options.all_objects ? !s.is_phantom(v) : full.is_live(v);

  const CycleGraph g = build_graph(s, considered);
  const StrongComponents scc = strong_components(g.rowstart, g.targets);
  const uint32_t c_count = scc.count();
  const std::vector<uint32_t>& comp = scc.component;

  // Cycles: components of two or more objects, numbered densely.
  std::vector<uint32_t> cycle_of_comp(c_count, kNone);
  CycleAnalysis out;
  for (uint32_t c = 0; c < c_count; ++c) {
    if (scc.size[c] < 2) continue;
    cycle_of_comp[c] = static_cast<uint32_t>(out.cycles.size());
    out.cycles.emplace_back();
    out.cycles.back().members.reserve(scc.size[c]);
  }
  if (out.cycles.empty()) return out;
  for (ObjectId v = 1; v < n; ++v) {
    const uint32_t k = cycle_of_comp[comp[v]];
    if (k == kNone) continue;
    Cycle& cycle = out.cycles[k];
    cycle.members.push_back(v);  // ascending: v runs in id order
    cycle.bytes += s.size(v);
  }

  // Retained: dominators over the condensation, weights = component bytes.
  {
    std::vector<uint64_t> weight(c_count, 0);
    for (ObjectId v = 1; v < n; ++v)
      if (considered[v]) weight[comp[v]] += s.size(v);
    std::vector<uint32_t> rowstart(c_count + 1, 0);
    std::vector<bool> pointed_at(c_count, false);
    // Edges from garbage into live objects are left out: garbage must not
    // count as another way to reach what a live cycle holds.
    auto joins = [&](uint32_t v, uint32_t w) {
      return comp[w] != comp[v] && (v == kSuperRoot || full.is_live(v) || !full.is_live(w));
    };
    for (uint32_t v = 0; v < n; ++v)
      for (uint32_t w : g.successors(v))
        if (joins(v, w)) {
          ++rowstart[comp[v] + 1];
          pointed_at[comp[w]] = true;
        }
    const uint32_t root = comp[kSuperRoot];
    std::vector<uint32_t> sources;  // unreachable components nothing points at
    if (options.all_objects)
      for (ObjectId v = 1; v < n; ++v)
        if (considered[v] && !pointed_at[comp[v]] && comp[v] != root) {
          pointed_at[comp[v]] = true;  // once per component
          sources.push_back(comp[v]);
        }
    rowstart[root + 1] += static_cast<uint32_t>(sources.size());
    for (uint32_t c = 0; c < c_count; ++c) rowstart[c + 1] += rowstart[c];
    std::vector<uint32_t> fill(rowstart.begin(), rowstart.end() - 1);
    std::vector<uint32_t> targets(rowstart[c_count]);
    for (uint32_t v = 0; v < n; ++v)
      for (uint32_t w : g.successors(v))
        if (joins(v, w)) targets[fill[comp[v]]++] = comp[w];
    for (uint32_t c : sources) targets[fill[root]++] = c;
    const GraphView condensation{rowstart.data(), targets.data(), c_count};
    const DominatorTree tree = compute_dominators(condensation, root, weight);
    for (uint32_t c = 0; c < c_count; ++c)
      if (cycle_of_comp[c] != kNone) out.cycles[cycle_of_comp[c]].retained = tree.retained[c];
  }

  // Entries: the first member the root-path search discovered; for
  // unreachable cycles the lowest member pointed at from outside, else the
  // lowest member.
  for (uint32_t v : paths.order) {
    if (v >= n || !considered[v]) continue;
    const uint32_t k = cycle_of_comp[comp[v]];
    if (k != kNone && out.cycles[k].entry == kNoObject) out.cycles[k].entry = v;
  }
  for (uint32_t v = 0; v < n; ++v)
    for (uint32_t w : g.successors(v)) {
      const uint32_t k = cycle_of_comp[comp[w]];
      if (k == kNone || comp[v] == comp[w]) continue;
      Cycle& cycle = out.cycles[k];
      if (!paths.reached(w) && (cycle.entry == kNoObject || w < cycle.entry)) cycle.entry = w;
    }
  for (Cycle& cycle : out.cycles) {
    if (cycle.entry == kNoObject) cycle.entry = cycle.members.front();
    cycle.live = full.is_live(cycle.entry);
    if (paths.reached(cycle.entry)) cycle.entry_path = paths.path_to(cycle.entry);
  }

  // Rings: breadth-first from the entry inside its component until an edge
  // leads back to the entry. `parent` is reset after each search.
  {
    std::vector<uint32_t> parent(n, kNone), queue;
    for (Cycle& cycle : out.cycles) {
      const ObjectId entry = cycle.entry;
      const uint32_t c = comp[entry];
      queue.assign(1, entry);
      parent[entry] = entry;
      ObjectId closer = kNoObject;
      for (size_t head = 0; head < queue.size() && closer == kNoObject; ++head) {
        const ObjectId u = queue[head];
        for (ObjectId w : g.successors(u)) {
          if (w == entry) {
            closer = u;
            break;
          }
          if (comp[w] == c && parent[w] == kNone) {
            parent[w] = u;
            queue.push_back(w);
          }
        }
      }
      // closer exists: the component has two members and holds the entry.
      std::vector<ObjectId> hops{entry};
      for (ObjectId u = closer; u != entry; u = parent[u]) hops.push_back(u);
      std::reverse(hops.begin() + 1, hops.end());
      hops.push_back(entry);
      for (size_t i = 0; i + 1 < hops.size(); ++i)
        cycle.ring.push_back({hops[i], hops[i + 1], pointer_edge(s, hops[i], hops[i + 1])});
      for (ObjectId u : queue) parent[u] = kNone;
    }
  }

  // Verdicts and labels.
  std::vector<bool> cyclic_finalizer(n, false);
  for (ObjectId v : finalizers.cyclic.ids) cyclic_finalizer[v] = true;
  for (Cycle& cycle : out.cycles) {
    for (ObjectId v : cycle.members) cycle.finalizer_cycle |= cyclic_finalizer[v];
    if (!labels) continue;
    std::vector<bool> context;
    cycle.labels = count_labels(s, *labels, cycle.members, context);
    const size_t entry_at =
        std::lower_bound(cycle.members.begin(), cycle.members.end(), cycle.entry) -
        cycle.members.begin();
    if (!context[entry_at]) continue;
    for (size_t i = 0; i < cycle.members.size(); ++i) {
      if (i == entry_at || !context[i]) continue;
      const auto succ = s.successors(cycle.members[i]);
      if (std::find(succ.begin(), succ.end(), cycle.entry) != succ.end()) ++cycle.context_children;
    }
  }

  for (const Cycle& cycle : out.cycles) {
    out.objects += cycle.members.size();
    out.bytes += cycle.bytes;
  }
  std::sort(out.cycles.begin(), out.cycles.end(), [&](const Cycle& a, const Cycle& b) {
    if (a.retained != b.retained) return a.retained > b.retained;
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.entry < b.entry;
  });
  return out;
}

uint64_t live_cycle_bytes(const CycleAnalysis& analysis) {
  uint64_t bytes = 0;
  for (const Cycle& cycle : analysis.cycles)
    if (cycle.live) bytes += cycle.bytes;
  return bytes;
}

uint64_t finalizer_cycle_count(const CycleAnalysis& analysis) {
  uint64_t count = 0;
  for (const Cycle& cycle : analysis.cycles)
    if (cycle.live && cycle.finalizer_cycle) ++count;
  return count;
}

}  // namespace heapwalk

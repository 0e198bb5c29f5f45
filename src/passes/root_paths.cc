#include "heapwalk/passes/root_paths.h"

#include <algorithm>
#include <utility>

namespace heapwalk {

std::vector<uint32_t> RootPaths::path_to(ObjectId v) const {
  std::vector<uint32_t> out;
  if (v >= parent.size() || v == kSuperRoot || !reached(v)) return out;
  for (ObjectId u = v; u != kSuperRoot; u = parent[u]) out.push_back(edge[u]);
  std::reverse(out.begin(), out.end());
  return out;
}

RootPaths compute_root_paths(const Snapshot& snapshot) {
  const GraphView g = snapshot.view();
  const uint32_t n = g.vertex_count;
  const auto roots = snapshot.roots();
  RootPaths r;
  r.parent.assign(n, kNoObject);
  r.edge.assign(n, kNoEdge);
  if (n == 0) return r;
  r.parent[kSuperRoot] = kSuperRoot;

  // Every vertex enters the queue at most once.
  std::vector<uint32_t> queue;
  size_t head = 0;
  const uint32_t end_edge = g.rowstart[kSuperRoot + 1];
  uint32_t e = g.rowstart[kSuperRoot];
  while (e < end_edge) {
    // Super-root edges follow root order: one kind's edges are contiguous.
    const RootKind kind = roots[snapshot.edge_offset(e)].kind;
    for (; e < end_edge && roots[snapshot.edge_offset(e)].kind == kind; ++e) {
      const uint32_t v = g.targets[e];
      if (r.parent[v] != kNoObject) continue;
      r.parent[v] = kSuperRoot;
      r.edge[v] = e;
      queue.push_back(v);
    }
    for (; head < queue.size(); ++head) {
      const uint32_t u = queue[head];
      for (uint32_t f = g.rowstart[u], fend = g.rowstart[u + 1]; f < fend; ++f) {
        const uint32_t v = g.targets[f];
        if (r.parent[v] != kNoObject) continue;
        r.parent[v] = u;
        r.edge[v] = f;
        queue.push_back(v);
      }
    }
  }
  r.order = std::move(queue);
  return r;
}

}  // namespace heapwalk

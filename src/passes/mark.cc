#include "heapwalk/passes/mark.h"

#include <vector>

namespace heapwalk {

MarkResult mark(const Snapshot& snapshot, uint32_t root_kind_mask) {
  const GraphView g = snapshot.view();
  const uint32_t n = g.vertex_count;
  const auto roots = snapshot.roots();

  MarkResult r;
  r.marked_bits.assign((uint64_t{n} + 63) / 64, 0);
  r.first_root.assign(n, 0xff);

  auto test_and_set = [&](uint32_t v) {
    uint64_t& word = r.marked_bits[v >> 6];
    const uint64_t bit = uint64_t{1} << (v & 63);
    if (word & bit) return false;
    word |= bit;
    return true;
  };

  // A plain array queue: every vertex enters it at most once, so n slots do.
  std::vector<uint32_t> queue;
  queue.reserve(n);
  if (n > 0) test_and_set(kSuperRoot);

  // Layers, one root kind at a time in RootKind order: the kind's roots seed
  // the queue, and breadth-first search runs to completion before the next
  // kind starts. So first_root says "kept by globals; else by goroutine
  // stacks; else ..." instead of depending on which root happens to be fewer
  // hops away. Each object is still visited once: O(V + E) in all.
  const uint32_t root_first_edge = n > 0 ? g.rowstart[kSuperRoot] : 0;
  const uint32_t root_end_edge = n > 0 ? g.rowstart[kSuperRoot + 1] : 0;
  size_t head = 0;
  uint32_t e = root_first_edge;
  while (e < root_end_edge) {
    // Super-root edges follow root order, so one kind's edges are contiguous.
    const auto kind = static_cast<uint32_t>(roots[snapshot.edge_offset(e)].kind);
    const bool wanted = kind < 32 && ((root_kind_mask >> kind) & 1);
    for (; e < root_end_edge && static_cast<uint32_t>(roots[snapshot.edge_offset(e)].kind) == kind;
         ++e) {
      const uint32_t v = g.targets[e];
      if (wanted && test_and_set(v)) {
        r.first_root[v] = static_cast<uint8_t>(kind);
        queue.push_back(v);
      }
    }
    // Each object inherits the root kind of the object that discovered it.
    // Self edges and back edges are no-ops via the mark bit.
    for (; head < queue.size(); ++head) {
      const uint32_t u = queue[head];
      const uint8_t k = r.first_root[u];
      for (uint32_t f = g.rowstart[u], end = g.rowstart[u + 1]; f < end; ++f) {
        const uint32_t v = g.targets[f];
        if (test_and_set(v)) {
          r.first_root[v] = k;
          queue.push_back(v);
        }
      }
    }
  }

  for (uint32_t v = 1; v < n; ++v) {
    const uint64_t size = snapshot.size(v);
    if (r.is_live(v)) {
      ++r.live_objects;
      r.live_bytes += size;
      const uint8_t kind = r.first_root[v];
      ++r.live_objects_by_root[kind];
      r.live_bytes_by_root[kind] += size;
    } else if (!snapshot.is_phantom(v)) {
      ++r.unreachable_objects;
      r.unreachable_bytes += size;
    }
  }
  return r;
}

}  // namespace heapwalk

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

  // The super-root's edges are visited in root order (kind, then file order):
  // that order is what makes first_root deterministic. An object named by
  // several roots takes the kind of the first one.
  const uint32_t root_first_edge = n > 0 ? g.rowstart[kSuperRoot] : 0;
  const uint32_t root_end_edge = n > 0 ? g.rowstart[kSuperRoot + 1] : 0;
  for (uint32_t e = root_first_edge; e < root_end_edge; ++e) {
    const uint32_t root_index = snapshot.edge_offset(e);
    const auto kind = static_cast<uint32_t>(roots[root_index].kind);
    if (kind >= 32 || !((root_kind_mask >> kind) & 1)) continue;
    const uint32_t v = g.targets[e];
    if (test_and_set(v)) {
      r.first_root[v] = static_cast<uint8_t>(kind);
      queue.push_back(v);
    }
  }

  // Breadth-first: each object inherits the root kind of the object that
  // discovered it. Self edges and back edges are no-ops via the mark bit.
  for (size_t head = 0; head < queue.size(); ++head) {
    const uint32_t u = queue[head];
    const uint8_t kind = r.first_root[u];
    for (uint32_t e = g.rowstart[u], end = g.rowstart[u + 1]; e < end; ++e) {
      const uint32_t v = g.targets[e];
      if (test_and_set(v)) {
        r.first_root[v] = kind;
        queue.push_back(v);
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

#include "heapwalk/passes/retained_by_set.h"

#include <stdexcept>

namespace heapwalk {

SetRetained retained_by_set(const GraphView& graph, uint32_t root, std::span<const uint8_t> in_set,
                            std::span<const uint64_t> weight, uint64_t reachable_bytes,
                            uint64_t reachable_objects, bool keep_reached) {
  const uint32_t n = graph.vertex_count;
  if (root >= n || in_set.size() != n || weight.size() != n)
    throw std::invalid_argument("retained_by_set: sizes do not match the graph");
  std::vector<uint64_t> seen((n + 63) / 64, 0);
  auto visit = [&](uint32_t v) {
    const bool was = (seen[v >> 6] >> (v & 63)) & 1;
    seen[v >> 6] |= uint64_t{1} << (v & 63);
    return !was;
  };
  std::vector<uint32_t> queue;
  queue.reserve(1024);
  queue.push_back(root);
  visit(root);
  uint64_t bytes = 0, objects = 0;
  for (size_t head = 0; head < queue.size(); ++head) {
    const uint32_t v = queue[head];
    bytes += weight[v];
    objects += v != root;
    for (uint32_t w : graph.successors(v))
      if (!in_set[w] && visit(w)) queue.push_back(w);
  }
  if (bytes > reachable_bytes || objects > reachable_objects)
    throw std::invalid_argument("retained_by_set: reachable totals are smaller than a subset");
  SetRetained out{reachable_bytes - bytes, reachable_objects - objects, {}};
  if (keep_reached) out.reached = std::move(seen);
  return out;
}

}  // namespace heapwalk

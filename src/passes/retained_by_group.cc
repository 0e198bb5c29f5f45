#include "heapwalk/passes/retained_by_group.h"

#include <stdexcept>

namespace heapwalk {

GroupRetained retained_by_group(const DominatorTree& tree, const DominatorChildren& children,
                                uint32_t root, std::span<const uint32_t> group_of,
                                uint32_t group_count) {
  if (group_of.size() != tree.idom.size())
    throw std::invalid_argument("retained_by_group: one group per vertex expected");
  GroupRetained out;
  out.bytes.assign(group_count, 0);
  out.outermost.assign(group_count, 0);
  std::vector<uint32_t> open(group_count, 0);  // ancestors of the current vertex in each group
  // Explicit stack of (vertex, next child index); a vertex's group is opened
  // on entry and closed when its last child is done.
  std::vector<std::pair<uint32_t, uint32_t>> stack;
  auto enter = [&](uint32_t v) {
    uint32_t g = group_of[v];
    if (g != kNoGroup) {
      if (open[g] == 0) {
        out.bytes[g] += tree.retained[v];
        ++out.outermost[g];
      }
      ++open[g];
    }
    stack.push_back({v, 0});
  };
  enter(root);
  while (!stack.empty()) {
    auto& [v, next] = stack.back();
    std::span<const uint32_t> kids = children.of(v);
    if (next < kids.size()) {
      uint32_t child = kids[next++];
      enter(child);  // may reallocate: v and next are not used after this
      continue;
    }
    uint32_t g = group_of[v];
    if (g != kNoGroup) --open[g];
    stack.pop_back();
  }
  return out;
}

}  // namespace heapwalk

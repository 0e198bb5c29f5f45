// Retained bytes per group of objects (a type, an allocation site), without
// double counting: an object counts toward its group only when no ancestor
// in the dominator tree belongs to the same group, because that ancestor's
// retained size already includes it. So 2,000 nested *context.cancelCtx
// count once each at the top of each nest, never twice.
//
// One iterative walk over the dominator tree with enter/exit events and a
// per-group count of open ancestors: O(V), no recursion.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "heapwalk/passes/dominators.h"

namespace heapwalk {

inline constexpr uint32_t kNoGroup = ~uint32_t{0};

struct GroupRetained {
  std::vector<uint64_t> bytes;      // retained bytes per group
  std::vector<uint64_t> outermost;  // members with no ancestor in the same group
};

// group_of[v] in [0, group_count) or kNoGroup; the walk starts at `root`.
GroupRetained retained_by_group(const DominatorTree& tree, const DominatorChildren& children,
                                uint32_t root, std::span<const uint32_t> group_of,
                                uint32_t group_count);

}  // namespace heapwalk

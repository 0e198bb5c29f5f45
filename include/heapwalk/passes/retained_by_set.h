// Bytes retained by a SET of objects: what the collector would free if every
// object of the set were gone at once (the set's live members included).
//
// This is the retained size of a virtual vertex X that the whole set is
// collapsed into (every edge into a member redirected to X, X pointing at
// every member's successors): the objects X dominates. It is larger than the
// sum of the members' own retained sizes whenever two members share what
// they hold (a map reachable from two *context.cancelCtx of the same leak),
// and smaller than that sum never; passes/retained_by_group.h only adds up
// outermost members, so it misses such shared objects.
//
// Computed without the rewrite: an object is retained by the set iff it is
// reachable from `root` and no longer reachable once the set's members are
// removed. So: one breadth-first search from `root` that never enters a
// member, and retained = (reachable weight) - (weight reached without the
// members). Checked against the collapse-and-dominate definition on random
// graphs (tests/test_retained_by_set.cc).
//
// Iterative; O(V + E) time per set, one bit per vertex and a queue of up to
// V vertices. `root` itself is never a member (it is ignored if in the set).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "heapwalk/snapshot.h"

namespace heapwalk {

struct SetRetained {
  uint64_t bytes = 0;    // total weight retained by the set (its reachable members included)
  uint64_t objects = 0;  // vertices retained by the set (root never is)
  // With keep_reached: bit v set iff v is reachable from root without the
  // set; the retained vertices are the reachable ones whose bit is clear.
  std::vector<uint64_t> reached;
  bool was_reached(uint32_t v) const { return (reached[v >> 6] >> (v & 63)) & 1; }
};

// in_set[v] != 0 marks a member; weight[v] is v's own size. `reachable_bytes`
// and `reachable_objects` are the weight and count of everything reachable
// from root, root itself not counted (MarkResult's live_bytes and
// live_objects for the super-root), so that one search per set suffices. Requires in_set.size() ==
// weight.size() == vertex_count.
SetRetained retained_by_set(const GraphView& graph, uint32_t root, std::span<const uint8_t> in_set,
                            std::span<const uint64_t> weight, uint64_t reachable_bytes,
                            uint64_t reachable_objects, bool keep_reached = false);

}  // namespace heapwalk

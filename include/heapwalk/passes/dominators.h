// Dominator tree and retained sizes over the object graph.
//
// Algorithm: semi-NCA (Georgiadis, "Linear-Time Algorithms for Dominators and
// Related Problems", 2005; the semidominator half of Lengauer & Tarjan, "A
// Fast Algorithm for Finding Dominators in a Flowgraph", TOPLAS 1979, with
// iterative path compression, then idoms by nearest common ancestor in the
// DFS tree). Iterative throughout: no recursion, so million-long chains are
// fine under the default stack.
//
// Only vertices reachable from `root` take part: predecessors that the DFS
// from `root` never reached (garbage pointing at live objects) are ignored,
// which is exactly where Boost's lengauer_tarjan_dominator_tree goes wrong.
//
// retained[v] = weight[v] + sum of retained[c] over v's dominator-tree
// children, computed in one sweep in reverse DFS preorder.
//
// Cost: O((V + E) log V) worst case, near-linear in practice; memory about
// 6 words per reachable vertex plus a reverse CSR (4 bytes per edge).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "heapwalk/snapshot.h"

namespace heapwalk {

inline constexpr uint32_t kNoDominator = ~uint32_t{0};

struct DominatorTree {
  // idom[v]: immediate dominator of v; idom[root] == root; kNoDominator for
  // vertices not reachable from the root.
  std::vector<uint32_t> idom;
  // retained[v]: bytes v keeps alive (its own weight included); 0 if unreachable.
  std::vector<uint64_t> retained;
  // Reachable vertices in DFS preorder from the root (root first). Children
  // of a vertex in the dominator tree come after it in this order.
  std::vector<uint32_t> preorder;

  bool reachable(uint32_t v) const { return idom[v] != kNoDominator; }
};

// Dominators of `graph` from `root`; weight[v] is v's own size.
// Requires root < graph.vertex_count and weight.size() == graph.vertex_count
// (throws std::invalid_argument otherwise). Self loops and repeated edges are
// allowed. The preorder is that of a depth-first search taking each vertex's
// out-edges in CSR order, so the result is a function of the graph alone.
DominatorTree compute_dominators(const GraphView& graph, uint32_t root,
                                 std::span<const uint64_t> weight);

// Children lists of the dominator tree as CSR (children of v, largest retained
// first, ties by ascending vertex id): rowstart has vertex_count + 1 entries;
// unreachable vertices and leaves have empty rows. O(V + n log n).
struct DominatorChildren {
  std::vector<uint32_t> rowstart;
  std::vector<uint32_t> children;
  std::span<const uint32_t> of(uint32_t v) const {
    return {children.data() + rowstart[v], children.data() + rowstart[v + 1]};
  }
};
DominatorChildren dominator_children(const DominatorTree& tree);

}  // namespace heapwalk

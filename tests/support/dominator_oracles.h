// Slow, obvious dominator answers for cross-checking compute_dominators on
// small graphs, plus a small CSR graph type to feed both.
//
// - naive_dominators: straight from the definition. d dominates v iff v is
//   unreachable from the root once d is removed; idom(v) is the strict
//   dominator of v that every other strict dominator of v dominates;
//   retained(v) is the total weight of the vertices v dominates (itself
//   included). O(V * (V + E)) plus O(V^3) for the idom pick: tiny graphs only.
// - boost_idoms: Boost.Graph's lengauer_tarjan_dominator_tree, the FULL
//   overload (index, time and predecessor maps, preorder vector, dominator
//   tree map, as boost/graph/dominator_tree.hpp documents), run on an
//   adjacency_list copy of ONLY the part reachable from the root. Boost is
//   wrong when an unreachable vertex points into the reachable part, and its
//   path compression recurses, so: reachable subgraphs of small graphs only.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "heapwalk/passes/dominators.h"
#include "heapwalk/snapshot.h"

namespace heapwalk::test {

// A graph in the snapshot's CSR shape. Each vertex's out-edges keep the order
// in which they were given.
struct CsrGraph {
  std::vector<uint32_t> rowstart{0};
  std::vector<uint32_t> targets;

  static CsrGraph from_edges(uint32_t vertex_count,
                             const std::vector<std::pair<uint32_t, uint32_t>>& edges);
  uint32_t vertex_count() const { return static_cast<uint32_t>(rowstart.size() - 1); }
  GraphView view() const { return {rowstart.data(), targets.data(), vertex_count()}; }
};

struct OracleDominators {
  std::vector<uint32_t> idom;      // idom[root] == root; kNoDominator if unreachable
  std::vector<uint64_t> retained;  // 0 if unreachable
};

OracleDominators naive_dominators(const CsrGraph& g, uint32_t root,
                                  const std::vector<uint64_t>& weight);

// idom per vertex as Boost computes it on the reachable subgraph, in the
// contract's convention (idom[root] == root; kNoDominator if unreachable).
std::vector<uint32_t> boost_idoms(const CsrGraph& g, uint32_t root);

}  // namespace heapwalk::test

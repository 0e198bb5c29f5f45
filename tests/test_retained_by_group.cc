// retained_by_group: retained bytes per group, nested members counted once.
#include <catch2/catch.hpp>
#include <random>

#include "heapwalk/passes/retained_by_group.h"
#include "support/dominator_oracles.h"

using namespace heapwalk;
using heapwalk::test::CsrGraph;

namespace {

// Obvious oracle: a vertex's bytes count for group g when it or any of its
// dominators belongs to g.
std::vector<uint64_t> oracle(const DominatorTree& t, const std::vector<uint32_t>& group_of,
                             const std::vector<uint64_t>& weight, uint32_t root, uint32_t groups) {
  std::vector<uint64_t> out(groups, 0);
  for (uint32_t v = 0; v < t.idom.size(); ++v) {
    if (!t.reachable(v)) continue;
    std::vector<bool> seen(groups, false);
    for (uint32_t a = v;; a = t.idom[a]) {
      if (group_of[a] != kNoGroup && !seen[group_of[a]]) {
        seen[group_of[a]] = true;
        out[group_of[a]] += weight[v];
      }
      if (a == root) break;
    }
  }
  return out;
}

}  // namespace

//   0 -> A(g0, 10) -> B(g0, 20) -> C(g1, 30)
//        A -> D(g1, 5)                         D -> C
//
// idom: A<-0, B<-A, D<-A, C<-A (two paths). Group 0: A is the top of its
// nest: retained(A) = 65, B not added again. Group 1: C and D both directly
// under A, neither dominates the other: 30 + 5 = 35.
TEST_CASE("retained_by_group: nested members count once", "[dominators][groups]") {
  CsrGraph g = CsrGraph::from_edges(5, {{0, 1}, {1, 2}, {2, 3}, {1, 4}, {4, 3}});
  std::vector<uint64_t> w{0, 10, 20, 30, 5};
  DominatorTree t = compute_dominators(g.view(), 0, w);
  std::vector<uint32_t> group{kNoGroup, 0, 0, 1, 1};
  auto r = retained_by_group(t, dominator_children(t), 0, group, 2);
  CHECK(r.bytes == std::vector<uint64_t>{65, 35});
  CHECK(r.outermost == std::vector<uint64_t>{1, 2});  // A (B is inside A); C and D
}

TEST_CASE("retained_by_group agrees with the oracle on 2000 random graphs",
          "[dominators][groups]") {
  std::mt19937 rng(20261122);
  for (int round = 0; round < 2000; ++round) {
    const uint32_t n = 2 + rng() % 40, groups = 1 + rng() % 4;
    std::vector<std::pair<uint32_t, uint32_t>> edges;
    const uint32_t m = rng() % (3 * n);
    for (uint32_t i = 0; i < m; ++i) edges.push_back({rng() % n, rng() % n});
    CsrGraph g = CsrGraph::from_edges(n, edges);
    std::vector<uint64_t> w(n);
    std::vector<uint32_t> group(n);
    for (uint32_t v = 0; v < n; ++v) {
      w[v] = rng() % 100;
      group[v] = rng() % 3 == 0 ? kNoGroup : rng() % groups;
    }
    DominatorTree t = compute_dominators(g.view(), 0, w);
    INFO("round " << round);
    REQUIRE(retained_by_group(t, dominator_children(t), 0, group, groups).bytes ==
            oracle(t, group, w, 0, groups));
  }
}

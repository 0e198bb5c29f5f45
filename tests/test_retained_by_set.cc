// retained_by_set: bytes retained by a set of objects, checked against the
// definition it states: collapse the set's reachable members into one virtual
// vertex and take that vertex's dominated weight (naive dominators), on
// thousands of random graphs; a hand-drawn shared-object case; and one
// member equals that member's dominator-tree retained size.
#include <catch2/catch.hpp>
#include <random>

#include "heapwalk/passes/retained_by_group.h"
#include "heapwalk/passes/retained_by_set.h"
#include "support/dominator_oracles.h"

using namespace heapwalk;
using heapwalk::test::CsrGraph;

namespace {

struct Totals {
  uint64_t bytes = 0, objects = 0;
};

Totals reachable_totals(const CsrGraph& g, uint32_t root, const std::vector<uint64_t>& w) {
  std::vector<bool> seen(g.vertex_count(), false);
  std::vector<uint32_t> stack{root};
  seen[root] = true;
  Totals t;
  while (!stack.empty()) {
    const uint32_t v = stack.back();
    stack.pop_back();
    t.bytes += w[v];
    t.objects += v != root;
    for (uint32_t x : g.view().successors(v))
      if (!seen[x]) {
        seen[x] = true;
        stack.push_back(x);
      }
  }
  return t;
}

// The collapse-and-dominate oracle: vertex X = n stands for every reachable
// member (its weight their sum, its out-edges theirs, edges into a member go
// to X); the set retains what X dominates, plus the members X stands for.
Totals collapse_oracle(const CsrGraph& g, uint32_t root, const std::vector<uint8_t>& in_set,
                       const std::vector<uint64_t>& w) {
  const uint32_t n = g.vertex_count(), x = n;
  const test::OracleDominators plain = test::naive_dominators(g, root, w);
  std::vector<bool> member(n, false);
  uint64_t members = 0, member_bytes = 0;
  for (uint32_t v = 0; v < n; ++v) {
    if (v == root || !in_set[v] || plain.idom[v] == kNoDominator) continue;
    member[v] = true;
    ++members;
    member_bytes += w[v];
  }
  if (members == 0) return {};
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  for (uint32_t u = 0; u < n; ++u)
    for (uint32_t v : g.view().successors(u))
      edges.push_back({member[u] ? x : u, member[v] ? x : v});
  std::vector<uint64_t> w2 = w;
  for (uint32_t v = 0; v < n; ++v)
    if (member[v]) w2[v] = 0;
  w2.push_back(member_bytes);
  const CsrGraph collapsed = CsrGraph::from_edges(n + 1, edges);
  const test::OracleDominators d = test::naive_dominators(collapsed, root, w2);
  uint64_t dominated = 0;  // vertices strictly below X, members excluded (they are unreachable now)
  for (uint32_t v = 0; v < n; ++v) {
    if (d.idom[v] == kNoDominator || v == root) continue;
    for (uint32_t a = d.idom[v];; a = d.idom[a]) {
      if (a == x) {
        ++dominated;
        break;
      }
      if (a == root) break;
    }
  }
  return {d.retained[x], dominated + members};
}

}  // namespace

//   0 -> A(10) -> M(30) <- B(20) <- 0
//        A -> C(5)   B -> C
// Set {A, B}: each alone retains only itself (C and M have two parents), but
// together they retain A, B, C and M: 65 bytes, 4 objects. retained_by_group
// (outermost members only) says 30.
TEST_CASE("retained_by_set: shared objects count for the set", "[retained_by_set]") {
  CsrGraph g = CsrGraph::from_edges(5, {{0, 1}, {0, 2}, {1, 3}, {2, 3}, {1, 4}, {2, 4}});
  std::vector<uint64_t> w{0, 10, 20, 30, 5};
  std::vector<uint8_t> set{0, 1, 1, 0, 0};
  SetRetained r = retained_by_set(g.view(), 0, set, w, 65, 4);
  CHECK(r.bytes == 65);
  CHECK(r.objects == 4);
  DominatorTree t = compute_dominators(g.view(), 0, w);
  std::vector<uint32_t> group{kNoGroup, 0, 0, kNoGroup, kNoGroup};
  CHECK(retained_by_group(t, dominator_children(t), 0, group, 1).bytes[0] == 30);
  set = {0, 1, 0, 0, 0};
  CHECK(retained_by_set(g.view(), 0, set, w, 65, 4).bytes == 10);
  set = {0, 0, 0, 1, 1};
  CHECK(retained_by_set(g.view(), 0, set, w, 65, 4).bytes == 35);
  set = {1, 0, 0, 0, 0};  // the root is never a member
  CHECK(retained_by_set(g.view(), 0, set, w, 65, 4).bytes == 0);
  CHECK_THROWS_AS(retained_by_set(g.view(), 0, set, w, 64, 4), std::invalid_argument);
}

TEST_CASE("retained_by_set agrees with collapse-and-dominate on 3000 random graphs",
          "[retained_by_set]") {
  std::mt19937 rng(20261206);
  uint64_t nonzero = 0, more_than_group = 0;
  for (int round = 0; round < 3000; ++round) {
    const uint32_t n = 2 + rng() % 30;
    std::vector<std::pair<uint32_t, uint32_t>> edges;
    const uint32_t m = rng() % (3 * n);
    for (uint32_t i = 0; i < m; ++i) edges.push_back({rng() % n, rng() % n});
    CsrGraph g = CsrGraph::from_edges(n, edges);
    std::vector<uint64_t> w(n);
    std::vector<uint8_t> set(n);
    const uint32_t density = 2 + rng() % 5;
    for (uint32_t v = 0; v < n; ++v) {
      w[v] = 1 + rng() % 100;
      set[v] = rng() % density == 0;
    }
    w[0] = 0;
    const Totals all = reachable_totals(g, 0, w);
    const SetRetained got = retained_by_set(g.view(), 0, set, w, all.bytes, all.objects);
    const Totals want = collapse_oracle(g, 0, set, w);
    INFO("round " << round);
    REQUIRE(got.bytes == want.bytes);
    REQUIRE(got.objects == want.objects);
    nonzero += got.bytes > 0;
    // A one-member set retains exactly its dominator-tree retained size.
    const uint32_t v = 1 + rng() % (n - 1);
    std::vector<uint8_t> single(n, 0);
    single[v] = 1;
    const DominatorTree t = compute_dominators(g.view(), 0, w);
    REQUIRE(retained_by_set(g.view(), 0, single, w, all.bytes, all.objects).bytes == t.retained[v]);
    std::vector<uint32_t> group(n, kNoGroup);
    for (uint32_t u = 1; u < n; ++u)
      if (set[u]) group[u] = 0;
    const uint64_t by_group = retained_by_group(t, dominator_children(t), 0, group, 1).bytes[0];
    REQUIRE(by_group <= got.bytes);
    more_than_group += got.bytes > by_group;
  }
  CHECK(nonzero > 1000);
  CHECK(more_than_group > 50);  // the shared-object case is common, not a corner
}

TEST_CASE("retained_by_set: a 1M-long chain on the default stack", "[retained_by_set]") {
  const uint32_t n = 1'000'001;
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  for (uint32_t v = 0; v + 1 < n; ++v) edges.push_back({v, v + 1});
  CsrGraph g = CsrGraph::from_edges(n, edges);
  std::vector<uint64_t> w(n, 8);
  w[0] = 0;
  std::vector<uint8_t> set(n, 0);
  set[500'001] = 1;
  const SetRetained r = retained_by_set(g.view(), 0, set, w, 8ull * (n - 1), n - 1);
  CHECK(r.objects == 500'000);
  CHECK(r.bytes == 8ull * 500'000);
}

// Strongly connected components (passes/strong_components.h): a textbook
// graph drawn below, thousands of random graphs against the definition
// (u and v share a component iff each reaches the other, by a breadth-first
// search from every vertex), and a million-long ring on the default stack.
#include <catch2/catch.hpp>
#include <random>

#include "heapwalk/passes/strong_components.h"

using namespace heapwalk;

namespace {

struct Csr {
  std::vector<uint32_t> rowstart, targets;
};

Csr csr_of(uint32_t n, const std::vector<std::pair<uint32_t, uint32_t>>& edges) {
  Csr g;
  g.rowstart.assign(n + 1, 0);
  for (auto [u, v] : edges) ++g.rowstart[u + 1];
  for (uint32_t i = 0; i < n; ++i) g.rowstart[i + 1] += g.rowstart[i];
  std::vector<uint32_t> fill(g.rowstart.begin(), g.rowstart.end() - 1);
  g.targets.resize(edges.size());
  for (auto [u, v] : edges) g.targets[fill[u]++] = v;
  return g;
}

// reach[u][v]: v is reachable from u (u from itself always).
std::vector<std::vector<bool>> reachability(const Csr& g) {
  const uint32_t n = static_cast<uint32_t>(g.rowstart.size() - 1);
  std::vector<std::vector<bool>> reach(n, std::vector<bool>(n, false));
  for (uint32_t u = 0; u < n; ++u) {
    std::vector<uint32_t> queue{u};
    reach[u][u] = true;
    for (size_t head = 0; head < queue.size(); ++head)
      for (uint32_t e = g.rowstart[queue[head]]; e < g.rowstart[queue[head] + 1]; ++e)
        if (!reach[u][g.targets[e]]) {
          reach[u][g.targets[e]] = true;
          queue.push_back(g.targets[e]);
        }
  }
  return reach;
}

}  // namespace

//  CLRS (3rd ed.) figure 22.9, a..h = 0..7:
//
//    a --> b --> c <--> d
//    ^    /|     |      |
//    |   / |     v      v
//    e <'  '---> f <--> g --> h (self loop)
//    e --> f
//
//  components {a,b,e} {c,d} {f,g} {h}
TEST_CASE("strong components: the CLRS example", "[cycles][scc]") {
  enum { a, b, c, d, e, f, g, h };
  const Csr graph = csr_of(8, {{a, b},
                               {b, c},
                               {b, e},
                               {b, f},
                               {c, d},
                               {c, g},
                               {d, c},
                               {d, h},
                               {e, a},
                               {e, f},
                               {f, g},
                               {g, f},
                               {g, h},
                               {h, h}});
  const StrongComponents sc = strong_components(graph.rowstart, graph.targets);
  REQUIRE(sc.count() == 4);
  const auto& k = sc.component;
  CHECK(k[a] == k[b]);
  CHECK(k[a] == k[e]);
  CHECK(k[c] == k[d]);
  CHECK(k[f] == k[g]);
  CHECK(sc.size[k[a]] == 3);
  CHECK(sc.size[k[c]] == 2);
  CHECK(sc.size[k[f]] == 2);
  CHECK(sc.size[k[h]] == 1);
  // Reverse topological numbering: h first, then {f,g}, {c,d}, {a,b,e}.
  CHECK(k[h] < k[f]);
  CHECK(k[f] < k[c]);
  CHECK(k[c] < k[a]);
}

TEST_CASE("strong components agree with mutual reachability on 3000 random graphs",
          "[cycles][scc][random]") {
  uint64_t nontrivial = 0;
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937_64 rng(seed);
    const uint32_t n = 1 + rng() % 40;
    const uint32_t m = static_cast<uint32_t>(rng() % (3 * n + 1));
    std::vector<std::pair<uint32_t, uint32_t>> edges;
    for (uint32_t i = 0; i < m; ++i)
      edges.push_back({static_cast<uint32_t>(rng() % n), static_cast<uint32_t>(rng() % n)});
    const Csr g = csr_of(n, edges);
    const StrongComponents sc = strong_components(g.rowstart, g.targets);
    const auto reach = reachability(g);
    INFO("seed " << seed);
    REQUIRE(sc.component.size() == n);
    std::vector<uint32_t> counted(sc.count(), 0);
    for (uint32_t u = 0; u < n; ++u) {
      REQUIRE(sc.component[u] < sc.count());
      ++counted[sc.component[u]];
      for (uint32_t v = 0; v < n; ++v) {
        REQUIRE((sc.component[u] == sc.component[v]) == (reach[u][v] && reach[v][u]));
        // Reverse topological order of the condensation.
        if (reach[u][v] && !reach[v][u]) REQUIRE(sc.component[v] < sc.component[u]);
      }
    }
    for (uint32_t c = 0; c < sc.count(); ++c) {
      REQUIRE(counted[c] == sc.size[c]);
      nontrivial += sc.size[c] >= 2;
    }
  }
  CHECK(nontrivial > 1000);
}

TEST_CASE("strong components: a 1M ring and a 1M chain on the default stack", "[cycles][scc]") {
  const uint32_t n = 1'000'000;
  std::vector<std::pair<uint32_t, uint32_t>> ring, chain;
  for (uint32_t i = 0; i < n; ++i) {
    ring.push_back({i, (i + 1) % n});
    if (i + 1 < n) chain.push_back({i, i + 1});
  }
  const Csr r = csr_of(n, ring);
  const StrongComponents sr = strong_components(r.rowstart, r.targets);
  CHECK(sr.count() == 1);
  CHECK(sr.size[0] == n);
  const Csr c = csr_of(n, chain);
  const StrongComponents sch = strong_components(c.rowstart, c.targets);
  CHECK(sch.count() == n);
  CHECK(sch.component[n - 1] == 0);  // the sink completes first
}

TEST_CASE("strong components: bad input", "[cycles][scc]") {
  const std::vector<uint32_t> rowstart{0, 1}, targets{5};
  CHECK_THROWS_AS(strong_components(rowstart, targets), std::invalid_argument);
  CHECK(strong_components({}, {}).count() == 0);
}

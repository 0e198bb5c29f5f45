// compute_root_paths: every reached vertex gets a valid path from a root of
// the first kind (RootKind order) that reaches it, and that path is shortest
// among paths from that kind, checked against an independent per-kind BFS
// oracle on 1,000 seeded random dumps (written, read and built for real);
// a 1M-object chain works under the default stack.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <deque>
#include <limits>
#include <vector>

#include "heapwalk/passes/mark.h"
#include "heapwalk/passes/root_paths.h"
#include "support/dump_writer.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

constexpr uint32_t kInf = std::numeric_limits<uint32_t>::max();

// Hops (edges, the super-root edge included) from the roots of each kind to
// every vertex, by plain BFS over the whole graph: no layering, no sharing of
// visited marks between kinds.
std::array<std::vector<uint32_t>, kRootKindCount> oracle_distances(const Snapshot& s) {
  const uint32_t n = s.vertex_count();
  std::vector<std::vector<uint32_t>> adj(n);
  for (uint32_t u = 1; u < n; ++u)
    for (uint32_t t : s.successors(u)) adj[u].push_back(t);
  std::array<std::vector<uint32_t>, kRootKindCount> dist;
  for (int k = 0; k < kRootKindCount; ++k) {
    std::vector<uint32_t>& d = dist[k];
    d.assign(n, kInf);
    std::deque<uint32_t> q;
    const auto succ = s.successors(kSuperRoot);
    for (size_t i = 0; i < succ.size(); ++i) {
      const uint32_t e = s.first_edge(kSuperRoot) + static_cast<uint32_t>(i);
      if (static_cast<int>(s.roots()[s.edge_offset(e)].kind) != k) continue;
      if (d[succ[i]] == kInf) {
        d[succ[i]] = 1;
        q.push_back(succ[i]);
      }
    }
    while (!q.empty()) {
      const uint32_t u = q.front();
      q.pop_front();
      for (uint32_t t : adj[u])
        if (d[t] == kInf) {
          d[t] = d[u] + 1;
          q.push_back(t);
        }
    }
  }
  return dist;
}

uint32_t edge_source(const Snapshot& s, uint32_t edge) {
  const GraphView g = s.view();
  const uint32_t* end = g.rowstart + g.vertex_count + 1;
  return static_cast<uint32_t>(std::upper_bound(g.rowstart, end, edge) - g.rowstart - 1);
}

}  // namespace

TEST_CASE("root paths are shortest from the first root kind on 1000 random graphs",
          "[root_paths][random]") {
  uint64_t checked = 0, longest = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const Snapshot s = snapshot_of(random_graph_dump(seed, varied_random_options(seed)));
    const RootPaths p = compute_root_paths(s);
    const MarkResult m = mark(s);
    const auto dist = oracle_distances(s);
    const GraphView g = s.view();
    REQUIRE(p.parent.size() == s.vertex_count());
    REQUIRE(p.edge.size() == s.vertex_count());
    REQUIRE(p.path_to(kSuperRoot).empty());
    for (ObjectId v = 1; v < s.vertex_count(); ++v) {
      INFO("seed " << seed << " object " << v << " at 0x" << std::hex << s.address(v));
      int first = -1;
      for (int k = 0; k < kRootKindCount && first < 0; ++k)
        if (dist[k][v] != kInf) first = k;
      REQUIRE(p.reached(v) == m.is_live(v));
      REQUIRE(p.reached(v) == (first >= 0));
      const std::vector<uint32_t> path = p.path_to(v);
      if (first < 0) {
        REQUIRE(path.empty());
        continue;
      }
      REQUIRE(first == int(m.first_root[v]));
      // A real chain of edges from the super-root to v ...
      REQUIRE(!path.empty());
      REQUIRE(edge_source(s, path.front()) == kSuperRoot);
      REQUIRE(int(s.roots()[s.edge_offset(path.front())].kind) == first);
      for (size_t i = 1; i < path.size(); ++i)
        REQUIRE(edge_source(s, path[i]) == g.targets[path[i - 1]]);
      REQUIRE(g.targets[path.back()] == v);
      REQUIRE(p.edge[v] == path.back());
      REQUIRE(p.parent[v] == edge_source(s, path.back()));
      // ... as short as any from that kind's roots.
      REQUIRE(path.size() == dist[first][v]);
      longest = std::max<uint64_t>(longest, path.size());
      ++checked;
    }
  }
  WARN("root paths vs BFS oracle: " << checked << " live objects, longest path " << longest);
}

TEST_CASE("root paths: hand-drawn ties and kinds", "[root_paths]") {
  DumpBuilder b;
  const uint64_t a = b.object(32), c = b.object(32), d = b.object(32), e = b.object(32),
                 f = b.object(32);
  b.point(a, 0, c);  // a -> c -> d -> e
  b.point(c, 8, d);
  b.point(d, 16, e);
  b.point(f, 24, e);  // f -> e (f only reached from a stack)
  b.frame_root(f);
  b.frame_root(e + 8);  // a stack points at e directly: shorter, but globals come first
  b.data_root(a);
  b.bss_root(d);  // bss: after data, before stacks
  const Snapshot s = b.snapshot();
  const RootPaths p = compute_root_paths(s);
  const GraphView g = s.view();
  auto hops = [&](uint64_t addr) {
    std::vector<uint64_t> out;
    for (uint32_t edge : p.path_to(s.find(addr))) out.push_back(s.address(g.targets[edge]));
    return out;
  };
  CHECK(hops(a) == std::vector<uint64_t>{a});
  CHECK(hops(c) == std::vector<uint64_t>{a, c});
  // d: data reaches it in 3 hops, bss in 1; data is the first kind, so data wins.
  CHECK(hops(d) == std::vector<uint64_t>{a, c, d});
  CHECK(hops(e) == std::vector<uint64_t>{a, c, d, e});
  CHECK(hops(f) == std::vector<uint64_t>{f});
  const auto path = p.path_to(s.find(d));
  CHECK(s.roots()[s.edge_offset(path.front())].kind == RootKind::kData);
  CHECK(s.edge_offset(path[1]) == 0);
  CHECK(s.edge_offset(path[2]) == 8);
}

TEST_CASE("root paths: a chain of 1M objects under the default stack", "[root_paths][large]") {
  constexpr uint32_t kN = 1'000'000;
  // n 16-byte objects back to back, object i pointing at i + 1, a data root at 0.
  DumpDescription d;
  d.objects.resize(kN);
  std::vector<uint64_t> addr(kN);
  const uint64_t base = d.params.heap_start + 0x10000;
  for (uint32_t i = 0; i < kN; ++i) {
    addr[i] = base + 16 * uint64_t{i};
    d.objects[i].address = addr[i];
    d.objects[i].size = 16;
    if (i + 1 < kN) d.objects[i].fields.push_back({8, addr[i] + 16});
  }
  d.segments.push_back({false, 0x5a0000, 0, {{0, base}}});
  const Snapshot s = snapshot_of(d);
  REQUIRE(s.object_count() == kN);
  const RootPaths p = compute_root_paths(s);
  const ObjectId last = s.find(addr[kN - 1]);
  REQUIRE(p.reached(last));
  const std::vector<uint32_t> path = p.path_to(last);
  REQUIRE(path.size() == kN);
  const GraphView g = s.view();
  CHECK(s.address(g.targets[path.front()]) == addr[0]);
  CHECK(s.address(g.targets[path[kN / 2]]) == addr[kN / 2]);
  CHECK(g.targets[path.back()] == last);
}

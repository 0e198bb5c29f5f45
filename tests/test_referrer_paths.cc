// referrer_paths (paths -k): on 1,000 seeded random dumps every returned path
// is a real simple chain of edges from the super-root to its target, the
// first is the BFS path, the rest come through distinct referrers, shortest
// first, and the referrers counted are exactly those found by an obvious
// scan of every edge; plus a hand-drawn case whose answer is read off the
// drawing.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <vector>

#include "heapwalk/passes/referrer_paths.h"
#include "heapwalk/passes/root_paths.h"
#include "support/dump_writer.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

uint32_t edge_source(const Snapshot& s, uint32_t edge) {
  const GraphView g = s.view();
  const uint32_t* end = g.rowstart + g.vertex_count + 1;
  return static_cast<uint32_t>(std::upper_bound(g.rowstart, end, edge) - g.rowstart - 1);
}

// The referrers of t by the definition, found the slow way: every reached
// source of an edge into t (each root edge apart), minus those whose BFS path
// visits t.
struct OracleCount {
  uint64_t referrers = 0, held_back = 0;
};
OracleCount oracle(const Snapshot& s, const RootPaths& p, ObjectId t) {
  OracleCount c;
  const GraphView g = s.view();
  std::set<uint32_t> seen;
  for (uint32_t e = 0; e < g.rowstart[g.vertex_count]; ++e) {
    if (g.targets[e] != t) continue;
    const uint32_t u = edge_source(s, e);
    if (!p.reached(u)) continue;
    if (u != kSuperRoot && !seen.insert(u).second) continue;
    bool through = false;
    if (u != kSuperRoot) {
      for (uint32_t edge : p.path_to(u)) through = through || g.targets[edge] == t;
    }
    (through ? c.held_back : c.referrers) += 1;
  }
  return c;
}

}  // namespace

TEST_CASE("referrer paths against an edge-scan oracle on 1000 random graphs",
          "[referrer_paths][random]") {
  uint64_t targets_checked = 0, multi = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const Snapshot s = snapshot_of(random_graph_dump(seed, varied_random_options(seed)));
    const RootPaths p = compute_root_paths(s);
    const GraphView g = s.view();
    std::vector<ObjectId> targets;
    for (ObjectId v = 1; v < s.vertex_count(); ++v) targets.push_back(v);
    const uint32_t k = 1 + seed % 4;
    const auto result = referrer_paths(s, p, targets, k);
    REQUIRE(result.size() == targets.size());
    for (size_t i = 0; i < targets.size(); ++i) {
      const ObjectId t = targets[i];
      const ReferrerPaths& r = result[i];
      INFO("seed " << seed << " target " << t << " k " << k);
      if (!p.reached(t)) {
        REQUIRE(r.paths.empty());
        continue;
      }
      const OracleCount want = oracle(s, p, t);
      REQUIRE(r.referrers == want.referrers);
      REQUIRE(r.held_back == want.held_back);
      REQUIRE(r.paths.size() == std::min<uint64_t>(k, want.referrers));
      REQUIRE(r.paths.front() == p.path_to(t));
      std::set<std::pair<uint32_t, uint32_t>> referrers;  // (source, root edge or 0)
      for (size_t j = 0; j < r.paths.size(); ++j) {
        const std::vector<uint32_t>& path = r.paths[j];
        REQUIRE(edge_source(s, path.front()) == kSuperRoot);
        for (size_t h = 1; h < path.size(); ++h)
          REQUIRE(edge_source(s, path[h]) == g.targets[path[h - 1]]);
        REQUIRE(g.targets[path.back()] == t);
        std::set<uint32_t> visited;
        for (uint32_t e : path) REQUIRE(visited.insert(g.targets[e]).second);  // simple
        const uint32_t from = edge_source(s, path.back());
        // One path per referrer; each root (super-root edge) is a referrer of its own.
        REQUIRE(referrers.insert({from, from == kSuperRoot ? path.back() : 0}).second);
        if (j >= 2) REQUIRE(path.size() >= r.paths[j - 1].size());  // alternatives: shortest first
      }
      ++targets_checked;
      if (r.paths.size() > 1) ++multi;
    }
  }
  CHECK(multi > 1000);  // the random graphs do exercise alternatives
  WARN("referrer paths vs oracle: " << targets_checked << " live targets, " << multi
                                    << " with alternatives");
}

TEST_CASE("referrer paths: hand-drawn referrers, back pointers and root edges",
          "[referrer_paths]") {
  DumpBuilder b;
  const uint64_t parent = b.object(64), child = b.object(32), holder = b.object(32),
                 t = b.object(48), back = b.object(32);
  b.point(parent, 0, child);  // data -> parent -> child -> t
  b.point(child, 8, t);
  b.point(child, 16, t);  // second field of the same referrer: no second path
  b.point(holder, 0, t);  // stack -> holder -> t
  b.point(t, 0, back);    // t -> back -> t: back is reached through t
  b.point(back, 8, t);
  b.data_root(parent);
  b.frame_root(holder);
  b.frame_root(t + 16);  // a stack word pointing inside t: a root referrer
  const Snapshot s = b.snapshot();
  const RootPaths p = compute_root_paths(s);
  const GraphView g = s.view();
  const ObjectId target = s.find(t);
  const auto r = referrer_paths(s, p, std::vector<ObjectId>{target}, 5);
  REQUIRE(r.size() == 1);
  CHECK(r[0].referrers == 3);  // child, holder, the stack word
  CHECK(r[0].held_back == 1);  // back
  REQUIRE(r[0].paths.size() == 3);
  auto hops = [&](const std::vector<uint32_t>& path) {
    std::vector<uint64_t> out;
    for (uint32_t e : path) out.push_back(s.address(g.targets[e]));
    return out;
  };
  CHECK(hops(r[0].paths[0]) == std::vector<uint64_t>{parent, child, t});  // data first
  CHECK(hops(r[0].paths[1]) == std::vector<uint64_t>{t});                 // the stack word
  CHECK(hops(r[0].paths[2]) == std::vector<uint64_t>{holder, t});
  CHECK(s.edge_offset(r[0].paths[0].back()) == 8);  // child's first field into t
  CHECK(referrer_paths(s, p, std::vector<ObjectId>{target}, 1)[0].paths.size() == 1);
}

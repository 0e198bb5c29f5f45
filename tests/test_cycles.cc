// Reference cycles (passes/cycles.h): hand-drawn graphs, thousands of random
// dumps against plainly written oracles (mutual reachability by BFS from
// every object over a graph built from the dump description, not the
// snapshot; retained bytes by deleting the cycle and marking again; rings
// by BFS), and a million-object ring on the default stack.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "heapwalk/passes/cycles.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/passes/root_paths.h"
#include "support/dump_writer.h"
#include "support/mark_oracle.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

const Cycle* cycle_with(const CycleAnalysis& a, ObjectId v) {
  for (const Cycle& c : a.cycles)
    if (std::binary_search(c.members.begin(), c.members.end(), v)) return &c;
  return nullptr;
}

// The ring is a closed walk from the entry back to it through distinct
// members, each hop a real edge of the snapshot (with the lowest offset
// between its ends) or a registered finalizer's closure.
void check_ring(const Snapshot& s, const Cycle& c) {
  REQUIRE(c.ring.size() >= 2);
  REQUIRE(c.ring.front().from == c.entry);
  REQUIRE(c.closing_edge().to == c.entry);
  std::set<ObjectId> seen;
  for (size_t i = 0; i < c.ring.size(); ++i) {
    const CycleEdge& e = c.ring[i];
    if (i + 1 < c.ring.size()) REQUIRE(e.to == c.ring[i + 1].from);
    REQUIRE(seen.insert(e.from).second);
    REQUIRE(std::binary_search(c.members.begin(), c.members.end(), e.from));
    if (e.finalizer_closure()) {
      bool found = false;
      for (const FinalizerRecord& f : s.facts().finalizers)
        found |= !f.queued && s.find(f.object) == e.from && f.funcval && s.find(f.funcval) == e.to;
      REQUIRE(found);
      for (ObjectId w : s.successors(e.from)) REQUIRE(w != e.to);  // a pointer would be preferred
    } else {
      REQUIRE(e.edge >= s.first_edge(e.from));
      REQUIRE(e.edge < s.first_edge(e.from) + s.successors(e.from).size());
      REQUIRE(s.view().targets[e.edge] == e.to);
      for (uint32_t i2 = 0; i2 < s.successors(e.from).size(); ++i2)
        if (s.successors(e.from)[i2] == e.to)
          REQUIRE(s.edge_offset(s.first_edge(e.from) + i2) >= s.edge_offset(e.edge));
    }
  }
}

}  // namespace

//  data --> P0 --> A --> B --> C --> A      (ring of 3 entered at A)
//                  A --> D (leaf, only A)  C --> E <-- data (E: not only the ring's)
//  data --> F <--> G                       (two-ring, F first)
//  X <--> Y                                 garbage ring (only with all_objects)
//  Z --> Z                                  self loop: no cycle
TEST_CASE("cycles: hand-drawn rings, retained, entry, closing edge", "[cycles]") {
  DumpBuilder b;
  const uint64_t P0 = b.object(16), A = b.object(32), B = b.object(16), C = b.object(24),
                 D = b.object(64), E = b.object(8), F = b.object(16), G = b.object(16),
                 X = b.object(16), Y = b.object(16), Z = b.object(16);
  b.point(P0, 0, A);
  b.point(A, 0, B);
  b.point(A, 8, D);
  b.point(A, 16, B);  // a second field to B: the hop names offset 0
  b.point(B, 8, C);
  b.point(C, 16, A + 8);  // interior pointer closes the ring
  b.point(C, 0, E);
  b.point(F, 0, G);
  b.point(G, 8, F);
  b.point(X, 0, Y);
  b.point(Y, 0, X);
  b.point(Z, 0, Z);
  b.data_root(P0);
  b.data_root(E);
  b.data_root(F);
  const Snapshot s = b.snapshot();
  const CycleAnalysis live = find_cycles(s);
  REQUIRE(live.cycles.size() == 2);
  const Cycle& ring = live.cycles[0];  // retains 32+16+24+64 = 136 > 32
  CHECK(ring.members == std::vector<ObjectId>{s.find(A), s.find(B), s.find(C)});
  CHECK(ring.bytes == 72);
  CHECK(ring.retained == 136);
  CHECK(ring.entry == s.find(A));
  CHECK(ring.entry_path.size() == 2);  // root -> P0 -> A
  REQUIRE(ring.ring.size() == 3);
  CHECK(ring.ring[0].to == s.find(B));
  CHECK(s.edge_offset(ring.ring[0].edge) == 0);
  CHECK(ring.closing_edge().from == s.find(C));
  CHECK(s.edge_offset(ring.closing_edge().edge) == 16);
  CHECK_FALSE(ring.finalizer_cycle);
  check_ring(s, ring);
  const Cycle& two = live.cycles[1];
  CHECK(two.members.size() == 2);
  CHECK(two.entry == s.find(F));
  CHECK(two.retained == 32);
  CHECK(two.closing_edge().from == s.find(G));
  CHECK(live.objects == 5);
  CHECK(live.bytes == 104);
  CHECK(live_cycle_bytes(live) == 104);
  CHECK(finalizer_cycle_count(live) == 0);

  const CycleAnalysis all = find_cycles(s, CycleOptions{.all_objects = true});
  REQUIRE(all.cycles.size() == 3);
  const Cycle* garbage = cycle_with(all, s.find(X));
  REQUIRE(garbage);
  CHECK_FALSE(garbage->live);
  CHECK(garbage->retained == 32);
  CHECK(garbage->entry == s.find(X));  // nothing points in from outside: the lowest address
  CHECK(garbage->entry_path.empty());
  CHECK(live_cycle_bytes(all) == 104);
  CHECK(cycle_with(all, s.find(Z)) == nullptr);
}

//  The finalizer sample's classes in miniature (the real collector's
//  verdicts: samples/go/finalizers/README.md):
//  cycle_one:  P[fin] <--> Q            never freed: finalizer cycle
//  cycle_both: P2[fin] <--> Q2[fin]     never freed: finalizer cycle
//  self:       S[fin] --> S             freed: no cycle at all
//  closure:    N[fin, funcval K], K --> N   never freed: ring N -> K (closure) -> N
//  live ring:  data --> L[fin] <--> M    a cycle, but held by a global: not a finalizer cycle
TEST_CASE("cycles: finalizer cycle verdicts", "[cycles][finalizers]") {
  DumpBuilder b;
  const uint64_t P = b.object(48), Q = b.object(48), P2 = b.object(48), Q2 = b.object(48),
                 S = b.object(48), N = b.object(48), K = b.object(16), L = b.object(16),
                 M = b.object(16);
  b.point(P, 8, Q);
  b.point(Q, 8, P);
  b.finalizer(P, 0x4c0000);
  b.point(P2, 8, Q2);
  b.point(Q2, 8, P2);
  b.finalizer(P2, 0x4c0000);
  b.finalizer(Q2, 0x4c0000);
  b.point(S, 0, S);
  b.finalizer(S, 0x4c0000);
  b.point(K, 8, N);
  b.finalizer(N, K);
  b.point(L, 0, M);
  b.point(M, 0, L);
  b.finalizer(L, 0x4c0000);
  b.data_root(L);
  const Snapshot s = b.snapshot();
  const CycleAnalysis a = find_cycles(s);
  REQUIRE(a.cycles.size() == 4);
  const Cycle *one = cycle_with(a, s.find(P)), *both = cycle_with(a, s.find(P2)),
              *closure = cycle_with(a, s.find(N)), *held = cycle_with(a, s.find(L));
  REQUIRE(one);
  REQUIRE(both);
  REQUIRE(closure);
  REQUIRE(held);
  CHECK(one->finalizer_cycle);
  CHECK(both->finalizer_cycle);
  CHECK(closure->finalizer_cycle);
  CHECK_FALSE(held->finalizer_cycle);
  CHECK(cycle_with(a, s.find(S)) == nullptr);
  CHECK(finalizer_cycle_count(a) == 3);
  // The closure ring: N's finalizer closure K, then K's field back to N.
  CHECK(closure->members == std::vector<ObjectId>{s.find(N), s.find(K)});
  check_ring(s, *closure);
  bool via_closure = false;
  for (const CycleEdge& e : closure->ring) via_closure |= e.finalizer_closure();
  CHECK(via_closure);
  // P's fields are roots: the cycle is entered at what they point at, Q.
  CHECK(one->entry == s.find(Q));
  CHECK(one->closing_edge().from == s.find(P));
}

// Described directly: DumpBuilder looks objects up one by one.
TEST_CASE("cycles: a 1M-object ring on the default stack", "[cycles][large]") {
  const uint32_t n = 1'000'000;
  DumpDescription d;
  const uint64_t base = d.params.heap_start + 0x1000;
  auto address = [&](uint32_t i) { return base + 16ull * i; };
  d.objects.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    d.objects[i].address = address(i);
    d.objects[i].size = 16;
    d.objects[i].fields.push_back({0, address((i + 1) % n)});
  }
  d.segments.push_back({false, 0x5a0000, 8, {{0, address(n / 2)}}});
  const Snapshot s = snapshot_of(d);
  const CycleAnalysis a = find_cycles(s);
  REQUIRE(a.cycles.size() == 1);
  const Cycle& c = a.cycles[0];
  CHECK(c.members.size() == n);
  CHECK(c.retained == 16ull * n);
  CHECK(c.entry == s.find(address(n / 2)));
  CHECK(c.ring.size() == n);
  CHECK(c.closing_edge().from == s.find(address(n / 2 - 1)));
}

// Random dumps: every cycle against oracles built from the description.
TEST_CASE("cycles agree with plain oracles on 2000 random dumps", "[cycles][random]") {
  uint64_t cycles = 0, finalizer_cycles = 0, garbage_cycles = 0, closure_hops = 0;
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    RandomGraphOptions o = varied_random_options(seed + 700000);
    const DumpDescription d = random_graph_dump(seed + 700000, o);
    const MarkOracle oracle(d);
    const Snapshot s = snapshot_of(d);
    const MarkResult full = mark(s);
    const FinalizerAnalysis fa = analyze_finalizers(s, full, mark(s, kMaskWithoutFinalizers));
    const RootPaths paths = compute_root_paths(s);
    const bool all = seed % 3 == 0;
    const CycleAnalysis a = find_cycles(s, full, fa, paths, nullptr, {.all_objects = all});
    INFO("seed " << seed + 700000 << (all ? " --all" : ""));
    const size_t n = oracle.size();
    REQUIRE(s.object_count() == n);  // ids are oracle index + 1

    // The cycle graph from the description: pointers (no self edges) and
    // finalizer closures between considered objects.
    const std::vector<bool> live = oracle.mark();
    std::vector<bool> considered(n);
    for (size_t i = 0; i < n; ++i) considered[i] = all || live[i];
    std::vector<std::vector<int>> out(n);
    for (size_t i = 0; i < n; ++i)
      if (considered[i])
        for (int t : oracle.out(i))
          if (t != int(i) && considered[t]) out[i].push_back(t);
    for (const auto& f : oracle.finalizers())
      if (!f.queued && f.object != MarkOracle::kNone && f.funcval != MarkOracle::kNone &&
          f.funcval != f.object && considered[f.object] && considered[f.funcval])
        out[f.object].push_back(f.funcval);
    auto bfs = [&](int from, const std::vector<bool>& blocked) {
      std::vector<int> dist(n, -1);
      std::vector<int> queue{from};
      dist[from] = 0;
      for (size_t h = 0; h < queue.size(); ++h)
        for (int w : out[queue[h]])
          if (dist[w] < 0 && !blocked[w]) {
            dist[w] = dist[queue[h]] + 1;
            queue.push_back(w);
          }
      return dist;
    };
    const std::vector<bool> none(n, false);
    std::vector<std::vector<int>> dist(n);
    for (size_t i = 0; i < n; ++i) dist[i] = bfs(int(i), none);

    // Components of two or more by mutual reachability.
    std::set<std::vector<ObjectId>> expected;
    for (size_t i = 0; i < n; ++i) {
      if (!considered[i]) continue;
      std::vector<ObjectId> members;
      for (size_t j = 0; j < n; ++j)
        if (dist[i][j] >= 0 && dist[j][i] >= 0) members.push_back(ObjectId(j + 1));
      if (members.size() >= 2) expected.insert(members);
    }
    std::set<std::vector<ObjectId>> found;
    for (const Cycle& c : a.cycles) found.insert(c.members);
    REQUIRE(found == expected);
    REQUIRE(found.size() == a.cycles.size());

    // K' for the finalizer verdict, as analyze_finalizers defines it.
    const std::vector<bool> persistent = oracle.mark(kMaskPersistentRoots);
    std::vector<std::vector<int>> gk(n);
    std::vector<bool> in_k2(n), fin_object(n, false), funcval_self(n, false);
    for (size_t i = 0; i < n; ++i) in_k2[i] = live[i] && !persistent[i];
    for (size_t i = 0; i < n; ++i)
      if (in_k2[i])
        for (int t : oracle.out(i))
          if (t != int(i) && in_k2[t]) gk[i].push_back(t);
    for (const auto& f : oracle.finalizers()) {
      if (f.queued || f.object == MarkOracle::kNone) continue;
      fin_object[f.object] = true;
      if (!in_k2[f.object]) continue;
      if (f.funcval == f.object)
        funcval_self[f.object] = true;
      else if (f.funcval != MarkOracle::kNone && in_k2[f.funcval])
        gk[f.object].push_back(f.funcval);
    }

    for (size_t k = 0; k < a.cycles.size(); ++k) {
      const Cycle& c = a.cycles[k];
      INFO("cycle " << k << " entry " << c.entry);
      ++cycles;
      std::vector<bool> member(n, false);
      uint64_t bytes = 0;
      for (ObjectId v : c.members) {
        member[v - 1] = true;
        bytes += oracle.slot_size(v - 1);
      }
      REQUIRE(c.bytes == bytes);
      REQUIRE(c.live == live[c.members.front() - 1]);
      if (!c.live) ++garbage_cycles;
      REQUIRE(member[c.entry - 1]);

      // Entry: no member is nearer a root (first root kind, then hops).
      if (c.live) {
        REQUIRE(paths.reached(c.entry));
        const auto key = [&](ObjectId v) {
          return std::make_pair(full.first_root[v], paths.path_to(v).size());
        };
        for (ObjectId v : c.members) REQUIRE(key(c.entry) <= key(v));
        REQUIRE(c.entry_path == paths.path_to(c.entry));
      } else {
        REQUIRE(c.entry_path.empty());
      }

      // Ring: real edges, and as short as any cycle through the entry.
      check_ring(s, c);
      int shortest = -1;
      for (ObjectId v : c.members)
        if (v != c.entry && dist[c.entry - 1][v - 1] >= 0)
          for (int w : out[v - 1])
            if (w == int(c.entry - 1) && (shortest < 0 || dist[c.entry - 1][v - 1] + 1 < shortest))
              shortest = dist[c.entry - 1][v - 1] + 1;
      REQUIRE(int(c.ring.size()) == shortest);
      for (const CycleEdge& e : c.ring) closure_hops += e.finalizer_closure();

      // Retained (live cycles): what no longer marks once the cycle is gone.
      if (c.live) {
        std::vector<bool> kept(n, false);
        std::vector<int> queue;
        for (ObjectId r : s.successors(kSuperRoot))
          if (!member[r - 1] && !kept[r - 1]) {
            kept[r - 1] = true;
            queue.push_back(int(r - 1));
          }
        for (size_t h = 0; h < queue.size(); ++h)
          for (int w : out[queue[h]])
            if (!kept[w] && !member[w]) {
              kept[w] = true;
              queue.push_back(w);
            }
        uint64_t retained = 0;
        for (size_t i = 0; i < n; ++i)
          if (live[i] && !kept[i]) retained += oracle.slot_size(i);
        REQUIRE(c.retained == retained);
      } else {
        REQUIRE(c.retained >= c.bytes);
      }

      // Finalizer verdict: a finalizer object of K' on a ring of G_K'.
      bool verdict = false;
      for (ObjectId v : c.members) {
        const int i = int(v - 1);
        if (!in_k2[i] || !fin_object[i]) continue;
        bool on_ring = funcval_self[i];
        std::vector<bool> seen(n, false);
        std::vector<int> stack(gk[i].begin(), gk[i].end());
        while (!stack.empty() && !on_ring) {
          const int x = stack.back();
          stack.pop_back();
          if (x == i) on_ring = true;
          if (seen[x]) continue;
          seen[x] = true;
          for (int y : gk[x]) stack.push_back(y);
        }
        verdict |= on_ring;
      }
      REQUIRE(c.finalizer_cycle == verdict);
      finalizer_cycles += verdict;
      if (k > 0) REQUIRE(a.cycles[k - 1].retained >= c.retained);
    }
  }
  WARN("cycles vs oracles: " << cycles << " cycles, " << finalizer_cycles << " finalizer cycles, "
                             << garbage_cycles << " unreachable, " << closure_hops
                             << " closure hops");
  CHECK(cycles > 1000);
  CHECK(finalizer_cycles > 0);
  CHECK(garbage_cycles > 0);
}

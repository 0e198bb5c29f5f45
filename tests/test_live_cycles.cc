// find_live_cycles (check's cycle_bytes): live objects on reference cycles of
// two or more objects, against a slow oracle on random dumps, a hand-drawn
// graph, and a 1M-object ring on the default stack.
#include <catch2/catch.hpp>

#include "heapwalk/passes/live_cycles.h"
#include "heapwalk/passes/mark.h"
#include "support/dump_writer.h"

using namespace heapwalk;

namespace {

// v lies on a cycle of >= 2 objects iff some successor w != v reaches v back.
std::vector<bool> oracle(const Snapshot& s) {
  const uint32_t n = s.vertex_count();
  std::vector<bool> out(n, false);
  for (ObjectId v = 1; v < n; ++v) {
    std::vector<bool> seen(n, false);
    std::vector<ObjectId> stack;
    for (ObjectId w : s.successors(v))
      if (w != v && !seen[w]) {
        seen[w] = true;
        stack.push_back(w);
      }
    while (!stack.empty() && !out[v]) {
      const ObjectId u = stack.back();
      stack.pop_back();
      if (u == v) out[v] = true;
      for (ObjectId x : s.successors(u))
        if (!seen[x]) {
          seen[x] = true;
          stack.push_back(x);
        }
    }
  }
  return out;
}

}  // namespace

//   global -> A <-> B -> C -> C (self)      D <-> E (garbage)
// Live cycles: {A, B}; C's self pointer is no cycle; D, E are not live.
TEST_CASE("live_cycles: hand-drawn", "[cycles]") {
  test::DumpBuilder b;
  const uint64_t a = b.object(16), bb = b.object(32), c = b.object(64), d = b.object(16),
                 e = b.object(16);
  b.point(a, 0, bb);
  b.point(bb, 0, a);
  b.point(bb, 8, c);
  b.point(c, 0, c + 8);
  b.point(d, 0, e);
  b.point(e, 0, d);
  b.data_root(a);
  const Snapshot s = b.snapshot();
  const LiveCycles r = find_live_cycles(s, mark(s));
  CHECK(r.objects == std::vector<ObjectId>{s.find(a), s.find(bb)});
  CHECK(r.bytes == 48);
  CHECK(r.components == 1);
}

TEST_CASE("live_cycles agrees with the oracle on 1000 random dumps", "[cycles]") {
  uint64_t with_cycles = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const Snapshot s =
        test::snapshot_of(test::random_graph_dump(seed, test::varied_random_options(seed)));
    const MarkResult m = mark(s);
    const LiveCycles r = find_live_cycles(s, m);
    const std::vector<bool> on_cycle = oracle(s);
    std::vector<ObjectId> want;
    uint64_t bytes = 0;
    for (ObjectId v = 1; v < s.vertex_count(); ++v)
      if (on_cycle[v] && m.is_live(v)) {
        want.push_back(v);
        bytes += s.size(v);
      }
    INFO("seed " << seed);
    REQUIRE(r.objects == want);
    REQUIRE(r.bytes == bytes);
    with_cycles += !want.empty();
  }
  CHECK(with_cycles > 100);
}

TEST_CASE("live_cycles: a 1M-object ring on the default stack", "[cycles][large]") {
  // 16-byte objects back to back, i -> i + 1, the last -> the first, a global -> the first.
  constexpr uint32_t kN = 1'000'000;
  test::DumpDescription d;
  d.objects.resize(kN);
  const uint64_t base = d.params.heap_start + 0x10000;
  for (uint32_t i = 0; i < kN; ++i) {
    d.objects[i].address = base + 16 * uint64_t{i};
    d.objects[i].size = 16;
    d.objects[i].fields.push_back({0, i + 1 < kN ? base + 16 * uint64_t{i + 1} : base});
  }
  d.segments.push_back({false, 0x5a0000, 0, {{0, base}}});
  const Snapshot s = test::snapshot_of(d);
  const LiveCycles r = find_live_cycles(s, mark(s));
  CHECK(r.objects.size() == kN);
  CHECK(r.bytes == 16ull * kN);
  CHECK(r.components == 1);
}

// Go's mark over tiny hand-drawn graphs, each through the real writer ->
// reader -> builder path. Arrows are pointer fields; `+8` an interior
// pointer; [fin] a registered finalizer on the object.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/mark.h"
#include "support/dump_writer.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

constexpr uint8_t kNotLive = 0xff;
uint8_t k(RootKind kind) { return static_cast<uint8_t>(kind); }

struct Row {
  const char* name;
  uint64_t address;
  bool live;
  uint8_t first_root;
};

void check_table(const Snapshot& s, const MarkResult& m, const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    INFO("object " << row.name);
    const ObjectId id = s.find(row.address);
    REQUIRE(id != kNoObject);
    CHECK(m.is_live(id) == row.live);
    CHECK(int(m.first_root[id]) == int(row.first_root));
  }
}

}  // namespace

// data[0] -> A(32) --@8--> B(16)+8 --@0--> C(16) --@0--> C (self)
//            A@16 -> A+32+4 (the gap after A: in no object)
//            A@24 -> 0x5a0010 (a global: not a heap edge)
// D(16) --@0--> A          (garbage pointing at a live object)
// E(8)                      (nothing points to it)
TEST_CASE("mark: interior pointers, self pointers, pointers into nothing", "[mark]") {
  DumpBuilder b;
  const uint64_t A = b.object(32), B = b.object(16), C = b.object(16), D = b.object(16),
                 E = b.object(8);
  b.point(A, 8, B + 8);
  b.point(A, 16, A + 32 + 4);
  b.point(A, 24, 0x5a0010);
  b.point(B, 0, C);
  b.point(C, 0, C);
  b.point(D, 0, A);
  b.data_root(A);
  const Snapshot s = b.snapshot();
  const MarkResult m = mark(s);

  //  object  live   first root
  check_table(s, m,
              {{"A", A, true, k(RootKind::kData)},
               {"B", B, true, k(RootKind::kData)},
               {"C", C, true, k(RootKind::kData)},
               {"D", D, false, kNotLive},
               {"E", E, false, kNotLive}});
  CHECK(m.is_live(kSuperRoot));
  CHECK(m.live_objects == 3);
  CHECK(m.live_bytes == 64);
  CHECK(m.unreachable_objects == 2);
  CHECK(m.unreachable_bytes == 24);
  CHECK(m.live_objects_by_root[k(RootKind::kData)] == 3);
  CHECK(m.live_bytes_by_root[k(RootKind::kData)] == 64);
  CHECK(s.stats().unresolved == 2);
}

// One object per root kind, each root pointing at its own object (some
// interior); F[fin] is itself unreachable but F@0 -> H keeps H.
//
//   data -> O1   bss -> O2+8   frame -> O3   ctxt -> O4
//   defer{address O5, funcval O6, link O7}   panic{address O8, argument O9+4}
//   F[fin, funcval O10] --@0--> H             queued{object Q, funcval O11}
//   other -> O12                              U: unreachable
TEST_CASE("mark: every root kind, and first_root names it", "[mark]") {
  DumpBuilder b;
  const uint64_t O1 = b.object(16), O2 = b.object(16), O3 = b.object(16), O4 = b.object(16),
                 O5 = b.object(16), O6 = b.object(16), O7 = b.object(16), O8 = b.object(16),
                 O9 = b.object(16), O10 = b.object(16), O11 = b.object(16), O12 = b.object(16),
                 F = b.object(16), H = b.object(16), Q = b.object(16), U = b.object(16);
  b.data_root(O1);
  b.bss_root(O2 + 8);
  b.frame_root(O3);
  b.context_root(O4);
  b.defer_record(O5, O6, O7);
  b.panic_record(O8, O9 + 4, 0);
  b.finalizer(F, O10);
  b.point(F, 0, H);
  b.queued_finalizer(Q, O11);
  b.other_root(O12);
  const Snapshot s = b.snapshot();
  const MarkResult m = mark(s);

  //  object  live   first root
  const std::vector<Row> table = {
      {"O1", O1, true, k(RootKind::kData)},
      {"O2", O2, true, k(RootKind::kBss)},
      {"O3", O3, true, k(RootKind::kStackFrame)},
      {"O4", O4, true, k(RootKind::kGoroutineContext)},
      {"O5", O5, true, k(RootKind::kDefer)},
      {"O6", O6, true, k(RootKind::kDefer)},
      {"O7", O7, true, k(RootKind::kDefer)},
      {"O8", O8, true, k(RootKind::kPanic)},
      {"O9", O9, true, k(RootKind::kPanic)},
      {"O10", O10, true, k(RootKind::kFinalizer)},
      {"F", F, false, kNotLive},
      {"H", H, true, k(RootKind::kFinalizer)},
      {"Q", Q, true, k(RootKind::kQueuedFinalizer)},
      {"O11", O11, true, k(RootKind::kQueuedFinalizer)},
      {"O12", O12, true, k(RootKind::kOther)},
      {"U", U, false, kNotLive},
  };
  check_table(s, m, table);
  CHECK(m.live_objects == 14);
  CHECK(m.unreachable_objects == 2);
  for (int kind = 0; kind < kRootKindCount; ++kind) {
    uint64_t expected = 0;
    for (const Row& row : table) expected += row.first_root == kind;
    INFO("kind " << root_kind_name(RootKind(kind)));
    CHECK(m.live_objects_by_root[kind] == expected);
    CHECK(m.live_bytes_by_root[kind] == 16 * expected);
  }

  SECTION("a mask keeps only the roots of its kinds") {
    const MarkResult only_data = mark(s, 1u << k(RootKind::kData));
    CHECK(only_data.live_objects == 1);
    CHECK(only_data.is_live(s.find(O1)));
    const MarkResult no_fin = mark(s, kMaskWithoutFinalizers);
    CHECK(no_fin.live_objects == 12);
    CHECK_FALSE(no_fin.is_live(s.find(O10)));
    CHECK_FALSE(no_fin.is_live(s.find(H)));
    CHECK(no_fin.is_live(s.find(Q)));
    const MarkResult none = mark(s, 0);
    CHECK(none.live_objects == 0);
    CHECK(none.unreachable_objects == 16);
  }
}

// first_root is the first root kind, in RootKind order, that reaches the
// object at all, however many hops away: marking runs one kind at a time.
//
//   data -> P --> Q --> X          bss -> Y      frame -> X
//   data -> R --> Y                frame -> Z    bss -> Z
//
//   X: data  (2 hops from data; the frame root is nearer but comes later)
//   Y: data  (1 hop from data, 0 from bss)
//   Z: bss   (bss comes before stack frames)
TEST_CASE("mark: first_root is the first root kind that reaches the object", "[mark]") {
  DumpBuilder b;
  const uint64_t P = b.object(16), Q = b.object(16), X = b.object(16), R = b.object(16),
                 Y = b.object(16), Z = b.object(16);
  b.point(P, 0, Q);
  b.point(Q, 0, X);
  b.point(R, 0, Y);
  b.data_root(P);
  b.data_root(R);
  b.bss_root(Y);
  b.bss_root(Z);
  b.frame_root(X);
  b.frame_root(Z);
  const Snapshot s = b.snapshot();
  const MarkResult m = mark(s);
  check_table(s, m,
              {{"P", P, true, k(RootKind::kData)},
               {"Q", Q, true, k(RootKind::kData)},
               {"X", X, true, k(RootKind::kData)},
               {"R", R, true, k(RootKind::kData)},
               {"Y", Y, true, k(RootKind::kData)},
               {"Z", Z, true, k(RootKind::kBss)}});
}

// The finalizer rules.
//
//   F[fin] --> G        F unreachable: its special marks G, never F
//   S[fin] --> S        a pointer into itself: S unreachable
//   T[fin] --> T+8      an interior pointer into itself: same
//   P[fin] <--> Q[fin]  a cycle of two: each special marks the other: both live
//   C[fin, funcval K],  K --@8--> C   the closure captures C: C live
//   V[queued] --> W     a queued finalizer keeps its object and what it points to
//   M[fin, static func] nothing else: unreachable
TEST_CASE("mark: finalizer referents, self pointers, cycles, closures, queued", "[mark]") {
  DumpBuilder b;
  const uint64_t F = b.object(16), G = b.object(16), S = b.object(16), T = b.object(16),
                 P = b.object(16), Q = b.object(16), C = b.object(16), K = b.object(16),
                 V = b.object(16), W = b.object(16), M = b.object(16);
  b.point(F, 0, G);
  b.finalizer(F, 0x4c0000);
  b.point(S, 0, S);
  b.finalizer(S, 0x4c0000);
  b.point(T, 0, T + 8);
  b.finalizer(T, 0x4c0000);
  b.point(P, 0, Q);
  b.point(Q, 0, P);
  b.finalizer(P, 0x4c0000);
  b.finalizer(Q, 0x4c0000);
  b.point(K, 8, C);
  b.finalizer(C, K);
  b.point(V, 0, W);
  b.queued_finalizer(V, 0x4c0008);
  b.finalizer(M, 0x4c0000);
  const Snapshot s = b.snapshot();
  const MarkResult m = mark(s);
  //  object  live   first root
  check_table(s, m,
              {{"F", F, false, kNotLive},
               {"G", G, true, k(RootKind::kFinalizer)},
               {"S", S, false, kNotLive},
               {"T", T, false, kNotLive},
               {"P", P, true, k(RootKind::kFinalizer)},
               {"Q", Q, true, k(RootKind::kFinalizer)},
               {"C", C, true, k(RootKind::kFinalizer)},
               {"K", K, true, k(RootKind::kFinalizer)},
               {"V", V, true, k(RootKind::kQueuedFinalizer)},
               {"W", W, true, k(RootKind::kQueuedFinalizer)},
               {"M", M, false, kNotLive}});
  CHECK(m.unreachable_objects == 4);

  // Without finalizer roots only the queued finalizer keeps anything.
  const MarkResult no_fin = mark(s, kMaskWithoutFinalizers);
  CHECK(no_fin.live_objects == 2);
}

// Go 1.22+: slots of a pointerful 64-byte span that cover the heap bitmap
// (the last 128 bytes of the 8 KiB page: slots 126 and 127) are phantoms.
// They are never reached and never counted as garbage.
TEST_CASE("mark: phantom records are left out of the unreachable totals", "[mark]") {
  DumpDescription d;
  d.params.go_version = "go1.23.0";
  const uint64_t page = d.params.heap_start;
  d.objects.push_back({page, 64, {}, {{0, page + 64}}});  // slot 0, pointerful
  d.objects.push_back({page + 64, 64, {}, {}});           // slot 1
  d.objects.push_back({page + 128, 64, {}, {}});          // slot 2: garbage
  d.objects.push_back({page + 126 * 64, 64, {}, {}});     // phantom
  d.objects.push_back({page + 127 * 64, 64, {}, {}});     // phantom
  d.segments.push_back({false, 0x5a0000, 0, {{0, page}}});
  const Snapshot s = snapshot_of(d);
  REQUIRE(s.phantom_count() == 2);
  CHECK(s.phantom_bytes() == 128);
  const MarkResult m = mark(s);
  CHECK(m.live_objects == 2);
  CHECK(m.unreachable_objects == 1);
  CHECK(m.unreachable_bytes == 64);
  CHECK_FALSE(m.is_live(s.find(page + 126 * 64)));
}

TEST_CASE("mark: an empty dump", "[mark]") {
  const Snapshot s = snapshot_of(DumpDescription{});
  const MarkResult m = mark(s);
  CHECK(m.live_objects == 0);
  CHECK(m.unreachable_objects == 0);
  CHECK(m.is_live(kSuperRoot));
}

namespace {

// n 16-byte objects back to back; object i points to i + 1 (the last one to
// the first when `ring`); a data root names object 0 when `rooted`.
DumpDescription chain(uint32_t n, bool ring, bool rooted) {
  DumpDescription d;
  d.objects.resize(n);
  const uint64_t base = d.params.heap_start + 0x10000;
  for (uint32_t i = 0; i < n; ++i) {
    auto& o = d.objects[i];
    o.address = base + 16 * uint64_t{i};
    o.size = 16;
    if (i + 1 < n) {
      o.fields.push_back({0, o.address + 16});
    } else if (ring) {
      o.fields.push_back({0, base});
    }
  }
  if (rooted) d.segments.push_back({false, 0x5a0000, 0, {{0, base}}});
  return d;
}

}  // namespace

TEST_CASE("mark: a 1M-object chain and a 1M ring under the default stack", "[mark][large]") {
  constexpr uint32_t kN = 1'000'000;
  SECTION("chain") {
    const Snapshot s = snapshot_of(chain(kN, false, true));
    REQUIRE(s.object_count() == kN);
    const MarkResult m = mark(s);
    CHECK(m.live_objects == kN);
    CHECK(m.live_bytes == 16ull * kN);
    CHECK(m.unreachable_objects == 0);
    CHECK(m.live_objects_by_root[k(RootKind::kData)] == kN);
  }
  SECTION("ring") {
    const Snapshot s = snapshot_of(chain(kN, true, true));
    const MarkResult m = mark(s);
    CHECK(m.live_objects == kN);
    const MarkResult none = mark(s, 0);
    CHECK(none.unreachable_objects == kN);
  }
  SECTION("ring held only by a finalizer on one of its objects: one immortal cycle") {
    DumpDescription d = chain(kN, true, false);
    const uint64_t holder = d.objects[kN / 2].address;
    d.finalizers.push_back({holder, 0x4c0000, 0x402000, 0, 0, false});
    const Snapshot s = snapshot_of(d);
    const MarkResult m = mark(s);
    CHECK(m.live_objects == kN);
    const FinalizerAnalysis a = analyze_finalizers(s);
    CHECK(a.kept_only_by_finalizers.objects == kN);
    REQUIRE(a.cyclic.objects == 1);
    CHECK(s.address(a.cyclic.ids[0]) == holder);
    CHECK(a.immortal.objects == kN);
  }
  SECTION("chain of finalizer objects: every link is freed in turn, none is cyclic") {
    DumpDescription d = chain(kN, false, false);
    for (const auto& o : d.objects) d.finalizers.push_back({o.address, 0, 0x402000, 0, 0, false});
    const Snapshot s = snapshot_of(d);
    const FinalizerAnalysis a = analyze_finalizers(s);
    CHECK(a.registered == kN);
    CHECK(a.pending.objects == 1);
    CHECK(a.kept_only_by_finalizers.objects == kN - 1);
    CHECK(a.cyclic.objects == 0);
    CHECK(a.immortal.objects == 0);
  }
}

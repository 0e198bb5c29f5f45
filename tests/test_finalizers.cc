// Finalizer analysis on hand-drawn graphs: connpool's classes in miniature,
// with the real collector's verdicts (../shared/corpus/README.md) as the
// expected table. [fin] = registered finalizer, funcval a static func unless
// said otherwise; nothing is rooted unless drawn.
#include <algorithm>
#include <catch2/catch.hpp>

#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/mark.h"
#include "support/dump_writer.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

bool has(const ObjectSet& set, const Snapshot& s, uint64_t address) {
  return std::binary_search(set.ids.begin(), set.ids.end(), s.find(address));
}

}  // namespace

//  pool_cycle:    C1[fin] --> Pool --> C2[fin] --> Pool, Pool --> M[fin] (marker)
//  pool_acyclic:  Pool2 --> D1[fin], D2[fin]     (no back-pointer)
//  self_loop:     S[fin] --> S
//  closure_self:  X[fin, funcval K]   K --@8--> X
//  chain:         A[fin] --> B[fin] --> Cc[fin]
//  live:          data --> L[fin]
//  mutual:        Y[fin, funcval KY], KY --> Z, Z[fin, funcval KZ], KZ --> Y
//  live closure:  data --> L2[fin, funcval KL], KL --> KLdata
//
//  object   pending  K   cyclic  immortal  held   real collector
//  C1, C2   -        y   y       y         -      never
//  Pool     -        y   -       y         -      never (marker M never)
//  M        -        y   -       y         -      never
//  D1, D2   y        -   -       -         -      cycle 1
//  Pool2    -        -   -       -         -      (garbage)
//  S        y        -   -       -         -      cycle 1
//  X        -        y   y       y         -      never
//  K        -        y   -       y         -      never
//  A        y        -   -       -         -      cycle 1
//  B        -        y   -       -         -      cycle 2
//  Cc       -        y   -       -         -      cycle 3
//  L        -        -   -       -         -      never (live)
//  Y, Z     -        y   y       y         -      never: each closure keeps the other
//  KL       -        y   -       -         y      never, but only while L2 lives
TEST_CASE("finalizers: connpool's classes in miniature", "[finalizers]") {
  DumpBuilder b;
  const uint64_t C1 = b.object(16), C2 = b.object(16), Pool = b.object(32), M = b.object(8);
  b.point(C1, 0, Pool);
  b.point(C2, 0, Pool);
  b.point(Pool, 0, C1);
  b.point(Pool, 8, C2);
  b.point(Pool, 16, M);
  b.finalizer(C1, 0x4c0000);
  b.finalizer(C2, 0x4c0000);
  b.finalizer(M, 0x4c0000);
  const uint64_t Pool2 = b.object(16), D1 = b.object(16), D2 = b.object(16);
  b.point(Pool2, 0, D1);
  b.point(Pool2, 8, D2);
  b.finalizer(D1, 0x4c0000);
  b.finalizer(D2, 0x4c0000);
  const uint64_t S = b.object(16);
  b.point(S, 8, S);
  b.finalizer(S, 0x4c0000);
  const uint64_t X = b.object(16), K = b.object(16);
  b.point(K, 8, X);
  b.finalizer(X, K);
  const uint64_t A = b.object(16), B = b.object(16), Cc = b.object(16);
  b.point(A, 0, B);
  b.point(B, 0, Cc);
  b.finalizer(A, 0x4c0000);
  b.finalizer(B, 0x4c0000);
  b.finalizer(Cc, 0x4c0000);
  const uint64_t L = b.object(16);
  b.data_root(L);
  b.finalizer(L, 0x4c0000);
  const uint64_t Y = b.object(16), KY = b.object(16), Z = b.object(16), KZ = b.object(16);
  b.point(KY, 8, Z);
  b.point(KZ, 8, Y);
  b.finalizer(Y, KY);
  b.finalizer(Z, KZ);
  const uint64_t L2 = b.object(16), KL = b.object(16), KLdata = b.object(16);
  b.data_root(L2);
  b.point(KL, 8, KLdata);
  b.finalizer(L2, KL);

  const Snapshot s = b.snapshot();
  const FinalizerAnalysis a = analyze_finalizers(s);
  CHECK(a.registered == 14);
  CHECK(a.queued == 0);
  CHECK(a.unresolved == 0);

  struct Row {
    const char* name;
    uint64_t address;
    bool pending, kept, cyclic, immortal, held;
  };
  const Row table[] = {
      // name    address  pend   K      cyclic immortal held
      {"C1", C1, false, true, true, true, false},
      {"C2", C2, false, true, true, true, false},
      {"Pool", Pool, false, true, false, true, false},
      {"M", M, false, true, false, true, false},
      {"D1", D1, true, false, false, false, false},
      {"D2", D2, true, false, false, false, false},
      {"Pool2", Pool2, false, false, false, false, false},
      {"S", S, true, false, false, false, false},
      {"X", X, false, true, true, true, false},
      {"K", K, false, true, false, true, false},
      {"A", A, true, false, false, false, false},
      {"B", B, false, true, false, false, false},
      {"Cc", Cc, false, true, false, false, false},
      {"L", L, false, false, false, false, false},
      {"Y", Y, false, true, true, true, false},
      {"KY", KY, false, true, false, true, false},
      {"Z", Z, false, true, true, true, false},
      {"KZ", KZ, false, true, false, true, false},
      {"L2", L2, false, false, false, false, false},
      {"KL", KL, false, true, false, false, true},
      {"KLdata", KLdata, false, true, false, false, true},
  };
  for (const Row& row : table) {
    INFO("object " << row.name);
    CHECK(has(a.pending, s, row.address) == row.pending);
    CHECK(has(a.kept_only_by_finalizers, s, row.address) == row.kept);
    CHECK(has(a.cyclic, s, row.address) == row.cyclic);
    CHECK(has(a.immortal, s, row.address) == row.immortal);
    CHECK(has(a.held_for_live, s, row.address) == row.held);
  }
  CHECK(a.pending.objects == 4);  // D1, D2, S, A
  CHECK(a.pending.bytes == 64);
  CHECK(a.cyclic.objects == 5);
  CHECK(a.cyclic.bytes == 80);
  CHECK(a.immortal.objects == 10);  // C1 C2 Pool M X K Y KY Z KZ
  CHECK(a.immortal.bytes == 16 * 8 + 32 + 8);
  CHECK(a.kept_only_by_finalizers.objects == 14);  // immortal + B Cc KL KLdata
}

//  F[fin, funcval inside F itself]: that root marks F: never freed.
//  G[fin] --> G+8 only: freed (a pointer into itself is skipped).
//  Q[queued] --> R[fin] --> Q: R is live now; after Q's finalizer has run,
//  R's special alone keeps Q, and Q points back: a cycle through R.
//  H[fin] at an interior address: rounded down to its slot.
TEST_CASE("finalizers: funcval inside its object, queued finalizers, interior addresses",
          "[finalizers]") {
  DumpBuilder b;
  const uint64_t F = b.object(32), G = b.object(16), Q = b.object(16), R = b.object(16),
                 H = b.object(32);
  b.finalizer(F, F + 16);
  b.point(G, 0, G + 8);
  b.finalizer(G, 0x4c0000);
  b.point(Q, 0, R);
  b.point(R, 0, Q);
  b.queued_finalizer(Q, 0x4c0008);
  b.finalizer(R, 0x4c0000);
  b.finalizer(H + 8, 0x4c0000);
  const Snapshot s = b.snapshot();
  const MarkResult m = mark(s);
  CHECK(m.is_live(s.find(F)));
  CHECK_FALSE(m.is_live(s.find(G)));
  const FinalizerAnalysis a = analyze_finalizers(s);
  CHECK(a.registered == 4);
  CHECK(a.queued == 1);
  CHECK(has(a.cyclic, s, F));
  CHECK(has(a.pending, s, G));
  CHECK(has(a.pending, s, H));
  CHECK_FALSE(has(a.kept_only_by_finalizers, s, R));  // the queued finalizer keeps it now
  CHECK(has(a.cyclic, s, R));                         // ... and its own cycle later
  CHECK(has(a.immortal, s, Q));
}

TEST_CASE("finalizers: a dump without finalizers", "[finalizers]") {
  DumpBuilder b;
  b.data_root(b.object(16));
  const Snapshot s = b.snapshot();
  const FinalizerAnalysis a = analyze_finalizers(s);
  CHECK(a.registered == 0);
  CHECK(a.pending.objects == 0);
  CHECK(a.kept_only_by_finalizers.objects == 0);
  CHECK(a.cyclic.ids.empty());
}

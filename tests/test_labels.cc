// Labels over hand-made dumps (writer -> reader -> builder): every evidence
// source, the conflict rule, interior data words, malloc headers and site
// frames, each checked on its own object.
#include <catch2/catch.hpp>
#include <string>

#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "support/dump_writer.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

constexpr uint64_t kCancelCtxPtr = 0x4e03e0;  // "context." (truncated *context.cancelCtx)
constexpr uint64_t kStats = 0x4d0000;         // main.sessionStats, boxed in interfaces
constexpr uint64_t kNamed = 0x4d1000;         // main.Named
constexpr uint64_t kMainPtr = 0x4d2000;       // "main." (truncated *main.sessionStats)
constexpr uint64_t kWeird = 0x4d3000;         // "pkg." of 24 bytes: not a pointer
constexpr uint64_t kItabCanceler = 0x517ce8;  // (*context.cancelCtx, context.canceler)
constexpr uint64_t kItabStringer = 0x517d00;  // (*main.sessionStats, fmt.Stringer)

DumpDescription base(const std::string& version) {
  DumpDescription d;
  d.params.go_version = version;
  d.types = {{kCancelCtxPtr, 8, "context.", true},
             {kStats, 536, "main.sessionStats", true},
             {kNamed, 8, "main.Named", true},
             {kMainPtr, 8, "main.", true},
             {kWeird, 24, "pkg.", true}};
  d.itabs = {{kItabCanceler, kCancelCtxPtr}, {kItabStringer, kMainPtr}};
  return d;
}

DumpObjectSpec object(uint64_t address, uint64_t size, std::vector<PointerField> fields = {}) {
  DumpObjectSpec o;
  o.address = address;
  o.size = size;
  o.fields = std::move(fields);
  return o;
}

MemProfBucket bucket(uint64_t address, std::vector<StackEntry> stack) {
  return MemProfBucket{address, 64, std::move(stack), 1, 0};
}

}  // namespace

TEST_CASE("labels: interface words in objects and roots name their pointees", "[labels]") {
  DumpDescription d = base("go1.19.8");
  const uint64_t A = 0xc000010000, B = 0xc000011000, C = 0xc000012000, D = 0xc000013000,
                 E = 0xc000014000, F = 0xc000015000, H = 0xc000016000, W = 0xc000017000;
  d.objects = {
      object(A, 64,
             {{0, kItabCanceler},
              {8, B},  // iface: B is a *context.cancelCtx
              {16, kStats},
              {24, C},  // eface: C is a boxed main.sessionStats
              {32, kItabCanceler},
              {40, D + 16}}),  // data word inside D: skipped
      object(B, 32),
      object(C, 544),
      object(D, 48),
      object(E, 48),
      object(F, 32),
      object(H, 32, {{0, kNamed}, {8, B}}),  // a second, different type for B: a conflict
      object(W, 32, {{0, 0}, {8, 0}}),       // only nil fields: no evidence
  };
  DumpSegmentSpec bss;
  bss.bss = true;
  bss.start = 0x5b0000;
  bss.fields = {{0, kItabCanceler}, {8, E}};  // a global interface holding E
  d.segments = {DumpSegmentSpec{false, 0x5a0000, 16, {}}, bss};
  DumpGoroutineSpec g;
  g.address = 0xc000900000;
  DumpFrameSpec frame;
  frame.sp = 0xc000800000;
  frame.size = 64;
  frame.fields = {{16, kNamed}, {24, F}};  // a local `any` holding F
  g.frames = {frame};
  d.goroutines = {g};
  const Snapshot s = snapshot_of(d);
  const Labels L = compute_labels(s);

  auto id = [&](uint64_t a) { return s.find(a); };
  CHECK(L.type_name(id(B)) == "context.<pointee type>");  // the object, not the pointer
  CHECK(L.type_source(id(B)) == TypeSource::kInterface);
  CHECK(L.type_name(id(C)) == "main.sessionStats");
  CHECK(L.type_name(id(D)).empty());
  CHECK(L.type_name(id(E)) == "context.<pointee type>");
  CHECK(L.type_name(id(F)) == "main.Named");
  CHECK(L.type_name(id(A)).empty());
  CHECK(L.counts().interior_skipped == 1);
  CHECK(L.counts().conflicts == 1);  // H names B main.Named; the first evidence (A's itab) stays
  CHECK(L.counts().by_interface == 4);
  CHECK(L.counts().by_header == 0);
  CHECK(L.label(s, id(D)) == "[48-byte object]");
  CHECK(L.label(s, id(B)) == "context.<pointee type>");
}

TEST_CASE("labels: truncated names are shown honestly", "[labels]") {
  DumpDescription d = base("go1.19.8");
  const uint64_t A = 0xc000010000, X = 0xc000011000, Y = 0xc000012000;
  d.objects = {object(A, 32, {{0, kItabStringer}, {8, X}, {16, kWeird}, {24, Y}}), object(X, 16),
               object(Y, 32)};
  const Snapshot s = snapshot_of(d);
  const Labels L = compute_labels(s);
  CHECK(L.type_name(s.find(X)) == "main.<pointee type>");
  CHECK(L.type_name(s.find(Y)) ==
        "pkg.<unnamed type>");  // 24 bytes: not a pointer, no invented name
}

TEST_CASE("labels: allocation sites skip runtime frames, then the standard library", "[labels]") {
  DumpDescription d = base("go1.19.8");
  const uint64_t A = 0xc000010000, B = 0xc000011000, C = 0xc000012000, D = 0xc000013000,
                 E = 0xc000014000;
  d.objects = {object(A, 64), object(B, 64), object(C, 64), object(D, 64), object(E, 64)};
  d.buckets = {
      bucket(0x7f0000001000, {{"runtime.mallocgc", "runtime/malloc.go", 1000},
                              {"runtime/internal/x.f", "runtime/internal/x/x.go", 3},
                              {"internal/runtime/maps.newarray", "internal/runtime/maps/map.go", 5},
                              {"context.WithCancel", "context/context.go", 232},
                              {"context.(*cancelCtx).Done", "context/context.go", 300},
                              {"main.handle", "/home/u/app/main.go", 88},
                              {"runtime.main", "runtime/proc.go", 250}}),
      bucket(0x7f0000002000,
             {{"github.com/x/y.New", "github.com/x/y/y.go", 10}, {"main.main", "main.go", 5}}),
      bucket(0x7f0000003000, {{"runtime.malg", "runtime/proc.go", 4077}}),
      // Same stack, another size class: one site.
      bucket(0x7f0000004000,
             {{"github.com/x/y.New", "github.com/x/y/y.go", 10}, {"main.main", "main.go", 5}}),
  };
  d.alloc_samples = {
      {A, 0x7f0000001000},           {B, 0x7f0000002000},     {C, 0x7f0000003000},
      {D, 0x7f0000004000},           {E + 8, 0x7f0000001000},  // not at a start: unresolved
      {0xc0000f0000, 0x7f0000001000}};                         // in no object
  const Snapshot s = snapshot_of(d);
  const Labels L = compute_labels(s);
  REQUIRE(L.site(s.find(A)));
  CHECK(L.site(s.find(A))->allocator == "context.WithCancel (context.go:232)");
  CHECK(L.site(s.find(A))->caller == "main.handle (main.go:88)");
  CHECK(L.site(s.find(A))->label() ==
        "context.WithCancel (context.go:232) <- main.handle (main.go:88)");
  CHECK(L.label(s, s.find(A)) ==
        "[site] context.WithCancel (context.go:232) <- main.handle (main.go:88)");
  CHECK(L.site(s.find(B))->label() == "github.com/x/y.New (y.go:10)");
  CHECK(L.site(s.find(C))->label() == "runtime.malg (proc.go:4077)");
  CHECK(L.site_index(s.find(B)) == L.site_index(s.find(D)));
  CHECK(L.site(s.find(E)) == nullptr);
  CHECK(L.counts().by_site == 4);
  CHECK(L.counts().samples_unresolved == 2);
  CHECK(L.sites().size() == 4);  // [0] unused + 3 distinct
}

TEST_CASE("labels: Go 1.22+ malloc headers name the slot, value and sample at slot + 8",
          "[labels]") {
  DumpDescription d = base("go1.23.0");
  const uint64_t M = 0xc000100000, N = 0xc000102000, Q = 0xc000104000, P = 0xc000106000,
                 R = 0xc000108000, S = 0xc00010a000;
  DumpObjectSpec m = object(M, 640, {{8, N}, {16, 0}});
  m.contents.resize(8);
  for (int i = 0; i < 8; ++i) m.contents[i] = static_cast<uint8_t>(kStats >> (8 * i));
  DumpObjectSpec q = object(Q, 640);  // no pointer fields: no header, its first word means nothing
  q.contents = m.contents;
  DumpObjectSpec r = object(R, 640, {{8, 0}});  // a header naming a type the dump does not know
  r.contents = {0x00, 0x10, 0x4f, 0, 0, 0, 0, 0};
  d.objects = {m,
               object(N, 32),
               q,
               object(P, 32,
                      {{0, kItabStringer},
                       {8, M + 8},  // *main.sessionStats: agrees
                       {16, kItabCanceler},
                       {24, S}}),
               r,
               object(S, 640, {{8, 0}})};
  d.buckets = {bucket(0x7f0000001000, {{"main.newStats", "main.go", 7}})};
  d.alloc_samples = {{M + 8, 0x7f0000001000}, {Q + 8, 0x7f0000001000}};
  const Snapshot s = snapshot_of(d);
  const Labels L = compute_labels(s);
  CHECK(L.type_name(s.find(M)) == "main.sessionStats");
  CHECK(L.type_source(s.find(M)) == TypeSource::kMallocHeader);
  // M's header word followed by a pointer field is not an interface.
  CHECK(L.type_name(s.find(N)).empty());
  CHECK(L.type_name(s.find(Q)).empty());
  CHECK(L.type_name(s.find(R)).empty());
  // S has a header-sized slot with pointers but a zero header word and an
  // interface pointing at its start (not start + 8): a part of the slot.
  CHECK(L.type_name(s.find(S)).empty());
  CHECK(L.counts().interior_skipped == 1);
  CHECK(L.counts().conflicts == 0);
  CHECK(L.counts().by_header == 1);
  REQUIRE(L.site(s.find(M)));
  CHECK(L.site(s.find(M))->label() == "main.newStats (main.go:7)");
  CHECK(L.site(s.find(Q)) == nullptr);  // no header: slot + 8 is interior
  CHECK(L.counts().samples_unresolved == 1);
}

TEST_CASE("labels: coverage counts live bytes by type, by site and unnamed", "[labels]") {
  DumpDescription d = base("go1.19.8");
  const uint64_t A = 0xc000010000, B = 0xc000011000, C = 0xc000012000, G = 0xc000013000;
  d.objects = {object(A, 64, {{0, kItabCanceler}, {8, B}, {16, C}}), object(B, 32), object(C, 128),
               object(G, 256)};
  d.buckets = {bucket(0x7f0000001000, {{"main.f", "main.go", 1}})};
  d.alloc_samples = {{B, 0x7f0000001000}, {G, 0x7f0000001000}};
  d.segments = {DumpSegmentSpec{false, 0x5a0000, 8, {{0, A}}}};
  const Snapshot s = snapshot_of(d);
  const Labels L = compute_labels(s);
  const MarkResult m = mark(s);
  LabelCounts c = label_coverage(s, L, m);
  CHECK(m.live_bytes == 64 + 32 + 128);
  CHECK(c.typed_live_bytes == 32);  // B
  CHECK(c.sited_live_bytes == 32);  // B (G is garbage)
  CHECK(c.unnamed_live_bytes == 64 + 128);
}

TEST_CASE("labels: a user's pointer type names the objects it points at", "[labels]") {
  CHECK(type_name_matches("context.cancelCtx", "*context.cancelCtx"));
  CHECK(type_name_matches("context.cancelCtx", "context.cancelCtx"));
  CHECK(type_name_matches("*main.T", "*main.T"));  // a pointer-typed object (a *T slot)
  CHECK_FALSE(type_name_matches("main.T", "**main.T"));
  CHECK_FALSE(type_name_matches("context.cancelCtx", "*context.cancel"));
  CHECK_FALSE(type_name_matches("", "*"));
  CHECK_FALSE(type_name_matches("", ""));  // untyped objects match no type
}

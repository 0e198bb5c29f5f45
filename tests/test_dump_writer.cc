// The synthetic dump writer must produce what the real runtime would: every
// later test trusts it. Checked here through the real reader.
#include <algorithm>
#include <catch2/catch.hpp>

#include "heapwalk/error.h"
#include "heapwalk/input.h"
#include "heapwalk/reader.h"
#include "heapwalk/snapshot.h"
#include "support/dump_writer.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

std::vector<uint8_t> uvarint(uint64_t v) {
  std::vector<uint8_t> out;
  put_uvarint(out, v);
  return out;
}

DumpDescription one_of_everything() {
  DumpDescription d;
  d.types.push_back({0x4e0000, 48, "main.T", false});
  d.itabs.push_back({0x520000, 0x4e0000});
  DumpObjectSpec a{0xc000010000, 32, {}, {{8, 0xc000010040}, {24, 0}}};
  DumpObjectSpec b{0xc000010040, 16, {0xde, 0xad}, {}};
  d.objects = {b, a};
  DumpGoroutineSpec g;
  g.address = 0xc000900000;
  g.goid = 7;
  g.wait_reason = "select";
  g.ctxt = 0xc000010048;
  DumpFrameSpec f0, f1;
  f0.depth = 0;
  f0.sp = 0xc000800000;
  f0.fields = {{16, 0xc000010000}};
  f0.function = "main.inner";
  f1.depth = 1;
  f1.sp = 0xc000800100;
  f1.size = 64;
  f1.function = "main.outer";
  g.frames = {f0, f1};
  d.goroutines.push_back(g);
  d.defers.push_back({0xc000020000, 0xc000900000, 1, 2, 0xc000010040, 3, 0});
  d.panics.push_back({0xc000020100, 0xc000900000, 4, 0xc000010000, 0, 0});
  d.other_roots.push_back({"legacy", 0xc000010000});
  d.threads.push_back({0xc000030000, 1, 4242});
  d.segments.push_back({true, 0x5b0000, 32, {{8, 0xc000010000}}});
  d.segments.push_back({false, 0x5a0000, 0, {{0, 0xc000010040}}});
  DumpFinalizerSpec reg, queued;
  reg.object = 0xc000010008;
  reg.funcval = 0x4c0000;
  queued.object = 0xc000010040;
  queued.funcval = 0x4c0008;
  queued.queued = true;
  d.finalizers = {queued, reg};
  std::array<uint64_t, kMemStatsWords> ms{};
  ms[kHeapObjects] = 2;
  ms[kHeapAlloc] = 48;
  ms[kNumGC] = 3;
  d.memstats = ms;
  d.buckets.push_back(
      {0xb0000, 32, {{"main.f", "main.go", 10}, {"main.main", "main.go", 20}}, 5, 1});
  d.alloc_samples.push_back({0xc000010000, 0xb0000});
  return d;
}

}  // namespace

TEST_CASE("put_uvarint writes LEB128, low group first", "[dump_writer]") {
  CHECK(uvarint(0) == std::vector<uint8_t>{0});
  CHECK(uvarint(127) == std::vector<uint8_t>{0x7f});
  CHECK(uvarint(128) == std::vector<uint8_t>{0x80, 0x01});
  CHECK(uvarint(300) == std::vector<uint8_t>{0xac, 0x02});
  CHECK(uvarint(~uint64_t{0}).size() == 10);
  CHECK(uvarint(~uint64_t{0}).back() == 0x01);
}

TEST_CASE("write_dump starts with the go1.7 header and params, ends with EOF", "[dump_writer]") {
  DumpDescription d;
  const auto bytes = write_dump(d);
  const std::string header(bytes.begin(), bytes.begin() + 16);
  CHECK(header == "go1.7 heap dump\n");
  CHECK(bytes[16] == 6);
  CHECK(bytes.back() == 0);
}

TEST_CASE("every record the writer emits reads back through the real reader", "[dump_writer]") {
  const DumpDescription d = one_of_everything();
  const auto bytes = write_dump(d);
  const InputBuffer input = InputBuffer::from_bytes("all.heapdump", bytes);
  const DumpFacts facts = read_dump(input);

  CHECK(facts.format == "go");
  CHECK(facts.params.go_version == "go1.19.8");
  CHECK(facts.params.arch == "amd64");
  CHECK(facts.params.pointer_size == 8);
  CHECK(facts.params.heap_start == d.params.heap_start);
  CHECK(facts.params.heap_end == d.params.heap_end);
  CHECK(facts.params.ncpu == 2);
  CHECK(facts.bytes_read == bytes.size());
  CHECK_FALSE(facts.truncated);

  const std::array<uint64_t, kRecordTagCount> expected_counts = {1, 2, 1, 1, 1, 2, 1, 1, 1,
                                                                 1, 1, 1, 1, 1, 1, 1, 1, 1};
  for (int tag = 0; tag < kRecordTagCount; ++tag) {
    INFO("tag " << tag << " " << record_tag_name(tag));
    CHECK(facts.record_counts[tag] == expected_counts[tag]);
  }

  REQUIRE(facts.objects.size() == 2);
  CHECK(facts.objects[0].address == 0xc000010040);  // file order kept
  CHECK(facts.objects[0].size == 16);
  CHECK(facts.objects[1].address == 0xc000010000);
  CHECK(facts.objects[1].size == 32);
  // Object b has no fields, a has two (8 and 24).
  CHECK(facts.pointer_fields == 2);
  CHECK(input.bytes()[facts.objects[0].contents_offset] == 0xde);
  CHECK(input.bytes()[facts.objects[1].contents_offset + 8] == 0x40);  // little-endian value

  REQUIRE(facts.types.size() == 1);
  CHECK(facts.types[0].name == "main.T");
  REQUIRE(facts.itabs.size() == 1);
  CHECK(facts.itabs[0].type_address == 0x4e0000);
  REQUIRE(facts.goroutines.size() == 1);
  CHECK(facts.goroutines[0].goid == 7);
  CHECK(facts.goroutines[0].wait_reason == "select");
  CHECK(facts.goroutines[0].ctxt == 0xc000010048);
  REQUIRE(facts.frames.size() == 2);
  CHECK(facts.frames[0].function == "main.inner");
  CHECK(facts.frames[0].size == 24);  // grown to cover its field at 16
  CHECK(facts.frames[1].size == 64);
  CHECK(facts.frames[1].goroutine == 0);
  REQUIRE(facts.defers.size() == 1);
  CHECK(facts.defers[0].funcval == 0xc000010040);
  REQUIRE(facts.panics.size() == 1);
  CHECK(facts.panics[0].arg_data == 0xc000010000);
  REQUIRE(facts.other_roots.size() == 1);
  CHECK(facts.other_roots[0].description == "legacy");
  REQUIRE(facts.threads.size() == 1);
  CHECK(facts.threads[0].os_id == 4242);
  REQUIRE(facts.segments.size() == 2);
  CHECK_FALSE(facts.segments[0].bss);  // data is written before bss
  CHECK(facts.segments[1].bss);
  CHECK(facts.segments[1].size == 32);
  REQUIRE(facts.finalizers.size() == 2);
  CHECK_FALSE(facts.finalizers[0].queued);  // registered before queued
  CHECK(facts.finalizers[0].object == 0xc000010008);
  CHECK(facts.finalizers[1].queued);
  CHECK(facts.has_memstats);
  CHECK(facts.memstats[kHeapObjects] == 2);
  CHECK(facts.memstats[kNumGC] == 3);
  REQUIRE(facts.buckets.size() == 1);
  REQUIRE(facts.buckets[0].stack.size() == 2);
  CHECK(facts.buckets[0].stack[1].line == 20);
  CHECK(facts.buckets[0].allocs == 5);
  REQUIRE(facts.alloc_samples.size() == 1);
  CHECK(facts.alloc_samples[0].bucket == 0xb0000);

  // Root words, by kind: the reader sees every one the writer put in.
  std::array<int, kRootKindCount> by_kind{};
  for (const RawRoot& r : facts.roots) ++by_kind[static_cast<int>(r.kind)];
  CHECK(by_kind[int(RootKind::kData)] == 1);
  CHECK(by_kind[int(RootKind::kBss)] == 1);
  CHECK(by_kind[int(RootKind::kStackFrame)] == 1);
  CHECK(by_kind[int(RootKind::kGoroutineContext)] == 1);
  CHECK(by_kind[int(RootKind::kDefer)] >= 2);  // address, funcval (link is nil)
  CHECK(by_kind[int(RootKind::kPanic)] >= 2);  // address, argument (link is nil)
  CHECK(by_kind[int(RootKind::kQueuedFinalizer)] == 2);
  CHECK(by_kind[int(RootKind::kOther)] == 1);
}

TEST_CASE("snapshot_of stores pointer values where the fieldlist says", "[dump_writer]") {
  const Snapshot s = snapshot_of(one_of_everything());
  REQUIRE(s.object_count() == 2);
  const ObjectId a = s.find(0xc000010000);
  const ObjectId b = s.find(0xc000010040);
  REQUIRE(a == 1);
  REQUIRE(b == 2);
  CHECK(s.word(a, 8) == 0xc000010040);
  CHECK(s.word(a, 24) == 0);
  REQUIRE(s.successors(a).size() == 1);
  CHECK(s.successors(a)[0] == b);
}

TEST_CASE("a big-endian dump stores words big-endian", "[dump_writer]") {
  DumpDescription d;
  d.params.big_endian = true;
  d.params.arch = "s390x";
  d.objects.push_back({0xc000010000, 16, {}, {{0, 0xc000010008}}});
  const auto bytes = write_dump(d);
  const InputBuffer input = InputBuffer::from_bytes("be.heapdump", bytes);
  const DumpFacts facts = read_dump(input);
  REQUIRE(facts.params.big_endian);
  REQUIRE(facts.objects.size() == 1);
  CHECK(input.bytes()[facts.objects[0].contents_offset + 7] == 0x08);
  CHECK(input.bytes()[facts.objects[0].contents_offset + 3] == 0xc0);
}

TEST_CASE("a dump without its EOF record is refused", "[dump_writer]") {
  DumpDescription d = one_of_everything();
  d.write_eof = false;
  const auto bytes = write_dump(d);
  const InputBuffer input = InputBuffer::from_bytes("cut.heapdump", bytes);
  CHECK_THROWS_AS(read_dump(input), InputError);
}

TEST_CASE("DumpBuilder lays objects out apart and reverses their record order", "[dump_writer]") {
  DumpBuilder b;
  const uint64_t x = b.object(24), y = b.object(16), z = b.object(8);
  b.point(x, 0, y + 4);
  b.data_root(x);
  CHECK(y >= x + 24 + 8);
  CHECK(z >= y + 16 + 8);
  const InputBuffer input = InputBuffer::from_bytes("b.heapdump", b.bytes());
  const DumpFacts facts = read_dump(input);
  REQUIRE(facts.objects.size() == 3);
  CHECK(facts.objects[0].address == z);
  const Snapshot s = b.snapshot();
  CHECK(s.find(x + 23) == s.find(x));
  CHECK(s.find(x + 24) == kNoObject);
  REQUIRE(s.successors(s.find(x)).size() == 1);
  CHECK(s.successors(s.find(x))[0] == s.find(y));
}

TEST_CASE("random_graph_dump is deterministic and has no overlapping objects", "[dump_writer]") {
  const auto a = write_dump(random_graph_dump(42));
  const auto b = write_dump(random_graph_dump(42));
  const auto c = write_dump(random_graph_dump(43));
  CHECK(a == b);
  CHECK(a != c);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    DumpDescription d = random_graph_dump(seed);
    std::sort(d.objects.begin(), d.objects.end(),
              [](const auto& l, const auto& r) { return l.address < r.address; });
    for (size_t i = 1; i < d.objects.size(); ++i) {
      REQUIRE(d.objects[i - 1].address + d.objects[i - 1].size <= d.objects[i].address);
    }
    const Snapshot s = snapshot_of(d);
    CHECK(s.object_count() == d.objects.size());
    CHECK(s.stats().duplicate_objects == 0);
    CHECK(s.stats().overlapping_objects == 0);
  }
}

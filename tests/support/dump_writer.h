// A tiny serializer for synthetic Go heap dumps ("go1.7 heap dump\n"), so that
// tests build graphs that go through the real reader and snapshot builder:
//
//   auto bytes = heapwalk::test::write_dump(description);
//   auto input = heapwalk::InputBuffer::from_bytes("tiny", bytes);
//   auto facts = heapwalk::read_dump(input);
//   auto snapshot = heapwalk::build_snapshot(std::move(input), std::move(facts));
//
// The layout follows ../shared/docs/go-heapdump.md exactly (uvarint fields,
// record tags 0..17). The writer does not validate the description: tests
// may describe odd dumps on purpose (overlaps, pointers into nothing), and
// nothing but `write_eof = false` makes the output malformed.
//
// Pointer fields are given as (offset, value) pairs; the writer stores each
// value into the contents at its offset, in the params' byte order and pointer
// size, and emits the fieldlist sorted by offset (as the runtime does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heapwalk/dump.h"
#include "heapwalk/snapshot.h"

namespace heapwalk::test {

struct PointerField {
  uint64_t offset;  // byte offset in the object, segment or frame; pointer-size aligned
  uint64_t value;   // the word stored there (0 = nil)
};

struct DumpObjectSpec {
  uint64_t address = 0;
  uint64_t size = 0;              // slot size; grown to cover `contents` and every field
  std::vector<uint8_t> contents;  // initial bytes (zero-filled to `size`)
  std::vector<PointerField> fields;
};

struct DumpSegmentSpec {
  bool bss = false;
  uint64_t start = 0;
  uint64_t size = 0;  // grown to cover every field
  std::vector<PointerField> fields;
};

struct DumpFrameSpec {
  uint64_t sp = 0;
  uint64_t depth = 0;
  uint64_t child_sp = 0;
  uint64_t size = 0;  // grown to cover every field
  uint64_t entry_pc = 0x401000;
  uint64_t pc = 0x401010;
  uint64_t continuation_pc = 0x401010;
  std::string function = "main.f";
  std::vector<PointerField> fields;
};

struct DumpGoroutineSpec {
  uint64_t address = 0;
  uint64_t sp = 0;
  uint64_t goid = 1;
  uint64_t go_pc = 0;
  uint64_t status = 4;
  bool system = false;
  bool background = false;
  uint64_t wait_since = 0;
  std::string wait_reason = "chan receive";
  uint64_t ctxt = 0;  // a pointer root
  uint64_t m = 0;
  uint64_t defer_address = 0;
  uint64_t panic_address = 0;
  std::vector<DumpFrameSpec> frames;  // written right after the goroutine, innermost first
};

struct DumpFinalizerSpec {
  uint64_t object = 0;  // may be interior
  uint64_t funcval = 0;
  uint64_t fn_pc = 0x402000;
  uint64_t arg_type = 0;
  uint64_t object_type = 0;
  bool queued = false;  // tag 11 instead of tag 7
};

struct DumpDescription {
  DumpParams params;  // defaults: little-endian, 8-byte pointers, "go1.19.8", arch "amd64"
  std::vector<TypeRecord> types;
  std::vector<ItabRecord> itabs;
  std::vector<DumpObjectSpec> objects;  // written in this order (need not be address order)
  std::vector<DumpGoroutineSpec> goroutines;
  std::vector<DeferRecord> defers;
  std::vector<PanicRecord> panics;
  std::vector<ThreadRecord> threads;
  std::vector<DumpSegmentSpec> segments;      // data ones first, then bss, as the runtime writes
  std::vector<DumpFinalizerSpec> finalizers;  // registered ones, then queued ones
  std::vector<OtherRootRecord> other_roots;
  std::optional<std::array<uint64_t, kMemStatsWords>> memstats;
  std::vector<MemProfBucket> buckets;
  std::vector<AllocSample> alloc_samples;
  bool write_eof = true;

  DumpDescription();
};

// Serializes the description. Record order as the runtime writes it: params,
// types and itabs, objects, goroutines with their frames, defers, panics,
// other roots, threads, data, bss, finalizers, queued finalizers, memstats,
// buckets, alloc samples, EOF.
std::vector<uint8_t> write_dump(const DumpDescription& dump);

// Writes a LEB128 uvarint (exposed for tests of the writer itself).
void put_uvarint(std::vector<uint8_t>& out, uint64_t value);

// Seeded random graph dumps, for oracle cross-checks.
struct RandomGraphOptions {
  uint32_t objects = 60;
  uint32_t max_fields = 4;         // per object: 0..max_fields pointer fields
  double nil_fraction = 0.15;      // of fields: nil
  double dangling_fraction = 0.1;  // of fields: a value in no object (gap, global, stack)
  double interior_fraction = 0.3;  // of object pointers: past the slot's first byte
  double self_fraction = 0.05;     // of object pointers: into the object itself
  uint32_t data_roots = 2, bss_roots = 2, goroutines = 2, frames_per_goroutine = 2, frame_roots = 2,
           defers = 1, panics = 1, finalizers = 6, queued_finalizers = 1, other_roots = 1;
};
// Objects are laid out without overlaps, with gaps, in a shuffled record
// order; every root kind gets some entries, pointing at objects (often
// interior), at nothing, or nil. Deterministic for a seed. Go version 1.19
// (no phantom records).
DumpDescription random_graph_dump(uint64_t seed, const RandomGraphOptions& options = {});
// Options drawn from the seed: sparse roots in some, dense in others, so that
// both mostly-live and mostly-garbage heaps (where finalizer specials matter
// most) come up; 1..90 objects.
RandomGraphOptions varied_random_options(uint64_t seed);

// write_dump + InputBuffer::from_bytes + read_dump + build_snapshot.
Snapshot snapshot_of(const DumpDescription& dump, const std::string& name = "synthetic.heapdump");

// Hand-drawn graphs in a few lines:
//
//   DumpBuilder b;
//   uint64_t a = b.object(32), c = b.object(16);
//   b.point(a, 8, c + 8);   // a.field@8 -> interior of c
//   b.data_root(a);
//   Snapshot s = b.snapshot();  // s.find(a) is a's id
//
// Objects are laid out in address order from heap_start + 0x1000 with an
// 8-byte gap after each (so `address + size` lies in no object); records are
// written in reverse order, to keep readers honest about address order.
class DumpBuilder {
 public:
  DumpDescription& description() { return d_; }

  uint64_t object(uint64_t size);
  // Stores `value` at `offset` of the object at `object` and makes it a pointer field.
  void point(uint64_t object, uint64_t offset, uint64_t value);
  void data_root(uint64_t value);
  void bss_root(uint64_t value);
  void frame_root(uint64_t value);  // a field of goroutine 1's innermost frame
  void context_root(
      uint64_t value);  // goroutine 1's ctxt (one per goroutine: later ones add goroutines)
  void defer_record(uint64_t address, uint64_t funcval, uint64_t link);
  void panic_record(uint64_t address, uint64_t argument, uint64_t link);
  void finalizer(uint64_t object, uint64_t funcval);
  void queued_finalizer(uint64_t object, uint64_t funcval);
  void other_root(uint64_t value);

  std::vector<uint8_t> bytes() const;
  Snapshot snapshot() const;

 private:
  DumpObjectSpec& spec(uint64_t object);
  DumpGoroutineSpec& goroutine();
  DumpDescription d_;
  uint64_t next_ = 0;
};

}  // namespace heapwalk::test

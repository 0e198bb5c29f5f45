// Reader for the "go1.7 heap dump" format. See go_reader.h for the contract
// and formats/go/README.md for the record table.
#include "formats/go/go_reader.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "heapwalk/error.h"
#include "heapwalk/progress.h"
#include "heapwalk/word.h"

namespace heapwalk::go {
namespace {

constexpr std::string_view kHeader = "go1.7 heap dump\n";

// Thrown when the input ends inside a record: turned into the "truncated"
// message (or a partial result) by read().
struct EndOfInput {
  uint64_t offset;
};

// Bounds-checked decoding of the dump's primitive fields. Every read checks
// the bytes that remain, so no value can make us read past the input.
class Cursor {
 public:
  Cursor(const InputBuffer& input, uint64_t pos)
      : name_(input.name()), base_(input.bytes().data()), end_(input.bytes().size()), pos_(pos) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return end_ - pos_; }
  bool at_end() const { return pos_ >= end_; }

  // Inlined: it is the innermost call of the whole load.
  [[gnu::always_inline]] uint64_t uvarint() {
    if (pos_ < end_ && base_[pos_] < 0x80) [[likely]]
      return base_[pos_++];  // the common one-byte case
    return uvarint_slow();
  }

  uint64_t uvarint_slow() {
    uint64_t value = 0;
    uint64_t start = pos_;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= end_) throw EndOfInput{pos_};
      uint8_t b = base_[pos_++];
      if (shift == 63 && b > 1) fail(start, "uvarint overflows 64 bits");
      value |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return value;
    }
    fail(start, "uvarint longer than 10 bytes");
  }

  bool boolean() {
    uint64_t start = pos_;
    uint64_t v = uvarint();
    if (v > 1) fail(start, "bool field holds " + std::to_string(v) + ", not 0 or 1");
    return v == 1;
  }

  // A length-prefixed byte range: returns its offset, checks it fits.
  uint64_t bytes(uint64_t& length) {
    length = uvarint();
    // A length running past the end is what a cut-short file looks like.
    if (length > remaining()) throw EndOfInput{end_};
    uint64_t at = pos_;
    pos_ += length;
    return at;
  }

  std::string string() {
    uint64_t length;
    uint64_t at = bytes(length);
    return std::string(reinterpret_cast<const char*>(base_ + at), length);
  }

  [[noreturn]] void fail(uint64_t offset, const std::string& message) const {
    throw InputError(name_, offset, message);
  }

  const uint8_t* base() const { return base_; }

 private:
  const std::string& name_;
  const uint8_t* base_;
  uint64_t end_;
  uint64_t pos_;
};

class Reader {
 public:
  Reader(const InputBuffer& input, const ReadOptions& options)
      : input_(input), options_(options), cur_(input, kHeader.size()) {
    facts_.format = "go";
    // Records average 50-60 bytes in real dumps; reserving by the input size
    // avoids copying the table as it grows (untouched capacity costs no RSS).
    facts_.objects.reserve(input.bytes().size() / 48 + 16);
  }

  DumpFacts run() {
    try {
      read_records();
    } catch (const EndOfInput& end) {
      truncated(end.offset);
    }
    return std::move(facts_);
  }

 private:
  void read_records() {
    ProgressMeter* const progress = options_.progress;
    if (progress) progress->phase("parse", input_.bytes().size());
    for (uint64_t records = 1;; ++records) {
      if (progress && (records & 0xffff) == 0) progress->advance_to(cur_.pos());
      // A cut exactly between two records is reported at the missing one.
      record_start_ = cur_.pos();
      roots_committed_ = facts_.roots.size();
      if (cur_.at_end()) throw EndOfInput{cur_.pos()};
      uint64_t tag = cur_.uvarint();
      if (tag >= kRecordTagCount)
        cur_.fail(record_start_, "unknown record tag " + std::to_string(tag) +
                                     " (the go1.7 format defines tags 0 to 17)");
      if (tag != 6 && !have_params_)
        cur_.fail(record_start_, std::string("the first record is ") + record_tag_name(int(tag)) +
                                     ", not params: not a heap dump this reader understands");
      switch (tag) {
        case 0:
          ++facts_.record_counts[0];
          facts_.bytes_read = cur_.pos();
          return;
        case 1: object(); break;
        case 2: other_root(); break;
        case 3: type(); break;
        case 4: goroutine(); break;
        case 5: frame(); break;
        case 6: params(); break;
        case 7: finalizer(false); break;
        case 8: facts_.itabs.push_back({cur_.uvarint(), cur_.uvarint()}); break;
        case 9: facts_.threads.push_back({cur_.uvarint(), cur_.uvarint(), cur_.uvarint()}); break;
        case 10: memstats(); break;
        case 11: finalizer(true); break;
        case 12: segment(false); break;
        case 13: segment(true); break;
        case 14: defer_record(); break;
        case 15: panic_record(); break;
        case 16: bucket(); break;
        case 17: facts_.alloc_samples.push_back({cur_.uvarint(), cur_.uvarint()}); break;
      }
      ++facts_.record_counts[tag];  // only records read whole are counted
    }
  }

  void params() {
    if (have_params_) cur_.fail(record_start_, "a second params record");
    DumpParams& p = facts_.params;
    p.big_endian = cur_.boolean();
    uint64_t at = cur_.pos();
    uint64_t ptr = cur_.uvarint();
    if (ptr != 4 && ptr != 8)
      cur_.fail(at, "pointer size " + std::to_string(ptr) + " (expected 4 or 8)");
    p.pointer_size = static_cast<uint32_t>(ptr);
    p.heap_start = cur_.uvarint();
    p.heap_end = cur_.uvarint();
    p.arch = cur_.string();
    p.go_version = cur_.string();
    p.ncpu = cur_.uvarint();
    have_params_ = true;
  }

  // Reads a fieldlist whose words live in [contents, contents + size) and
  // calls emit(offset) for each pointer field.
  template <class Emit>
  void fieldlist(uint64_t size, Emit&& emit) {
    const uint32_t ptr = facts_.params.pointer_size;
    for (;;) {
      uint64_t at = cur_.pos();
      uint64_t kind = cur_.uvarint();
      if (kind == 0) return;
      if (kind != 1)
        cur_.fail(at, "field kind " + std::to_string(kind) +
                          " (only 1, pointer, is written by Go since 1.4)");
      at = cur_.pos();
      uint64_t offset = cur_.uvarint();
      if (offset > size || size - offset < ptr)
        cur_.fail(at, "pointer field at offset " + std::to_string(offset) + " lies outside its " +
                          std::to_string(size) + "-byte record");
      emit(offset);
    }
  }

  uint64_t word_at(uint64_t input_offset) const {
    return read_word(cur_.base() + input_offset, facts_.params.pointer_size,
                     facts_.params.big_endian);
  }

  void object() {
    ObjectRecord r;
    r.address = cur_.uvarint();
    r.contents_offset = cur_.bytes(r.size);
    uint64_t fields = 0;
    fieldlist(r.size, [&](uint64_t offset) {
      // The snapshot keeps field offsets in 32 bits.
      if (offset > UINT32_MAX)
        cur_.fail(record_start_, "pointer field beyond 4 GiB into an object is not supported");
      ++fields;
    });
    facts_.pointer_fields += fields;
    facts_.objects.push_back(r);
  }

  void other_root() {
    OtherRootRecord r;
    r.description = cur_.string();
    r.pointer = cur_.uvarint();
    add_root(r.pointer, 0, facts_.other_roots.size(), RootKind::kOther, RootRole::kObject);
    facts_.other_roots.push_back(std::move(r));
  }

  void type() {
    TypeRecord t;
    t.address = cur_.uvarint();
    t.size = cur_.uvarint();
    t.name = cur_.string();
    t.indirect = cur_.boolean();
    facts_.types.push_back(std::move(t));
  }

  void goroutine() {
    GoroutineRecord g;
    g.address = cur_.uvarint();
    g.sp = cur_.uvarint();
    g.goid = cur_.uvarint();
    g.go_pc = cur_.uvarint();
    g.status = cur_.uvarint();
    g.system = cur_.boolean();
    g.background = cur_.boolean();
    g.wait_since = cur_.uvarint();
    facts_.latest_wait_since = std::max(facts_.latest_wait_since, g.wait_since);
    g.wait_reason = cur_.string();
    g.ctxt = cur_.uvarint();
    g.m = cur_.uvarint();
    g.defer_address = cur_.uvarint();
    g.panic_address = cur_.uvarint();
    g.first_frame = static_cast<uint32_t>(facts_.frames.size());
    uint32_t index = static_cast<uint32_t>(facts_.goroutines.size());
    add_root(g.ctxt, 0, index, RootKind::kGoroutineContext, RootRole::kContext);
    facts_.goroutines.push_back(std::move(g));
  }

  void frame() {
    FrameRecord f;
    f.sp = cur_.uvarint();
    f.depth = cur_.uvarint();
    f.child_sp = cur_.uvarint();
    f.contents_offset = cur_.bytes(f.size);
    f.entry_pc = cur_.uvarint();
    f.pc = cur_.uvarint();
    f.continuation_pc = cur_.uvarint();
    f.function = cur_.string();
    uint32_t index = static_cast<uint32_t>(facts_.frames.size());
    f.goroutine = facts_.goroutines.empty() ? kNoGoroutine
                                            : static_cast<uint32_t>(facts_.goroutines.size() - 1);
    uint64_t contents = f.contents_offset;
    fieldlist(f.size, [&](uint64_t offset) {
      add_root(word_at(contents + offset), offset, index, RootKind::kStackFrame, RootRole::kField);
    });
    // Frames follow their goroutine; one that does not still counts as a root.
    if (f.goroutine != kNoGoroutine) {
      GoroutineRecord& g = facts_.goroutines.back();
      if (g.first_frame + g.frame_count == index) ++g.frame_count;
    }
    facts_.frames.push_back(std::move(f));
  }

  void finalizer(bool queued) {
    FinalizerRecord f;
    f.object = cur_.uvarint();
    f.funcval = cur_.uvarint();
    f.fn_pc = cur_.uvarint();
    f.arg_type = cur_.uvarint();
    f.object_type = cur_.uvarint();
    f.queued = queued;
    uint32_t index = static_cast<uint32_t>(facts_.finalizers.size());
    if (queued) {
      add_root(f.object, 0, index, RootKind::kQueuedFinalizer, RootRole::kObject);
      add_root(f.funcval, 0, index, RootKind::kQueuedFinalizer, RootRole::kFuncval);
    } else {
      // The object's own fields become roots in the builder, once slots are known.
      add_root(f.funcval, 0, index, RootKind::kFinalizer, RootRole::kFuncval);
    }
    facts_.finalizers.push_back(f);
  }

  void memstats() {
    for (int i = 0; i < kMemStatsWords; ++i) facts_.memstats[i] = cur_.uvarint();
    facts_.has_memstats = true;
  }

  void segment(bool bss) {
    SegmentRecord s;
    s.bss = bss;
    s.start = cur_.uvarint();
    s.contents_offset = cur_.bytes(s.size);
    uint32_t index = static_cast<uint32_t>(facts_.segments.size());
    RootKind kind = bss ? RootKind::kBss : RootKind::kData;
    fieldlist(s.size, [&](uint64_t offset) {
      add_root(word_at(s.contents_offset + offset), offset, index, kind, RootRole::kField);
    });
    facts_.segments.push_back(s);
  }

  void defer_record() {
    DeferRecord d;
    d.address = cur_.uvarint();
    d.goroutine = cur_.uvarint();
    d.sp = cur_.uvarint();
    d.pc = cur_.uvarint();
    d.funcval = cur_.uvarint();
    d.fn_pc = cur_.uvarint();
    d.link = cur_.uvarint();
    uint32_t index = static_cast<uint32_t>(facts_.defers.size());
    add_root(d.address, 0, index, RootKind::kDefer, RootRole::kObject);
    add_root(d.funcval, 0, index, RootKind::kDefer, RootRole::kFuncval);
    add_root(d.link, 0, index, RootKind::kDefer, RootRole::kLink);
    facts_.defers.push_back(d);
  }

  void panic_record() {
    PanicRecord p;
    p.address = cur_.uvarint();
    p.goroutine = cur_.uvarint();
    p.arg_type = cur_.uvarint();
    p.arg_data = cur_.uvarint();
    p.defer_address = cur_.uvarint();
    p.link = cur_.uvarint();
    uint32_t index = static_cast<uint32_t>(facts_.panics.size());
    add_root(p.address, 0, index, RootKind::kPanic, RootRole::kObject);
    add_root(p.arg_data, 0, index, RootKind::kPanic, RootRole::kArgument);
    facts_.panics.push_back(p);
  }

  void bucket() {
    MemProfBucket b;
    b.address = cur_.uvarint();
    b.size = cur_.uvarint();
    uint64_t depth = cur_.uvarint();
    // Each frame takes at least 3 bytes: never reserve more than the rest of
    // the input could hold. A depth past the end reads as a cut-short file.
    b.stack.reserve(std::min<uint64_t>(depth, cur_.remaining() / 3));
    for (uint64_t i = 0; i < depth; ++i) {
      StackEntry e;
      e.function = cur_.string();
      e.file = cur_.string();
      e.line = cur_.uvarint();
      b.stack.push_back(std::move(e));
    }
    b.allocs = cur_.uvarint();
    b.frees = cur_.uvarint();
    facts_.buckets.push_back(std::move(b));
  }

  void add_root(uint64_t value, uint64_t offset, size_t owner, RootKind kind, RootRole role) {
    facts_.roots.push_back({value, offset, static_cast<uint32_t>(owner), kind, role});
  }

  void truncated(uint64_t offset) {
    // Whatever was half-read of the last record is not trusted.
    uint64_t objects = facts_.objects.size();
    bool has_roots = !facts_.goroutines.empty() || !facts_.segments.empty();
    std::string message = "truncated at offset " + std::to_string(record_start_) + " after " +
                          std::to_string(objects) + " objects";
    message +=
        has_roots ? " (the dump ends before its EOF record)" : " (the dump ends before its roots)";
    if (!options_.allow_truncated) throw InputError(input_.name(), record_start_, message);
    (void)offset;  // where the bytes ran out; we report where the cut record began
    facts_.truncated = true;
    facts_.truncated_at = record_start_;
    facts_.bytes_read = record_start_;
    drop_partial_record();
  }

  // After a cut inside a record, undo what that record had appended: tables
  // get their entry only when a record is complete, but frames and segments
  // append roots while their fieldlist is read.
  void drop_partial_record() { facts_.roots.resize(roots_committed_); }

  const InputBuffer& input_;
  const ReadOptions& options_;
  Cursor cur_;
  DumpFacts facts_;
  bool have_params_ = false;
  uint64_t record_start_ = 0;
  size_t roots_committed_ = 0;
};

}  // namespace

std::vector<uint32_t> span_bitmap_records(const DumpFacts& facts,
                                          std::span<const ObjectRecord> sorted,
                                          std::span<const uint8_t> bytes) {
  std::vector<uint32_t> out;
  GoVersion v = parse_go_version(facts.params.go_version);
  if (!v.at_least(1, 22)) return out;
  constexpr uint64_t kPage = 8192;
  // Records are in address order: walk one 8 KiB page at a time. A record has
  // pointer fields when its fieldlist (right after its contents) does not
  // start with the end marker 0.
  auto has_fields = [&](const ObjectRecord& r) { return bytes[r.contents_offset + r.size] != 0; };
  size_t i = 1;
  while (i < sorted.size()) {
    uint64_t page = sorted[i].address / kPage;
    size_t end = i;
    bool pointerful = false;
    for (; end < sorted.size() && sorted[end].address / kPage == page; ++end)
      pointerful |= sorted[end].size <= 512 && has_fields(sorted[end]);
    for (size_t k = i; k < end; ++k) {
      const ObjectRecord& r = sorted[k];
      if (r.size == 0 || r.size > 512) continue;
      uint64_t reserve =
          pointerful ? (v.greentea_gc && r.size >= 16 ? 256 : 128) : (v.greentea_gc ? 128 : 0);
      if (reserve && (r.address % kPage) / r.size >= (kPage - reserve) / r.size)
        out.push_back(static_cast<uint32_t>(k));
    }
    i = end;
  }
  return out;
}

// Claims every "go1.N heap dump\n" header so that older formats get a message
// naming their version rather than "unknown format".
bool sniff(std::span<const uint8_t> bytes) {
  constexpr std::string_view kPrefix = "go1.";
  constexpr std::string_view kSuffix = " heap dump\n";
  std::string_view head(reinterpret_cast<const char*>(bytes.data()),
                        std::min<size_t>(bytes.size(), 32));
  if (head.substr(0, kPrefix.size()) != kPrefix) return false;
  size_t end = head.find(kSuffix);
  return end != std::string_view::npos && end <= 6;
}

DumpFacts read(const InputBuffer& input, const ReadOptions& options) {
  auto bytes = input.bytes();
  if (bytes.size() < kHeader.size() ||
      std::memcmp(bytes.data(), kHeader.data(), kHeader.size()) != 0) {
    std::string_view head(reinterpret_cast<const char*>(bytes.data()),
                          std::min<size_t>(bytes.size(), 16));
    std::string version(head.substr(0, head.find(' ')));
    throw InputError(input.name(), 0,
                     "heap dump format " + version +
                         " (written by Go 1.3 to 1.6) is not supported: heapwalk reads the "
                         "\"go1.7 heap dump\" format of Go 1.7 and later");
  }
  return Reader(input, options).run();
}

}  // namespace heapwalk::go

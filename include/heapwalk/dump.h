// DumpFacts: everything a format reader found in a dump, in ADDRESS space.
//
// A reader fills this and nothing else: it never resolves pointers or builds
// the graph (the snapshot builder does). Object and segment contents are not
// copied: records keep the byte offset of their contents inside the input
// buffer, and pointer values are read from there on demand.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace heapwalk {

// Why something is a GC root. The order is the order roots are listed and
// breadth-first ties are broken in; never reorder (it shows in outputs).
enum class RootKind : uint8_t {
  kData = 0,          // pointer field of the data segment
  kBss,               // pointer field of the bss segment
  kStackFrame,        // pointer field of a goroutine's stack frame
  kGoroutineContext,  // a goroutine's ctxt word
  kDefer,             // a defer record: its address, funcval and link
  kPanic,             // a panic record: its address and argument
  kFinalizer,         // registered finalizer: its funcval, and the pointer fields of its object
  kQueuedFinalizer,   // finalizer queued to run: its object and its funcval
  kOther,             // tag 2 "other root" (never written by Go since 1.4)
};
inline constexpr int kRootKindCount = 9;
const char* root_kind_name(RootKind kind);  // "data", "bss", "stack_frame", ...

// What a root entry's `role` says about the word it came from.
enum class RootRole : uint8_t {
  kField = 0,  // a pointer field at `offset` of the owner (segment, frame, finalizer's object)
  kFuncval,    // a finalizer's or defer's funcval
  kObject,     // a queued finalizer's object; a defer's or panic's own record address
  kLink,       // a defer's or panic's link
  kArgument,   // a panic's argument data
  kContext,    // a goroutine's ctxt
};

// One pointer-valued word that is a GC root. `owner` indexes the table its
// kind names: segments for data/bss, frames, goroutines, defers, panics,
// finalizers, other_roots.
struct RawRoot {
  uint64_t value;
  uint64_t offset;  // byte offset of the word in its owner, for kField
  uint32_t owner;
  RootKind kind;
  RootRole role;
};

// One object record. Its fieldlist (already validated by the reader) starts
// right after its contents, at contents_offset + size, and is decoded again
// by the builder: keeping no copy of it saves 4 bytes per pointer field.
struct ObjectRecord {
  uint64_t address;
  uint64_t size;             // slot size: the length of the record's contents
  uint64_t contents_offset;  // where the contents start in the input buffer
};

struct DumpParams {
  bool big_endian = false;
  uint32_t pointer_size = 8;
  uint64_t heap_start = 0;
  uint64_t heap_end = 0;
  std::string arch;
  std::string go_version;  // as the params record says, e.g. "go1.19.8", "go1.25.0 X:greenteagc"
  uint64_t ncpu = 0;
};

struct TypeRecord {
  uint64_t address;
  uint64_t size;
  std::string name;
  bool indirect;
};

struct ItabRecord {
  uint64_t address;
  uint64_t type_address;
};

struct GoroutineRecord {
  uint64_t address;
  uint64_t sp;
  uint64_t goid;
  uint64_t go_pc;   // pc of the go statement that created it
  uint64_t status;  // 1 runnable, 2 running, 3 syscall, 4 waiting (runtime's _G* values)
  bool system;
  bool background;
  uint64_t wait_since;  // nanotime; 0 unless a collection saw it blocked
  std::string wait_reason;
  uint64_t ctxt;
  uint64_t m;
  uint64_t defer_address;
  uint64_t panic_address;
  uint32_t first_frame = 0;  // frames [first_frame, first_frame + frame_count) are its stack
  uint32_t frame_count = 0;
};

struct FrameRecord {
  uint64_t sp;
  uint64_t depth;  // 0 = innermost
  uint64_t child_sp;
  uint64_t contents_offset;
  uint64_t size;
  uint64_t entry_pc;
  uint64_t pc;
  uint64_t continuation_pc;
  std::string function;
  uint32_t goroutine;  // index into DumpFacts::goroutines; kNoGoroutine if none preceded it
};
inline constexpr uint32_t kNoGoroutine = ~uint32_t{0};

struct FinalizerRecord {
  uint64_t object;  // may be interior: round down to its slot
  uint64_t funcval;
  uint64_t fn_pc;
  uint64_t arg_type;
  uint64_t object_type;
  bool queued;  // tag 11 (queued, not yet run) rather than tag 7 (registered)
};

struct ThreadRecord {
  uint64_t m;
  uint64_t id;
  uint64_t os_id;
};

struct SegmentRecord {
  bool bss;  // false: data
  uint64_t start;
  uint64_t contents_offset;
  uint64_t size;
};

struct DeferRecord {
  uint64_t address;
  uint64_t goroutine;
  uint64_t sp;
  uint64_t pc;
  uint64_t funcval;
  uint64_t fn_pc;
  uint64_t link;
};

struct PanicRecord {
  uint64_t address;
  uint64_t goroutine;
  uint64_t arg_type;
  uint64_t arg_data;
  uint64_t defer_address;  // always 0 since Go 1.?; read and kept
  uint64_t link;
};

struct OtherRootRecord {
  std::string description;
  uint64_t pointer;
};

struct StackEntry {
  std::string function;
  std::string file;
  uint64_t line;
};

struct MemProfBucket {
  uint64_t address;
  uint64_t size;
  std::vector<StackEntry> stack;  // innermost first
  uint64_t allocs;
  uint64_t frees;
};

struct AllocSample {
  uint64_t object;
  uint64_t bucket;
};

// runtime.MemStats as tag 10 writes it: 281 words in this order.
inline constexpr int kMemStatsWords = 281;
enum MemStat : int {
  kAlloc = 0,
  kTotalAlloc,
  kSys,
  kLookups,
  kMallocs,
  kFrees,
  kHeapAlloc,
  kHeapSys,
  kHeapIdle,
  kHeapInuse,
  kHeapReleased,
  kHeapObjects,
  kStackInuse,
  kStackSys,
  kMSpanInuse,
  kMSpanSys,
  kMCacheInuse,
  kMCacheSys,
  kBuckHashSys,
  kGCSys,
  kOtherSys,
  kNextGC,
  kLastGC,
  kPauseTotalNs,
  kPauseNs0,
  kNumGC = kPauseNs0 + 256,
};
const char* mem_stat_name(int index);  // "HeapAlloc", ...; "PauseNs" for the 256 pause words

// Parsed "goX.Y.Z[ X:experiments]" of the params record.
struct GoVersion {
  int major = 0, minor = 0, patch = 0;
  bool greentea_gc = false;
  bool at_least(int mj, int mn) const { return major > mj || (major == mj && minor >= mn); }
};
GoVersion parse_go_version(const std::string& text);

// Number of record tags the Go format defines (0..17).
inline constexpr int kRecordTagCount = 18;
const char* record_tag_name(int tag);  // "eof", "object", "other_root", "type", ...

struct DumpFacts {
  std::string format;  // "go"
  DumpParams params;
  std::array<uint64_t, kRecordTagCount> record_counts{};

  std::vector<ObjectRecord> objects;  // in file order, NOT address order
  uint64_t pointer_fields = 0;        // pointer fields of all object records

  std::vector<RawRoot> roots;     // in file order
  std::vector<TypeRecord> types;  // as written: may repeat
  std::vector<ItabRecord> itabs;
  std::vector<GoroutineRecord> goroutines;
  // The largest goroutine wait_since: the start (nanotime) of the latest
  // collection that found a goroutine blocked. The dump has no "now", but
  // that collection ran before the dump, so for a goroutine blocked since an
  // earlier one, latest_wait_since - wait_since is a lower bound of how long
  // it has waited. 0 when no goroutine has a wait_since.
  uint64_t latest_wait_since = 0;
  std::vector<FrameRecord> frames;
  std::vector<FinalizerRecord> finalizers;  // registered and queued
  std::vector<ThreadRecord> threads;
  std::vector<SegmentRecord> segments;
  std::vector<DeferRecord> defers;
  std::vector<PanicRecord> panics;
  std::vector<OtherRootRecord> other_roots;
  std::vector<MemProfBucket> buckets;
  std::vector<AllocSample> alloc_samples;

  bool has_memstats = false;
  std::array<uint64_t, kMemStatsWords> memstats{};

  uint64_t bytes_read = 0;  // offset just past the EOF record
  bool truncated = false;   // set only by readers asked to keep a cut-short dump
  uint64_t truncated_at = 0;
};

}  // namespace heapwalk

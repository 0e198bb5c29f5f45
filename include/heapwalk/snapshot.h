// Snapshot: the immutable object graph every pass runs over.
//
// Invariants (established by build_snapshot, never changed afterwards):
// - Objects have dense ids 1..object_count() in ADDRESS order; id 0 is the
//   synthetic super-root, with one out-edge per root entry whose value lies
//   in an object. Duplicate object records (same address) keep the first.
// - Out-edges of an object are its pointer fields that resolve to an object
//   (interior pointers resolve to the enclosing slot), in field order;
//   edge_offset(e) is the field's byte offset in the source object, or for
//   the super-root's edges the index of the root entry in roots().
// - Pointer values that hit no object are counted in stats(), not edges.
// - The graph is a boost::compressed_sparse_row_graph with 32-bit vertex and
//   edge indices, so any Boost.Graph algorithm runs on it directly; hot passes
//   use view() for the raw CSR arrays.
// Memory: 24 bytes per object (address, size, where its contents are), 4 for
// the CSR row start, 8 per edge (target, field offset), plus the input buffer
// (mapped file or decompressed bytes) that contents are read from.
#pragma once

#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "heapwalk/cache/analysis_cache.h"
#include "heapwalk/dump.h"
#include "heapwalk/input.h"
#include "heapwalk/reader.h"

namespace heapwalk {

class ProgressMeter;
class AnalysisCache;
class CacheFileReader;
class CacheFileWriter;

using ObjectId = uint32_t;
inline constexpr ObjectId kSuperRoot = 0;
inline constexpr ObjectId kNoObject = ~ObjectId{0};

using Graph =
    boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, boost::no_property,
                                       boost::no_property, uint32_t, uint32_t>;

// Raw CSR arrays: out-edges of v are targets[rowstart[v] .. rowstart[v+1]).
struct GraphView {
  const uint32_t* rowstart;
  const uint32_t* targets;
  uint32_t vertex_count;

  std::span<const uint32_t> successors(uint32_t v) const {
    return {targets + rowstart[v], targets + rowstart[v + 1]};
  }
  uint32_t edge_count() const { return rowstart[vertex_count]; }
};

// A root entry, resolved. Ordered by kind (RootKind order), then file order.
struct Root {
  uint64_t value;
  uint64_t offset;
  uint32_t owner;
  RootKind kind;
  RootRole role;
  ObjectId target;  // kNoObject when the value lies in no object
};

struct PointerStats {
  uint64_t fields = 0;      // pointer fields of object records
  uint64_t nil = 0;         // ... holding 0
  uint64_t heap_edges = 0;  // ... resolved to an object (= graph edges out of objects)
  uint64_t interior = 0;    // ... of those, pointing past the slot's first byte
  uint64_t self = 0;        // ... of those, pointing into their own object
  uint64_t unresolved = 0;  // non-nil values that lie in no object
  uint64_t root_words = 0;  // root entries
  uint64_t root_nil = 0;
  uint64_t root_unresolved = 0;      // non-nil root values in no object (globals, stacks, rodata)
  uint64_t duplicate_objects = 0;    // records whose address repeats an earlier one (dropped)
  uint64_t overlapping_objects = 0;  // records that overlap their predecessor (kept, counted)
  uint64_t duplicate_types = 0;      // type records repeating an address
};

// The runtime's _G* status names: "runnable", "waiting", ...
const char* goroutine_status_name(uint64_t status);

// What a goroutine is doing: its wait reason when waiting, else its status;
// "writing heap dump" for the goroutine that called WriteHeapDump.
std::string goroutine_state(const DumpFacts& facts, const GoroutineRecord& g);
// A lower bound of how long a blocked goroutine has waited, in nanoseconds:
// DumpFacts::latest_wait_since - its wait_since (see there); 0 when the dump
// cannot tell (not seen blocked by a collection, or blocked since the latest
// one).
uint64_t goroutine_waited_at_least(const DumpFacts& facts, const GoroutineRecord& g);
// "goroutine 17 [chan receive]"; "goroutine 17 [chan receive, >= 12 min]"
// when the dump shows it has waited at least a second (the way Go's own
// traceback prints "[chan receive, 12 minutes]", but a lower bound).
std::string goroutine_title(const DumpFacts& facts, const GoroutineRecord& g);

class Snapshot {
 public:
  Snapshot(Snapshot&&) noexcept = default;
  // No assignment: a snapshot's cache may still be writing from its arrays
  // on another thread (cache_, destroyed first, waits for it); assigning
  // over the arrays before that would pull them from under the writer.
  Snapshot& operator=(Snapshot&&) noexcept = delete;

  // Facts that are not objects (goroutines, frames, types, ...). Its
  // `objects` table becomes the snapshot's own (sorted) and is left empty.
  const DumpFacts& facts() const { return facts_; }
  const GoVersion& go_version() const { return version_; }
  const InputBuffer& input() const { return input_; }

  uint32_t object_count() const { return static_cast<uint32_t>(objects_.size() - 1); }
  uint32_t vertex_count() const { return static_cast<uint32_t>(objects_.size()); }
  uint64_t address(ObjectId id) const { return objects_[id].address; }
  uint64_t size(ObjectId id) const { return objects_[id].size; }
  // Raw memory of an object. Holds secrets: never print it unless asked.
  std::span<const uint8_t> contents(ObjectId id) const;
  // The word at byte `offset` of an object, in the dump's byte order.
  uint64_t word(ObjectId id, uint64_t offset) const;
  bool is_phantom(ObjectId id) const { return !phantom_.empty() && phantom_[id]; }
  uint64_t phantom_count() const { return phantom_count_; }
  uint64_t phantom_bytes() const { return phantom_bytes_; }

  // The object whose slot contains `address`, or kNoObject. O(1) expected
  // (page index) plus a short binary search.
  ObjectId find(uint64_t address) const;
  // find() in bulk: targets[i] = find(addresses[i]). The same answers, but
  // with the cache misses of many lookups in flight at once: on big heaps
  // with scattered pointers each find() is two or three dependent misses,
  // and resolving every pointer field is the build's dominant cost.
  void find_many(std::span<const uint64_t> addresses, std::span<ObjectId> targets) const;

  const Graph& graph() const { return graph_; }
  GraphView view() const;
  std::span<const uint32_t> successors(ObjectId id) const { return view().successors(id); }
  uint32_t first_edge(ObjectId id) const { return graph_.m_forward.m_rowstart[id]; }
  uint32_t edge_offset(uint32_t edge) const { return edge_offset_[edge]; }

  std::span<const Root> roots() const { return roots_; }
  const PointerStats& stats() const { return stats_; }

  // Human-readable name of a root entry: "goroutine 17 [chan receive]:
  // main.worker", "bss+0x1f8", "finalizer of 0xc000012000".
  std::string root_name(const Root& root) const;

  // The persistent cache of the dump this snapshot came from
  // (cache/analysis_cache.h), or null: passes that cache their results
  // (cache/cached_analyses.h) look there first.
  AnalysisCache* cache() const { return cache_.get(); }
  void set_cache(std::shared_ptr<AnalysisCache> cache) { cache_ = std::move(cache); }

 private:
  friend Snapshot build_snapshot(InputBuffer input, DumpFacts facts, ProgressMeter* progress);
  // The cache saves and restores every member (cache/snapshot_archive.h).
  friend std::function<void(CacheFileWriter&)> snapshot_writer(const Snapshot& snapshot);
  friend Snapshot restore_snapshot(CacheFileReader& in, InputBuffer& input);
  Snapshot() = default;

  InputBuffer input_{};
  DumpFacts facts_;
  GoVersion version_;
  std::vector<ObjectRecord> objects_;  // by id, in address order; [0] = zeros for the super-root
  std::vector<bool> phantom_;          // empty when there are none
  uint64_t phantom_count_ = 0;
  uint64_t phantom_bytes_ = 0;
  Graph graph_;
  std::vector<uint32_t> edge_offset_;
  std::vector<Root> roots_;
  PointerStats stats_;
  // Page index for find(): page_first_[p] is the first id whose slot ends
  // after page_base_ + (p << page_shift_).
  uint64_t page_base_ = 0;
  int page_shift_ = 13;
  std::vector<uint32_t> page_first_;
  // Last, so destroyed first: its background writers read the arrays above.
  std::shared_ptr<AnalysisCache> cache_;
};

// Builds the immutable snapshot from a reader's facts. Takes ownership of the
// input buffer (object contents are read from it). Linear in records plus
// O(n log n) for sorting objects by address.
Snapshot build_snapshot(InputBuffer input, DumpFacts facts, ProgressMeter* progress = nullptr);

struct LoadOptions {
  InputOptions input;
  ReadOptions read;
  // Draw a progress line on stderr when it is a terminal and the load takes
  // over a second (progress.h). The CLI sets it; library users need not.
  bool show_progress = false;
  // --max-memory: refuse (InputError) input whose analysis would need more
  // bytes of memory than this (heapwalk/memory_budget.h); 0 = no limit.
  uint64_t max_memory = 0;
  // The persistent analysis cache (cache/analysis_cache.h); off by default
  // for library users, on in the CLI. A snapshot restored from it is the
  // same as one built from the dump; dumps read with allow_truncated that
  // turn out truncated are never cached.
  CacheOptions cache;
};

// open + read_dump + build_snapshot: what every verb starts with. With
// max_memory, zstd input may not decompress to more than that, and the
// estimate from the reader's counts is checked before the snapshot is built.
Snapshot load_snapshot(const std::string& path, const LoadOptions& options = {});

}  // namespace heapwalk

#include "heapwalk/snapshot.h"

#include <algorithm>

#include "heapwalk/report/format.h"
#include "heapwalk/word.h"

namespace heapwalk {

GraphView Snapshot::view() const {
  return {graph_.m_forward.m_rowstart.data(), graph_.m_forward.m_column.data(), vertex_count()};
}

std::span<const uint8_t> Snapshot::contents(ObjectId id) const {
  return input_.bytes().subspan(objects_[id].contents_offset, objects_[id].size);
}

uint64_t Snapshot::word(ObjectId id, uint64_t offset) const {
  const uint32_t n = facts_.params.pointer_size;
  const ObjectRecord& o = objects_[id];
  if (offset > o.size || o.size - offset < n) return 0;
  return read_word(input_.bytes().data() + o.contents_offset + offset, n, facts_.params.big_endian);
}

ObjectId Snapshot::find(uint64_t address) const {
  if (page_first_.empty() || address < page_base_) return kNoObject;
  uint64_t page = (address - page_base_) >> page_shift_;
  if (page + 1 >= page_first_.size()) {
    // Past the index: only the last object (a huge one) can contain it.
    const ObjectRecord& last = objects_.back();
    return address - last.address < last.size ? object_count() : kNoObject;
  }
  // The containing slot is the last one starting at or before `address`:
  // it starts in this page, or is the last one starting before it.
  uint32_t lo = std::max<uint32_t>(page_first_[page], 2) - 1;
  uint32_t hi = page_first_[page + 1];
  auto it = std::upper_bound(objects_.begin() + lo, objects_.begin() + hi, address,
                             [](uint64_t a, const ObjectRecord& o) { return a < o.address; });
  ObjectId id = static_cast<ObjectId>(it - objects_.begin()) - 1;
  if (id == kSuperRoot || address - objects_[id].address >= objects_[id].size) return kNoObject;
  return id;
}

void Snapshot::find_many(std::span<const uint64_t> addresses, std::span<ObjectId> targets) const {
  // A three-stage software pipeline: kAhead lookups ahead, ask for the page
  // index entry; kAhead / 2 ahead (that entry has arrived), ask for the first
  // slot records it names; then the lookup itself finds both in cache.
  constexpr size_t kAhead = 16;
  const size_t count = addresses.size();
  auto page_of = [&](uint64_t address) -> uint64_t {
    if (address < page_base_) return ~uint64_t{0};
    const uint64_t page = (address - page_base_) >> page_shift_;
    return page + 1 < page_first_.size() ? page : ~uint64_t{0};
  };
  for (size_t i = 0; i < count; ++i) {
    if (i + kAhead < count) {
      const uint64_t page = page_of(addresses[i + kAhead]);
      if (page != ~uint64_t{0}) __builtin_prefetch(&page_first_[page]);
    }
    if (i + kAhead / 2 < count) {
      const uint64_t page = page_of(addresses[i + kAhead / 2]);
      if (page != ~uint64_t{0}) {
        const uint32_t first = std::max<uint32_t>(page_first_[page], 2) - 1;
        __builtin_prefetch(&objects_[first]);
        __builtin_prefetch(&objects_[first + 1]);
      }
    }
    targets[i] = find(addresses[i]);
  }
}

const char* goroutine_status_name(uint64_t status) {
  switch (status) {
    case 0: return "idle";
    case 1: return "runnable";
    case 2: return "running";
    case 3: return "syscall";
    case 4: return "waiting";
    case 5: return "moribund";
    case 6: return "dead";
    default: return "unknown status";
  }
}

std::string goroutine_state(const DumpFacts& facts, const GoroutineRecord& g) {
  // The goroutine that called WriteHeapDump sits on the system stack while
  // the dump is written; Go 1.19 leaves whatever it last waited on as its
  // wait reason. Say what it is really doing.
  for (uint32_t i = g.first_frame; i < g.first_frame + g.frame_count && i < facts.frames.size();
       ++i)
    if (facts.frames[i].function == "runtime/debug.WriteHeapDump") return "writing heap dump";
  return g.status == 4 && !g.wait_reason.empty() ? g.wait_reason : goroutine_status_name(g.status);
}

uint64_t goroutine_waited_at_least(const DumpFacts& facts, const GoroutineRecord& g) {
  if (g.wait_since == 0 || g.wait_since > facts.latest_wait_since) return 0;
  return facts.latest_wait_since - g.wait_since;
}

std::string goroutine_title(const DumpFacts& facts, const GoroutineRecord& g) {
  std::string title = "goroutine " + std::to_string(g.goid) + " [" + goroutine_state(facts, g);
  const uint64_t waited = goroutine_waited_at_least(facts, g);
  if (waited >= 1'000'000'000) title += ", >= " + report::duration_floor(waited);
  return title + "]";
}

std::string Snapshot::root_name(const Root& root) const {
  using report::hex;
  auto offset = [&] { return root.offset ? "+" + hex(root.offset) : std::string(); };
  auto goroutine_by_address = [&](uint64_t g) -> std::string {
    for (const GoroutineRecord& r : facts_.goroutines)
      if (r.address == g) return goroutine_title(facts_, r);
    return "goroutine at " + hex(g);
  };
  switch (root.kind) {
    case RootKind::kData: return "data+" + hex(root.offset);
    case RootKind::kBss: return "bss+" + hex(root.offset);
    case RootKind::kStackFrame: {
      if (root.owner >= facts_.frames.size()) return "stack frame";
      const FrameRecord& frame = facts_.frames[root.owner];
      std::string where = frame.goroutine < facts_.goroutines.size()
                              ? goroutine_title(facts_, facts_.goroutines[frame.goroutine])
                              : std::string("stack");
      return where + ": " + frame.function;
    }
    case RootKind::kGoroutineContext:
      return root.owner < facts_.goroutines.size()
                 ? goroutine_title(facts_, facts_.goroutines[root.owner]) + ": context"
                 : "goroutine context";
    case RootKind::kDefer:
      return root.owner < facts_.defers.size()
                 ? "defer of " + goroutine_by_address(facts_.defers[root.owner].goroutine)
                 : "defer";
    case RootKind::kPanic:
      return root.owner < facts_.panics.size()
                 ? "panic of " + goroutine_by_address(facts_.panics[root.owner].goroutine)
                 : "panic";
    case RootKind::kFinalizer:
    case RootKind::kQueuedFinalizer: {
      std::string what = root.kind == RootKind::kQueuedFinalizer ? "queued finalizer" : "finalizer";
      if (root.owner >= facts_.finalizers.size()) return what;
      std::string of = " of " + hex(facts_.finalizers[root.owner].object);
      if (root.role == RootRole::kFuncval) return what + " func" + of;
      if (root.role == RootRole::kField) return what + of + offset();
      return what + of;
    }
    case RootKind::kOther:
      return root.owner < facts_.other_roots.size() ? facts_.other_roots[root.owner].description
                                                    : "other root";
  }
  return "root";
}

}  // namespace heapwalk

#include "heapwalk/cache/snapshot_archive.h"

#include <algorithm>

namespace heapwalk {

namespace {

// Records with bool fields go field by field (an arbitrary byte is not a
// valid bool); the others as raw arrays.

void save_facts(const DumpFacts& f, CacheFileWriter& w) {
  w.str(f.format);
  w.u64(f.params.big_endian);
  w.u64(f.params.pointer_size);
  w.u64(f.params.heap_start);
  w.u64(f.params.heap_end);
  w.str(f.params.arch);
  w.str(f.params.go_version);
  w.u64(f.params.ncpu);
  w.array(std::span<const uint64_t>(f.record_counts));
  w.u64(f.pointer_fields);
  w.array(f.roots);
  w.u64(f.types.size());
  for (const TypeRecord& t : f.types) {
    w.u64(t.address);
    w.u64(t.size);
    w.str(t.name);
    w.u64(t.indirect);
  }
  w.array(f.itabs);
  w.u64(f.goroutines.size());
  for (const GoroutineRecord& g : f.goroutines) {
    for (uint64_t v : {g.address, g.sp, g.goid, g.go_pc, g.status, uint64_t{g.system},
                       uint64_t{g.background}, g.wait_since})
      w.u64(v);
    w.str(g.wait_reason);
    for (uint64_t v : {g.ctxt, g.m, g.defer_address, g.panic_address, uint64_t{g.first_frame},
                       uint64_t{g.frame_count}})
      w.u64(v);
  }
  w.u64(f.latest_wait_since);
  w.u64(f.frames.size());
  for (const FrameRecord& fr : f.frames) {
    for (uint64_t v : {fr.sp, fr.depth, fr.child_sp, fr.contents_offset, fr.size, fr.entry_pc,
                       fr.pc, fr.continuation_pc})
      w.u64(v);
    w.str(fr.function);
    w.u64(fr.goroutine);
  }
  w.u64(f.finalizers.size());
  for (const FinalizerRecord& fin : f.finalizers)
    for (uint64_t v :
         {fin.object, fin.funcval, fin.fn_pc, fin.arg_type, fin.object_type, uint64_t{fin.queued}})
      w.u64(v);
  w.array(f.threads);
  w.u64(f.segments.size());
  for (const SegmentRecord& s : f.segments)
    for (uint64_t v : {uint64_t{s.bss}, s.start, s.contents_offset, s.size}) w.u64(v);
  w.array(f.defers);
  w.array(f.panics);
  w.u64(f.other_roots.size());
  for (const OtherRootRecord& o : f.other_roots) {
    w.str(o.description);
    w.u64(o.pointer);
  }
  w.u64(f.buckets.size());
  for (const MemProfBucket& b : f.buckets) {
    w.u64(b.address);
    w.u64(b.size);
    w.u64(b.stack.size());
    for (const StackEntry& e : b.stack) {
      w.str(e.function);
      w.str(e.file);
      w.u64(e.line);
    }
    w.u64(b.allocs);
    w.u64(b.frees);
  }
  w.array(f.alloc_samples);
  w.u64(f.has_memstats);
  w.array(std::span<const uint64_t>(f.memstats));
  w.u64(f.bytes_read);
  w.u64(f.truncated);
  w.u64(f.truncated_at);
}

bool read_bool(CacheFileReader& r) {
  uint64_t v = r.u64();
  if (v > 1) throw CacheCorrupt("bad boolean");
  return v == 1;
}

template <size_t N>
void read_fixed(CacheFileReader& r, std::array<uint64_t, N>& out) {
  if (r.count(sizeof(uint64_t)) != N) throw CacheCorrupt("fixed table of the wrong length");
  r.bytes(out.data(), N * sizeof(uint64_t));
}

DumpFacts restore_facts(CacheFileReader& r) {
  DumpFacts f;
  f.format = r.str();
  f.params.big_endian = read_bool(r);
  f.params.pointer_size = static_cast<uint32_t>(r.u64());
  if (f.params.pointer_size != 4 && f.params.pointer_size != 8)
    throw CacheCorrupt("bad pointer size");
  f.params.heap_start = r.u64();
  f.params.heap_end = r.u64();
  f.params.arch = r.str();
  f.params.go_version = r.str();
  f.params.ncpu = r.u64();
  read_fixed(r, f.record_counts);
  f.pointer_fields = r.u64();
  f.roots = r.array<RawRoot>();
  f.types.resize(r.count(4 * 8));
  for (TypeRecord& t : f.types) {
    t.address = r.u64();
    t.size = r.u64();
    t.name = r.str();
    t.indirect = read_bool(r);
  }
  f.itabs = r.array<ItabRecord>();
  f.goroutines.resize(r.count(15 * 8));
  for (GoroutineRecord& g : f.goroutines) {
    g.address = r.u64();
    g.sp = r.u64();
    g.goid = r.u64();
    g.go_pc = r.u64();
    g.status = r.u64();
    g.system = read_bool(r);
    g.background = read_bool(r);
    g.wait_since = r.u64();
    g.wait_reason = r.str();
    g.ctxt = r.u64();
    g.m = r.u64();
    g.defer_address = r.u64();
    g.panic_address = r.u64();
    g.first_frame = static_cast<uint32_t>(r.u64());
    g.frame_count = static_cast<uint32_t>(r.u64());
  }
  f.latest_wait_since = r.u64();
  f.frames.resize(r.count(10 * 8));
  for (FrameRecord& fr : f.frames) {
    fr.sp = r.u64();
    fr.depth = r.u64();
    fr.child_sp = r.u64();
    fr.contents_offset = r.u64();
    fr.size = r.u64();
    fr.entry_pc = r.u64();
    fr.pc = r.u64();
    fr.continuation_pc = r.u64();
    fr.function = r.str();
    fr.goroutine = static_cast<uint32_t>(r.u64());
  }
  f.finalizers.resize(r.count(6 * 8));
  for (FinalizerRecord& fin : f.finalizers) {
    fin.object = r.u64();
    fin.funcval = r.u64();
    fin.fn_pc = r.u64();
    fin.arg_type = r.u64();
    fin.object_type = r.u64();
    fin.queued = read_bool(r);
  }
  f.threads = r.array<ThreadRecord>();
  f.segments.resize(r.count(4 * 8));
  for (SegmentRecord& s : f.segments) {
    s.bss = read_bool(r);
    s.start = r.u64();
    s.contents_offset = r.u64();
    s.size = r.u64();
  }
  f.defers = r.array<DeferRecord>();
  f.panics = r.array<PanicRecord>();
  f.other_roots.resize(r.count(2 * 8));
  for (OtherRootRecord& o : f.other_roots) {
    o.description = r.str();
    o.pointer = r.u64();
  }
  f.buckets.resize(r.count(5 * 8));
  for (MemProfBucket& b : f.buckets) {
    b.address = r.u64();
    b.size = r.u64();
    b.stack.resize(r.count(3 * 8));
    for (StackEntry& e : b.stack) {
      e.function = r.str();
      e.file = r.str();
      e.line = r.u64();
    }
    b.allocs = r.u64();
    b.frees = r.u64();
  }
  f.alloc_samples = r.array<AllocSample>();
  f.has_memstats = read_bool(r);
  read_fixed(r, f.memstats);
  f.bytes_read = r.u64();
  f.truncated = read_bool(r);
  f.truncated_at = r.u64();
  return f;
}

bool inside(uint64_t offset, uint64_t size, uint64_t total) {
  return offset <= total && size <= total - offset;
}

void check_facts(const DumpFacts& f, uint64_t input_bytes) {
  for (const RawRoot& r : f.roots)
    if (static_cast<int>(r.kind) >= kRootKindCount) throw CacheCorrupt("bad root kind");
  for (const GoroutineRecord& g : f.goroutines)
    if (g.first_frame > f.frames.size() || g.frame_count > f.frames.size() - g.first_frame)
      throw CacheCorrupt("goroutine frames out of range");
  for (const FrameRecord& fr : f.frames) {
    if (!inside(fr.contents_offset, fr.size, input_bytes))
      throw CacheCorrupt("frame contents outside the dump");
    if (fr.goroutine != kNoGoroutine && fr.goroutine >= f.goroutines.size())
      throw CacheCorrupt("frame of no goroutine");
  }
  for (const SegmentRecord& s : f.segments)
    if (!inside(s.contents_offset, s.size, input_bytes))
      throw CacheCorrupt("segment contents outside the dump");
}

}  // namespace

std::function<void(CacheFileWriter&)> snapshot_writer(const Snapshot& s) {
  DumpFacts facts_copy;  // everything but the object table, which build_snapshot emptied
  {
    const DumpFacts& f = s.facts_;
    facts_copy = f;
  }
  std::vector<uint8_t> phantom(s.phantom_.begin(), s.phantom_.end());
  return [facts = std::move(facts_copy), phantom = std::move(phantom),
          objects = std::span<const ObjectRecord>(s.objects_),
          rowstart = std::span<const uint32_t>(s.graph_.m_forward.m_rowstart),
          column = std::span<const uint32_t>(s.graph_.m_forward.m_column),
          edge_offset = std::span<const uint32_t>(s.edge_offset_),
          roots = std::span<const Root>(s.roots_),
          page_first = std::span<const uint32_t>(s.page_first_), phantom_count = s.phantom_count_,
          phantom_bytes = s.phantom_bytes_, stats = s.stats_, page_base = s.page_base_,
          page_shift = s.page_shift_](CacheFileWriter& w) {
    save_facts(facts, w);
    w.array(objects);
    w.array(phantom);
    w.u64(phantom_count);
    w.u64(phantom_bytes);
    w.array(rowstart);
    w.array(column);
    w.array(edge_offset);
    w.array(roots);
    w.bytes(&stats, sizeof stats);
    w.u64(page_base);
    w.u64(static_cast<uint64_t>(page_shift));
    w.array(page_first);
  };
}

Snapshot restore_snapshot(CacheFileReader& r, InputBuffer& input) {
  Snapshot s;
  s.facts_ = restore_facts(r);
  s.objects_ = r.array<ObjectRecord>();
  std::vector<uint8_t> phantom = r.array<uint8_t>();
  s.phantom_count_ = r.u64();
  s.phantom_bytes_ = r.u64();
  std::vector<uint32_t> rowstart = r.array<uint32_t>();
  std::vector<uint32_t> column = r.array<uint32_t>();
  s.edge_offset_ = r.array<uint32_t>();
  s.roots_ = r.array<Root>();
  static_assert(std::is_trivially_copyable_v<PointerStats>);
  r.bytes(&s.stats_, sizeof s.stats_);
  s.page_base_ = r.u64();
  const uint64_t shift = r.u64();
  s.page_first_ = r.array<uint32_t>();
  r.finish();

  // Structure: everything the passes index without checking.
  const uint64_t total = input.bytes().size();
  check_facts(s.facts_, total);
  const size_t vertices = s.objects_.size();
  if (vertices == 0 || vertices > UINT32_MAX) throw CacheCorrupt("bad object count");
  for (size_t id = 1; id < vertices; ++id) {
    const ObjectRecord& o = s.objects_[id];
    if (!inside(o.contents_offset, o.size, total))
      throw CacheCorrupt("object contents outside the dump");
    if (id > 1 && o.address <= s.objects_[id - 1].address)
      throw CacheCorrupt("objects out of address order");
  }
  if (!phantom.empty() && phantom.size() != vertices) throw CacheCorrupt("bad phantom table");
  for (uint8_t p : phantom)
    if (p > 1) throw CacheCorrupt("bad phantom flag");
  if (rowstart.size() != vertices + 1 || rowstart[0] != 0 || rowstart.back() != column.size() ||
      s.edge_offset_.size() != column.size())
    throw CacheCorrupt("bad graph rows");
  if (!std::is_sorted(rowstart.begin(), rowstart.end()))
    throw CacheCorrupt("graph rows out of order");
  for (uint32_t t : column)
    if (t >= vertices) throw CacheCorrupt("edge to no object");
  for (const Root& root : s.roots_) {
    if (static_cast<int>(root.kind) >= kRootKindCount) throw CacheCorrupt("bad root kind");
    if (root.target != kNoObject && root.target >= vertices)
      throw CacheCorrupt("root to no object");
  }
  if (shift > 63) throw CacheCorrupt("bad page shift");
  for (uint32_t first : s.page_first_)
    if (first > vertices) throw CacheCorrupt("bad page index");

  s.version_ = parse_go_version(s.facts_.params.go_version);
  s.phantom_.assign(phantom.begin(), phantom.end());
  s.page_shift_ = static_cast<int>(shift);
  s.graph_.m_forward.m_rowstart = std::move(rowstart);
  s.graph_.m_forward.m_column = std::move(column);
  s.input_ = std::move(input);
  return s;
}

}  // namespace heapwalk

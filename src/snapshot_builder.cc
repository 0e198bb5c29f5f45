// build_snapshot: from a reader's address-space facts to the immutable graph.
// The hot loop is resolving every pointer field to the slot containing it;
// Snapshot::find does that with a page index over the sorted slot starts.
// The reader's object table is sorted in place and becomes the snapshot's,
// and fieldlists are decoded again from the input rather than kept: peak
// memory is the input plus 24 bytes per object plus 8 per edge.
#include <algorithm>

#include "heapwalk/error.h"
#include "heapwalk/progress.h"
#include "heapwalk/snapshot.h"
#include "heapwalk/word.h"

namespace heapwalk {
namespace {

// Decodes a fieldlist the reader already validated: (kind 1, offset) pairs
// ending with kind 0.
class FieldIterator {
 public:
  explicit FieldIterator(const uint8_t* p) : p_(p) {}
  bool next(uint64_t& offset) {
    if (uvarint() == 0) return false;
    offset = uvarint();
    return true;
  }

 private:
  uint64_t uvarint() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = *p_++;
      v |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return v;
    }
  }
  const uint8_t* p_;
};

bool before(const ObjectRecord& a, const ObjectRecord& b) {
  return a.address < b.address || (a.address == b.address && a.contents_offset < b.contents_offset);
}

// Sorts objects[1..] by address (ties: file order). Go writes each span's
// slots in ascending order and spans are disjoint runs of 8 KiB pages. Cut
// the records into ascending pieces that start in one page each: pieces then
// never interleave, so ordering the pieces and concatenating them sorts the
// table in O(n + p log p) for p pages. Anything else (a crafted or unusual
// dump) falls back to a comparison sort.
void sort_by_address(std::vector<ObjectRecord>& objects) {
  struct Run {
    size_t begin, end;
  };
  std::vector<Run> runs;
  for (size_t i = 1; i < objects.size();) {
    size_t j = i + 1;
    const uint64_t page = objects[i].address >> 13;
    while (j < objects.size() && objects[j - 1].address < objects[j].address &&
           objects[j].address >> 13 == page)
      ++j;
    runs.push_back({i, j});
    i = j;
  }
  if (runs.size() <= 1) return;
  std::sort(runs.begin(), runs.end(),
            [&](const Run& a, const Run& b) { return before(objects[a.begin], objects[b.begin]); });
  bool disjoint = true;
  for (size_t r = 1; r < runs.size() && disjoint; ++r)
    disjoint = objects[runs[r - 1].end - 1].address < objects[runs[r].begin].address;
  if (!disjoint || runs.size() > objects.size() / 4) {
    std::sort(objects.begin() + 1, objects.end(),
              [](const ObjectRecord& a, const ObjectRecord& b) { return before(a, b); });
    return;
  }
  std::vector<ObjectRecord> sorted;
  sorted.reserve(objects.size());
  sorted.push_back(objects[0]);
  for (const Run& run : runs)
    sorted.insert(sorted.end(), objects.begin() + run.begin, objects.begin() + run.end);
  objects = std::move(sorted);
}

}  // namespace

// build_snapshot is the Snapshot's friend; its phases each say what they
// establish.
Snapshot build_snapshot(InputBuffer input, DumpFacts facts, ProgressMeter* progress) {
  if (progress) progress->phase("sort objects", 0, 0);
  Snapshot s;
  s.input_ = std::move(input);
  s.facts_ = std::move(facts);
  s.version_ = parse_go_version(s.facts_.params.go_version);
  DumpFacts& f = s.facts_;
  const uint8_t* base = s.input_.bytes().data();
  const uint32_t ptr_size = f.params.pointer_size;
  const bool big_endian = f.params.big_endian;
  PointerStats& stats = s.stats_;

  // Phase 1: the object table, in address order at ids 1..n. Ties go to the
  // earlier record (contents_offset grows with file order); later records at
  // the same address are dropped, overlaps counted.
  std::vector<ObjectRecord>& objects = s.objects_;
  objects = std::move(f.objects);
  f.objects = {};
  if (objects.size() >= kNoObject - 1)
    throw InputError(s.input_.name(), InputError::kNoOffset,
                     "more than 4 billion objects: not supported");
  objects.insert(objects.begin(), ObjectRecord{0, 0, 0});
  sort_by_address(objects);
  size_t kept = 1;
  for (size_t i = 1; i < objects.size(); ++i) {
    if (kept > 1) {
      const ObjectRecord& prev = objects[kept - 1];
      if (objects[i].address == prev.address) {
        ++stats.duplicate_objects;
        continue;
      }
      if (objects[i].address - prev.address < prev.size) ++stats.overlapping_objects;
    }
    objects[kept++] = objects[i];
  }
  objects.resize(kept);
  const uint32_t n = s.object_count();

  // Phase 2: page index over the slot starts (see Snapshot::find).
  if (n > 0) {
    s.page_base_ = objects[1].address;
    uint64_t last_end = objects[n].address + std::max<uint64_t>(objects[n].size, 1);
    uint64_t span = last_end - s.page_base_;
    // Pages of about one object each make find() a lookup plus one or two
    // comparisons, for at most 4 bytes per object (scattered heaps get
    // coarser pages, never a bigger index).
    int shift = 6;
    while (shift < 63 && (span >> shift) > uint64_t{n} + 1024) ++shift;
    s.page_shift_ = shift;
    uint64_t pages = (span >> shift) + 2;
    s.page_first_.resize(pages);
    uint32_t id = 1;
    for (uint64_t p = 0; p < pages; ++p) {
      uint64_t page_start = s.page_base_ + (p << shift);
      while (id <= n && objects[id].address < page_start) ++id;
      s.page_first_[p] = id;
    }
  }

  // Phase 3: records that are not program objects (format-specific).
  if (const FormatReader* reader = format_reader(f.format); reader && reader->non_object_records) {
    std::vector<uint32_t> ids = reader->non_object_records(f, objects, s.input_.bytes());
    if (!ids.empty()) {
      s.phantom_.assign(n + 1, false);
      for (uint32_t id : ids) {
        s.phantom_[id] = true;
        ++s.phantom_count_;
        s.phantom_bytes_ += objects[id].size;
      }
    }
  }

  auto fields_of = [&](ObjectId id) {
    return FieldIterator(base + objects[id].contents_offset + objects[id].size);
  };

  // Phase 4: the root table. Registered finalizers make their object's
  // pointer fields roots (never the object itself, never a pointer back into
  // it: Go's scanobject skips those). Nil root words are only counted.
  std::vector<Root> roots;
  roots.reserve(f.roots.size());
  auto add_root = [&](uint64_t value, uint64_t offset, uint32_t owner, RootKind kind,
                      RootRole role) {
    ++stats.root_words;
    if (value == 0) {
      ++stats.root_nil;
      return;
    }
    ObjectId target = s.find(value);
    if (target == kNoObject) ++stats.root_unresolved;
    roots.push_back({value, offset, owner, kind, role, target});
  };
  for (const RawRoot& r : f.roots) add_root(r.value, r.offset, r.owner, r.kind, r.role);
  std::vector<RawRoot>().swap(f.roots);
  for (uint32_t k = 0; k < f.finalizers.size(); ++k) {
    const FinalizerRecord& fin = f.finalizers[k];
    if (fin.queued) continue;
    ObjectId object = s.find(fin.object);
    if (object == kNoObject) continue;
    const ObjectRecord& o = objects[object];
    FieldIterator fields = fields_of(object);
    for (uint64_t offset; fields.next(offset);) {
      uint64_t value = read_word(base + o.contents_offset + offset, ptr_size, big_endian);
      if (value - o.address < o.size) continue;  // into itself: not a root
      add_root(value, offset, k, RootKind::kFinalizer, RootRole::kField);
    }
  }
  std::stable_sort(roots.begin(), roots.end(),
                   [](const Root& a, const Root& b) { return a.kind < b.kind; });
  s.roots_ = std::move(roots);

  // Phase 5: CSR. Super-root first (one edge per resolved root, edge offset =
  // root index), then every object's resolved fields in field order.
  if (f.pointer_fields + s.roots_.size() >= UINT32_MAX)
    throw InputError(s.input_.name(), InputError::kNoOffset,
                     "more than 4 billion references: not supported");
  std::vector<uint32_t> rowstart(uint64_t{n} + 2);
  std::vector<uint32_t> targets;
  std::vector<uint32_t> offsets;
  targets.reserve(f.pointer_fields + s.roots_.size());
  offsets.reserve(f.pointer_fields + s.roots_.size());
  for (uint32_t i = 0; i < s.roots_.size(); ++i) {
    if (s.roots_[i].target == kNoObject) continue;
    targets.push_back(s.roots_[i].target);
    offsets.push_back(i);
  }
  // Pointer fields are gathered a batch at a time and resolved together
  // (Snapshot::find_many overlaps their cache misses); rowstart[id + 1]
  // counts id's edges and becomes row starts by a prefix sum at the end.
  const auto root_edges = static_cast<uint32_t>(targets.size());
  constexpr size_t kBatch = 4096;
  std::vector<uint64_t> batch_values;
  std::vector<uint32_t> batch_offsets, batch_owners;
  std::vector<ObjectId> batch_targets(kBatch);
  batch_values.reserve(kBatch);
  batch_offsets.reserve(kBatch);
  batch_owners.reserve(kBatch);
  auto flush = [&] {
    const std::span<ObjectId> resolved(batch_targets.data(), batch_values.size());
    s.find_many(batch_values, resolved);
    for (size_t i = 0; i < batch_values.size(); ++i) {
      const ObjectId target = resolved[i];
      if (target == kNoObject) {
        ++stats.unresolved;
        continue;
      }
      const uint32_t owner = batch_owners[i];
      ++stats.heap_edges;
      if (batch_values[i] != objects[target].address) ++stats.interior;
      if (target == owner) ++stats.self;
      targets.push_back(target);
      offsets.push_back(batch_offsets[i]);
      ++rowstart[owner + 1];
    }
    batch_values.clear();
    batch_offsets.clear();
    batch_owners.clear();
  };
  if (progress) progress->phase("resolve pointers", n, 0);
  for (uint32_t id = 1; id <= n; ++id) {
    if (progress && (id & 0xffff) == 0) progress->advance_to(id);
    const uint8_t* contents = base + objects[id].contents_offset;
    FieldIterator fields = fields_of(id);
    for (uint64_t offset; fields.next(offset);) {
      uint64_t value = read_word(contents + offset, ptr_size, big_endian);
      ++stats.fields;
      if (value == 0) {
        ++stats.nil;
        continue;
      }
      batch_values.push_back(value);
      batch_offsets.push_back(static_cast<uint32_t>(offset));
      batch_owners.push_back(id);
      if (batch_values.size() == kBatch) flush();
    }
  }
  flush();
  rowstart[0] = 0;
  rowstart[1] = root_edges;  // the super-root's row holds the root edges
  for (uint64_t id = 2; id <= uint64_t{n} + 1; ++id) rowstart[id] += rowstart[id - 1];

  // The CSR graph's storage is public in Boost (m_forward); moving our
  // arrays in avoids a second copy of every edge.
  s.graph_.m_forward.m_rowstart = std::move(rowstart);
  s.graph_.m_forward.m_column = std::move(targets);
  s.edge_offset_ = std::move(offsets);

  std::vector<uint64_t> type_addresses;
  type_addresses.reserve(f.types.size());
  for (const TypeRecord& t : f.types) type_addresses.push_back(t.address);
  std::sort(type_addresses.begin(), type_addresses.end());
  stats.duplicate_types =
      type_addresses.size() -
      (std::unique(type_addresses.begin(), type_addresses.end()) - type_addresses.begin());
  return s;
}

}  // namespace heapwalk

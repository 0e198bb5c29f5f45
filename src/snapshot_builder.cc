// build_snapshot: from a reader's address-space facts to the immutable graph.
// The hot loop is resolving every pointer field to the slot containing it;
// Snapshot::find does that with a page index over the sorted slot starts.
#include <algorithm>
#include <numeric>

#include "heapwalk/error.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {
namespace {

uint64_t read_word(const uint8_t* p, uint32_t size, bool big_endian) {
  uint64_t v = 0;
  if (!big_endian) {
    for (uint32_t i = size; i-- > 0;) v = (v << 8) | p[i];
  } else {
    for (uint32_t i = 0; i < size; ++i) v = (v << 8) | p[i];
  }
  return v;
}

}  // namespace

// build_snapshot is the Snapshot's friend; its phases each say what they
// establish.
Snapshot build_snapshot(InputBuffer input, DumpFacts facts) {
  Snapshot s;
  s.input_ = std::move(input);
  s.facts_ = std::move(facts);
  s.version_ = parse_go_version(s.facts_.params.go_version);
  DumpFacts& f = s.facts_;
  const uint8_t* base = s.input_.bytes().data();
  const uint32_t ptr_size = f.params.pointer_size;
  const bool big_endian = f.params.big_endian;
  PointerStats& stats = s.stats_;

  // Phase 1: order records by address (file order breaks ties, so the first
  // of two records at one address wins), drop duplicates, count overlaps.
  const size_t records = f.objects.size();
  if (records >= kNoObject - 1)
    throw InputError(s.input_.name(), InputError::kNoOffset,
                     "more than 4 billion objects: not supported");
  std::vector<uint32_t> order(records);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    uint64_t x = f.objects[a].address, y = f.objects[b].address;
    return x < y || (x == y && a < b);
  });
  std::vector<uint32_t> id_of_record(records, kNoObject);
  s.address_.reserve(records + 1);
  s.size_.reserve(records + 1);
  s.contents_offset_.reserve(records + 1);
  s.address_.push_back(0);
  s.size_.push_back(0);
  s.contents_offset_.push_back(0);
  std::vector<uint32_t> record_of_id{kNoObject};
  record_of_id.reserve(records + 1);
  for (uint32_t r : order) {
    const ObjectRecord& o = f.objects[r];
    if (s.address_.size() > 1) {
      uint64_t prev = s.address_.back();
      if (o.address == prev) {
        ++stats.duplicate_objects;
        continue;
      }
      if (o.address - prev < s.size_.back()) ++stats.overlapping_objects;
    }
    id_of_record[r] = static_cast<uint32_t>(s.address_.size());
    record_of_id.push_back(r);
    s.address_.push_back(o.address);
    s.size_.push_back(o.size);
    s.contents_offset_.push_back(o.contents_offset);
  }
  std::vector<uint32_t>().swap(order);
  const uint32_t n = s.object_count();

  // Phase 2: page index over the slot starts (see Snapshot::find).
  if (n > 0) {
    s.page_base_ = s.address_[1];
    uint64_t last_end = s.address_[n] + std::max<uint64_t>(s.size_[n], 1);
    uint64_t span = last_end - s.page_base_;
    int shift = 13;
    // Keep the index within a few words per object even for scattered heaps.
    while (shift < 63 && (span >> shift) > 4 * uint64_t{n} + 1024) ++shift;
    s.page_shift_ = shift;
    uint64_t pages = (span >> shift) + 2;
    s.page_first_.resize(pages);
    uint32_t id = 1;
    for (uint64_t p = 0; p < pages; ++p) {
      uint64_t page_start = s.page_base_ + (p << shift);
      while (id <= n && s.address_[id] < page_start) ++id;
      s.page_first_[p] = id;
    }
  }

  // Phase 3: phantoms the reader found, by id.
  if (!f.phantom_records.empty()) {
    s.phantom_.assign(n + 1, false);
    for (uint64_t r : f.phantom_records) {
      uint32_t id = id_of_record[r];
      if (id == kNoObject || s.phantom_[id]) continue;
      s.phantom_[id] = true;
      ++s.phantom_count_;
      s.phantom_bytes_ += s.size_[id];
    }
  }

  auto fields_of = [&](uint32_t r) {
    uint64_t begin = f.objects[r].first_field;
    uint64_t end = r + 1 < records ? f.objects[r + 1].first_field : f.field_offsets.size();
    return std::pair<uint64_t, uint64_t>{begin, end};
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
  for (uint32_t k = 0; k < f.finalizers.size(); ++k) {
    const FinalizerRecord& fin = f.finalizers[k];
    if (fin.queued) continue;
    ObjectId object = s.find(fin.object);
    if (object == kNoObject) continue;
    auto [begin, end] = fields_of(record_of_id[object]);
    uint64_t lo = s.address_[object], hi = lo + s.size_[object];
    for (uint64_t i = begin; i < end; ++i) {
      uint32_t offset = f.field_offsets[i];
      uint64_t value = read_word(base + s.contents_offset_[object] + offset, ptr_size, big_endian);
      if (value >= lo && value < hi) continue;  // into itself: not a root
      add_root(value, offset, k, RootKind::kFinalizer, RootRole::kField);
    }
  }
  std::stable_sort(roots.begin(), roots.end(),
                   [](const Root& a, const Root& b) { return a.kind < b.kind; });
  s.roots_ = std::move(roots);

  // Phase 5: CSR. Super-root first (one edge per resolved root, edge offset =
  // root index), then every object's resolved fields in field order.
  std::vector<uint32_t> rowstart(uint64_t{n} + 2);
  std::vector<uint32_t> targets;
  std::vector<uint32_t> offsets;
  targets.reserve(f.field_offsets.size() / 2 + s.roots_.size());
  offsets.reserve(f.field_offsets.size() / 2 + s.roots_.size());
  for (uint32_t i = 0; i < s.roots_.size(); ++i) {
    if (s.roots_[i].target == kNoObject) continue;
    targets.push_back(s.roots_[i].target);
    offsets.push_back(i);
  }
  for (uint32_t id = 1; id <= n; ++id) {
    rowstart[id] = static_cast<uint32_t>(targets.size());
    auto [begin, end] = fields_of(record_of_id[id]);
    const uint8_t* contents = base + s.contents_offset_[id];
    for (uint64_t i = begin; i < end; ++i) {
      uint32_t offset = f.field_offsets[i];
      uint64_t value = read_word(contents + offset, ptr_size, big_endian);
      ++stats.fields;
      if (value == 0) {
        ++stats.nil;
        continue;
      }
      ObjectId target = s.find(value);
      if (target == kNoObject) {
        ++stats.unresolved;
        continue;
      }
      ++stats.heap_edges;
      if (value != s.address_[target]) ++stats.interior;
      if (target == id) ++stats.self;
      if (targets.size() >= UINT32_MAX)
        throw InputError(s.input_.name(), InputError::kNoOffset,
                         "more than 4 billion references: not supported");
      targets.push_back(target);
      offsets.push_back(offset);
    }
  }
  rowstart[n + 1] = static_cast<uint32_t>(targets.size());
  targets.shrink_to_fit();
  offsets.shrink_to_fit();

  // Only the graph is needed from here on; release the per-record tables.
  std::vector<ObjectRecord>().swap(f.objects);
  std::vector<uint32_t>().swap(f.field_offsets);
  std::vector<uint64_t>().swap(f.phantom_records);

  // The CSR graph's storage is public in Boost (m_forward); moving our
  // arrays in avoids a second copy of every edge.
  s.graph_.m_forward.m_rowstart = std::move(rowstart);
  s.graph_.m_forward.m_column = std::move(targets);
  s.edge_offset_ = std::move(offsets);

  {
    std::vector<uint64_t> seen;
    seen.reserve(f.types.size());
    for (const TypeRecord& t : f.types) seen.push_back(t.address);
    std::sort(seen.begin(), seen.end());
    stats.duplicate_types = seen.size() - (std::unique(seen.begin(), seen.end()) - seen.begin());
  }
  return s;
}

}  // namespace heapwalk

#include "heapwalk/passes/dwarf_propagation.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>

#include "heapwalk/symbols/elf_symbols.h"
#include "heapwalk/word.h"

namespace heapwalk {

namespace {

using Kind = DwarfTypes::Kind;
constexpr uint32_t kNoType = DwarfTypes::kNoType;

// A pointer word that resolved to an object.
struct Hit {
  ObjectId target;
  uint64_t value;
};

// Where a value being walked lives: an object's contents or a segment's.
// Pointer words are looked up among the resolved pointers the snapshot
// already has (object out-edges; root entries for segments), by offset.
struct Container {
  uint64_t size = 0;
  std::span<const uint8_t> bytes;
  // (offset, hit), by offset
  std::span<const uint32_t> edge_targets;
  std::span<const uint32_t> edge_offsets;
  const std::vector<std::pair<uint64_t, Hit>>* roots = nullptr;
  ObjectId object = kNoObject;
};

// +k for the linker's synthesized hchan<T> / hash<K,V> / bucket<K,V>, -k for
// the runtime's runtime.hchan / runtime.hmap / runtime.bmap, 0 otherwise.
int generic_runtime_family(const std::string& name) {
  static const char* const kGeneric[] = {"hchan<", "hash<", "bucket<"};
  static const char* const kRuntime[] = {"runtime.hchan", "runtime.hmap", "runtime.bmap"};
  for (int k = 0; k < 3; ++k) {
    if (name.rfind(kGeneric[k], 0) == 0) return k + 1;
    if (name == kRuntime[k]) return -(k + 1);
  }
  return 0;
}

}  // namespace

std::string dwarf_object_name(const DwarfTypes& dwarf, uint32_t type, DwarfShape shape) {
  if (shape == DwarfShape::kStringBytes) return "string bytes";
  const std::string& n = dwarf.type(type).name;
  switch (shape) {
    case DwarfShape::kSliceArray: return "[]" + n + " backing array";
    case DwarfShape::kBucketArray: return n + " array";
    case DwarfShape::kChanBuffer: return "chan " + n + " buffer";
    default: return n;
  }
}

uint32_t interface_pointee(const DwarfTypes& dwarf, uint32_t dynamic, uint32_t ptr) {
  if (dynamic == kNoType) return kNoType;
  const DwarfTypes::Type& d = dwarf.type(dynamic);
  switch (d.kind) {
    case Kind::kPointer:
    case Kind::kMap:
    case Kind::kChan: return d.target;
    case Kind::kFunc:
    case Kind::kUnsafePointer: return kNoType;
    default:
      // A pointer-shaped struct or array is stored in the data word itself:
      // what it points at is not the value.
      if (d.size == ptr && d.has_pointers) return kNoType;
      return d.size ? dynamic : kNoType;
  }
}

uint32_t dwarf_type_at(const DwarfTypes& dwarf, const ElfSymbols& binary, uint64_t address) {
  const ElfSymbols::Symbol* types = binary.find_symbol("runtime.types");
  if (!types || !address) return kNoType;
  uint64_t base = types->address + static_cast<uint64_t>(binary.load_bias());
  if (address <= base) return kNoType;
  return dwarf.by_runtime_offset(address - base);
}

DwarfTyping propagate_dwarf_types(const Snapshot& s, const DwarfTypes& dwarf,
                                  const ElfSymbols& binary, std::span<const uint32_t> known,
                                  const std::vector<bool>& header) {
  const DumpFacts& f = s.facts();
  const uint32_t ptr = f.params.pointer_size;
  const bool big_endian = f.params.big_endian;
  const uint32_t V = s.vertex_count();
  const std::span<const uint8_t> in = s.input().bytes();
  DwarfTyping out;
  out.type.assign(V, kNoType);
  out.shape.assign(V, DwarfShape::kValue);
  std::unordered_map<ObjectId, uint64_t> slice_cap;  // cap of slice backing arrays

  std::unordered_map<uint64_t, uint64_t> itab_type;
  for (const ItabRecord& i : f.itabs) itab_type.try_emplace(i.address, i.type_address);

  auto value_start = [&](ObjectId id) { return s.address(id) + (header[id] ? ptr : 0); };

  // One value of a type fills its slot but for size-class rounding (at most
  // an eighth, a page for large objects): a pointer to a value less than
  // half its slot points at a part (the first element of an array, the
  // first field of a struct: `&buf[0]`), which must not name the whole.
  // Tiny-allocator blocks (16 bytes, several small values) are let through.
  auto fits = [&](ObjectId id, uint32_t type) {
    uint64_t room = s.size(id) - (header[id] ? ptr : 0);
    return room <= 16 || 2 * dwarf.type(type).size > room;
  };

  std::deque<ObjectId> queue;
  auto assign = [&](const Hit& h, uint32_t type, DwarfShape shape, uint64_t cap) {
    if (s.is_phantom(h.target)) return;
    if (h.value != value_start(h.target)) {
      ++out.interior;
      return;
    }
    if (shape != DwarfShape::kStringBytes) {
      if (type == kNoType || dwarf.type(type).name.empty() || !dwarf.type(type).size) return;
      if (shape == DwarfShape::kValue && !fits(h.target, type)) {
        ++out.partial;
        return;
      }
    }
    if (out.type[h.target] == kNoType && !(out.shape[h.target] == DwarfShape::kStringBytes)) {
      out.type[h.target] = type;
      out.shape[h.target] = shape;
      if (shape == DwarfShape::kSliceArray && cap) slice_cap[h.target] = cap;
      ++out.typed_objects;
      if (shape != DwarfShape::kStringBytes && dwarf.type(type).has_pointers)
        queue.push_back(h.target);
      return;
    }
    if (out.type[h.target] == type && out.shape[h.target] != shape &&
        (out.shape[h.target] == DwarfShape::kValue || shape == DwarfShape::kValue)) {
      // One T and an array of T agree (an array starts with its first
      // element, e.g. a *bucket to a bucket array's start): the array wins,
      // and the rest of it is walked.
      if (shape != DwarfShape::kValue) {
        out.shape[h.target] = shape;
        if (shape == DwarfShape::kSliceArray && cap) slice_cap[h.target] = cap;
        if (dwarf.type(type).has_pointers) queue.push_back(h.target);
      }
      return;
    }
    if (out.shape[h.target] == shape && shape == DwarfShape::kValue &&
        out.type[h.target] != kNoType && type != kNoType) {
      // The runtime's own runtime.hchan / hmap / bmap and the linker's
      // hchan<T> / hash<K,V> / bucket<K,V> of the same object agree; the
      // specific one is kept.
      const int was = generic_runtime_family(dwarf.type(out.type[h.target]).name),
                now = generic_runtime_family(dwarf.type(type).name);
      if (was && was == -now) {
        if (now > 0) {
          out.type[h.target] = type;
          queue.push_back(h.target);
        }
        return;
      }
    }
    if (out.type[h.target] != type || out.shape[h.target] != shape) ++out.conflicts;
  };

  auto read = [&](const Container& c, uint64_t off) -> uint64_t {
    if (off > c.size || c.size - off < ptr) return 0;
    return read_word(c.bytes.data() + off, ptr, big_endian);
  };
  auto pointer_at = [&](const Container& c, uint64_t off) -> std::optional<Hit> {
    if (c.roots) {
      auto it = std::lower_bound(c.roots->begin(), c.roots->end(), off,
                                 [](const auto& e, uint64_t o) { return e.first < o; });
      if (it == c.roots->end() || it->first != off) return std::nullopt;
      return it->second;
    }
    auto it = std::lower_bound(c.edge_offsets.begin(), c.edge_offsets.end(), off);
    if (it == c.edge_offsets.end() || *it != off) return std::nullopt;
    return Hit{c.edge_targets[it - c.edge_offsets.begin()], read(c, off)};
  };

  // Walks one value of `type` at `base` in the container, typing what its
  // pointer words reach. An explicit stack: nested structs and arrays.
  std::vector<std::pair<uint32_t, uint64_t>> stack;
  auto walk = [&](const Container& c, uint32_t type, uint64_t base) {
    stack.clear();
    stack.emplace_back(type, base);
    while (!stack.empty()) {
      auto [t, off] = stack.back();
      stack.pop_back();
      const DwarfTypes::Type& T = dwarf.type(t);
      if (!T.has_pointers || off > c.size || c.size - off < std::max<uint64_t>(T.size, ptr))
        continue;
      switch (T.kind) {
        case Kind::kPointer:
        case Kind::kMap:
        case Kind::kChan:
          if (auto h = pointer_at(c, off)) assign(*h, T.target, DwarfShape::kValue, 0);
          break;
        case Kind::kSlice:
          if (auto h = pointer_at(c, off))
            assign(*h, T.target, DwarfShape::kSliceArray, read(c, off + 2 * ptr));
          break;
        case Kind::kString:
          if (auto h = pointer_at(c, off)) assign(*h, kNoType, DwarfShape::kStringBytes, 0);
          break;
        case Kind::kInterface: {
          auto h = pointer_at(c, off + ptr);
          if (!h) break;
          uint64_t word = read(c, off);
          uint64_t dynamic = word;
          if (!T.eface) {
            auto it = itab_type.find(word);
            if (it == itab_type.end()) break;
            dynamic = it->second;
          }
          assign(*h, interface_pointee(dwarf, dwarf_type_at(dwarf, binary, dynamic), ptr),
                 DwarfShape::kValue, 0);
          break;
        }
        case Kind::kArray: {
          if (T.target == kNoType) break;
          const DwarfTypes::Type& E = dwarf.type(T.target);
          if (!E.has_pointers || !E.size) break;
          for (uint64_t i = T.count; i-- > 0;) stack.emplace_back(T.target, off + i * E.size);
          break;
        }
        case Kind::kStruct: {
          const auto& members = dwarf.members();
          for (uint32_t k = T.first_member + T.member_count; k-- > T.first_member;) {
            const DwarfTypes::Member& m = members[k];
            if (m.tile_elem != kNoType) {
              if (auto h = pointer_at(c, off + m.offset)) {
                // hash.buckets is a typed pointer; hchan.buf an unsafe.Pointer.
                bool buckets = dwarf.type(m.type).kind == Kind::kPointer;
                assign(*h, m.tile_elem,
                       buckets ? DwarfShape::kBucketArray : DwarfShape::kChanBuffer, 0);
              }
              continue;
            }
            stack.emplace_back(m.type, off + m.offset);
          }
          break;
        }
        default: break;
      }
    }
  };

  // 1. Globals, one segment at a time: their resolved root words by offset.
  for (uint32_t seg = 0; seg < f.segments.size(); ++seg) {
    const SegmentRecord& sr = f.segments[seg];
    RootKind kind = sr.bss ? RootKind::kBss : RootKind::kData;
    std::vector<std::pair<uint64_t, Hit>> roots;
    for (const Root& r : s.roots())
      if (r.kind == kind && r.owner == seg && r.role == RootRole::kField && r.target != kNoObject)
        roots.push_back({r.offset, Hit{r.target, r.value}});
    std::sort(roots.begin(), roots.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    if (roots.empty() || sr.contents_offset > in.size() || in.size() - sr.contents_offset < sr.size)
      continue;
    Container c;
    c.size = sr.size;
    c.bytes = in.subspan(sr.contents_offset, sr.size);
    c.roots = &roots;
    const uint64_t bias = static_cast<uint64_t>(binary.load_bias());
    for (const DwarfTypes::Global& g : dwarf.globals()) {
      uint64_t a = g.address + bias;
      if (a < sr.start || a - sr.start >= sr.size || !dwarf.type(g.type).has_pointers) continue;
      uint64_t before = out.typed_objects;
      walk(c, g.type, a - sr.start);
      if (out.typed_objects != before) ++out.from_globals;
    }
  }

  // 2. Objects the dump typed: they keep their type and are walked by it.
  for (ObjectId id = 1; id < V && id < known.size(); ++id) {
    uint32_t k = known[id];
    if (k == kNoType || s.is_phantom(id)) continue;
    if (!fits(id, k)) {
      ++out.partial;
      continue;
    }
    if (out.type[id] != kNoType) {
      if (out.type[id] != k || out.shape[id] != DwarfShape::kValue) ++out.conflicts;
      continue;  // already queued by its global's type; the dump's type names it anyway
    }
    out.type[id] = k;
    ++out.typed_objects;
    if (dwarf.type(k).has_pointers) queue.push_back(id);
  }

  // 3. Breadth-first through what got typed.
  const GraphView g = s.view();
  std::vector<uint32_t> offsets;
  while (!queue.empty()) {
    ObjectId id = queue.front();
    queue.pop_front();
    Container c;
    c.object = id;
    c.size = s.size(id);
    c.bytes = s.contents(id);
    uint32_t first = g.rowstart[id], last = g.rowstart[id + 1];
    c.edge_targets = {g.targets + first, g.targets + last};
    offsets.resize(last - first);
    for (uint32_t e = first; e < last; ++e) offsets[e - first] = s.edge_offset(e);
    c.edge_offsets = offsets;
    const uint32_t t = out.type[id];
    const uint64_t base = header[id] ? ptr : 0;
    if (out.shape[id] == DwarfShape::kValue) {
      walk(c, t, base);
      continue;
    }
    const uint64_t esize = dwarf.type(t).size;
    uint64_t n = esize ? (c.size - base) / esize : 0;
    if (out.shape[id] == DwarfShape::kSliceArray) {
      auto it = slice_cap.find(id);
      if (it != slice_cap.end()) n = std::min(n, it->second);
    }
    for (uint64_t i = 0; i < n; ++i) walk(c, t, base + i * esize);
  }
  return out;
}

}  // namespace heapwalk

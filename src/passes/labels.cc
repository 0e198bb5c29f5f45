#include "heapwalk/passes/labels.h"

#include <algorithm>
#include <unordered_map>

#include "heapwalk/passes/dwarf_propagation.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/symbols/dwarf_types.h"
#include "heapwalk/symbols/elf_symbols.h"
#include "heapwalk/word.h"

namespace heapwalk {

namespace {

constexpr uint64_t kMaxHeaderSlot = 32768;

std::string_view package_of(std::string_view function) {
  // "heapwalk/samples/internal/dumpkit.Mem", "context.(*cancelCtx).Done"
  size_t slash = function.rfind('/');
  size_t dot = function.find('.', slash == std::string_view::npos ? 0 : slash + 1);
  return function.substr(0, dot);
}

bool is_runtime(std::string_view pkg) {
  return pkg == "runtime" || pkg.starts_with("runtime/internal/") ||
         pkg.starts_with("internal/runtime/");
}

bool is_std(std::string_view pkg) {
  if (pkg == "main") return false;
  std::string_view first = pkg.substr(0, pkg.find('/'));
  return first.find('.') == std::string_view::npos;
}

std::string frame_text(const StackEntry& e) {
  size_t slash = e.file.rfind('/');
  std::string base = slash == std::string::npos ? e.file : e.file.substr(slash + 1);
  return e.function + " (" + base + ":" + std::to_string(e.line) + ")";
}

AllocSite site_of(const std::vector<StackEntry>& stack) {
  AllocSite site;
  const StackEntry* allocator = nullptr;
  const StackEntry* caller = nullptr;
  for (const StackEntry& e : stack) {
    std::string_view pkg = package_of(e.function);
    if (!allocator && !is_runtime(pkg)) allocator = &e;
    if (!caller && !is_runtime(pkg) && !is_std(pkg)) caller = &e;
  }
  // An allocation made by the runtime for itself: its innermost frame.
  if (!allocator) allocator = &stack.front();
  site.allocator = frame_text(*allocator);
  site.caller = caller ? frame_text(*caller) : site.allocator;
  return site;
}

// What the dump (and the executable) knows about one type address.
struct TypeInfo {
  std::string dump_name;  // as the type record has it ("" without a record)
  uint64_t size = 0;
  bool recorded = false;
  uint32_t index = 0;  // into type_names_, 0 = names nothing
  // What an interface's data word with this dynamic type points at: the
  // pointee of a pointer type, the hash/hchan of a map/chan, the boxed value
  // of an indirect type. 0 = unknown (funcs, pointer-shaped structs).
  uint32_t pointee = 0;
  bool from_binary = false;
};

// The executable's name is what %T prints: the package's NAME
// ("*json.encodeState"), where the dump writes its PATH ("encoding/json.").
// Put the dump's path back when the name is that path's last element.
std::string merge_names(const std::string& dump, const std::string& exe) {
  size_t dot = dump.rfind('.');
  size_t stars = exe.find_first_not_of('*');
  if (exe.empty() || dot == std::string::npos || dot == 0 || stars == std::string::npos) return exe;
  std::string path = dump.substr(0, dot);
  size_t slash = path.rfind('/');
  std::string pkg = slash == std::string::npos ? path : path.substr(slash + 1);
  if (exe.compare(stars, pkg.size() + 1, pkg + ".") != 0) return exe;
  return exe.substr(0, stars) + path + exe.substr(stars + pkg.size());
}

// The dump-only name of what an interface's data word points at, for a
// pointer-shaped (direct) type: "*main.Payload" -> "main.Payload", a
// truncated "context." (an unnamed pointer type with methods, i.e. *T of
// package context) -> "context.<pointee type>", a map -> runtime.hmap, a
// chan -> runtime.hchan; "" when unknown (funcs, one-pointer structs).
std::string direct_pointee_name(const TypeRecord& t, uint32_t ptr) {
  const std::string& n = t.name;
  if (n.size() > 1 && n[0] == '*') return n.substr(1);
  if (n.rfind("map[", 0) == 0) return "runtime.hmap";
  if (n.rfind("chan ", 0) == 0 || n.rfind("<-chan ", 0) == 0 || n.rfind("chan<- ", 0) == 0)
    return "runtime.hchan";
  if (!n.empty() && n.back() == '.' && t.size == ptr) return n + "<pointee type>";
  return "";
}

}  // namespace

std::string AllocSite::label() const {
  return caller == allocator ? allocator : allocator + " <- " + caller;
}

std::string Labels::label(const Snapshot& s, ObjectId id) const {
  if (type_of_[id]) return type_names_[type_of_[id]];
  if (site_of_[id]) return "[site] " + sites_[site_of_[id]].label();
  return "[" + std::to_string(s.size(id)) + "-byte object]";
}

Labels compute_labels(const Snapshot& s, const ElfSymbols* binary) {
  Labels L;
  const DumpFacts& f = s.facts();
  const uint32_t ptr = f.params.pointer_size;
  const bool big_endian = f.params.big_endian;
  const std::span<const uint8_t> in = s.input().bytes();
  const uint32_t V = s.vertex_count();
  L.type_of_.assign(V, 0);
  L.source_.assign(V, TypeSource::kNone);
  L.site_of_.assign(V, 0);
  LabelCounts& c = L.counts_;

  auto word_at = [&](uint64_t at) -> uint64_t {
    if (at > in.size() || in.size() - at < ptr) return 0;
    return read_word(in.data() + at, ptr, big_endian);
  };

  // Interned display names.
  std::unordered_map<std::string, uint32_t> name_index;
  auto intern = [&](const std::string& name) -> uint32_t {
    auto [it, fresh] = name_index.try_emplace(name, static_cast<uint32_t>(L.type_names_.size()));
    if (fresh) L.type_names_.push_back(name);
    return it->second;
  };

  // With DWARF, its names come first: full package paths, one name per type
  // whichever source names it (passes/dwarf_propagation.h).
  const DwarfTypes* dwarf = binary ? binary->dwarf() : nullptr;
  auto dwarf_index = [&](uint64_t address) {
    return dwarf ? dwarf_type_at(*dwarf, *binary, address) : DwarfTypes::kNoType;
  };
  auto dwarf_name = [&](uint32_t d) -> std::string {
    return d == DwarfTypes::kNoType ? std::string() : dwarf->type(d).name;
  };

  std::unordered_map<uint64_t, TypeInfo> types;
  for (const TypeRecord& t : f.types) {
    if (types.count(t.address)) continue;  // duplicates keep the first
    TypeInfo info;
    info.dump_name = t.name;
    info.size = t.size;
    info.recorded = true;
    const uint32_t d = dwarf_index(t.address);
    std::string full = dwarf_name(d);
    if (full.empty() && binary) full = merge_names(t.name, binary->type_name(t.address));
    if (!full.empty()) {
      info.index = intern(full);
      info.from_binary = full != t.name;
    } else if (!t.name.empty() && t.name.back() == '.') {
      info.index = intern(t.name + (t.size == ptr ? "<pointer type>" : "<unnamed type>"));
    } else if (!t.name.empty()) {
      info.index = intern(t.name);
    }
    // What the type's interface data words point at (labels name objects by
    // their own type, never by the pointer to them).
    // (The record's `indirect` flag cannot tell: Go writes it true for
    // every type with pointers, pointer types included.)
    std::string pointee;
    if (d != DwarfTypes::kNoType) {
      pointee = dwarf_name(interface_pointee(*dwarf, d, ptr));
    } else if (uint64_t elem = binary ? binary->pointer_elem(t.address) : 0) {
      std::string dump = t.name.size() > 1 && t.name[0] == '*' ? t.name.substr(1) : t.name;
      pointee = merge_names(dump, binary->type_name(elem));
    } else if (t.size != ptr) {
      info.pointee = info.index;  // not pointer-shaped: a boxed value of the type itself
    } else {
      pointee = direct_pointee_name(t, ptr);
      // A named pointer-sized type: a boxed integer-like value (syscall.Errno)
      // unless the executable says it holds pointers (then its pointee is
      // unknown).
      if (pointee.empty() && !t.name.empty() && t.name.back() != '.' &&
          t.name.rfind("func(", 0) != 0) {
        auto shape = binary ? binary->type_shape(t.address) : std::nullopt;
        if (!shape || shape->ptrdata == 0) info.pointee = info.index;
      }
    }
    if (!pointee.empty()) info.pointee = intern(pointee);
    types.emplace(t.address, std::move(info));
  }
  std::unordered_map<uint64_t, uint64_t> itab_type;
  for (const ItabRecord& i : f.itabs) itab_type.try_emplace(i.address, i.type_address);

  // Malloc headers: Go >= 1.22, slot in (8 * ptr * ptr, 32768], pointerful.
  // The fieldlist follows the contents in the input; its first uvarint is 0
  // exactly when the object has no pointer fields (the reader validated it).
  const bool headers = s.go_version().at_least(1, 22);
  const uint64_t header_min = 8ull * ptr * ptr;
  auto has_header = [&](ObjectId id) {
    if (!headers || s.size(id) <= header_min || s.size(id) > kMaxHeaderSlot || s.is_phantom(id))
      return false;
    std::span<const uint8_t> body = s.contents(id);
    uint64_t fields_at = static_cast<uint64_t>(body.data() - in.data()) + body.size();
    return fields_at < in.size() && in[fields_at] != 0;
  };

  // The type address that named each object (0: none), kept as a 4-byte
  // reference into the distinct addresses: 8 bytes per object here were
  // this pass's peak on big dumps.
  std::vector<uint32_t> type_ref(V, 0);
  std::vector<uint64_t> type_addresses{0};
  std::unordered_map<uint64_t, uint32_t> type_ref_of{{0, 0}};
  auto type_addr = [&](ObjectId id) { return type_addresses[type_ref[id]]; };
  std::vector<bool> conflicted(V, false);
  // A header type and an interface pointee named differently may still be
  // one type: the executable says the interface's *T points at the header's
  // T, or the dump truncated the pointer type to "pkg." and T is "pkg.X".
  auto agree = [&](uint64_t header_type, uint64_t iface_type) {
    if (binary && binary->pointer_elem(iface_type) == header_type) return true;
    auto h = types.find(header_type), i = types.find(iface_type);
    std::string hn = h != types.end() && h->second.index ? L.type_names_[h->second.index]
                     : binary                            ? binary->type_name(header_type)
                                                         : std::string();
    if (hn.empty() || i == types.end()) return false;
    const std::string& d = i->second.dump_name;
    return !d.empty() && d.back() == '.' && i->second.size == ptr && hn.starts_with(d) &&
           hn.find('/', d.size()) == std::string::npos;
  };
  auto name_index_of = [&](uint64_t type) -> std::pair<uint32_t, bool> {
    auto it = types.find(type);
    if (it != types.end()) return {it->second.index, it->second.from_binary};
    return {0, false};
  };
  auto pointee_index_of = [&](uint64_t type) -> std::pair<uint32_t, bool> {
    auto it = types.find(type);
    if (it != types.end()) return {it->second.pointee, it->second.from_binary};
    return {0, false};
  };
  auto apply = [&](ObjectId id, uint64_t type, TypeSource source, uint32_t index,
                   bool from_binary) {
    if (!index || s.is_phantom(id)) return;
    if (type_ref[id] == 0) {
      auto [ref, fresh] =
          type_ref_of.try_emplace(type, static_cast<uint32_t>(type_addresses.size()));
      if (fresh) type_addresses.push_back(type);
      type_ref[id] = ref->second;
      L.type_of_[id] = index;
      L.source_[id] = source;
      if (source == TypeSource::kMallocHeader)
        ++c.by_header;
      else
        ++c.by_interface;
      if (from_binary) ++c.by_binary;
      return;
    }
    if (type_addr(id) == type || L.type_of_[id] == index || conflicted[id]) return;
    if (L.source_[id] == TypeSource::kMallocHeader && source == TypeSource::kInterface &&
        agree(type_addr(id), type))
      return;
    conflicted[id] = true;
    ++c.conflicts;
  };

  // 1. Malloc headers.
  if (headers) {
    for (ObjectId id = 1; id < V; ++id) {
      if (!has_header(id)) continue;
      uint64_t t = s.word(id, 0);
      if (!t) continue;
      auto [index, from_binary] = name_index_of(t);
      if (!index && dwarf_index(t) != DwarfTypes::kNoType) {
        index = intern(dwarf_name(dwarf_index(t)));
        from_binary = true;
      }
      if (!index && binary) {
        // No type record: trust the executable only for a descriptor that
        // decodes and fits the slot behind the header with pointers.
        auto shape = binary->type_shape(t);
        if (shape && shape->ptrdata > 0 && shape->size <= s.size(id) - ptr) {
          index = intern(binary->type_name(t));
          from_binary = true;
        }
      }
      apply(id, t, TypeSource::kMallocHeader, index, from_binary);
    }
  }

  // 2. Interface words: (itab or type address, pointer to an object).
  auto iface_type = [&](uint64_t word) -> uint64_t {
    if (auto it = itab_type.find(word); it != itab_type.end()) return it->second;
    if (types.count(word)) return word;
    return 0;
  };
  auto name_pointee = [&](uint64_t type_word, uint64_t data, ObjectId target) {
    uint64_t t = iface_type(type_word);
    if (!t || target == kNoObject) return;
    uint64_t start = s.address(target);
    if (data != (has_header(target) ? start + ptr : start)) {
      ++c.interior_skipped;
      return;
    }
    auto [index, from_binary] = pointee_index_of(t);
    apply(target, t, TypeSource::kInterface, index, from_binary);
  };
  const GraphView g = s.view();
  for (ObjectId v = 1; v < V; ++v) {
    if (s.is_phantom(v)) continue;
    const uint64_t first_field =
        has_header(v) ? 2 * ptr : ptr;  // word 0 is the header, not a type word
    for (uint32_t e = g.rowstart[v]; e < g.rowstart[v + 1]; ++e) {
      uint64_t o = s.edge_offset(e);
      if (o < first_field) continue;
      name_pointee(s.word(v, o - ptr), s.word(v, o), g.targets[e]);
    }
  }
  for (const Root& r : s.roots()) {
    if (r.role != RootRole::kField || r.target == kNoObject || r.offset < ptr) continue;
    uint64_t base = 0, size = 0;
    if (r.kind == RootKind::kData || r.kind == RootKind::kBss) {
      if (r.owner >= f.segments.size()) continue;
      base = f.segments[r.owner].contents_offset;
      size = f.segments[r.owner].size;
    } else if (r.kind == RootKind::kStackFrame) {
      if (r.owner >= f.frames.size()) continue;
      base = f.frames[r.owner].contents_offset;
      size = f.frames[r.owner].size;
    } else {
      continue;
    }
    if (r.offset > size) continue;
    name_pointee(word_at(base + r.offset - ptr), r.value, r.target);
  }

  // 3. DWARF: types propagated from the globals and from what steps 1-2
  // typed, for the objects they left untyped. Lower priority than both: a
  // different DWARF name for an object they typed is counted, not used.
  if (dwarf) {
    std::vector<bool> header(V, false);
    std::vector<uint32_t> known(V, DwarfTypes::kNoType);
    for (ObjectId id = 1; id < V; ++id) {
      header[id] = has_header(id);
      if (!type_ref[id] || conflicted[id]) continue;
      uint32_t d = dwarf_index(type_addr(id));
      known[id] =
          L.source_[id] == TypeSource::kMallocHeader ? d : interface_pointee(*dwarf, d, ptr);
    }
    // A finalizer record names its object's pointer type (SetFinalizer's
    // first argument): the object is its pointee.
    for (const FinalizerRecord& fr : f.finalizers) {
      ObjectId id = s.find(fr.object);
      if (id == kNoObject || known[id] != DwarfTypes::kNoType || type_ref[id] ||
          fr.object != s.address(id) + (header[id] ? ptr : 0))
        continue;
      known[id] = interface_pointee(*dwarf, dwarf_index(fr.object_type), ptr);
    }
    DwarfTyping typing = propagate_dwarf_types(s, *dwarf, *binary, known, header);
    c.dwarf_interior = typing.interior + typing.partial;
    c.dwarf_conflicts = typing.conflicts;
    std::unordered_map<uint64_t, uint32_t> dwarf_names;  // (type, shape) -> name index
    for (ObjectId id = 1; id < V; ++id) {
      if (typing.type[id] == DwarfTypes::kNoType && typing.shape[id] != DwarfShape::kStringBytes)
        continue;
      uint64_t key = (uint64_t{typing.type[id]} << 8) | static_cast<uint8_t>(typing.shape[id]);
      auto it = dwarf_names.find(key);
      if (it == dwarf_names.end())
        it = dwarf_names
                 .emplace(key, intern(dwarf_object_name(*dwarf, typing.type[id], typing.shape[id])))
                 .first;
      if (L.type_of_[id] == 0) {
        L.type_of_[id] = it->second;
        L.source_[id] = TypeSource::kDwarf;
        ++c.by_dwarf;
      } else if (L.type_of_[id] != it->second) {
        ++c.dwarf_conflicts;
      }
    }
  }

  // 4. Allocation sites, deduplicated by label (buckets differ by size too).
  std::unordered_map<uint64_t, uint32_t> bucket_site;
  std::unordered_map<std::string, uint32_t> site_index;
  for (const MemProfBucket& b : f.buckets) {
    if (b.stack.empty() || bucket_site.count(b.address)) continue;
    AllocSite site = site_of(b.stack);
    auto [it, fresh] = site_index.try_emplace(site.label(), static_cast<uint32_t>(L.sites_.size()));
    if (fresh) L.sites_.push_back(std::move(site));
    bucket_site.emplace(b.address, it->second);
  }
  for (const AllocSample& a : f.alloc_samples) {
    auto b = bucket_site.find(a.bucket);
    ObjectId id = s.find(a.object);
    if (b == bucket_site.end() || id == kNoObject || s.is_phantom(id)) {
      ++c.samples_unresolved;
      continue;
    }
    uint64_t start = s.address(id);
    if (a.object != (has_header(id) ? start + ptr : start)) {
      ++c.samples_unresolved;
      continue;
    }
    if (!L.site_of_[id]) {
      L.site_of_[id] = b->second;
      ++c.by_site;
    }
  }
  return L;
}

LabelCounts label_coverage(const Snapshot& s, const Labels& labels, const MarkResult& m) {
  LabelCounts c = labels.counts();
  c.typed_live_bytes = c.sited_live_bytes = c.unnamed_live_bytes = 0;
  for (ObjectId id = 1; id < s.vertex_count(); ++id) {
    if (!m.is_live(id)) continue;
    bool typed = labels.type_index(id) != 0, sited = labels.site_index(id) != 0;
    if (typed) c.typed_live_bytes += s.size(id);
    if (sited) c.sited_live_bytes += s.size(id);
    if (!typed && !sited) c.unnamed_live_bytes += s.size(id);
  }
  return c;
}

bool type_name_matches(std::string_view object_type, std::string_view wanted) {
  if (object_type.empty()) return false;
  if (object_type == wanted) return true;
  return wanted.size() > 1 && wanted[0] == '*' && object_type == wanted.substr(1);
}

}  // namespace heapwalk

#include "heapwalk/symbols/dwarf_types.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "heapwalk/error.h"

namespace heapwalk {

namespace {

// Go's own DWARF attributes (cmd/internal/dwarf).
constexpr unsigned kAtGoKind = 0x2900, kAtGoElem = 0x2902, kAtGoRuntimeType = 0x2904;
// reflect.Kind values DW_AT_go_kind carries (Ptr, 22, is the default
// reading of a pointer DIE and needs no name).
constexpr uint64_t kKindArray = 17, kKindChan = 18, kKindFunc = 19, kKindInterface = 20,
                   kKindMap = 21, kKindSlice = 23, kKindString = 24, kKindUnsafePointer = 26;

bool udata(Dwarf_Die* die, unsigned at, uint64_t& out) {
  Dwarf_Attribute a;
  Dwarf_Word w;
  if (!dwarf_attr(die, at, &a) || dwarf_formudata(&a, &w) != 0) return false;
  out = w;
  return true;
}

// DW_AT_go_runtime_type is written with DW_FORM_addr (an offset, though).
bool address_or_udata(Dwarf_Die* die, unsigned at, uint64_t& out) {
  Dwarf_Attribute a;
  Dwarf_Addr addr;
  if (!dwarf_attr(die, at, &a)) return false;
  if (dwarf_formaddr(&a, &addr) == 0) {
    out = addr;
    return true;
  }
  return udata(die, at, out);
}

bool ref(Dwarf_Die* die, unsigned at, Dwarf_Off& out) {
  Dwarf_Attribute a;
  Dwarf_Die target;
  if (!dwarf_attr(die, at, &a) || !dwarf_formref_die(&a, &target)) return false;
  out = dwarf_dieoffset(&target);
  return true;
}

// Closes what libelf/libdw opened, whatever happens.
struct Handles {
  int fd = -1;
  Elf* elf = nullptr;
  Dwarf* dwarf = nullptr;
  ~Handles() {
    if (dwarf) dwarf_end(dwarf);
    if (elf) elf_end(elf);
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

// Two passes over the top-level DIEs of every unit (Go writes all types and
// globals there): first number the types, then fill them in, resolving
// references by DIE offset; typedefs that only rename are then followed.
class DwarfReader {
 public:
  explicit DwarfReader(DwarfTypes& out) : out_(out) {}

  void read(Dwarf* dbg) {
    for_each_top_die(dbg, [&](Dwarf_Die& die) {
      switch (dwarf_tag(&die)) {
        case DW_TAG_base_type:
        case DW_TAG_pointer_type:
        case DW_TAG_structure_type:
        case DW_TAG_array_type:
        case DW_TAG_typedef:
        case DW_TAG_subroutine_type:
        case DW_TAG_unspecified_type:
          index_.emplace(dwarf_dieoffset(&die), static_cast<uint32_t>(offsets_.size()));
          offsets_.push_back(dwarf_dieoffset(&die));
          break;
        default: break;
      }
    });
    out_.types_.resize(offsets_.size());
    alias_.assign(offsets_.size(), DwarfTypes::kNoType);
    for (uint32_t i = 0; i < offsets_.size(); ++i) {
      Dwarf_Die die;
      if (dwarf_offdie(dbg, offsets_[i], &die)) fill(i, die);
    }
    for_each_top_die(dbg, [&](Dwarf_Die& die) {
      if (dwarf_tag(&die) == DW_TAG_variable) global(die);
    });
    resolve();
  }

 private:
  template <typename F>
  void for_each_top_die(Dwarf* dbg, F&& f) {
    Dwarf_Off off = 0, next = 0;
    size_t header = 0;
    while (dwarf_nextcu(dbg, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
      Dwarf_Die cu, child;
      if (dwarf_offdie(dbg, off + header, &cu) && dwarf_child(&cu, &child) == 0) {
        do f(child);
        while (dwarf_siblingof(&child, &child) == 0);
      }
      off = next;
    }
  }

  uint32_t type_ref(Dwarf_Die& die, unsigned at = DW_AT_type) {
    Dwarf_Off o;
    if (!ref(&die, at, o)) return DwarfTypes::kNoType;
    auto it = index_.find(o);
    return it == index_.end() ? DwarfTypes::kNoType : it->second;
  }

  void fill(uint32_t i, Dwarf_Die& die) {
    using Kind = DwarfTypes::Kind;
    DwarfTypes::Type& t = out_.types_[i];
    const char* name = dwarf_diename(&die);
    if (name) t.name = name;
    int size = dwarf_bytesize(&die);
    t.size = size > 0 ? static_cast<uint64_t>(size) : 0;
    uint64_t kind = 0, runtime_offset = 0;
    udata(&die, kAtGoKind, kind);
    // Offset 0 is runtime.types itself, never a type: the linker writes 0
    // for the types it synthesizes (hash<K,V>, bucket<K,V>, ...).
    if (address_or_udata(&die, kAtGoRuntimeType, runtime_offset) && runtime_offset)
      out_.by_runtime_offset_.try_emplace(runtime_offset, i);
    switch (dwarf_tag(&die)) {
      case DW_TAG_pointer_type:
        t.kind = kind == kKindUnsafePointer ? Kind::kUnsafePointer : Kind::kPointer;
        t.target = type_ref(die);
        if (t.target == DwarfTypes::kNoType) t.kind = Kind::kUnsafePointer;
        if (!t.size) t.size = 8;
        break;
      case DW_TAG_array_type: {
        t.kind = Kind::kArray;
        t.target = type_ref(die);
        Dwarf_Die sub;
        if (dwarf_child(&die, &sub) == 0) do {
            if (dwarf_tag(&sub) == DW_TAG_subrange_type) udata(&sub, DW_AT_count, t.count);
          } while (dwarf_siblingof(&sub, &sub) == 0);
        break;
      }
      case DW_TAG_structure_type:
        t.kind = kind == kKindSlice    ? Kind::kSlice
                 : kind == kKindString ? Kind::kString
                                       : Kind::kStruct;
        if (t.kind == Kind::kSlice) t.target = type_ref(die, kAtGoElem);
        members(t, die);
        break;
      case DW_TAG_typedef:
        if (kind == kKindInterface) {
          t.kind = Kind::kInterface;
          t.target = type_ref(die);  // runtime.iface or runtime.eface, resolved below
        } else if (kind == kKindMap || kind == kKindChan) {
          t.kind = kind == kKindMap ? Kind::kMap : Kind::kChan;
          t.target = type_ref(die);  // *hash<K,V> / *hchan<T>: the pointee, resolved below
          if (kind == kKindChan) t.elem = type_ref(die, kAtGoElem);
          t.size = 8;
        } else if (kind == kKindFunc) {
          t.kind = Kind::kFunc;
          t.size = 8;
        } else {
          alias_[i] = type_ref(die);
        }
        break;
      case DW_TAG_subroutine_type:
        t.kind = Kind::kFunc;
        t.size = 8;
        break;
      default:
        if (kind == kKindFunc) t.kind = Kind::kFunc;
        break;
    }
    if (kind == kKindArray && t.kind != Kind::kArray) t.kind = Kind::kOther;
  }

  void members(DwarfTypes::Type& t, Dwarf_Die& die) {
    t.first_member = static_cast<uint32_t>(out_.members_.size());
    Dwarf_Die m;
    if (dwarf_child(&die, &m) == 0) do {
        if (dwarf_tag(&m) != DW_TAG_member) continue;
        DwarfTypes::Member member{0, type_ref(m)};
        if (!udata(&m, DW_AT_data_member_location, member.offset)) continue;
        if (member.type == DwarfTypes::kNoType) continue;
        const char* n = dwarf_diename(&m);
        member_names_.resize(out_.members_.size());
        member_names_.push_back(n ? n : "");
        out_.members_.push_back(member);
      } while (dwarf_siblingof(&m, &m) == 0);
    t.member_count = static_cast<uint32_t>(out_.members_.size()) - t.first_member;
  }

  void global(Dwarf_Die& die) {
    // Go writes a global's location as a DW_FORM_block1 holding one
    // DW_OP_addr (even in DWARF 4 units, where libdw's dwarf_getlocation
    // wants an exprloc): read the block itself.
    Dwarf_Attribute a;
    Dwarf_Block block;
    if (!dwarf_attr(&die, DW_AT_location, &a) || dwarf_formblock(&a, &block) != 0 ||
        block.length != 9 || block.data[0] != DW_OP_addr)
      return;
    uint64_t address = 0;
    for (int i = 8; i >= 1; --i) address = (address << 8) | block.data[i];
    uint32_t type = type_ref(die);
    const char* name = dwarf_diename(&die);
    if (type == DwarfTypes::kNoType || !name) return;
    out_.globals_.push_back({name, address, type});
  }

  uint32_t follow(uint32_t i) const {
    for (int steps = 0; i != DwarfTypes::kNoType && alias_[i] != DwarfTypes::kNoType && steps < 64;
         ++steps)
      i = alias_[i];
    return i;
  }

  void resolve() {
    using Kind = DwarfTypes::Kind;
    auto& types = out_.types_;
    for (auto& m : out_.members_) m.type = follow(m.type);
    for (auto& g : out_.globals_) g.type = follow(g.type);
    for (auto& [offset, index] : out_.by_runtime_offset_) index = follow(index);
    for (auto& t : types) {
      t.target = follow(t.target);
      t.elem = follow(t.elem);
    }
    for (uint32_t i = 0; i < types.size(); ++i) {
      DwarfTypes::Type& t = types[i];
      if ((t.kind == Kind::kMap || t.kind == Kind::kChan) && t.target != DwarfTypes::kNoType)
        t.target = types[t.target].kind == Kind::kPointer ? types[t.target].target : t.target;
      if (t.kind == Kind::kInterface) {
        // The typedef has no size of its own: its runtime.iface/eface has.
        t.eface = t.target != DwarfTypes::kNoType && types[t.target].name == "runtime.eface";
        if (t.target != DwarfTypes::kNoType) t.size = types[t.target].size;
      }
    }
    // Arrays behind pointers: hash<K,V>.buckets/oldbuckets point at 2^B
    // buckets (plus preallocated overflow buckets); hchan<T>.buf at the ring.
    for (uint32_t i = 0; i < types.size(); ++i) {
      DwarfTypes::Type& t = types[i];
      if (t.kind == Kind::kStruct && t.name.rfind("hash<", 0) == 0) {
        for (uint32_t k = t.first_member; k < t.first_member + t.member_count; ++k) {
          auto& m = out_.members_[k];
          if ((member_names_[k] == "buckets" || member_names_[k] == "oldbuckets") &&
              types[m.type].kind == Kind::kPointer)
            m.tile_elem = types[m.type].target;
        }
      }
      if (t.kind == Kind::kChan && t.target != DwarfTypes::kNoType &&
          t.elem != DwarfTypes::kNoType) {
        DwarfTypes::Type& h = types[t.target];
        for (uint32_t k = h.first_member; k < h.first_member + h.member_count; ++k)
          if (member_names_[k] == "buf") out_.members_[k].tile_elem = t.elem;
      }
    }
    // Which types hold pointers: a fixed point, since a struct's answer
    // depends on its members' (type nesting is acyclic except through
    // pointers, which answer at once).
    for (auto& t : types)
      t.has_pointers = t.kind == Kind::kPointer || t.kind == Kind::kSlice ||
                       t.kind == Kind::kString || t.kind == Kind::kInterface ||
                       t.kind == Kind::kMap || t.kind == Kind::kChan || t.kind == Kind::kFunc ||
                       t.kind == Kind::kUnsafePointer;
    for (bool changed = true; changed;) {
      changed = false;
      for (auto& t : types) {
        if (t.has_pointers) continue;
        bool p = false;
        if (t.kind == Kind::kArray && t.count && t.target != DwarfTypes::kNoType)
          p = types[t.target].has_pointers;
        if (t.kind == Kind::kStruct)
          for (uint32_t k = t.first_member; k < t.first_member + t.member_count && !p; ++k)
            p = types[out_.members_[k].type].has_pointers;
        if (p) t.has_pointers = changed = true;
      }
    }
    std::sort(out_.globals_.begin(), out_.globals_.end(),
              [](const auto& a, const auto& b) { return a.address < b.address; });
  }

  DwarfTypes& out_;
  std::vector<Dwarf_Off> offsets_;
  std::unordered_map<Dwarf_Off, uint32_t> index_;
  std::vector<uint32_t> alias_;
  std::vector<std::string> member_names_;  // by member index
};

DwarfTypes DwarfTypes::open(const std::string& path) {
  DwarfTypes out;
  Handles h;
  h.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (h.fd < 0) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  elf_version(EV_CURRENT);
  h.elf = elf_begin(h.fd, ELF_C_READ_MMAP, nullptr);
  if (!h.elf || elf_kind(h.elf) != ELF_K_ELF)
    throw InputError(path, 0, "not an ELF file (reading its DWARF)");
  h.dwarf = dwarf_begin_elf(h.elf, DWARF_C_READ, nullptr);
  if (!h.dwarf) {
    out.warnings_.push_back(path + ": no DWARF debug information (" + dwarf_errmsg(-1) +
                            "): objects are typed only from the dump and the symbol table");
    return out;
  }
  DwarfReader(out).read(h.dwarf);
  return out;
}

}  // namespace heapwalk

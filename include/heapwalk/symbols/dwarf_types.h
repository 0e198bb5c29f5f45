// DwarfTypes: what a Go executable's DWARF says about the layout of its
// types and where its globals live. Only what type propagation needs
// (passes/dwarf_propagation.h).
//
// Contract:
// - Input: a Go executable with DWARF (read with elfutils' libdw; zlib
//   compressed sections are handled by libdw). An executable without DWARF
//   (built with -ldflags=-w, or stripped) is accepted: it has no types and
//   warnings() says why. A file libdw cannot open as ELF is an InputError
//   naming the file.
// - Types are the DIEs the Go linker writes (cmd/link/internal/ld/dwarf.go):
//   every type carries DW_AT_go_kind (0x2900, reflect's kind) and, for types
//   that have a runtime descriptor, DW_AT_go_runtime_type (0x2904: the
//   descriptor's offset from runtime.types). Typedefs of maps and channels
//   point at the linker's synthesized `*hash<K,V>` / `*hchan<T>`; interfaces
//   are typedefs of runtime.iface / runtime.eface; slices and strings are
//   structs of kind slice/string. Plain typedefs are followed to what they
//   name.
// - Globals: DW_TAG_variable whose location is a single DW_OP_addr, with the
//   ELF address (no load bias) and the type.
// - What is not understood (other tags, missing attributes, references out
//   of the section) leaves a type of kind kOther: it names, never guides.
// - Memory: a few tens of bytes per type and member; the file is read once.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

namespace heapwalk {

class DwarfTypes {
 public:
  static constexpr uint32_t kNoType = std::numeric_limits<uint32_t>::max();

  enum class Kind : uint8_t {
    kOther = 0,  // integers, floats, bools, unknown: no pointers to follow
    kPointer,    // target: the pointee
    kStruct,     // members
    kArray,      // target: the element, count elements
    kSlice,      // target: the element; pointer at +0, cap at +2 words
    kString,     // pointer at +0 to the bytes
    kInterface,  // word 0: itab (iface) or type (eface); word 1: data
    kMap,        // a pointer to target (the synthesized hash<K,V> struct)
    kChan,       // a pointer to target (hchan<T>); elem: T
    kFunc,       // a pointer to a closure of unknown layout
    kUnsafePointer,
  };

  struct Member {
    uint64_t offset;
    uint32_t type;
    // The pointer at this member points at an ARRAY of tile_elem (hash's
    // buckets and oldbuckets, hchan's buf), not at one value; kNoType if not.
    uint32_t tile_elem = kNoType;
  };

  struct Type {
    std::string name;
    uint64_t size = 0;
    Kind kind = Kind::kOther;
    bool eface = false;                           // interface: word 0 is a type, not an itab
    bool has_pointers = false;                    // any pointer word in its layout
    uint32_t target = kNoType;                    // see Kind
    uint32_t elem = kNoType;                      // chan: element type
    uint64_t count = 0;                           // array length
    uint32_t first_member = 0, member_count = 0;  // into members()
  };

  struct Global {
    std::string name;
    uint64_t address;  // ELF address
    uint32_t type;
  };

  // Throws InputError when the file cannot be read as ELF.
  static DwarfTypes open(const std::string& path);

  const std::vector<Type>& types() const { return types_; }
  const Type& type(uint32_t index) const { return types_[index]; }
  const std::vector<Member>& members() const { return members_; }
  const std::vector<Global>& globals() const { return globals_; }  // by address
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The type whose runtime descriptor is at this offset from runtime.types,
  // or kNoType.
  uint32_t by_runtime_offset(uint64_t offset) const {
    auto it = by_runtime_offset_.find(offset);
    return it == by_runtime_offset_.end() ? kNoType : it->second;
  }

 private:
  friend class DwarfReader;
  std::vector<Type> types_;
  std::vector<Member> members_;
  std::vector<Global> globals_;
  std::unordered_map<uint64_t, uint32_t> by_runtime_offset_;
  std::vector<std::string> warnings_;
};

}  // namespace heapwalk

// DWARF type propagation: types for objects nothing in the dump names, from
// the static types of the program's globals and of objects already typed.
//
// A global of type T at address A (DwarfTypes::globals, in the dump's data or
// bss segment) types the objects its pointer words point at, by T's layout:
// - a pointer *P (or a map / chan, pointers to the linker's hash<K,V> /
//   hchan<T>) types its pointee P;
// - a slice []E types its backing array as an array of E, cap elements;
// - a string types its bytes ("string bytes");
// - an interface types its data word's pointee from the word before it (an
//   itab record of the dump, or a type address for an empty interface): a
//   pointer type *P names P, a map or chan type the hash / hchan, a value
//   type that is not pointer-shaped the boxed value itself; funcs and other
//   pointer-shaped values are not followed (their pointee's type is unknown);
// - structs and arrays are walked member by member (iteratively);
// - hash<K,V>.buckets / oldbuckets point at an array of bucket<K,V> (the
//   linker's synthesized bucket: tophash[8], keys[8], elems[8], overflow),
//   hchan<T>.buf at an array of T: such objects are typed as arrays.
// Each newly typed object is then walked the same way, breadth-first from the
// globals (a queue, no recursion), so a whole data structure is typed from
// its root. Objects the dump itself typed (malloc header, interface word;
// `known`) are walked by their own type when DWARF knows it, after the
// globals' first hop.
//
// Only pointers to an object's START (its value start: slot + 8 behind a Go
// 1.22+ malloc header) type it; pointers into the middle of an object (a
// field's address, a sub-slice) name a part, not the object: counted in
// `interior`, skipped. Likewise a value of T whose slot is more than twice
// T's size (beyond size-class rounding; tiny 16-byte blocks excepted) is a
// part of the object (`&buf[0]`, a first field): counted in `partial`,
// skipped. The first type an object gets wins; a later,
// different one is counted in `conflicts` (the label pass ranks sources:
// malloc header > interface word > DWARF, passes/labels.h). One value of T
// and an array of T at the same start agree: the array is kept. (A pointer
// to a struct's first field is indistinguishable from one to the struct:
// whichever comes first in breadth-first order names it; the other counts
// as a conflict.)
//
// Cost: O(objects reached x their pointer words) plus a binary search per
// pointer word among the object's out-edges.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "heapwalk/snapshot.h"
#include "heapwalk/symbols/dwarf_types.h"

namespace heapwalk {

class ElfSymbols;

// How an object holds its DWARF type.
enum class DwarfShape : uint8_t {
  kValue = 0,    // one value of the type (maybe in a bigger slot)
  kSliceArray,   // a slice's backing array of the type
  kBucketArray,  // a map's bucket array (bucket<K,V> elements)
  kChanBuffer,   // a channel's ring buffer of the type
  kStringBytes,  // a string's bytes (type unused)
};

struct DwarfTyping {
  std::vector<uint32_t> type;     // per object: DwarfTypes index, kNoType if untyped
  std::vector<DwarfShape> shape;  // per object
  uint64_t typed_objects = 0;     // objects with a type (known ones included)
  uint64_t from_globals = 0;      // globals whose words typed something
  uint64_t interior = 0;          // pointers into an object's middle: skipped
  uint64_t partial = 0;           // values under half their slot (a part of it): skipped
  uint64_t conflicts = 0;         // an object reached again with another type
};

// The display name of a DWARF-typed object: "main.Entry",
// "[]*main.Entry backing array", "bucket<string,*main.Entry> array",
// "chan int buffer", "string bytes".
std::string dwarf_object_name(const DwarfTypes& dwarf, uint32_t type, DwarfShape shape);

// The DWARF type of the object an interface's data word points at, given the
// interface's dynamic type (a DwarfTypes index), or kNoType when that is
// unknown (funcs, unsafe pointers, pointer-shaped structs and arrays).
uint32_t interface_pointee(const DwarfTypes& dwarf, uint32_t dynamic_type, uint32_t pointer_size);

// DwarfTypes index of the runtime type descriptor at this runtime address,
// or kNoType (needs runtime.types in the executable's symbols).
uint32_t dwarf_type_at(const DwarfTypes& dwarf, const ElfSymbols& binary, uint64_t address);

// `known[id]`: the DwarfTypes index of an object the dump itself typed
// (kNoType if none); `value_offset[id]`-free: value starts are decided by
// `header[id]` (the object starts with a Go 1.22+ malloc header).
DwarfTyping propagate_dwarf_types(const Snapshot& snapshot, const DwarfTypes& dwarf,
                                  const ElfSymbols& binary, std::span<const uint32_t> known,
                                  const std::vector<bool>& header);

}  // namespace heapwalk

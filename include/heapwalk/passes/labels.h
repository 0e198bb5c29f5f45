// Labels: the best name the dump (and optionally the executable) allows for
// every object. Go heap dump objects carry no type; evidence comes from:
//
// 1. Malloc headers (Go 1.22+): a pointerful object in a 576..32768-byte slot
//    starts with its type's address. Strongest evidence: it is the object's
//    own header.
// 2. Interface words: an object, frame or global word equal to a known itab
//    address (tag 8) or type address (tag 3), followed by a pointer word
//    that resolves to object X, says X's dynamic type. For a type stored
//    indirectly (TypeRecord::indirect) X is a boxed value of that type; for a
//    pointer-shaped type X is what the pointer points at.
// 3. Allocation sites (tag 17 -> tag 16): the allocating frame and the first
//    frame outside the runtime and standard library.
// 4. With an executable (ElfSymbols), type addresses get their full names
//    (`type:*context.cancelCtx`), which the dump truncates (`context.`).
// 5. With an executable that has DWARF (ElfSymbols::dwarf()), types
//    propagated from its globals' static types and from the objects 1-2
//    typed and from the objects of finalizer records (whose object type is
//    recorded), through pointers, slices, maps, interfaces and struct layouts
//    (passes/dwarf_propagation.h): TypeSource::kDwarf. DWARF names come
//    first for every source then (full package paths), so one type has one
//    name whichever evidence found it.
//
// Conflicts (two sources naming one object differently) resolve by the
// source order: malloc header > interface word > DWARF (the object's own
// header is direct evidence; an interface word is the runtime's word for
// one value; DWARF infers through static types, which unsafe code and
// reused memory can defeat), then first evidence in object-id/edge order
// (breadth-first order from the globals for DWARF); every conflict is
// counted (`conflicts`, `dwarf_conflicts`). Interface words whose data
// word points inside an object (not at its start; for a malloc-header slot,
// not exactly at start + 8, where its value starts) name a part of the slot,
// not the slot: skipped and counted.
//
// What a type name means: an object's label is the type OF THE OBJECT, never
// of a pointer to it. An interface holding a *context.cancelCtx (what %T
// prints) names the object its data word points at `context.cancelCtx`; a
// value boxed in the heap is named by its type (`main.sessionStats`); the
// data word of a map is a runtime.hmap, of a chan a runtime.hchan; of a func
// or a pointer-shaped struct, unknown (nothing named). A malloc header names
// the allocated type. So a header T and an interface *T agree.
//
// Details the sources need:
// - Only words before a pointer field that resolves to an object are
//   candidates (the data word of an interface is a pointer field); the first
//   word of a malloc-header slot is its header, never an interface's type word.
// - A malloc-header slot (Go >= 1.22, slot in (8 * ptrsize * ptrsize, 32768],
//   with pointer fields) has its value, its interface data words and its
//   alloc sample at slot + ptrsize.
// - Dump type names ending in "." are truncated (the runtime writes pkgpath +
//   "." + name, and unnamed types have no name): a pointer-sized one is a
//   *T of that package, so what it points at is shown "context.<pointee
//   type>"; any other is boxed and shown "pkg.<unnamed type>"; an executable
//   gives the full name. Type records without a name name nothing. The
//   record's `indirect` flag is not used: Go writes it true for every type
//   with pointers. Without an executable, a named pointer-sized type
//   (`syscall.Errno`) is taken as a boxed value of itself.
// - The executable's names are what %T prints, with package NAMES
//   ("*json.encodeState"); where the dump has the package PATH
//   ("encoding/json.") the path is put back ("*encoding/json.encodeState").
//   Header types the dump has no record of keep the executable's form.
// - Runtime frames for the allocator: package runtime, runtime/internal/...,
//   and internal/runtime/... (Go 1.23+ moved runtime internals there). Standard
//   library for the caller: the first path element of the package has no dot
//   and is not "main" (so a module named without a dot, like heapwalk/samples,
//   counts as standard library: its frames are passed over for the caller).
//   Frame text is `function (file-base-name:line)` as the dump has it.
// - Phantom records (Go 1.22+ span bitmaps) are never named.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "heapwalk/snapshot.h"

namespace heapwalk {

class ElfSymbols;  // symbols/elf_symbols.h

enum class TypeSource : uint8_t { kNone = 0, kMallocHeader, kInterface, kDwarf };

struct AllocSite {
  std::string
      allocator;       // "context.WithCancel (context.go:232)": first frame not in package runtime
  std::string caller;  // first frame outside runtime and the standard library; may equal allocator
  std::string label() const;  // "allocator <- caller", or just allocator when they are the same
};

struct LabelCounts {
  uint64_t by_header = 0, by_interface = 0, by_site = 0;  // objects named by each source
  uint64_t conflicts = 0;                                 // objects given two different types
  uint64_t interior_skipped = 0;                          // interface words pointing inside a slot
  uint64_t samples_unresolved = 0;  // alloc samples not at an object's start (or start + 8)
  uint64_t by_binary = 0;           // ... of by_header/by_interface, names only the executable gave
  uint64_t by_dwarf = 0;            // objects typed only by DWARF propagation
  uint64_t dwarf_conflicts = 0;     // DWARF named an object otherwise (kept the other name)
  uint64_t dwarf_interior = 0;      // typed pointers to a part of an object (skipped)
  uint64_t typed_live_bytes = 0, sited_live_bytes = 0,
           unnamed_live_bytes = 0;  // filled by callers with a mark
};

class Labels {
 public:
  // Type name of an object ("" if unknown): full when the executable gave
  // it, else as the dump has it, with the pointees of truncated pointer
  // types written "context.<pointee type>".
  const std::string& type_name(ObjectId id) const { return type_names_[type_of_[id]]; }
  uint32_t type_index(ObjectId id) const { return type_of_[id]; }
  TypeSource type_source(ObjectId id) const { return source_[id]; }
  // Allocation site (nullptr if unknown).
  const AllocSite* site(ObjectId id) const {
    return site_of_[id] ? &sites_[site_of_[id]] : nullptr;
  }
  uint32_t site_index(ObjectId id) const { return site_of_[id]; }

  // The one display label: type, else site ("[site] context.WithCancel ..."),
  // else "[N-byte object]".
  std::string label(const Snapshot& s, ObjectId id) const;

  const LabelCounts& counts() const { return counts_; }
  const std::vector<std::string>& type_names() const { return type_names_; }  // [0] = ""
  const std::vector<AllocSite>& sites() const { return sites_; }              // [0] = unused

 private:
  friend Labels compute_labels(const Snapshot&, const ElfSymbols*);
  // The analysis cache saves and restores them (cache/cached_analyses.h).
  friend void save_labels(const Labels&, CacheFileWriter&);
  friend Labels restore_labels(CacheFileReader&, const Snapshot&);
  std::vector<uint32_t> type_of_;
  std::vector<TypeSource> source_;
  std::vector<uint32_t> site_of_;
  std::vector<std::string> type_names_{""};
  std::vector<AllocSite> sites_{AllocSite{}};
  LabelCounts counts_;
};

// Whether an object whose type is `object_type` (a Labels::type_name: the
// object's own type) is what a user means by `wanted`. Users write Go's
// pointer type, as %T prints it (`*context.cancelCtx`): that names the
// objects it points at, `context.cancelCtx`, so a leading '*' matches the
// pointee too. Exact otherwise.
bool type_name_matches(std::string_view object_type, std::string_view wanted);

// O(V + E) plus a lookup per candidate word in sorted itab/type tables.
Labels compute_labels(const Snapshot& snapshot, const ElfSymbols* binary = nullptr);

// The labels' counts with the live-byte coverage filled in: typed (has a
// type), sited (has a site; typed or not), unnamed (neither). Live = marked;
// phantoms are never live.
struct MarkResult;
LabelCounts label_coverage(const Snapshot& snapshot, const Labels& labels, const MarkResult& mark);

}  // namespace heapwalk

// The Go collector's mark phase, reimplemented over a Snapshot.
//
// Rules (../shared/docs/go-heapdump.md, "Reachability"), all already encoded
// in the snapshot's root table and graph by build_snapshot:
// - roots: data/bss pointer fields, stack frame pointer fields, goroutine
//   ctxt, defers, panics, queued finalizers (object and funcval), registered
//   finalizers' funcvals, and the pointer fields of objects with a registered
//   finalizer (that object itself is NOT marked by its finalizer; a pointer
//   from it into itself is not a root);
// - a pointer marks the slot containing it (interior pointers included);
// - phantom records (Go 1.22+ span bitmaps) are never reached by real
//   pointers and are reported apart from garbage.
// Breadth-first in layers, one root kind at a time in RootKind order: the
// kind's roots seed the queue and the search runs to completion before the
// next kind starts. So `first_root` is the first kind, in RootKind order, that
// reaches the object at all (globals, then goroutine stacks, ...), whatever
// the hop counts; within a kind, file order. Deterministic. Iterative;
// O(V + E); one bit per object for marks plus one byte per object for the
// root kind.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "heapwalk/snapshot.h"

namespace heapwalk {

struct MarkResult {
  std::vector<uint64_t> marked_bits;  // bit v set: object v is live (bit 0: super-root)
  std::vector<uint8_t> first_root;    // RootKind that first reached v; 0xff if not live
  uint64_t live_objects = 0, live_bytes = 0;
  uint64_t unreachable_objects = 0, unreachable_bytes = 0;  // phantoms excluded
  std::array<uint64_t, kRootKindCount> live_bytes_by_root{};
  std::array<uint64_t, kRootKindCount> live_objects_by_root{};

  bool is_live(ObjectId v) const { return (marked_bits[v >> 6] >> (v & 63)) & 1; }
};

// Marks from `roots` restricted to the kinds in `root_kind_mask` (bit k =
// RootKind k); the default mask uses every root, which is Go's mark.
MarkResult mark(const Snapshot& snapshot, uint32_t root_kind_mask = ~uint32_t{0});

}  // namespace heapwalk

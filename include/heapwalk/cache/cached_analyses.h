// The analyses worth keeping in the persistent cache, behind one call each:
// the first verb on a dump computes and stores them, later verbs restore
// them. Without a cache (Snapshot::cache() null) they simply compute.
//
// Restored results are the computed ones, bit for bit (tests compare them);
// a damaged section is detected (checksum, then the structural checks
// below) and recomputed.
#pragma once

#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

// compute_labels(snapshot, binary). With an executable the labels depend on
// it too: they are cached apart, under a hash of the executable's bytes and
// its load bias (a rebuilt program gets its own entry).
// Restore checks: one entry per vertex, indices inside the name tables,
// type sources valid.
Labels labels_of(const Snapshot& snapshot, const ElfSymbols* binary);

// The dominator tree of the heap: compute_dominators from the super-root with
// object sizes as weights (what top, dominators, paths, histogram, diff and
// check use). Cached as idom and preorder; retained sizes are recomputed on
// restore (one pass). Restore checks: the preorder starts at the super-root
// and lists each reachable vertex once, every idom comes before its vertex.
DominatorTree heap_dominators(const Snapshot& snapshot);

// The weights heap_dominators uses: object sizes, 0 for the super-root.
std::vector<uint64_t> object_weights(const Snapshot& snapshot);

}  // namespace heapwalk

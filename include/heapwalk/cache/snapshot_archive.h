// Saving a Snapshot to the analysis cache and restoring it, member for
// member (everything build_snapshot established: facts, object table, CSR
// graph, edge offsets, roots, statistics, phantoms, page index). Object
// contents are NOT saved: the restored snapshot reads them from `input`, the
// dump itself, exactly as a freshly built one does.
//
// restore_snapshot checks, before returning, every invariant the passes rely
// on without checking themselves: ids and edge targets in range, row starts
// ascending, addresses ascending, contents inside `input`, goroutine frame
// ranges and frame owners in range, root kinds valid. Throws CacheCorrupt.
#pragma once

#include <functional>

#include "heapwalk/cache/cache_file.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

// What writes `snapshot` to a cache file. It holds a copy of the small parts
// (facts, phantom flags, statistics) and views of the big arrays (objects,
// graph, edge offsets, roots, page index), whose buffers stay put while the
// snapshot lives, moved or not: it may run on another thread as long as the
// snapshot outlives it (Snapshot owns its AnalysisCache, which joins its
// writers before the snapshot's arrays are freed).
std::function<void(CacheFileWriter&)> snapshot_writer(const Snapshot& snapshot);
// `input` is moved into the snapshot only when it returns.
Snapshot restore_snapshot(CacheFileReader& in, InputBuffer& input);

}  // namespace heapwalk

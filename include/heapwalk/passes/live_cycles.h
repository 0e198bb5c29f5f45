// Live objects on reference cycles: the objects of every strongly connected
// component of two or more objects in the live graph. A pointer from an
// object into itself is not a cycle here (Go programs are full of them and
// they hold nothing else). An SCC that holds one live object is live as a
// whole, so components are found over the whole graph and kept when live.
//
// This is check's `cycle_bytes` until the cycles pass of issue 7
// (passes/cycles.h, written on another branch) lands; then check should use
// that pass's totals and this file should go.
//
// boost::strong_components (Tarjan, iterative in Boost 1.74's implementation
// over an explicit stack) on the snapshot's CSR graph: O(V + E), a few words
// per vertex.
#pragma once

#include <cstdint>
#include <vector>

#include "heapwalk/passes/mark.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

struct LiveCycles {
  std::vector<ObjectId> objects;  // ascending ids of live objects on cycles
  uint64_t bytes = 0;             // their slot sizes
  uint64_t components = 0;        // strongly connected components of >= 2 live objects
};

LiveCycles find_live_cycles(const Snapshot& snapshot, const MarkResult& live);

}  // namespace heapwalk

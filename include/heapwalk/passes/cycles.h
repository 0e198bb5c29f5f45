// Reference cycles: strongly connected components of two or more objects,
// with what holds each one and what it holds.
//
// A tracing collector frees cycles, so a cycle is a leak only when something
// holds it: every cycle comes with its entry (the member nearest a root) and
// that entry's shortest root path, and with the bytes the cycle as a whole
// keeps alive. One kind of cycle is a leak by itself in Go: a cycle through
// an object with a finalizer is never freed.
//
// The graph: the snapshot's pointer edges between considered objects (live
// ones, i.e. Go's mark, passes/mark.h; every object but phantoms with
// `all_objects`), plus a virtual edge X -> funcval(X) for every registered
// finalizer of X: the finalizer's closure keeps what it captures alive, so a
// closure capturing its own object closes a ring. Self loops are ignored (a
// one-object "cycle" is not reported). Live and unreachable objects never
// share a component: the live set is closed under every edge of this graph.
//
// Components: Tarjan's algorithm, iterative (passes/strong_components.h).
//
// Retained bytes of a cycle as a whole: the bytes of every object that all
// paths from the roots to it pass through the cycle (the cycle included).
// Computed for all cycles at once by one run of the product's dominator pass
// (passes/dominators.h) over the condensation (each component collapsed to
// one vertex weighing its bytes): a path from the roots that avoids cycle S
// in the object graph is a path that avoids S's vertex in the condensation
// and back (inside any other component one can walk from where a path enters
// to where it leaves), so the dominator subtree of S's vertex is exactly the
// set the cycle keeps alive. For unreachable cycles (`all_objects`) the
// super-root is given an edge to every component nothing points at, and
// garbage's pointers into live objects are left out, so live cycles' figures
// do not change and unreachable cycles' are what only they keep among the
// garbage.
//
// Entry: the member the root-path search (passes/root_paths.h) discovers
// first, i.e. nearest a root of the first root kind that reaches the cycle.
// For an unreachable cycle: the lowest-address member that an object outside
// the cycle points at, else the lowest-address member.
//
// Ring: a shortest cycle through the entry, by breadth-first search inside
// the component from the entry back to it (out-edges in field order, pointer
// fields before the finalizer closure edge). Its last edge is the closing
// edge ("child +0x0 -> parent"). Each hop names the lowest field offset
// pointing from one member to the next.
//
// Verdicts:
// - finalizer_cycle: the cycle holds an object that analyze_finalizers
//   (passes/finalizers.h) calls `cyclic`: an object with a finalizer on a
//   ring that only finalizer roots and the ring itself keep alive. Go never
//   frees it. (The component holds that object's ring of analyze_finalizers'
//   graph; it is larger only where the closure of a finalizer whose object
//   the roots keep links it to more. A self-pointing finalizer object is
//   never one: it has no component of two.)
// - context_children: with labels, when the entry's label names a context
//   type (contains "context."), the number of other members labelled
//   "context." that point at the entry: its children that were never
//   cancelled (cancelling removes a child from its parent's children map, so
//   a child on the parent's ring is uncancelled). 0 otherwise.
//
// Cost: O(V + E) for the graph and components, the dominator pass over the
// condensation (at most as big as the graph), one BFS per cycle over its own
// members (O(V + E) in all); memory about 5 words per object plus 2 per edge
// while it runs, and the members of every cycle in the result. No recursion.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/passes/root_paths.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

// One edge of a ring: a pointer field of `from` (the snapshot edge `edge`,
// its offset is snapshot.edge_offset(edge)), or, with edge == kNoEdge, the
// finalizer of `from` whose closure (funcval) is `to`.
struct CycleEdge {
  ObjectId from = kNoObject, to = kNoObject;
  uint32_t edge = kNoEdge;
  bool finalizer_closure() const { return edge == kNoEdge; }
};

struct CycleLabel {
  std::string label;  // Labels::label of its objects
  uint64_t objects = 0, bytes = 0;
};

struct Cycle {
  std::vector<ObjectId> members;  // ascending (address order); at least two
  uint64_t bytes = 0;             // the members' slot sizes
  uint64_t retained = 0;          // members and what only they keep alive
  bool live = true;               // false only with all_objects
  ObjectId entry = kNoObject;
  std::vector<uint32_t> entry_path;  // RootPaths::path_to(entry); empty when unreachable
  // A shortest cycle through the entry: ring.front().from == entry,
  // ring[i].to == ring[i + 1].from, ring.back().to == entry.
  std::vector<CycleEdge> ring;
  const CycleEdge& closing_edge() const { return ring.back(); }
  std::vector<CycleLabel> labels;  // most objects first, then by label; empty without labels
  bool finalizer_cycle = false;
  uint32_t context_children = 0;
};

struct CycleOptions {
  bool all_objects = false;  // unreachable cycles too
};

struct CycleAnalysis {
  // Largest retained first; ties by bytes (larger first), then entry address.
  std::vector<Cycle> cycles;
  uint64_t objects = 0, bytes = 0;  // in all the cycles found
};

// `full` is mark(snapshot), `finalizers` analyze_finalizers(snapshot, ...),
// `paths` compute_root_paths(snapshot); `labels` may be nullptr (no label
// counts, no context verdict).
CycleAnalysis find_cycles(const Snapshot& snapshot, const MarkResult& full,
                          const FinalizerAnalysis& finalizers, const RootPaths& paths,
                          const Labels* labels, const CycleOptions& options = {});
// Computes what it needs (labels excluded).
CycleAnalysis find_cycles(const Snapshot& snapshot, const CycleOptions& options = {});

// Total bytes of the objects on live reference cycles (each object once):
// the figure `heapwalk check`'s `max cycle_bytes` compares.
uint64_t live_cycle_bytes(const CycleAnalysis& analysis);
// Live cycles Go never frees (finalizer cycles): `no finalizer-cycles` wants 0.
uint64_t finalizer_cycle_count(const CycleAnalysis& analysis);

}  // namespace heapwalk

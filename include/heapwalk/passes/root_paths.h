// Shortest retention paths from the GC roots: a breadth-first search tree.
//
// The search runs over the live graph from the super-root exactly as mark()
// does (passes/mark.h): one root kind at a time in RootKind order, each
// kind's roots (in root order) seeding the queue and the search running to
// completion before the next kind starts; out-edges in field (CSR) order.
// So every reached vertex gets
// - its BFS parent and the edge index it was discovered by, and
// - a path that starts at a root of the FIRST kind that reaches it at all
//   (globals before goroutine stacks, ...) and is shortest, in hops, among
//   all paths from roots of that kind. (A shorter path from the same kind
//   cannot pass through a vertex claimed by an earlier kind: that kind would
//   then have reached the target too.)
// Deterministic: a function of the snapshot alone. Iterative; O(V + E);
// 4 + 4 bytes per vertex (parent, edge) plus 4 per reached object (order).
#pragma once

#include <cstdint>
#include <vector>

#include "heapwalk/snapshot.h"

namespace heapwalk {

inline constexpr uint32_t kNoEdge = ~uint32_t{0};

struct RootPaths {
  // parent[v]: the vertex v was discovered from (kSuperRoot for objects a
  // root points at; parent[kSuperRoot] == kSuperRoot); kNoObject if no root
  // reaches v.
  std::vector<uint32_t> parent;
  // edge[v]: the graph edge parent[v] -> v that discovered v; for objects a
  // root points at, a super-root edge (edge_offset = index in roots());
  // kNoEdge for the super-root and for unreached vertices.
  std::vector<uint32_t> edge;

  // Reached objects in the order the search discovered them (its queue; the
  // super-root not included): nearer the roots first, earlier root kinds
  // first. "The member of a set nearest a root" is the first one here.
  std::vector<uint32_t> order;

  bool reached(ObjectId v) const { return parent[v] != kNoObject; }
  // Edge indices from the super-root's edge to the edge into v, in order;
  // empty for the super-root and for unreached vertices. O(path length).
  std::vector<uint32_t> path_to(ObjectId v) const;
};

RootPaths compute_root_paths(const Snapshot& snapshot);

}  // namespace heapwalk

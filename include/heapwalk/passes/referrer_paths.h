// More than one retention path per target: one per referrer.
//
// `paths -k K` answers "what ELSE keeps this alive?". The K shortest simple
// paths of graph theory are a poor answer on heaps: they are mostly the
// shortest path with one hop swapped for a sibling, and Yen's algorithm needs
// a breadth-first search per hop per path. What an engineer must cut to free
// an object is its set of referrers, so the alternatives are:
//
//   for every distinct referrer u of target t (an object with an edge u -> t,
//   or a root pointing at t: each root is its own referrer), the BFS-tree
//   path to u (passes/root_paths.h) followed by the edge u -> t.
//
// - The first path is always RootPaths::path_to(t).
// - A referrer whose own BFS-tree path passes through t is skipped: that
//   path is not simple, and such a referrer is usually reached through t
//   (a child's back pointer to its parent context, for instance). It is
//   counted in `held_back`.
// - Unreached referrers (garbage pointing at t) are not referrers of a live
//   object and are ignored. Several edges from one referrer give one path,
//   through its first such field.
// - Order: the BFS path first (it comes from the first root KIND that reaches
//   t, so another referrer's path may be shorter), then the others shortest
//   first, ties by edge index (for roots: root order). A function of the
//   snapshot alone.
//
// Cost: one pass over every edge, O(V + E) for any number of targets, plus
// O(path length) per referrer of each target; memory O(targets + referrers)
// beyond the RootPaths.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "heapwalk/passes/root_paths.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

struct ReferrerPaths {
  // Up to K edge paths (as RootPaths::path_to gives them), shortest first.
  std::vector<std::vector<uint32_t>> paths;
  uint64_t referrers = 0;  // live referrers in all (roots included), held_back excluded
  uint64_t held_back = 0;  // referrers whose BFS-tree path runs through the target
};

// One entry per target, in the order given. Unreached targets get no paths.
// k >= 1.
std::vector<ReferrerPaths> referrer_paths(const Snapshot& snapshot, const RootPaths& root_paths,
                                          std::span<const ObjectId> targets, uint32_t k);

}  // namespace heapwalk

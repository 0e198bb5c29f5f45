#include "heapwalk/passes/referrer_paths.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace heapwalk {

namespace {

// The first edge into a target from one referrer.
struct Incoming {
  uint32_t slot;      // index of the target in `targets`
  uint32_t referrer;  // source vertex (kSuperRoot for a root: see `edge`)
  uint32_t edge;      // graph edge index referrer -> target
  uint32_t length;    // hops of the path through this edge
};

uint32_t depth(const RootPaths& p, ObjectId v) {
  uint32_t d = 0;
  for (ObjectId u = v; u != kSuperRoot; u = p.parent[u]) ++d;
  return d;
}

bool path_passes_through(const RootPaths& p, ObjectId from, ObjectId target) {
  for (ObjectId u = from; u != kSuperRoot; u = p.parent[u])
    if (u == target) return true;
  return false;
}

}  // namespace

std::vector<ReferrerPaths> referrer_paths(const Snapshot& snapshot, const RootPaths& root_paths,
                                          std::span<const ObjectId> targets, uint32_t k) {
  if (k == 0) throw std::invalid_argument("referrer_paths: k must be at least 1");
  std::vector<ReferrerPaths> out(targets.size());
  // Target vertex -> its slots (one target may be listed twice).
  std::unordered_multimap<uint32_t, uint32_t> slot_of;
  for (uint32_t i = 0; i < targets.size(); ++i)
    if (root_paths.reached(targets[i])) slot_of.emplace(targets[i], i);
  if (slot_of.empty()) return out;

  // One sequential pass over the CSR rows: source vertices come in order, so
  // "first edge from this referrer" is a check against the previous hit.
  const GraphView g = snapshot.view();
  std::vector<Incoming> incoming;
  for (uint32_t u = 0; u < g.vertex_count; ++u) {
    if (!root_paths.reached(u)) continue;
    for (uint32_t e = g.rowstart[u], end = g.rowstart[u + 1]; e < end; ++e) {
      const auto [first, last] = slot_of.equal_range(g.targets[e]);
      for (auto it = first; it != last; ++it) {
        const uint32_t slot = it->second;
        // Roots are distinct referrers; an object is one referrer whatever
        // the number of its fields that point at the target.
        bool repeat = false;
        if (u != kSuperRoot) {
          for (auto r = incoming.rbegin(); r != incoming.rend() && r->referrer == u; ++r)
            repeat = repeat || r->slot == slot;
        }
        if (repeat) continue;
        incoming.push_back({slot, u, e, 0});
      }
    }
  }

  for (Incoming& in : incoming) {
    const ObjectId t = targets[in.slot];
    if (in.referrer != kSuperRoot && path_passes_through(root_paths, in.referrer, t)) {
      ++out[in.slot].held_back;
      in.length = ~uint32_t{0};
      continue;
    }
    ++out[in.slot].referrers;
    in.length = (in.referrer == kSuperRoot ? 0 : depth(root_paths, in.referrer)) + 1;
  }
  // The BFS's own edge into the target first (its path may be longer than
  // another referrer's: it comes from the first root KIND that reaches the
  // target, see root_paths.h); then shortest first, then by edge index, which
  // for roots is root order.
  std::sort(incoming.begin(), incoming.end(), [&](const Incoming& a, const Incoming& b) {
    if (a.slot != b.slot) return a.slot < b.slot;
    const bool a_tree = root_paths.edge[targets[a.slot]] == a.edge;
    const bool b_tree = root_paths.edge[targets[b.slot]] == b.edge;
    if (a_tree != b_tree) return a_tree;
    if (a.length != b.length) return a.length < b.length;
    return a.edge < b.edge;
  });
  for (const Incoming& in : incoming) {
    ReferrerPaths& r = out[in.slot];
    if (in.length == ~uint32_t{0} || r.paths.size() >= k) continue;
    std::vector<uint32_t> path =
        in.referrer == kSuperRoot ? std::vector<uint32_t>{} : root_paths.path_to(in.referrer);
    path.push_back(in.edge);
    r.paths.push_back(std::move(path));
  }
  return out;
}

}  // namespace heapwalk

#include "heapwalk/passes/finalizers.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "heapwalk/passes/strong_components.h"

namespace heapwalk {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

void add(ObjectSet& set, const Snapshot& snapshot, ObjectId id) {
  set.ids.push_back(id);
  ++set.objects;
  set.bytes += snapshot.size(id);
}

}  // namespace

FinalizerAnalysis analyze_finalizers(const Snapshot& snapshot) {
  return analyze_finalizers(snapshot, mark(snapshot), mark(snapshot, kMaskWithoutFinalizers));
}

FinalizerAnalysis analyze_finalizers(const Snapshot& snapshot, const MarkResult& full,
                                     const MarkResult& without_finalizers) {
  FinalizerAnalysis result;
  const uint32_t n = snapshot.vertex_count();

  // Finalizer objects and their funcval objects (kNoObject for a static func).
  std::vector<std::pair<ObjectId, ObjectId>> registered;
  std::vector<std::pair<ObjectId, ObjectId>> all_funcvals;  // unresolved objects included
  for (const FinalizerRecord& f : snapshot.facts().finalizers) {
    if (f.queued) {
      ++result.queued;
      continue;
    }
    ++result.registered;
    const ObjectId object = snapshot.find(f.object);
    const ObjectId funcval = f.funcval ? snapshot.find(f.funcval) : kNoObject;
    all_funcvals.push_back({object, funcval});
    if (object == kNoObject) {
      ++result.unresolved;
      continue;
    }
    registered.push_back({object, funcval});
  }
  std::sort(registered.begin(), registered.end());

  ObjectId last = kNoObject;
  for (const auto& [object, funcval] : registered) {
    if (object == last) continue;  // one object, several records: count it once
    last = object;
    if (!full.is_live(object) && !snapshot.is_phantom(object))
      add(result.pending, snapshot, object);
  }

  // The next collection queues every pending finalizer, and queued
  // finalizers are roots: the pending objects and all the garbage they reach
  // survive that collection and go only after the finalizers have run.
  {
    std::vector<bool> seen(n, false);
    std::vector<ObjectId> queue;
    for (ObjectId id : result.pending.ids) {
      seen[id] = true;
      queue.push_back(id);
    }
    const GraphView g = snapshot.view();
    for (size_t head = 0; head < queue.size(); ++head)
      for (uint32_t w : g.successors(queue[head]))
        if (!seen[w] && !full.is_live(w)) {
          seen[w] = true;
          queue.push_back(w);
        }
    std::sort(queue.begin(), queue.end());
    for (ObjectId id : queue) add(result.held_until_finalizers_run, snapshot, id);
  }

  // Queued finalizers run after the next collection and then let go of their
  // object and funcval: what they alone keep is not kept "regardless". So the
  // cycle analysis runs over K' = live, but not live from the persistent roots
  // (neither kind of finalizer); K' == K when nothing is queued.
  MarkResult persistent_storage;
  const MarkResult* persistent = &without_finalizers;
  if (result.queued > 0) {
    persistent_storage = mark(snapshot, kMaskPersistentRoots);
    persistent = &persistent_storage;
  }

  // K', densely renumbered so that the SCC pass only touches K'.
  std::vector<uint32_t> local(n, kNone);
  std::vector<ObjectId> members;
  for (ObjectId v = 1; v < n; ++v) {
    if (!full.is_live(v)) continue;
    if (!without_finalizers.is_live(v)) add(result.kept_only_by_finalizers, snapshot, v);
    if (!persistent->is_live(v)) {
      local[v] = static_cast<uint32_t>(members.size());
      members.push_back(v);
    }
  }
  if (members.empty()) return result;

  // G_K in CSR form: pointer edges inside K without self edges (Go skips a
  // pointer into the object being scanned), then the virtual funcval edges.
  // `registered` is sorted by object, so a merge walk attaches them in order.
  const auto k = static_cast<uint32_t>(members.size());
  std::vector<uint32_t> rowstart(k + 1, 0), targets;
  std::vector<bool> is_finalizer_object(k, false), funcval_inside_self(k, false);
  size_t r = 0;
  for (uint32_t i = 0; i < k; ++i) {
    const ObjectId v = members[i];
    for (ObjectId w : snapshot.successors(v)) {
      if (w != v && local[w] != kNone) targets.push_back(local[w]);
    }
    while (r < registered.size() && registered[r].first < v) ++r;
    for (; r < registered.size() && registered[r].first == v; ++r) {
      is_finalizer_object[i] = true;
      const ObjectId funcval = registered[r].second;
      if (funcval == v) {
        funcval_inside_self[i] = true;  // that root marks v itself
      } else if (funcval != kNoObject && local[funcval] != kNone) {
        targets.push_back(local[funcval]);
      }
    }
    rowstart[i + 1] = static_cast<uint32_t>(targets.size());
  }

  const StrongComponents scc = strong_components(rowstart, targets);

  std::vector<bool> reached(k, false);
  std::vector<uint32_t> queue;
  auto spread = [&](size_t head) {  // breadth-first over G_K from queue[head..]
    for (; head < queue.size(); ++head) {
      const uint32_t i = queue[head];
      for (uint32_t e = rowstart[i]; e < rowstart[i + 1]; ++e) {
        const uint32_t j = targets[e];
        if (!reached[j]) {
          reached[j] = true;
          queue.push_back(j);
        }
      }
    }
  };
  for (uint32_t i = 0; i < k; ++i) {
    if (is_finalizer_object[i] && (scc.size[scc.component[i]] >= 2 || funcval_inside_self[i])) {
      add(result.cyclic, snapshot, members[i]);
      reached[i] = true;
      queue.push_back(i);
    }
  }
  spread(0);
  for (uint32_t i = 0; i < k; ++i) {
    if (reached[i]) add(result.immortal, snapshot, members[i]);
  }

  // Finalizers of objects that stay live regardless keep their funcval (and
  // what it captures) for as long as the object lives.
  const size_t first_held = queue.size();
  for (const auto& [object, funcval] : all_funcvals) {
    const bool object_stays = object == kNoObject || persistent->is_live(object);
    if (!object_stays || funcval == kNoObject || local[funcval] == kNone) continue;
    const uint32_t j = local[funcval];
    if (!reached[j]) {
      reached[j] = true;
      queue.push_back(j);
    }
  }
  spread(first_held);
  std::vector<ObjectId> held;
  for (size_t q = first_held; q < queue.size(); ++q) held.push_back(members[queue[q]]);
  std::sort(held.begin(), held.end());
  for (ObjectId v : held) add(result.held_for_live, snapshot, v);
  return result;
}

}  // namespace heapwalk

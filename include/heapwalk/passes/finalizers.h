// Finalizer analysis: what registered finalizers do to reachability.
//
// Go's mark (passes/mark.h) treats a registered finalizer's funcval and the
// pointer fields of its object O as roots, but never O itself. Consequences
// this pass reports, all checked against the real collector (connpool in
// ../shared/corpus):
//
// - pending: O has a registered finalizer and nothing marks O. The next
//   collection queues the finalizer (it runs, then O is freed a cycle later
//   unless the finalizer resurrects it).
// - kept_only_by_finalizers (the set K): objects live in Go's mark but not
//   in a mark without RootKind::kFinalizer roots. They live only because some
//   object with a finalizer points to them (or a finalizer closure does).
//   Usually transient: a chain a -> b -> c of finalizer objects is freed over
//   three collections, one link a cycle.
// - cyclic: objects with a registered finalizer, in K, that lie on a cycle of
//   the graph G_K = (K, pointer edges without self edges, plus a virtual edge
//   X -> funcval(X) for every finalizer object X in K). Such an object is
//   never freed: every special on the cycle keeps the next object marked, so
//   no finalizer on it ever runs. Covers `conn -> pool -> conn` (pool_cycle),
//   a closure that captures its own object (closure_self), and mutual
//   closures. A pointer from O into itself is not a cycle (Go skips it when
//   it scans O's special: self_loop streams ARE freed), but a funcval that
//   lies inside O itself is (that root marks O).
// - immortal: everything in K reachable in G_K from a cyclic object: the
//   cycles plus what they hold (markers, buffers); never freed either.
// - held_for_live: the rest of K that is never freed because it hangs off
//   the funcval of a finalizer whose object is live without finalizer roots,
//   queued ones included (or lies in no object record): typically the closure of a live object's
//   finalizer. Not a leak: it goes when that object goes.
// Every other object of K is freed after a finite number of collections
// (a -> b -> c chains: one link a cycle). Checked against a simulation of
// successive collections on random graphs (tests/test_finalizers_random.cc).
//
// Queued finalizers (rare: tag 11) keep their object and funcval only until
// they run after the next collection, so cyclic/immortal/held_for_live are
// computed over K' = objects live in Go's mark but not from the persistent
// roots (neither registered nor queued finalizers); K' == K when nothing is
// queued.
//
// Cost: two marks, O(V + E) each (a third when something is queued), plus an
// iterative Tarjan SCC (passes/strong_components.h) over G_K'
// (O(|K'| + edges inside K')); no per-object searches. No recursion.
#pragma once

#include <cstdint>
#include <vector>

#include "heapwalk/passes/mark.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

struct ObjectSet {
  std::vector<ObjectId> ids;  // ascending
  uint64_t objects = 0;       // == ids.size()
  uint64_t bytes = 0;         // sum of slot sizes
};

struct FinalizerAnalysis {
  uint64_t registered = 0;  // tag 7 records
  uint64_t queued = 0;      // tag 11 records
  // Registered finalizers whose object address lies in no object record.
  uint64_t unresolved = 0;

  ObjectSet pending;  // registered, object unreachable: runs at the next GC
  // Unreachable objects the next GC still keeps: the pending objects and the
  // garbage they reach (queued finalizers are roots). Freed only after the
  // finalizers have run, a collection or more later.
  ObjectSet held_until_finalizers_run;
  ObjectSet kept_only_by_finalizers;  // the set K (any object, finalizer or not)
  ObjectSet cyclic;                   // finalizer objects in K' on a cycle of G_K': never freed
  ObjectSet immortal;                 // K' objects reachable from `cyclic` (cyclic included)
  ObjectSet held_for_live;            // other K' objects kept by live objects' finalizer funcvals
};

// `full` must be mark(snapshot) and `without_finalizers` mark(snapshot,
// ~(1u << kFinalizer)); pass them when the caller has them already.
FinalizerAnalysis analyze_finalizers(const Snapshot& snapshot, const MarkResult& full,
                                     const MarkResult& without_finalizers);
FinalizerAnalysis analyze_finalizers(const Snapshot& snapshot);

// The root-kind mask that leaves out registered-finalizer roots.
inline constexpr uint32_t kMaskWithoutFinalizers =
    ~(uint32_t{1} << static_cast<uint32_t>(RootKind::kFinalizer));
// ... and queued finalizers' roots too: the roots that stay after the next collection.
inline constexpr uint32_t kMaskPersistentRoots =
    kMaskWithoutFinalizers & ~(uint32_t{1} << static_cast<uint32_t>(RootKind::kQueuedFinalizer));

}  // namespace heapwalk

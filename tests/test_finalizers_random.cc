// The finalizer analysis on thousands of seeded random graphs, against a
// simulation of the collections that follow the dump (MarkOracle::simulate,
// tests/support/mark_oracle.h), which knows nothing of SCCs.
#include <catch2/catch.hpp>

#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/mark.h"
#include "support/dump_writer.h"
#include "support/mark_oracle.h"

using namespace heapwalk;
using namespace heapwalk::test;

// The finalizer analysis against a simulation of the collections that follow
// the dump: `immortal` must be exactly the objects kept only by finalizers
// that no number of collections frees, and `pending` the finalizers that run
// in the first one. `cyclic` against a per-object search of G_K.
TEST_CASE("finalizer analysis agrees with a GC simulation on 3000 random graphs",
          "[finalizers][random]") {
  uint64_t graphs = 0, kept = 0, cyclic = 0, immortal = 0, held = 0, pending = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    const DumpDescription d =
        random_graph_dump(seed + 100000, varied_random_options(seed + 100000));
    const MarkOracle oracle(d);
    const Snapshot s = snapshot_of(d);
    const FinalizerAnalysis a = analyze_finalizers(s);
    const std::vector<bool> full = oracle.mark();
    const std::vector<bool> normal = oracle.mark(kMaskWithoutFinalizers);
    const std::vector<bool> persistent = oracle.mark(kMaskPersistentRoots);
    const MarkOracle::Simulation sim = oracle.simulate();
    const size_t n = oracle.size();
    INFO("seed " << seed + 100000);

    std::vector<bool> in_k(n), in_k2(n), is_pending(n, false), is_cyclic(n, false),
        is_immortal(n, false);
    for (ObjectId id : a.pending.ids) is_pending[id - 1] = true;
    for (ObjectId id : a.cyclic.ids) is_cyclic[id - 1] = true;
    for (ObjectId id : a.immortal.ids) is_immortal[id - 1] = true;
    std::vector<bool> is_held(n, false);
    for (ObjectId id : a.held_for_live.ids) {
      REQUIRE_FALSE(is_immortal[id - 1]);
      is_held[id - 1] = true;
    }
    std::vector<ObjectId> k_ids;
    for (size_t i = 0; i < n; ++i) {
      in_k[i] = full[i] && !normal[i];
      in_k2[i] = full[i] && !persistent[i];  // K'

      if (in_k[i]) k_ids.push_back(static_cast<ObjectId>(i + 1));
    }
    REQUIRE(a.kept_only_by_finalizers.ids == k_ids);

    // Oracle for `cyclic`: from each finalizer object O in K, search G_K'
    // (pointer edges without self edges, plus X -> funcval(X) for finalizer
    // objects X in K) for a way back to O.
    std::vector<std::vector<int>> gk(n);
    std::vector<bool> funcval_self(n, false);
    for (size_t i = 0; i < n; ++i) {
      if (!in_k2[i]) continue;
      for (int t : oracle.out(i)) {
        if (t != int(i) && in_k2[t]) gk[i].push_back(t);
      }
    }
    for (const auto& f : oracle.finalizers()) {
      if (f.queued || f.object == MarkOracle::kNone || !in_k2[f.object]) continue;
      if (f.funcval == f.object)
        funcval_self[f.object] = true;
      else if (f.funcval != MarkOracle::kNone && in_k2[f.funcval])
        gk[f.object].push_back(f.funcval);
    }
    for (size_t i = 0; i < n; ++i) {
      INFO("object " << i);
      if (sim.has_finalizer[i]) {
        // pending == the finalizer runs in the first collection
        REQUIRE(is_pending[i] == (sim.finalizer_cycle[i] == 1));
      } else {
        REQUIRE_FALSE(is_pending[i]);
      }
      // immortal + held_for_live == K' objects that are never freed
      REQUIRE((is_immortal[i] || is_held[i]) == (in_k2[i] && sim.never_freed[i]));
      bool on_cycle = false;
      if (in_k2[i] && sim.has_finalizer[i]) {
        on_cycle = funcval_self[i];
        std::vector<bool> seen(n, false);
        std::vector<int> stack(gk[i].begin(), gk[i].end());
        while (!stack.empty() && !on_cycle) {
          const int v = stack.back();
          stack.pop_back();
          if (v == int(i)) on_cycle = true;
          if (seen[v]) continue;
          seen[v] = true;
          for (int w : gk[v]) stack.push_back(w);
        }
      }
      REQUIRE(is_cyclic[i] == on_cycle);
      // A cyclic object's finalizer never runs.
      if (on_cycle) REQUIRE(sim.finalizer_cycle[i] == 0);
    }
    ++graphs;
    kept += a.kept_only_by_finalizers.objects;
    cyclic += a.cyclic.objects;
    immortal += a.immortal.objects;
    held += a.held_for_live.objects;
    pending += a.pending.objects;
  }
  WARN("finalizers vs simulation: " << graphs << " graphs; " << kept
                                    << " objects kept only by finalizers, " << cyclic << " cyclic, "
                                    << immortal << " immortal, " << held
                                    << " held for live objects, " << pending << " pending");
  CHECK(cyclic > 0);
  CHECK(pending > 0);
  CHECK(held > 0);
}

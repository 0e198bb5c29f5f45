// connpool (../shared/corpus): heapwalk's mark and finalizer analysis against
// the real collector, every row of the truth `objects` table, every release.
//
// How a row's observation translates into a verdict at the dump:
//
// - The collector was off from before the dump until the observed collections
//   and the program was idle, so the first collection after the dump marks
//   exactly the heap of the dump, with Go's full root set: finalizer specials
//   included. heapwalk's mark(snapshot) is that mark.
// - At the end of a mark, every object with a finalizer that is unmarked has
//   its finalizer queued; a marked one keeps its finalizer. So for a row with
//   a finalizer: "finalizer ran in cycle 1" <=> unreachable in mark(snapshot);
//   "ran in cycle 2 or 3, or never (0)" <=> live in it. Being kept by ANOTHER
//   object's finalizer (chain b, c; resurrect markers; pool_cycle markers)
//   counts as live: that special is a root of the mark.
// - cleanup_ok rows (Go 1.25) carry a cleanup, which the dump does not
//   record; a weak pointer turning nil in cycle 1 means unmarked in cycle 1,
//   the same rule.
// - cleanup_captures_self rows (Go 1.25): never freed, yet no record in the
//   dump reaches them (the cleanup's closure is held by a special the writer
//   does not dump). heapwalk calls them unreachable: pinned here as a known
//   limit, and `heapwalk unreachable` prints a caveat for Go >= 1.24.
// - pool_acyclic pools do not escape to the heap (see below): not in the dump.
// - Rows with cycle -1 (the pools, which carry no finalizer) are observed
//   through the marker row that follows them, to which only the pool points:
//   marker live <=> pool live (the pool has no finalizer of its own, so the
//   only way to mark the marker is to mark the pool).
// - reachable_from_roots_at_dump is the program's view without finalizer
//   specials: mark(snapshot, kMaskWithoutFinalizers).
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/mark.h"
#include "support/paths.h"
#include "support/verdicts.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

bool contains(const ObjectSet& set, ObjectId id) {
  return std::binary_search(set.ids.begin(), set.ids.end(), id);
}

}  // namespace

TEST_CASE("connpool: mark and finalizer analysis agree with the real collector",
          "[finalizers][mark][corpus]") {
  bool any = false;
  uint64_t total = 0;
  for (const DumpCase& c : corpus_dumps()) {
    if (c.name.find("/connpool") == std::string::npos) continue;
    any = true;
    const auto truth = nlohmann::json::parse(read_file(c.truth));
    const Snapshot s = load_snapshot(c.dump.string());
    const MarkResult full = mark(s);
    const MarkResult normal = mark(s, kMaskWithoutFinalizers);
    const FinalizerAnalysis fa = analyze_finalizers(s, full, normal);
    Verdicts v(c.name);

    std::map<std::string, int> col;
    for (size_t i = 0; i < truth["objects_columns"].size(); ++i) {
      col[truth["objects_columns"][i].get<std::string>()] = static_cast<int>(i);
    }
    const auto& rows = truth["objects"];
    std::map<std::string, uint64_t> cyclic_by_class;
    for (size_t r = 0; r < rows.size(); ++r) {
      const auto& row = rows[r];
      const std::string cls = row[col["class"]], role = row[col["role"]];
      const std::string addr = row[col["addr"]];
      const bool reachable = row[col["reachable_from_roots_at_dump"]];
      const int cycle = row[col["freed_or_finalized_in_cycle"]];
      const std::string what = cls + " " + role + " " + addr;
      const ObjectId id = s.find(parse_address(addr));
      v.object();
      if (cls == "pool_acyclic" && role == "pool") {
        // Without the back-pointer the pool does not escape: the compiler
        // keeps it on main's stack (all 20 rows print one reused address),
        // so no object record holds it and there is nothing to free.
        v.expect(id == kNoObject, what + ": expected on the stack, found an object record");
        continue;
      }
      v.expect(id != kNoObject, what + ": no object record");
      if (id == kNoObject) continue;

      v.expect(normal.is_live(id) == reachable,
               what + ": reachable without finalizer roots: truth " + std::to_string(reachable));

      bool expect_unreachable;
      if (cls == "cleanup_captures_self") {
        expect_unreachable = true;  // pinned: kept by a cleanup the dump does not record
      } else if (cycle == -1) {
        // Observed through the marker row that follows (only this object points to it).
        size_t m = r + 1;
        while (m < rows.size() &&
               !(rows[m][col["class"]] == cls && rows[m][col["role"]] == "marker"))
          ++m;
        v.expect(m < rows.size(), what + ": no marker row after it");
        if (m >= rows.size()) continue;
        const ObjectId marker = s.find(parse_address(rows[m][col["addr"]]));
        const auto succ = s.successors(id);
        v.expect(std::find(succ.begin(), succ.end(), marker) != succ.end(),
                 what + ": does not point to its marker");
        expect_unreachable = rows[m][col["freed_or_finalized_in_cycle"]].get<int>() == 1;
      } else {
        expect_unreachable = cycle == 1;
      }
      v.expect(full.is_live(id) == !expect_unreachable,
               what + ": live in Go's mark: heapwalk " + std::to_string(full.is_live(id)) +
                   ", collector cycle " + std::to_string(cycle));

      // The finalizer analysis, class by class.
      const bool pending = contains(fa.pending, id), cyclic = contains(fa.cyclic, id),
                 immortal = contains(fa.immortal, id),
                 kept = contains(fa.kept_only_by_finalizers, id);
      if (cyclic) ++cyclic_by_class[cls];
      const bool never_freed = cycle == 0 && !reachable && cls != "cleanup_captures_self";
      if (cls == "pool_cycle" || (cls == "closure_self")) {
        v.expect(kept && immortal, what + ": should be immortal");
        v.expect(cyclic == (role == "conn"), what + ": cyclic " + std::to_string(cyclic));
      } else if (cls == "resurrect" && role == "marker") {
        v.expect(kept && !immortal && !cyclic, what + ": kept now, but not for ever");
      } else {
        v.expect(!cyclic && !immortal, what + ": not immortal");
      }
      if (never_freed && cls != "resurrect") v.expect(immortal, what + ": never freed");
      const bool has_finalizer_record =
          row[col["has_finalizer_or_cleanup"]].get<bool>() && cls.rfind("cleanup_", 0) != 0;
      v.expect(pending == (has_finalizer_record && cycle == 1),
               what + ": pending " + std::to_string(pending));
      if (cls == "chain" && role != "a") v.expect(kept, what + ": kept by the previous link");
      if (cls == "live") v.expect(!kept && normal.is_live(id), what + ": live");
    }
    // Exactly the pool_cycle and closure_self conns are cyclic (runtime
    // objects with finalizers, e.g. os.File, are not).
    v.expect(
        fa.cyclic.objects == cyclic_by_class["pool_cycle"] + cyclic_by_class["closure_self"],
        "cyclic objects outside pool_cycle/closure_self: " + std::to_string(fa.cyclic.objects));
    v.expect(cyclic_by_class["pool_cycle"] == 80 && cyclic_by_class["closure_self"] == 20,
             "cyclic counts");
    v.expect(fa.registered == s.facts().record_counts[7], "registered count");
    WARN(v.report() << "; finalizers: " << fa.registered << " registered, " << fa.pending.objects
                    << " pending, " << fa.cyclic.objects << " cyclic, " << fa.immortal.objects
                    << " immortal (" << fa.immortal.bytes << " B)");
    CHECK(v.disagreements() == 0);
    total += v.objects();
  }
  if (!any) {
    WARN("SKIP: no corpus (../shared/corpus) or no connpool dumps");
    return;
  }
  WARN("connpool: " << total << " tracked objects checked in all releases");
}

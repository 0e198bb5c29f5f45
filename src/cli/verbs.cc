#include "verb.h"

namespace heapwalk::cli {

std::span<const Verb> verbs() {
  // The one list of verbs, in the order `heapwalk --help` shows them.
  static const Verb kVerbs[] = {
      {"summary", "what the dump holds: records, objects, roots, goroutines, liveness, MemStats",
       run_summary},
      {"unreachable", "what the next collection would free, largest groups first", run_unreachable},
      {"histogram", "count and bytes per type, allocation site or size, largest first",
       run_histogram},
      {"top",
       "the objects (or types, sites) that retain the most memory, with their dominator chains",
       run_top},
      {"dominators", "the dominator tree under an object or the roots, largest first",
       run_dominators},
      {"paths",
       "why an object is alive: shortest retention paths from the GC roots, merged and drawn",
       run_paths},
      {"cycles",
       "reference cycles, largest retained first: what holds each, the edge that closes it, "
       "and whether Go can free it",
       run_cycles},
      {"goroutines",
       "goroutines grouped by stack and state, with the bytes each group alone keeps alive",
       run_goroutines},
      {"check", "CI budgets: rules (live bytes, retained by type, goroutines, ...) pass or fail",
       run_check},
      {"diff", "growth between two dumps of one program, matched by type or site", run_diff},
  };
  return kVerbs;
}

}  // namespace heapwalk::cli

#include "verb.h"

namespace heapwalk::cli {

std::span<const Verb> verbs() {
  // The one list of verbs, in the order `heapwalk --help` shows them.
  static const Verb kVerbs[] = {
      {"summary", "what the dump holds: records, objects, roots, goroutines, liveness, MemStats",
       run_summary},
      {"unreachable", "what the next collection would free, largest groups first", run_unreachable},
      {"histogram", "count and bytes per type, allocation site or size, largest first", run_histogram},
  };
  return kVerbs;
}

}  // namespace heapwalk::cli

#include "heapwalk/truncation.h"

#include "heapwalk/error.h"

namespace heapwalk {
namespace {

// The parts of a Go dump in the order the runtime writes them, each with the
// record tags that make it up. Types (tag 3) are written on demand among
// other records and define no part.
struct Part {
  const char* name;
  std::vector<int> tags;
  bool root;  // holds roots that Go's mark starts from
};

const std::vector<Part>& parts() {
  static const std::vector<Part> kParts = {
      {"params", {6}, false},
      {"itabs", {8}, false},
      {"objects", {1}, false},
      {"goroutines and their stack frames, defers and panics", {4, 5, 14, 15}, true},
      {"threads", {9}, false},
      {"data globals", {12}, true},
      {"bss globals", {13}, true},
      {"finalizers", {7, 2}, true},
      {"queued finalizers", {11}, true},
      {"memstats", {10}, false},
      {"memory profile buckets", {16}, false},
      {"allocation samples", {17}, false},
  };
  return kParts;
}

}  // namespace

TruncationReport truncation_report(const DumpFacts& facts) {
  TruncationReport r;
  r.truncated = facts.truncated;
  r.offset = facts.truncated_at;
  r.objects = facts.record_counts[1];  // facts.objects moves into the snapshot
  if (!facts.truncated) return r;
  const auto& all = parts();
  // The last part with any record read: the cut fell in it or after it.
  size_t last = 0;
  for (size_t i = 0; i < all.size(); ++i)
    for (int tag : all[i].tags)
      if (facts.record_counts[tag] > 0) last = i;
  r.last_part = all[last].name;
  for (size_t i = last + 1; i < all.size(); ++i) {
    r.missing.push_back(all[i].name);
    // Queued finalizers are optional roots: a dump may have none at all, but
    // then a cut before them cannot be told from their absence.
    if (all[i].root) r.roots_complete = false;
  }
  // The part the cut fell in may be incomplete itself.
  if (all[last].root) r.roots_complete = false;
  return r;
}

std::string TruncationReport::describe() const {
  if (!truncated) return "";
  std::string out = "cut short at offset " + std::to_string(offset) + " after " +
                    std::to_string(objects) + " objects, in or after the " + last_part;
  if (!missing.empty()) {
    out += "; not reached:";
    const char* sep = " ";
    for (const std::string& m : missing) {
      out += sep + m;
      sep = ", ";
    }
  }
  if (roots_complete)
    out += "; every root was read, so liveness is computed";
  else
    out +=
        "; without every root (goroutine stacks, globals, finalizers) liveness cannot be "
        "computed: live, unreachable and retained sizes, paths, dominators are unknown; "
        "sizes and counts of the objects read are known";
  return out;
}

void require_roots(const DumpFacts& facts, const std::string& file, const std::string& verb,
                   const std::string& fallback) {
  TruncationReport r = truncation_report(facts);
  if (!r.truncated || r.roots_complete) return;
  throw InputError(file, r.offset,
                   verb + " needs liveness, and the dump was " + r.describe() +
                       (fallback.empty() ? "" : " (" + fallback + ")"));
}

}  // namespace heapwalk

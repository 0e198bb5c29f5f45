#include "heapwalk/memory_budget.h"

#include "heapwalk/error.h"
#include "heapwalk/report/format.h"

namespace heapwalk {
namespace {

// Calibrated on the corpus' largest dump (go1.23 orderindex: 14 MB, 223,156
// objects, 662,092 pointer fields): `heapwalk top` peaks at 41.6 MB RSS with
// the file mapped, of which about 27 MB are heap; these constants give 51 MB.
// Per object: the reader's record (24 bytes, and the vector's growth slack),
// the snapshot's table, CSR row and page index, and the passes at their peak:
// mark bits, labels, dominators (idom, retained, preorder, semidominators,
// ancestors, predecessor rows).
constexpr uint64_t kBytesPerObject = 120;
// Per pointer field: the builder's edge list and the CSR arrays (target and
// field offset), and the dominators' predecessor lists.
constexpr uint64_t kBytesPerPointerField = 16;
// Per root, goroutine, frame, type, bucket and sample record: small tables.
constexpr uint64_t kBytesPerOtherRecord = 96;

}  // namespace

uint64_t estimate_peak_memory(const DumpFacts& facts, uint64_t input_bytes) {
  return estimate_peak_memory(facts, input_bytes, facts.objects.size());
}

uint64_t estimate_peak_memory(const DumpFacts& facts, uint64_t input_bytes,
                              uint64_t object_records) {
  uint64_t other = facts.roots.size() + facts.types.size() + facts.goroutines.size() +
                   facts.frames.size() + facts.finalizers.size() + facts.segments.size() +
                   facts.buckets.size() + facts.alloc_samples.size() + facts.itabs.size() +
                   facts.threads.size();
  return input_bytes + object_records * kBytesPerObject +
         facts.pointer_fields * kBytesPerPointerField + other * kBytesPerOtherRecord;
}

void check_memory_budget(const std::string& file, uint64_t estimate, uint64_t max_memory,
                         const std::string& what) {
  if (max_memory == 0 || estimate <= max_memory) return;
  throw InputError(file, InputError::kNoOffset,
                   "needs about " + report::bytes_human(estimate) + " of memory (" + what +
                       "), over --max-memory " + report::bytes_human(max_memory) +
                       ": raise it, or analyse the dump on a bigger machine");
}

}  // namespace heapwalk

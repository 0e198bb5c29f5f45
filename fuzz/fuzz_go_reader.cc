// libFuzzer target: the Go reader, the snapshot builder and the passes every
// verb runs first (mark, finalizer analysis, labels, dominators) on an
// uncompressed dump in memory, with and without allow_truncated (the first
// input byte chooses). Anything but an InputError escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "heapwalk/error.h"
#include "heapwalk/input.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/reader.h"
#include "heapwalk/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  heapwalk::ReadOptions read;
  read.allow_truncated = (data[0] & 1) != 0;
  // The dump proper starts after the option byte; seeds carry it too.
  std::span<const uint8_t> dump(data + 1, size - 1);
  try {
    heapwalk::InputBuffer input = heapwalk::InputBuffer::from_bytes("fuzz", dump);
    heapwalk::DumpFacts facts = heapwalk::read_dump(input, read);
    heapwalk::Snapshot snapshot = heapwalk::build_snapshot(std::move(input), std::move(facts));
    heapwalk::MarkResult marked = heapwalk::mark(snapshot);
    heapwalk::FinalizerAnalysis finalizers = heapwalk::analyze_finalizers(
        snapshot, marked, heapwalk::mark(snapshot, heapwalk::kMaskWithoutFinalizers));
    heapwalk::Labels labels = heapwalk::compute_labels(snapshot);
    std::vector<uint64_t> weight(snapshot.vertex_count(), 0);
    for (heapwalk::ObjectId id = 1; id < snapshot.vertex_count(); ++id)
      weight[id] = snapshot.size(id);
    heapwalk::DominatorTree tree =
        heapwalk::compute_dominators(snapshot.view(), heapwalk::kSuperRoot, weight);
    (void)finalizers;
    (void)labels;
    (void)tree;
  } catch (const heapwalk::InputError&) {
  }
  return 0;
}

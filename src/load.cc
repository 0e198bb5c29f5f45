#include <algorithm>

#include "heapwalk/memory_budget.h"
#include "heapwalk/progress.h"
#include "heapwalk/report/format.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

Snapshot load_snapshot(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<ProgressMeter> meter;
  if (options.show_progress) meter = ProgressMeter::for_terminal(stderr);
  InputOptions input_options = options.input;
  ReadOptions read_options = options.read;
  input_options.progress = read_options.progress = meter.get();
  if (options.max_memory != 0) {
    // Decompressed zstd input is held in memory: it alone must fit.
    uint64_t& bound = input_options.max_decompressed_bytes;
    bound = bound == 0 ? options.max_memory : std::min(bound, options.max_memory);
  }
  InputBuffer input = InputBuffer::open(path, input_options);
  // The reader's tables grow with the input: refuse a dump whose bytes alone
  // are over the budget before reading it.
  check_memory_budget(path, input.bytes().size(), options.max_memory,
                      report::bytes_human(input.bytes().size()) + " of dump");
  DumpFacts facts = read_dump(input, read_options);
  const uint64_t size = input.bytes().size();
  check_memory_budget(path, estimate_peak_memory(facts, size), options.max_memory,
                      report::bytes_human(size) + " of dump, " +
                          report::count(facts.objects.size()) + " objects, " +
                          report::count(facts.pointer_fields) + " pointer fields");
  return build_snapshot(std::move(input), std::move(facts), meter.get());
}

}  // namespace heapwalk

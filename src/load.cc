#include "heapwalk/progress.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

Snapshot load_snapshot(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<ProgressMeter> meter;
  if (options.show_progress) meter = ProgressMeter::for_terminal(stderr);
  InputOptions input_options = options.input;
  ReadOptions read_options = options.read;
  input_options.progress = read_options.progress = meter.get();
  InputBuffer input = InputBuffer::open(path, input_options);
  DumpFacts facts = read_dump(input, read_options);
  return build_snapshot(std::move(input), std::move(facts), meter.get());
}

}  // namespace heapwalk

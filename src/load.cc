#include "heapwalk/snapshot.h"

namespace heapwalk {

Snapshot load_snapshot(const std::string& path, const LoadOptions& options) {
  InputBuffer input = InputBuffer::open(path, options.input);
  DumpFacts facts = read_dump(input, options.read);
  return build_snapshot(std::move(input), std::move(facts));
}

}  // namespace heapwalk

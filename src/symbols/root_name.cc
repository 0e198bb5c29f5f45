#include "heapwalk/symbols/root_name.h"

namespace heapwalk {

uint64_t root_address(const Snapshot& snapshot, const Root& root) {
  if (root.kind != RootKind::kData && root.kind != RootKind::kBss) return 0;
  const auto& segments = snapshot.facts().segments;
  if (root.owner >= segments.size()) return 0;
  return segments[root.owner].start + root.offset;
}

std::string root_name(const Snapshot& snapshot, const Root& root, const ElfSymbols* binary) {
  if (binary) {
    if (uint64_t a = root_address(snapshot, root)) {
      std::string name = binary->symbol_name(a);
      if (!name.empty()) return name;
    }
  }
  return snapshot.root_name(root);
}

}  // namespace heapwalk

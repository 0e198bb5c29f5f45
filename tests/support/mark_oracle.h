// A slow, obvious reimplementation of Go's mark straight from a
// DumpDescription (no reader, no builder, no snapshot), for cross-checks.
// Applies the rules of ../shared/docs/go-heapdump.md independently:
// roots by kind, interior pointers resolved by a search over the described
// objects, a registered finalizer's object not marked by its own special and
// its pointers into itself not roots. Depth-first with an explicit stack.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "heapwalk/dump.h"
#include "support/dump_writer.h"

namespace heapwalk::test {

class MarkOracle {
 public:
  static constexpr int kNone = -1;
  explicit MarkOracle(const DumpDescription& dump);

  size_t size() const { return objects_.size(); }
  uint64_t address(size_t i) const { return objects_[i].address; }
  uint64_t slot_size(size_t i) const { return objects_[i].size; }
  int resolve(uint64_t value) const;  // index of the object containing value, or kNone

  // live[i] for objects in address order; roots of kinds outside the mask are ignored.
  std::vector<bool> mark(uint32_t root_kind_mask = ~uint32_t{0}) const;
  // RootKind of the nearest root (fewest hops), the smallest kind among ties; 0xff if none.
  std::vector<uint8_t> first_root(uint32_t root_kind_mask = ~uint32_t{0}) const;

  // Simulates collections after the dump until nothing changes: each cycle
  // marks with the finalizer specials still registered; a registered object
  // left unmarked has its finalizer queued (kept that cycle) and run before
  // the next one (no resurrection). Dump-time queued finalizers are roots in
  // cycle 1 only. finalizer_cycle[i] = cycle its finalizer ran (0 never, or
  // no finalizer); never_freed[i] = still marked when nothing changes.
  struct Simulation {
    std::vector<int> finalizer_cycle;
    std::vector<bool> never_freed;
    std::vector<bool> has_finalizer;
  };
  Simulation simulate() const;

  struct Finalizer {
    int object;   // resolved (interior rounded down) or kNone
    int funcval;  // kNone for a static func or nothing
    bool queued;
  };
  const std::vector<Finalizer>& finalizers() const { return finalizers_; }
  // Resolved pointer targets of object i (self included, nil/dangling dropped).
  const std::vector<int>& out(size_t i) const { return out_[i]; }

 private:
  struct RootWord {
    RootKind kind;
    int target;
  };
  std::vector<bool> mark_from(const std::vector<int>& roots) const;

  std::vector<DumpObjectSpec> objects_;  // sorted by address
  std::vector<std::vector<int>> out_;
  std::vector<RootWord> roots_;  // every root but registered finalizers' ones
  std::vector<Finalizer> finalizers_;
};

}  // namespace heapwalk::test

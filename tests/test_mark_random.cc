// Thousands of seeded random graphs: mark() through the real writer, reader
// and builder against MarkOracle, which applies the rules straight to the
// writer's description (see tests/support/mark_oracle.h).
#include <catch2/catch.hpp>
#include <random>

#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/mark.h"
#include "support/dump_writer.h"
#include "support/mark_oracle.h"

using namespace heapwalk;
using namespace heapwalk::test;

TEST_CASE("mark agrees with the oracle on 3000 random graphs", "[mark][random]") {
  uint64_t graphs = 0, objects = 0, compared_masks = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    const DumpDescription d = random_graph_dump(seed, varied_random_options(seed));
    const MarkOracle oracle(d);
    const Snapshot s = snapshot_of(d);
    REQUIRE(s.object_count() == oracle.size());

    std::mt19937_64 rng(seed);
    const uint32_t masks[] = {~uint32_t{0}, kMaskWithoutFinalizers,
                              static_cast<uint32_t>(rng()) & ((1u << kRootKindCount) - 1)};
    for (uint32_t mask : masks) {
      const MarkResult m = mark(s, mask);
      const std::vector<bool> live = oracle.mark(mask);
      const std::vector<uint8_t> first = oracle.first_root(mask);
      uint64_t live_n = 0, live_b = 0, dead_n = 0, dead_b = 0;
      for (size_t i = 0; i < oracle.size(); ++i) {
        const ObjectId id = static_cast<ObjectId>(i + 1);  // ids are address order
        INFO("seed " << seed << " mask " << std::hex << mask << std::dec << " object " << i
                     << " at 0x" << std::hex << oracle.address(i));
        REQUIRE(s.address(id) == oracle.address(i));
        REQUIRE(m.is_live(id) == live[i]);
        REQUIRE(int(m.first_root[id]) == int(first[i]));
        (live[i] ? live_n : dead_n) += 1;
        (live[i] ? live_b : dead_b) += oracle.slot_size(i);
      }
      REQUIRE(m.live_objects == live_n);
      REQUIRE(m.live_bytes == live_b);
      REQUIRE(m.unreachable_objects == dead_n);
      REQUIRE(m.unreachable_bytes == dead_b);
      ++compared_masks;
    }
    ++graphs;
    objects += oracle.size();
  }
  WARN("mark vs oracle: " << graphs << " graphs, " << objects << " objects, " << compared_masks
                          << " marks compared");
}

// How long a blocked goroutine has waited, from a dump that has no clock:
// wait_since is the start of the collection that first saw it blocked, so
// the latest wait_since in the dump minus a goroutine's own is a lower bound
// (snapshot.h). Checked on a synthetic dump whose wait_since values are known.
#include <catch2/catch.hpp>
#include <string>

#include "heapwalk/report/format.h"
#include "heapwalk/snapshot.h"
#include "support/dump_writer.h"

using namespace heapwalk;
using namespace heapwalk::test;

TEST_CASE("goroutine waits: a lower bound from the latest collection that saw one blocked",
          "[goroutines][wait]") {
  constexpr uint64_t kSecond = 1'000'000'000;
  DumpDescription d;
  const uint64_t latest = 5000 * kSecond;
  auto add = [&](uint64_t goid, uint64_t wait_since) {
    DumpGoroutineSpec g;
    g.address = 0xc000900000 + goid * 0x1000;
    g.goid = goid;
    g.wait_since = wait_since;
    d.goroutines.push_back(g);
  };
  add(1, latest - 12 * 60 * kSecond - 5 * kSecond);  // blocked 12 min before the latest GC
  add(2, latest - 30 * kSecond);
  add(3, latest);                // first seen blocked by the latest collection: no lower bound
  add(4, 0);                     // never seen blocked by a collection
  add(5, latest - kSecond / 2);  // under a second: not worth printing
  const Snapshot s = snapshot_of(d);
  const DumpFacts& f = s.facts();
  REQUIRE(f.latest_wait_since == latest);
  REQUIRE(f.goroutines.size() == 5);
  CHECK(goroutine_waited_at_least(f, f.goroutines[0]) == 12 * 60 * kSecond + 5 * kSecond);
  CHECK(goroutine_title(f, f.goroutines[0]) == "goroutine 1 [chan receive, >= 12 min]");
  CHECK(goroutine_title(f, f.goroutines[1]) == "goroutine 2 [chan receive, >= 30 s]");
  CHECK(goroutine_waited_at_least(f, f.goroutines[2]) == 0);
  CHECK(goroutine_title(f, f.goroutines[2]) == "goroutine 3 [chan receive]");
  CHECK(goroutine_waited_at_least(f, f.goroutines[3]) == 0);
  CHECK(goroutine_title(f, f.goroutines[4]) == "goroutine 5 [chan receive]");
}

TEST_CASE("duration_floor rounds down to the unit a person reads", "[format]") {
  constexpr uint64_t kSecond = 1'000'000'000;
  CHECK(report::duration_floor(0) == "0 s");
  CHECK(report::duration_floor(119 * kSecond + kSecond - 1) == "119 s");
  CHECK(report::duration_floor(120 * kSecond) == "2 min");
  CHECK(report::duration_floor(2 * 3600 * kSecond - 1) == "119 min");
  CHECK(report::duration_floor(2 * 3600 * kSecond) == "2 h");
  CHECK(report::duration_floor(50 * 3600 * kSecond) == "50 h");
}

// `heapwalk goroutines` through the CLI on blockedgoroutines: the 50 blocked
// consumers form one group retaining their 64 KiB buffers, the 10 mutex
// waiters another; JSON schema; text goldens in tests/golden/goroutines/
// (HEAPWALK_UPDATE_GOLDEN=1 rewrites them).

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "heapwalk/passes/mark.h"
#include "heapwalk/snapshot.h"
#include "support/cli.h"
#include "support/paths.h"

using namespace heapwalk;
using heapwalk::test::DumpCase;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* kBlocked = "samples/go/blockedgoroutines/blockedgoroutines.heapdump.zst";

bool has_frame(const json& group, const std::string& function) {
  for (const json& f : group["stack"])
    if (f == function) return true;
  return false;
}

}  // namespace

TEST_CASE("goroutines: text golden of every sample", "[golden][goroutines][cli]") {
  test::golden_all_samples("goroutines", "");
}

TEST_CASE("goroutines: blocked consumers and mutex waiters, and what only they keep",
          "[goroutines][cli]") {
  json t = test::sample_truth("blockedgoroutines");
  json j = test::run_heapwalk_json(std::string("goroutines ") + kBlocked);
  CHECK(j["schema"] == 1);
  for (const char* k : {"schema", "file", "live_bytes", "goroutines", "groups"}) {
    INFO(k);
    CHECK(j.contains(k));
  }
  Snapshot s = load_snapshot((test::source_dir() / kBlocked).string());
  CHECK(j["goroutines"] == s.facts().goroutines.size());
  CHECK(j["live_bytes"] == mark(s).live_bytes);
  uint64_t total = 0, retained_sum = 0;
  const json* consumers = nullptr;
  const json* waiters = nullptr;
  const json& groups = j["groups"];
  for (size_t i = 0; i < groups.size(); ++i) {
    const json& g = groups[i];
    INFO(g.dump());
    for (const char* k : {"count", "status", "wait_reason", "stack", "retained", "top_labels"})
      CHECK(g.contains(k));
    if (i) CHECK(groups[i - 1]["retained"].get<uint64_t>() >= g["retained"].get<uint64_t>());
    total += g["count"].get<uint64_t>();
    retained_sum += g["retained"].get<uint64_t>();
    if (has_frame(g, "main.consumer")) {
      CHECK(consumers == nullptr);  // one group
      consumers = &g;
    }
    if (has_frame(g, "main.waiter")) {
      CHECK(waiters == nullptr);
      waiters = &g;
    }
  }
  CHECK(total == s.facts().goroutines.size());
  CHECK(retained_sum <= j["live_bytes"].get<uint64_t>());

  const json& counts = t["goroutine_counts"];
  REQUIRE(consumers != nullptr);
  CHECK((*consumers)["count"] == counts["consumer"]);
  CHECK((*consumers)["status"] == "waiting");
  CHECK((*consumers)["wait_reason"] == "chan receive");
  CHECK((*consumers)["stack"][0] == "runtime.gopark");  // innermost first
  CHECK((*consumers)["retained"].get<uint64_t>() >= counts["consumer"].get<uint64_t>() * 65536);
  REQUIRE(!(*consumers)["top_labels"].empty());
  CHECK((*consumers)["top_labels"][0]["bytes"].get<uint64_t>() >=
        counts["consumer"].get<uint64_t>() * 65536);
  CHECK(&groups[0] == consumers);  // the largest group

  REQUIRE(waiters != nullptr);
  CHECK((*waiters)["count"] == counts["mutex_waiter"]);
  CHECK((*waiters)["wait_reason"] == "semacquire");
  CHECK((*waiters)["retained"].get<uint64_t>() >= counts["mutex_waiter"].get<uint64_t>() * 4096);

  CHECK((*consumers)["retained"].get<uint64_t>() + (*waiters)["retained"].get<uint64_t>() >=
        t["expected_retained_by_blocked_goroutines_bytes"].get<uint64_t>());

  test::CliRun text = test::run_heapwalk(std::string("goroutines ") + kBlocked);
  CHECK(text.out.find("50 goroutines [chan receive], retaining 3.12 MiB") != std::string::npos);
}

TEST_CASE("goroutines: a global's objects are no goroutine's", "[goroutines][cli]") {
  // ctxleak's leak hangs off main.parentCtx (a global) as well as main's
  // frame: no goroutine alone retains it.
  json j = test::run_heapwalk_json("goroutines samples/go/ctxleak/ctxleak.heapdump.zst");
  for (const json& g : j["groups"]) CHECK(g["retained"].get<uint64_t>() < 1000000);
}

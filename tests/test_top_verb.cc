// `heapwalk top` through the CLI on the samples (and orderindex in the corpus):
// the culprits the programs know come first with the retained sizes their
// truth files imply; JSON schema; text goldens in tests/golden/top/
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

#include <map>

namespace {

uint64_t addr(const json& hex) { return std::stoull(hex.get<std::string>(), nullptr, 16); }

const char* kCtxleak = "samples/go/ctxleak/ctxleak.heapdump.zst";
const char* kGrowingmap = "samples/go/growingmap/growingmap.heapdump.zst";

void check_object_rows(const json& j) {
  CHECK(j["schema"] == 1);
  for (const char* k : {"schema", "file", "by", "live_bytes", "top"}) {
    INFO(k);
    CHECK(j.contains(k));
  }
  const uint64_t live = j["live_bytes"];
  const json& top = j["top"];
  REQUIRE(top.is_array());
  for (size_t i = 0; i < top.size(); ++i) {
    INFO("row " << i);
    const json& r = top[i];
    for (const char* k : {"address", "size", "retained", "share", "label", "dominators", "root"}) {
      INFO(k);
      CHECK(r.contains(k));
    }
    CHECK(r["address"].get<std::string>().rfind("0x", 0) == 0);
    CHECK(r["retained"].get<uint64_t>() >= r["size"].get<uint64_t>());
    CHECK(r["retained"].get<uint64_t>() <= live);
    if (i) CHECK(top[i - 1]["retained"].get<uint64_t>() >= r["retained"].get<uint64_t>());
    // A dominator retains at least what it dominates.
    for (const json& d : r["dominators"]) {
      CHECK(d["address"].get<std::string>().rfind("0x", 0) == 0);
      CHECK(d.contains("label"));
    }
  }
}

}  // namespace

TEST_CASE("top: text golden of every sample", "[golden][top][cli]") {
  test::golden_all_samples("top", "-n 12");
}

TEST_CASE("top: ctxleak names the parent's children map first, retaining every leaked row",
          "[top][cli]") {
  json t = test::sample_truth("ctxleak");
  json j = test::run_heapwalk_json(std::string("top -n 10 ") + kCtxleak);
  check_object_rows(j);
  // The live bytes are Go's mark.
  Snapshot s = load_snapshot((test::source_dir() / kCtxleak).string());
  CHECK(j["live_bytes"] == mark(s).live_bytes);

  const uint64_t parent = addr(t["parent_ctx"]), hmap = addr(t["parent_children_map"]["hmap"]),
                 buckets = addr(t["parent_children_map"]["buckets"]);
  const json& first = j["top"][0];
  const uint64_t a = addr(first["address"]);
  INFO("first: " << first.dump());
  CHECK((a == parent || a == hmap || a == buckets));
  // child + valueCtx + grandchild + Payload slot + data per leaked request.
  const uint64_t leaked = t["leaked_count"];
  const uint64_t per_row = t["cancelCtx_size"].get<uint64_t>() * 2 +
                           t["valueCtx_size"].get<uint64_t>() + 48 +
                           t["payload_data_len"].get<uint64_t>();
  CHECK(first["retained"].get<uint64_t>() >= leaked * per_row);
  // The bucket array is in the list too, dominated by the hmap.
  bool saw_buckets = false;
  for (const json& r : j["top"])
    if (addr(r["address"]) == buckets) {
      saw_buckets = true;
      CHECK(r["retained"].get<uint64_t>() >= leaked * per_row);
      REQUIRE(!r["dominators"].empty());
      CHECK(addr(r["dominators"][0]["address"]) == hmap);
    }
  CHECK(saw_buckets);
}

TEST_CASE("top --by type|site: per label without double counting", "[top][cli]") {
  json t = test::sample_truth("ctxleak");
  const uint64_t leaked = t["leaked_count"];
  for (const char* by : {"type", "site"}) {
    INFO(by);
    json j = test::run_heapwalk_json(std::string("top -n 0 --by ") + by + " " + kCtxleak);
    CHECK(j["schema"] == 1);
    CHECK(j["by"] == by);
    const uint64_t live = j["live_bytes"];
    REQUIRE(!j["top"].empty());
    for (size_t i = 0; i < j["top"].size(); ++i) {
      const json& r = j["top"][i];
      INFO(r.dump());
      for (const char* k : {"label", "retained", "share", "objects"}) CHECK(r.contains(k));
      CHECK(r["retained"].get<uint64_t>() <= live);
      CHECK(r["objects"].get<uint64_t>() >= 1);
      if (i) CHECK(j["top"][i - 1]["retained"].get<uint64_t>() >= r["retained"].get<uint64_t>());
    }
    // Payloads and their data: 2,000 outermost objects at main.newPayload,
    // each counted once (the data slice is nested in its Payload).
    bool found = false;
    for (const json& r : j["top"]) {
      if (r["label"].get<std::string>().find("main.newPayload") == std::string::npos) continue;
      found = true;
      CHECK(r["objects"] == leaked);
      // Payload slot + data, plus whatever small object each Payload alone points to.
      CHECK(r["retained"].get<uint64_t>() >= leaked * (48 + t["payload_data_len"].get<uint64_t>()));
      CHECK(r["retained"].get<uint64_t>() <=
            leaked * (48 + t["payload_data_len"].get<uint64_t>() + 64));
    }
    CHECK(found);
  }
  // Every label's retained bytes are at most the live bytes summed, and the
  // outermost-only rule means a label's bytes never exceed the live heap even
  // for labels that nest (the cancelCtx chain parent -> child -> grandchild).
}

TEST_CASE("top: growingmap's registry map retains its entries", "[top][cli]") {
  json t = test::sample_truth("growingmap");
  json j = test::run_heapwalk_json(std::string("top -n 5 ") + kGrowingmap);
  check_object_rows(j);
  const json& m = t["registry_map"];
  const uint64_t hmap = addr(m["hmap"]), buckets = addr(m["buckets"]);
  const uint64_t a = addr(j["top"][0]["address"]);
  CHECK((a == hmap || a == buckets));
  // Every 10th entry is also in main.recent: those are dominated by neither.
  const uint64_t entries =
      t["entries_in_map"].get<uint64_t>() - t["recent_slice"]["len"].get<uint64_t>();
  const uint64_t floor =
      entries * (t["entry_slot_size"].get<uint64_t>() + t["entry_data_slot_size"].get<uint64_t>()) +
      m["bucket_array_slot_size"].get<uint64_t>();
  for (size_t i = 0; i < 2; ++i) {
    INFO(j["top"][i].dump());
    CHECK((addr(j["top"][i]["address"]) == hmap || addr(j["top"][i]["address"]) == buckets));
    CHECK(j["top"][i]["retained"].get<uint64_t>() >= floor);
  }
}

TEST_CASE("top: orderindex's tree root retains exactly its 200,000 nodes", "[top][cli][corpus]") {
  if (test::corpus_dir().empty()) {
    WARN("no ../shared/corpus: skipped");
    return;
  }
  for (const DumpCase& c : test::corpus_dumps()) {
    if (c.name.find("orderindex") == std::string::npos || !fs::exists(c.truth)) continue;
    INFO(c.name);
    json t = json::parse(test::read_file(c.truth));
    json j = test::run_heapwalk_json("top -n 5 " + test::shell_quote(c.dump.string()));
    const json& want = t["expected_retained_bytes"];
    std::map<uint64_t, uint64_t> got;
    for (const json& r : j["top"]) got[addr(r["address"])] = r["retained"];
    CHECK(got[addr(t["root"])] == want["root"].get<uint64_t>());
    CHECK(got[addr(t["root"])] == 9600000);
    CHECK(got[addr(t["root_left"])] == want["root_left"].get<uint64_t>());
    CHECK(got[addr(t["root_right"])] == want["root_right"].get<uint64_t>());
  }
}

TEST_CASE("top: bad options", "[top][cli]") {
  CHECK(test::run_heapwalk(std::string("top --by colour ") + kCtxleak).status == 1);
  CHECK(test::run_heapwalk("top").status == 1);
}

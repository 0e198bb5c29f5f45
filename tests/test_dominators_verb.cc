// `heapwalk dominators` through the CLI: the flat JSON tree is consistent
// (parents first, retained = own size + shown children + omitted ones), the
// roots retain the live bytes, --address takes interior addresses; text
// goldens in tests/golden/dominators/ (HEAPWALK_UPDATE_GOLDEN=1 rewrites them).

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

#include <set>

namespace {

uint64_t addr(const json& hex) { return std::stoull(hex.get<std::string>(), nullptr, 16); }

const char* kCtxleak = "samples/go/ctxleak/ctxleak.heapdump.zst";

// Flat nodes: parents come before children, a child retains no more than its
// parent, and shown children plus omitted ones fit in the parent.
void check_tree(const json& j) {
  CHECK(j["schema"] == 1);
  for (const char* k : {"schema", "file", "live_bytes", "min_bytes", "depth", "nodes", "omitted"}) {
    INFO(k);
    CHECK(j.contains(k));
  }
  const json& nodes = j["nodes"];
  REQUIRE(!nodes.empty());
  CHECK(nodes[0]["parent"] == -1);
  std::vector<uint64_t> below(nodes.size(), 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const json& n = nodes[i];
    INFO(n.dump());
    CHECK(n["id"] == i);
    for (const char* k : {"id", "parent", "depth", "size", "retained", "share", "label"})
      CHECK(n.contains(k));
    if (i == 0) continue;
    int64_t p = n["parent"];
    REQUIRE(p >= 0);
    REQUIRE(static_cast<size_t>(p) < i);
    CHECK(n["depth"].get<uint64_t>() == nodes[p]["depth"].get<uint64_t>() + 1);
    CHECK(n["retained"].get<uint64_t>() <= nodes[p]["retained"].get<uint64_t>());
    below[p] += n["retained"].get<uint64_t>();
  }
  for (const json& o : j["omitted"])
    below[o["parent"].get<size_t>()] += o["retained"].get<uint64_t>();
  for (size_t i = 0; i < nodes.size(); ++i) {
    INFO(nodes[i].dump());
    CHECK(below[i] + nodes[i]["size"].get<uint64_t>() == nodes[i]["retained"].get<uint64_t>());
  }
}

}  // namespace

TEST_CASE("dominators: text golden of every sample", "[golden][dominators][cli]") {
  test::golden_all_samples("dominators", "");
}

TEST_CASE("dominators: the roots retain exactly the live bytes", "[dominators][cli]") {
  json j = test::run_heapwalk_json(std::string("dominators --depth 3 ") + kCtxleak);
  check_tree(j);
  Snapshot s = load_snapshot((test::source_dir() / kCtxleak).string());
  CHECK(j["live_bytes"] == mark(s).live_bytes);
  CHECK(j["nodes"][0]["retained"] == j["live_bytes"]);
  CHECK(!j["nodes"][0].contains("address"));
}

TEST_CASE("dominators --address: the children map's bucket array dominates every leaked child",
          "[dominators][cli]") {
  json t = test::sample_truth("ctxleak");
  const uint64_t buckets = addr(t["parent_children_map"]["buckets"]);
  char inside[32];
  std::snprintf(inside, sizeof inside, "0x%llx",
                static_cast<unsigned long long>(buckets + 16));  // interior address
  json j = test::run_heapwalk_json(std::string("dominators --depth 1 --min-bytes 0 --address ") +
                                   inside + " " + kCtxleak);
  check_tree(j);
  REQUIRE(j["nodes"][0].contains("address"));
  CHECK(addr(j["nodes"][0]["address"]) == buckets);
  std::set<uint64_t> children;
  for (const json& n : j["nodes"])
    if (n["parent"] == 0) children.insert(addr(n["address"]));
  for (const json& row : t["leaked_children"]) {
    INFO(row.dump());
    CHECK(children.count(addr(row[1])) == 1);  // child_cancelCtx
  }
  // Largest first.
  for (size_t i = 2; i < j["nodes"].size(); ++i)
    CHECK(j["nodes"][i - 1]["retained"].get<uint64_t>() >=
          j["nodes"][i]["retained"].get<uint64_t>());
}

TEST_CASE("dominators: small children are summarised, bad addresses refused", "[dominators][cli]") {
  json t = test::sample_truth("ctxleak");
  std::string buckets = t["parent_children_map"]["buckets"];
  json j = test::run_heapwalk_json("dominators --depth 1 --min-bytes 1MiB --address " + buckets +
                                   " " + kCtxleak);
  check_tree(j);
  CHECK(j["nodes"].size() == 1);
  REQUIRE(j["omitted"].size() == 1);
  CHECK(j["omitted"][0]["count"].get<uint64_t>() >= t["leaked_count"].get<uint64_t>());
  test::CliRun text = test::run_heapwalk("dominators --depth 1 --min-bytes 1MiB --address " +
                                         buckets + " " + kCtxleak);
  CHECK(text.out.find("smaller children, ") != std::string::npos);
  // No object there; garbage (a cancelled child).
  CHECK(test::run_heapwalk(std::string("dominators --address 0x10 ") + kCtxleak).status == 1);
  std::string cancelled = t["cancelled_children"][0][1];
  test::CliRun r = test::run_heapwalk("dominators --address " + cancelled + " " + kCtxleak);
  CHECK(r.status == 1);
  CHECK(r.err.find("unreachable") != std::string::npos);
}

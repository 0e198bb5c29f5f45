// `heapwalk paths` through the CLI: on ctxleak the path to a leaked child is
// what the program knows (global parentCtx -> parent cancelCtx -> its
// children map -> bucket array -> child); --type merges the 2,000 children
// into one row; the default run names the children map and what it retains;
// unreachable targets point at `heapwalk unreachable`; text, JSON and DOT
// goldens in tests/golden/paths/ (HEAPWALK_UPDATE_GOLDEN=1 rewrites them).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "heapwalk/report/format.h"
#include "support/cli.h"

using namespace heapwalk;
using json = nlohmann::json;

namespace {

const char* kCtxleak = "samples/go/ctxleak/ctxleak.heapdump.zst";
const char* kBlocked = "samples/go/blockedgoroutines/blockedgoroutines.heapdump.zst";

uint64_t addr(const json& hex) { return std::stoull(hex.get<std::string>(), nullptr, 16); }

std::string hex(uint64_t a) { return report::hex(a); }

}  // namespace

TEST_CASE("paths: a leaked ctxleak child is held by the parentCtx global through the children map",
          "[paths][cli]") {
  const json t = test::sample_truth("ctxleak");
  const uint64_t parent = addr(t["parent_ctx"]);
  const uint64_t hmap = addr(t["parent_children_map"]["hmap"]);
  const uint64_t buckets = addr(t["parent_children_map"]["buckets"]);
  const uint64_t global = addr(t["globals"]["main.parentCtx"]);
  const json& rows = t["leaked_children"];
  REQUIRE(rows.size() == 2000);
  for (size_t i = 0; i < rows.size(); i += 97) {
    const uint64_t child = addr(rows[i][1]);
    INFO("leaked row " << i << " child " << hex(child));
    // Any address inside the child names it.
    const json j = test::run_heapwalk_json("paths --address " + hex(child + 8) + " " + kCtxleak);
    CHECK(j["schema"] == 1);
    REQUIRE(j["paths"].size() == 1);
    const json& p = j["paths"][0];
    CHECK(addr(p["target"]["address"]) == child);
    CHECK(p["target"]["size"] == t["cancelCtx_size"]);
    const std::string kind = p["root"]["kind"];
    CHECK((kind == "data" || kind == "bss"));
    REQUIRE(p["root"].contains("address"));
    // main.parentCtx is a context.Context interface: itab word, then the data word that points.
    CHECK(addr(p["root"]["address"]) == global + 8);
    const json& hops = p["hops"];
    REQUIRE(hops.size() >= 4);
    CHECK(addr(hops[0]["address"]) == parent);
    CHECK(addr(hops[1]["address"]) == hmap);
    CHECK(hops[1]["offset"] == t["cancelCtx_children_field_offset"]);
    CHECK(addr(hops[2]["address"]) == buckets);
    CHECK(addr(hops.back()["address"]) == child);
    CHECK(hops.back()["label"] == p["target"]["label"]);
    CHECK(j["merged"].empty());
  }
}

TEST_CASE(
    "paths: the payload chain is global -> parent -> map -> child -> map -> grandchild -> value -> "
    "payload",
    "[paths][cli]") {
  const json t = test::sample_truth("ctxleak");
  const json& row =
      t["leaked_children"][3];  // i, child, valueCtx, grandchild, payload, data, child map
  const json j =
      test::run_heapwalk_json("paths --address " + row[4].get<std::string>() + " " + kCtxleak);
  REQUIRE(j["paths"].size() == 1);
  const json& hops = j["paths"][0]["hops"];
  std::vector<uint64_t> got;
  for (const json& h : hops) got.push_back(addr(h["address"]));
  REQUIRE(got.size() == 9);
  CHECK(got[0] == addr(t["parent_ctx"]));
  CHECK(got[1] == addr(t["parent_children_map"]["hmap"]));
  CHECK(got[3] == addr(row[1]));  // child
  CHECK(got[4] == addr(row[6]));  // child's children map
  CHECK(got[6] == addr(row[3]));  // grandchild
  CHECK(got[7] == addr(row[2]));  // valueCtx
  CHECK(got[8] == addr(row[4]));  // payload
}

TEST_CASE("paths --type merges the 2,000 leaked children", "[paths][cli]") {
  const json t = test::sample_truth("ctxleak");
  const std::string child = t["leaked_children"][0][1];
  const json one = test::run_heapwalk_json("paths --address " + child + " " + kCtxleak);
  const std::string type = one["paths"][0]["target"]["label"];
  CHECK(type == "context.<pointee type>");
  const json j =
      test::run_heapwalk_json("paths --limit 0 --type " + test::shell_quote(type) + " " + kCtxleak);
  CHECK(j["selector"]["kind"] == "type");
  REQUIRE(!j["merged"].empty());
  CHECK(j["merged"][0]["count"].get<uint64_t>() >= 2000);
  uint64_t count = 0, bytes = 0;
  for (size_t i = 0; i < j["merged"].size(); ++i) {
    const json& m = j["merged"][i];
    count += m["count"].get<uint64_t>();
    bytes += m["bytes"].get<uint64_t>();
    CHECK(m["labels"].back() == type);
    if (i) CHECK(j["merged"][i - 1]["bytes"].get<uint64_t>() >= m["bytes"].get<uint64_t>());
  }
  CHECK(count == j["targets"]["count"].get<uint64_t>());
  CHECK(bytes == j["targets"]["bytes"].get<uint64_t>());
  // The children's row: the same labels as the single child's path.
  const json& first = j["merged"][0];
  CHECK(first["count"] == 2000);
  CHECK(first["bytes"] == 2000 * t["cancelCtx_size"].get<uint64_t>());
  std::vector<std::string> labels;
  for (const json& h : one["paths"][0]["hops"]) labels.push_back(h["label"]);
  CHECK(first["labels"].get<std::vector<std::string>>() == labels);
  CHECK(first["root"] == one["paths"][0]["root"]);
  // One example path per merged row, each ending at a target with the type.
  CHECK(j["paths"].size() == j["merged"].size());
  for (const json& p : j["paths"]) CHECK(p["target"]["label"] == type);
  // The cancelled children are garbage: counted, not given paths.
  CHECK(j["unreachable"]["count"].get<uint64_t>() >= 500);

  const auto text = test::run_heapwalk("paths --type " + test::shell_quote(type) + " " + kCtxleak);
  REQUIRE(text.status == 0);
  CHECK(text.out.find(" -> " + type + " x2000 (") != std::string::npos);
  CHECK(text.out.find("heapwalk unreachable") != std::string::npos);
}

TEST_CASE("paths --site and --largest", "[paths][cli]") {
  const json s = test::run_heapwalk_json(std::string("paths --site main.go:70 ") + kCtxleak);
  CHECK(s["targets"]["count"].get<uint64_t>() >= 4000);  // payloads and their data
  REQUIRE(!s["merged"].empty());
  const json l = test::run_heapwalk_json(std::string("paths --largest 3 ") + kCtxleak);
  REQUIRE(l["paths"].size() == 3);
  for (size_t i = 1; i < 3; ++i)
    CHECK(l["paths"][i - 1]["target"]["retained"].get<uint64_t>() >=
          l["paths"][i]["target"]["retained"].get<uint64_t>());
}

TEST_CASE("paths with no selector shows what retains the most", "[paths][cli]") {
  const json t = test::sample_truth("ctxleak");
  const uint64_t hmap = addr(t["parent_children_map"]["hmap"]);
  const json j = test::run_heapwalk_json(std::string("paths ") + kCtxleak);
  REQUIRE(!j["paths"].empty());
  const json& p = j["paths"][0];
  CHECK(addr(p["target"]["address"]) == hmap);
  CHECK(addr(p["root"]["address"]) ==
        addr(t["globals"]["main.parentCtx"]) + 8);  // the interface's data word
  const uint64_t retained = p["target"]["retained"];
  // At least the 2,000 leaked payloads with their data.
  CHECK(retained >= 2000 * (48 + t["payload_data_len"].get<uint64_t>()));
  const auto text = test::run_heapwalk(std::string("paths ") + kCtxleak);
  REQUIRE(text.status == 0);
  CHECK(text.err.empty());
  CHECK(text.out.find(hex(hmap)) != std::string::npos);
  CHECK(text.out.find("retains " + report::bytes_human(retained)) != std::string::npos);
}

TEST_CASE("paths: an unreachable target says so", "[paths][cli]") {
  const json t = test::sample_truth("ctxleak");
  const std::string cancelled = t["cancelled_children"][0][1];
  const auto r = test::run_heapwalk("paths --address " + cancelled + " " + kCtxleak);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("unreachable") != std::string::npos);
  CHECK(r.out.find("heapwalk unreachable " + std::string(kCtxleak)) != std::string::npos);
  const json j = test::run_heapwalk_json("paths --address " + cancelled + " " + kCtxleak);
  CHECK(j["paths"].empty());
  CHECK(j["unreachable"]["count"] == 1);
}

TEST_CASE("paths: text, JSON and DOT goldens", "[paths][cli][golden]") {
  for (const char* dump : {kCtxleak, kBlocked}) {
    const std::string path = dump;
    const std::string name = path.substr(path.rfind('/') + 1, path.find('.') - path.rfind('/') - 1);
    for (const char* format : {"text", "json", "dot"}) {
      INFO(path << " " << format);
      const auto r = test::run_heapwalk("paths --format " + std::string(format) + " " + path);
      REQUIRE(r.status == 0);
      CHECK(r.err.empty());
      const std::string ext = std::string(format) == "text" ? "txt" : format;
      test::compare_golden("paths", name + "." + ext, r.out);
    }
  }
  const auto typed =
      test::run_heapwalk(std::string("paths --type 'context.<pointee type>' ") + kCtxleak);
  REQUIRE(typed.status == 0);
  test::compare_golden("paths", "ctxleak.type.txt", typed.out);
  // -k and finalizer notes: a finalizer's referent held only by it, and the
  // plain end of a two-object cycle with one finalizer (truth.json roles
  // finalizer_referent_unreachable/Y_target and cycle_one_finalizer/Q_plain).
  const std::string fin = "samples/go/finalizers/finalizers.heapdump.zst";
  for (const char* format : {"text", "json"}) {
    const auto r = test::run_heapwalk("paths -k 3 --address 0xc00009bad0 --format " +
                                      std::string(format) + " " + fin);
    REQUIRE(r.status == 0);
    test::compare_golden(
        "paths", std::string("finalizers.k3.") + (format[0] == 't' ? "txt" : "json"), r.out);
  }
}

TEST_CASE("paths --format dot is a well-formed digraph", "[paths][cli]") {
  const auto r = test::run_heapwalk(
      std::string("paths --format dot --type 'context.<pointee type>' ") + kCtxleak);
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind("digraph heapwalk_paths {\n", 0) == 0);
  CHECK(r.out.size() >= 2);
  CHECK(r.out.substr(r.out.size() - 2) == "}\n");
  // Every line's string literals close: count unescaped quotes.
  size_t line_start = 0;
  while (line_start < r.out.size()) {
    const size_t end = r.out.find('\n', line_start);
    const std::string line = r.out.substr(line_start, end - line_start);
    int quotes = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\')
        ++i;
      else if (line[i] == '"')
        ++quotes;
    }
    INFO(line);
    CHECK(quotes % 2 == 0);
    line_start = end + 1;
  }
  CHECK(r.out.find(" -> ") != std::string::npos);
  CHECK(r.out.find("[label=\"+0x28\"]") != std::string::npos);  // cancelCtx.children
}

TEST_CASE("paths: usage errors exit 1", "[paths][cli]") {
  const std::string f = std::string(" ") + kCtxleak;
  for (const std::string args :
       {"-k 1001", "-k 0", "--type a --site b", "--address zz", "--address 0x10", "--largest 0",
        "--format xml", "--no-such-option"}) {
    INFO(args);
    const auto r = test::run_heapwalk("paths " + args + f);
    CHECK(r.status == 1);
    CHECK(!r.err.empty());
  }
  CHECK(test::run_heapwalk("paths").status == 1);
}

TEST_CASE(
    "paths -k: the parent context is held by both globals, its 2,000 children only through it",
    "[paths][cli]") {
  const json t = test::sample_truth("ctxleak");
  const uint64_t parent = addr(t["parent_ctx"]);
  // The parentCtx interface's data word is the global's second word; the
  // parentCancel closure (a func value: the global points at the closure
  // object, which captures the parent) is the other referrer.
  const uint64_t ctx_data_word = addr(t["globals"]["main.parentCtx"]) + 8;
  const uint64_t cancel_global = addr(t["globals"]["main.parentCancel"]);
  const auto r =
      test::run_heapwalk("paths -k 5 --format json --address " + hex(parent) + " " + kCtxleak);
  REQUIRE(r.status == 0);
  const json j = json::parse(r.out);
  REQUIRE(j["paths"].size() == 2);  // two referrers, though -k allows five
  const json& first = j["paths"][0];
  CHECK(first["rank"] == 1);
  CHECK(first["referrers"] == 2);
  CHECK(first["referrers_through_target"] == t["leaked_count"]);  // each leaked child's Context
  CHECK(addr(first["root"]["address"]) == ctx_data_word);
  REQUIRE(first["hops"].size() == 1);
  CHECK(addr(first["hops"][0]["address"]) == parent);
  const json& second = j["paths"][1];
  CHECK(second["rank"] == 2);
  CHECK(!second.contains("referrers"));
  CHECK(addr(second["root"]["address"]) == cancel_global);
  REQUIRE(second["hops"].size() == 2);  // global -> closure -> parent
  CHECK(addr(second["hops"][1]["address"]) == parent);
  CHECK(second["hops"][1]["offset"] == 8);  // the closure's captured variable after its fn word

  const auto text = test::run_heapwalk("paths -k 5 --address " + hex(parent) + " " + kCtxleak);
  CHECK(text.out.find("2 referrers (and 2,000 reached only through it)") != std::string::npos);
  CHECK(text.out.find("also held through another referrer (path 2):") != std::string::npos);
  // -k 1 keeps the old shape: one path, no referrer count.
  const json one = json::parse(
      test::run_heapwalk("paths --format json --address " + hex(parent) + " " + kCtxleak).out);
  CHECK(one["paths"].size() == 1);
  CHECK(!one["paths"][0].contains("referrers"));
}

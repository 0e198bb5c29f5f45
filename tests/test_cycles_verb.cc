// `heapwalk cycles` on dumps the real Go runtime wrote, against facts the
// programs printed: on ctxleak the parent/children ring is one cycle entered
// at the parent; on the finalizers sample (and connpool in the corpus) the
// finalizer-cycle verdicts are exactly the rings the real collector never
// freed; text, JSON and DOT goldens in tests/golden/cycles/.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/cli.h"
#include "support/paths.h"

using namespace heapwalk;
using json = nlohmann::json;

namespace {

const char* kCtxleak = "samples/go/ctxleak/ctxleak.heapdump.zst";
const char* kFinalizers = "samples/go/finalizers/finalizers.heapdump.zst";

uint64_t addr(const json& hex) { return std::stoull(hex.get<std::string>(), nullptr, 16); }

// Address -> index of the cycle (in the JSON) holding it, and whether that cycle is a finalizer
// cycle.
struct Membership {
  std::map<uint64_t, size_t> cycle_of;
  std::vector<bool> finalizer;
};

Membership membership(const json& j) {
  Membership m;
  for (size_t k = 0; k < j["cycles"].size(); ++k) {
    const json& c = j["cycles"][k];
    REQUIRE_FALSE(c["members_truncated"].get<bool>());
    for (const json& a : c["members"]) m.cycle_of[addr(a)] = k;
    m.finalizer.push_back(c["finalizer_cycle"].get<bool>());
  }
  return m;
}

}  // namespace

TEST_CASE(
    "cycles: on ctxleak the parent and its 2,000 uncancelled children are one ring entered "
    "at the parent",
    "[cycles][cli]") {
  const json t = test::sample_truth("ctxleak");
  const uint64_t parent = addr(t["parent_ctx"]);
  const json j =
      test::run_heapwalk_json(std::string("cycles --limit 0 --members-limit 0 ") + kCtxleak);
  CHECK(j["schema"] == 1);
  const Membership m = membership(j);
  REQUIRE(m.cycle_of.count(parent));
  const json& ring = j["cycles"][m.cycle_of.at(parent)];
  CHECK(m.cycle_of.at(parent) == 0);  // it retains the most
  CHECK(addr(ring["entry"]["address"]) == parent);
  const json& hops = ring["entry"]["path"]["hops"];
  CHECK(hops.size() == 1);  // the global main.parentCtx points at it
  // main.parentCtx is an interface: the data word after the itab word points.
  CHECK(addr(ring["entry"]["path"]["root"]["address"]) == addr(t["globals"]["main.parentCtx"]) + 8);
  // Every leaked child, its value context and grandchild are on the ring;
  // the payloads hang off it (retained, not members); cancelled ones are
  // garbage, in no live cycle.
  std::set<uint64_t> children;
  for (const json& row : t["leaked_children"]) {
    const uint64_t child = addr(row[1]);
    children.insert(child);
    INFO("leaked child " << row[1]);
    CHECK(m.cycle_of.count(child));
    CHECK((m.cycle_of.count(child) && m.cycle_of.at(child) == 0));
    CHECK(m.cycle_of.count(addr(row[2])));        // valueCtx
    CHECK(m.cycle_of.count(addr(row[3])));        // grandchild
    CHECK_FALSE(m.cycle_of.count(addr(row[4])));  // payload
  }
  for (const json& row : t["cancelled_children"]) CHECK_FALSE(m.cycle_of.count(addr(row[1])));
  CHECK(m.cycle_of.count(addr(t["parent_children_map"]["hmap"])));
  CHECK(m.cycle_of.count(addr(t["parent_children_map"]["buckets"])));
  // The closing edge: a child's Context (data word at +8) -> the parent.
  const json& close = ring["closing_edge"];
  CHECK(addr(close["to"]) == parent);
  CHECK(children.count(addr(close["from"])));
  CHECK(close["offset"] == 8);
  CHECK(ring["context_children"] == t["leaked_count"]);
  CHECK(ring["finalizer_cycle"] == false);
  const uint64_t payload_bytes = 2000 * (t["payload_data_len"].get<uint64_t>());
  CHECK(ring["retained"].get<uint64_t>() > ring["bytes"].get<uint64_t>() + payload_bytes);
  bool verdict = false;
  for (const json& v : ring["verdicts"])
    verdict |= v.get<std::string>().rfind("context tree: 2,000 children never cancelled", 0) == 0;
  CHECK(verdict);
}

// Finalizer verdicts against the real collector (samples/go/finalizers/README.md): an object
// with a finalizer lies on a finalizer cycle exactly when it lies on a ring and the collector
// never freed it; every tracked object on a finalizer cycle was never freed; the self-pointing
// object is on no ring at all.
TEST_CASE(
    "cycles: finalizer cycles on the finalizers sample are what the real collector never "
    "freed",
    "[cycles][cli][finalizers]") {
  const json t = test::sample_truth("finalizers");
  const json j =
      test::run_heapwalk_json(std::string("cycles --limit 0 --members-limit 0 ") + kFinalizers);
  const Membership m = membership(j);
  size_t flagged_tracked = 0;
  std::set<size_t> flagged_cycles;
  for (const json& row : t["tracked_objects"]) {
    const uint64_t a = addr(row["addr"]);
    const std::string what = row["class"].get<std::string>() + " " + row["role"].get<std::string>();
    INFO(what);
    const bool on_ring = m.cycle_of.count(a) > 0;
    const bool flagged = on_ring && m.finalizer[m.cycle_of.at(a)];
    const bool never_freed = row["freed_in_cycle"] == 0;
    if (flagged) {
      CHECK(never_freed);
      ++flagged_tracked;
      flagged_cycles.insert(m.cycle_of.at(a));
    }
    if (row["has_finalizer"].get<bool>()) CHECK(flagged == (on_ring && never_freed));
    if (row["class"] == "self_pointing" && row["role"] == "self") CHECK_FALSE(on_ring);
  }
  // cycle_one_finalizer P, Q; cycle_both_finalizers P, Q; closure_captures_self node.
  CHECK(flagged_tracked == 5);
  CHECK(flagged_cycles.size() == 3);
  size_t flagged_all = 0;
  for (bool f : m.finalizer) flagged_all += f;
  CHECK(flagged_all == 3);
}

// connpool (../shared/corpus): rows never freed by the collector and not reachable from the
// program's roots, with a finalizer, lie on finalizer cycles exactly when they lie on rings;
// nothing the collector freed does.
TEST_CASE("cycles: finalizer cycles on the corpus agree with the real collector",
          "[cycles][cli][corpus]") {
  size_t dumps = 0, flagged_rows = 0;
  for (const test::DumpCase& c : test::corpus_dumps()) {
    if (c.name.find("/connpool") == std::string::npos) continue;
    ++dumps;
    const json t = json::parse(test::read_file(c.truth));
    const json j = test::run_heapwalk_json("cycles --limit 0 --members-limit 0 " +
                                           test::shell_quote(c.dump.string()));
    const Membership m = membership(j);
    std::map<std::string, size_t> col;
    for (size_t i = 0; i < t["objects_columns"].size(); ++i)
      col[t["objects_columns"][i].get<std::string>()] = i;
    const json& rows = t["objects"];
    for (size_t r = 0; r < rows.size(); ++r) {
      const json& row = rows[r];
      const std::string cls = row[col["class"]];
      if (cls.rfind("cleanup_", 0) == 0 || cls == "pool_acyclic") continue;
      const uint64_t a = addr(row[col["addr"]]);
      int cycle = row[col["freed_or_finalized_in_cycle"]];
      // -1: observed through the marker row that follows, which only this object points to.
      for (size_t k = r + 1; cycle == -1 && k < rows.size(); ++k)
        if (rows[k][col["class"]] == cls && rows[k][col["role"]] == "marker")
          cycle = rows[k][col["freed_or_finalized_in_cycle"]];
      const bool reachable = row[col["reachable_from_roots_at_dump"]];
      INFO(c.name << " " << cls << " " << row[col["role"]] << " " << row[col["addr"]]);
      const bool on_ring = m.cycle_of.count(a) > 0;
      const bool flagged = on_ring && m.finalizer[m.cycle_of.at(a)];
      if (flagged) {
        ++flagged_rows;
        CHECK(cycle == 0);
        CHECK_FALSE(reachable);
      }
      if (cycle > 0) CHECK_FALSE(flagged);
      if (row[col["has_finalizer_or_cleanup"]].get<bool>() && cycle == 0 && !reachable &&
          cls != "resurrect")
        CHECK(flagged == on_ring);
    }
  }
  if (dumps == 0) {
    WARN("no connpool dumps in the corpus: skipped");
    return;
  }
  CHECK(flagged_rows > 0);
}

TEST_CASE("cycles: text, JSON and DOT goldens", "[cycles][cli][golden]") {
  for (const char* dump : {kCtxleak, kFinalizers}) {
    const std::string path = dump;
    const std::string name = path.substr(path.rfind('/') + 1, path.find('.') - path.rfind('/') - 1);
    for (const char* format : {"text", "json", "dot"}) {
      INFO(path << " " << format);
      const auto r = test::run_heapwalk("cycles --members-limit 8 --format " + std::string(format) +
                                        " " + path);
      REQUIRE(r.status == 0);
      CHECK(r.err.empty());
      const std::string ext = std::string(format) == "text" ? "txt" : format;
      test::compare_golden("cycles", name + "." + ext, r.out);
    }
  }
  const auto closure =
      test::run_heapwalk(std::string("cycles --cycle 8 --format dot ") + kFinalizers);
  REQUIRE(closure.status == 0);
  test::compare_golden("cycles", "finalizers.closure.dot", closure.out);
  const auto all = test::run_heapwalk(std::string("cycles --all --limit 3 ") + kCtxleak);
  REQUIRE(all.status == 0);
  test::compare_golden("cycles", "ctxleak.all.txt", all.out);
}

TEST_CASE("cycles: usage errors", "[cycles][cli]") {
  CHECK(test::run_heapwalk(std::string("cycles --cycle 0 ") + kCtxleak).status == 1);
  CHECK(test::run_heapwalk(std::string("cycles --cycle 999 ") + kCtxleak).status == 1);
  CHECK(test::run_heapwalk(std::string("cycles --min-bytes lots ") + kCtxleak).status == 1);
  CHECK(test::run_heapwalk("cycles /nonexistent.heapdump").status == 2);
}

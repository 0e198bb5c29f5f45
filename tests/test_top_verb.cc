// `heapwalk top` through the CLI on the samples (and orderindex in the corpus):
// the culprits the programs know come first with the retained sizes their
// truth files imply; JSON schema; text goldens in tests/golden/top/
// (HEAPWALK_UPDATE_GOLDEN=1 rewrites them).
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "heapwalk/passes/mark.h"
#include "heapwalk/snapshot.h"
#include "support/paths.h"

using namespace heapwalk;
using heapwalk::test::DumpCase;
using json = nlohmann::json;
namespace fs = std::filesystem;

#include <map>
#define VERB_NAME "top"

namespace {

struct Run {
  int status = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// `heapwalk ARGS` with cwd = the source dir (relative sample paths: the
// outputs hold no machine paths).
Run heapwalk_cli(const std::string& args) {
  fs::path err_file = fs::temp_directory_path() / ("heapwalk_" VERB_NAME "_" + std::to_string(::getpid()) + ".stderr");
  std::string command = "cd " + quote(test::source_dir().string()) + " && " +
                        quote(test::heapwalk_binary().string()) + " " + args + " 2>" + quote(err_file.string());
  Run r;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(err_file, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  std::error_code ec;
  fs::remove(err_file, ec);
  return r;
}

json run_json(const std::string& args) {
  Run r = heapwalk_cli(args + " --format json");
  INFO("heapwalk " << args << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  return json::parse(r.out);
}

std::string relative_dump(const DumpCase& c) {
  return fs::relative(c.dump, test::source_dir()).generic_string();
}
std::string sample_name(const DumpCase& c) { return c.name.substr(c.name.rfind('/') + 1); }

json truth_of(const std::string& sample) {
  return json::parse(test::read_file(test::source_dir() / "samples/go" / sample / (sample + ".truth.json")));
}

uint64_t addr(const json& hex) { return std::stoull(hex.get<std::string>(), nullptr, 16); }

// tests/golden/<verb>/<sample>.txt; HEAPWALK_UPDATE_GOLDEN=1 rewrites it.
void compare_golden(const DumpCase& c, const std::string& actual) {
  fs::path path = test::source_dir() / "tests" / "golden" / VERB_NAME / (sample_name(c) + ".txt");
  const char* update = std::getenv("HEAPWALK_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << actual;
    REQUIRE(out.good());
    WARN("rewrote " << fs::relative(path, test::source_dir()).generic_string());
    return;
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) FAIL("no golden " << path << ": generate it with HEAPWALK_UPDATE_GOLDEN=1");
  std::string golden = test::read_file(path);
  if (golden == actual) {
    SUCCEED();
    return;
  }
  size_t line = 1, i = 0;
  while (i < golden.size() && i < actual.size() && golden[i] == actual[i]) {
    if (golden[i] == '\n') ++line;
    ++i;
  }
  auto line_at = [](const std::string& s, size_t pos) {
    size_t b = s.rfind('\n', pos == 0 ? 0 : pos - 1);
    b = (b == std::string::npos || pos == 0) ? 0 : b + 1;
    size_t e = s.find('\n', pos);
    return s.substr(b, e == std::string::npos ? std::string::npos : e - b);
  };
  FAIL_CHECK(VERB_NAME " text of " << relative_dump(c) << " differs from the golden at line " << line
                                   << "\n  golden: " << line_at(golden, i) << "\n  actual: " << line_at(actual, i)
                                   << "\n(if intended: HEAPWALK_UPDATE_GOLDEN=1, then review git diff tests/golden)");
}

void golden_all_samples(const std::string& args) {
  auto dumps = test::sample_dumps();
  REQUIRE(!dumps.empty());
  for (const DumpCase& c : dumps) {
    std::string rel = relative_dump(c);
    INFO(rel);
    Run r = heapwalk_cli(std::string(VERB_NAME) + " " + args + " " + quote(rel));
    INFO("stderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.rfind(rel + ": ", 0) == 0);
    CHECK(r.out.find(test::source_dir().string()) == std::string::npos);
    compare_golden(c, r.out);
  }
}


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

TEST_CASE("top: text golden of every sample", "[golden][top][cli]") { golden_all_samples("-n 12"); }

TEST_CASE("top: ctxleak names the parent's children map first, retaining every leaked row", "[top][cli]") {
  json t = truth_of("ctxleak");
  json j = run_json(std::string("top -n 10 ") + kCtxleak);
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
  const uint64_t per_row = t["cancelCtx_size"].get<uint64_t>() * 2 + t["valueCtx_size"].get<uint64_t>() + 48 +
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
  json t = truth_of("ctxleak");
  const uint64_t leaked = t["leaked_count"];
  for (const char* by : {"type", "site"}) {
    INFO(by);
    json j = run_json(std::string("top -n 0 --by ") + by + " " + kCtxleak);
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
      CHECK(r["retained"].get<uint64_t>() <= leaked * (48 + t["payload_data_len"].get<uint64_t>() + 64));
    }
    CHECK(found);
  }
  // Every label's retained bytes are at most the live bytes summed, and the
  // outermost-only rule means a label's bytes never exceed the live heap even
  // for labels that nest (the cancelCtx chain parent -> child -> grandchild).
}

TEST_CASE("top: growingmap's registry map retains its entries", "[top][cli]") {
  json t = truth_of("growingmap");
  json j = run_json(std::string("top -n 5 ") + kGrowingmap);
  check_object_rows(j);
  const json& m = t["registry_map"];
  const uint64_t hmap = addr(m["hmap"]), buckets = addr(m["buckets"]);
  const uint64_t a = addr(j["top"][0]["address"]);
  CHECK((a == hmap || a == buckets));
  // Every 10th entry is also in main.recent: those are dominated by neither.
  const uint64_t entries = t["entries_in_map"].get<uint64_t>() - t["recent_slice"]["len"].get<uint64_t>();
  const uint64_t floor = entries * (t["entry_slot_size"].get<uint64_t>() + t["entry_data_slot_size"].get<uint64_t>()) +
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
    json j = run_json("top -n 5 " + quote(c.dump.string()));
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
  CHECK(heapwalk_cli(std::string("top --by colour ") + kCtxleak).status == 1);
  CHECK(heapwalk_cli("top").status == 1);
}

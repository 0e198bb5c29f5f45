// `heapwalk dominators` through the CLI: the flat JSON tree is consistent
// (parents first, retained = own size + shown children + omitted ones), the
// roots retain the live bytes, --address takes interior addresses; text
// goldens in tests/golden/dominators/ (HEAPWALK_UPDATE_GOLDEN=1 rewrites them).
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

#include <set>
#define VERB_NAME "dominators"

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
    for (const char* k : {"id", "parent", "depth", "size", "retained", "share", "label"}) CHECK(n.contains(k));
    if (i == 0) continue;
    int64_t p = n["parent"];
    REQUIRE(p >= 0);
    REQUIRE(static_cast<size_t>(p) < i);
    CHECK(n["depth"].get<uint64_t>() == nodes[p]["depth"].get<uint64_t>() + 1);
    CHECK(n["retained"].get<uint64_t>() <= nodes[p]["retained"].get<uint64_t>());
    below[p] += n["retained"].get<uint64_t>();
  }
  for (const json& o : j["omitted"]) below[o["parent"].get<size_t>()] += o["retained"].get<uint64_t>();
  for (size_t i = 0; i < nodes.size(); ++i) {
    INFO(nodes[i].dump());
    CHECK(below[i] + nodes[i]["size"].get<uint64_t>() == nodes[i]["retained"].get<uint64_t>());
  }
}

}  // namespace

TEST_CASE("dominators: text golden of every sample", "[golden][dominators][cli]") { golden_all_samples(""); }

TEST_CASE("dominators: the roots retain exactly the live bytes", "[dominators][cli]") {
  json j = run_json(std::string("dominators --depth 3 ") + kCtxleak);
  check_tree(j);
  Snapshot s = load_snapshot((test::source_dir() / kCtxleak).string());
  CHECK(j["live_bytes"] == mark(s).live_bytes);
  CHECK(j["nodes"][0]["retained"] == j["live_bytes"]);
  CHECK(!j["nodes"][0].contains("address"));
}

TEST_CASE("dominators --address: the children map's bucket array dominates every leaked child", "[dominators][cli]") {
  json t = truth_of("ctxleak");
  const uint64_t buckets = addr(t["parent_children_map"]["buckets"]);
  char inside[32];
  std::snprintf(inside, sizeof inside, "0x%llx", static_cast<unsigned long long>(buckets + 16));  // interior address
  json j = run_json(std::string("dominators --depth 1 --min-bytes 0 --address ") + inside + " " + kCtxleak);
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
    CHECK(j["nodes"][i - 1]["retained"].get<uint64_t>() >= j["nodes"][i]["retained"].get<uint64_t>());
}

TEST_CASE("dominators: small children are summarised, bad addresses refused", "[dominators][cli]") {
  json t = truth_of("ctxleak");
  std::string buckets = t["parent_children_map"]["buckets"];
  json j = run_json("dominators --depth 1 --min-bytes 1MiB --address " + buckets + " " + kCtxleak);
  check_tree(j);
  CHECK(j["nodes"].size() == 1);
  REQUIRE(j["omitted"].size() == 1);
  CHECK(j["omitted"][0]["count"].get<uint64_t>() >= t["leaked_count"].get<uint64_t>());
  Run text = heapwalk_cli("dominators --depth 1 --min-bytes 1MiB --address " + buckets + " " + kCtxleak);
  CHECK(text.out.find("smaller children, ") != std::string::npos);
  // No object there; garbage (a cancelled child).
  CHECK(heapwalk_cli(std::string("dominators --address 0x10 ") + kCtxleak).status == 1);
  std::string cancelled = t["cancelled_children"][0][1];
  Run r = heapwalk_cli("dominators --address " + cancelled + " " + kCtxleak);
  CHECK(r.status == 1);
  CHECK(r.err.find("unreachable") != std::string::npos);
}

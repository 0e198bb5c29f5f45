// `heapwalk goroutines` through the CLI on blockedgoroutines: the 50 blocked
// consumers form one group retaining their 64 KiB buffers, the 10 mutex
// waiters another; JSON schema; text goldens in tests/golden/goroutines/
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

#define VERB_NAME "goroutines"

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


const char* kBlocked = "samples/go/blockedgoroutines/blockedgoroutines.heapdump.zst";

bool has_frame(const json& group, const std::string& function) {
  for (const json& f : group["stack"])
    if (f == function) return true;
  return false;
}

}  // namespace

TEST_CASE("goroutines: text golden of every sample", "[golden][goroutines][cli]") { golden_all_samples(""); }

TEST_CASE("goroutines: blocked consumers and mutex waiters, and what only they keep", "[goroutines][cli]") {
  json t = truth_of("blockedgoroutines");
  json j = run_json(std::string("goroutines ") + kBlocked);
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
    for (const char* k : {"count", "status", "wait_reason", "stack", "retained", "top_labels"}) CHECK(g.contains(k));
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
  CHECK((*consumers)["top_labels"][0]["bytes"].get<uint64_t>() >= counts["consumer"].get<uint64_t>() * 65536);
  CHECK(&groups[0] == consumers);  // the largest group

  REQUIRE(waiters != nullptr);
  CHECK((*waiters)["count"] == counts["mutex_waiter"]);
  CHECK((*waiters)["wait_reason"] == "semacquire");
  CHECK((*waiters)["retained"].get<uint64_t>() >= counts["mutex_waiter"].get<uint64_t>() * 4096);

  CHECK((*consumers)["retained"].get<uint64_t>() + (*waiters)["retained"].get<uint64_t>() >=
        t["expected_retained_by_blocked_goroutines_bytes"].get<uint64_t>());

  Run text = heapwalk_cli(std::string("goroutines ") + kBlocked);
  CHECK(text.out.find("50 goroutines [chan receive], retaining 3.12 MiB") != std::string::npos);
}

TEST_CASE("goroutines: a global's objects are no goroutine's", "[goroutines][cli]") {
  // ctxleak's leak hangs off main.parentCtx (a global) as well as main's
  // frame: no goroutine alone retains it.
  json j = run_json("goroutines samples/go/ctxleak/ctxleak.heapdump.zst");
  for (const json& g : j["groups"]) CHECK(g["retained"].get<uint64_t>() < 1000000);
}

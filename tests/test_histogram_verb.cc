// `heapwalk histogram` through the CLI: options, ordering, totals against the
// library, JSON schema, and --binary errors and warnings.

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "support/cli.h"
#include "support/paths.h"

using namespace heapwalk;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* kCtxleak = "samples/go/ctxleak/ctxleak.heapdump.zst";

void check_sorted(const json& rows) {
  for (size_t i = 1; i < rows.size(); ++i) {
    INFO("row " << i);
    uint64_t a = rows[i - 1]["bytes"], b = rows[i]["bytes"];
    CHECK(a >= b);
    if (a == b)
      CHECK(rows[i - 1]["label"].get<std::string>() < rows[i]["label"].get<std::string>());
  }
}

}  // namespace

TEST_CASE("histogram: JSON by type, totals are the live heap", "[histogram][cli]") {
  test::CliRun r = test::run_heapwalk(std::string("histogram --format json -n 0 ") + kCtxleak);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  json j = json::parse(r.out);
  CHECK(j["schema"] == 1);
  CHECK(j["by"] == "type");
  CHECK(j["objects"] == "live");
  const Snapshot s = load_snapshot((test::source_dir() / kCtxleak).string());
  const MarkResult m = mark(s);
  CHECK(j["total"]["count"] == m.live_objects);
  CHECK(j["total"]["bytes"] == m.live_bytes);
  CHECK(j["rows"].size() == j["total"]["labels"]);
  CHECK(j["not_shown"]["labels"] == 0);
  check_sorted(j["rows"]);
  uint64_t count = 0, bytes = 0;
  bool cancel_ctx = false;
  for (const auto& row : j["rows"]) {
    count += row["count"].get<uint64_t>();
    bytes += row["bytes"].get<uint64_t>();
    if (row["label"] == "context.<pointee type>") {
      cancel_ctx = true;
      CHECK(row["type"] == "context.<pointee type>");
      CHECK(row["count"].get<uint64_t>() >= 6000);  // 2,000 x (child, grandchild, valueCtx)
      CHECK_FALSE(row.contains("site"));            // they come from three sites
    }
    if (row.contains("type")) CHECK(row["type"] == row["label"]);
  }
  CHECK(cancel_ctx);
  CHECK(count == m.live_objects);
  CHECK(bytes == m.live_bytes);
}

TEST_CASE("histogram: by site, by size, --all, -n", "[histogram][cli]") {
  test::CliRun r =
      test::run_heapwalk(std::string("histogram --by site --format json -n 5 ") + kCtxleak);
  REQUIRE(r.status == 0);
  json j = json::parse(r.out);
  REQUIRE(j["rows"].size() == 5);
  CHECK(j["rows"][0]["label"] == "main.newPayload (main.go:70)");
  CHECK(j["rows"][0]["site"] == "main.newPayload (main.go:70)");
  CHECK(j["rows"][0]["count"] == 6000);
  check_sorted(j["rows"]);
  uint64_t shown = 0;
  for (const auto& row : j["rows"]) shown += row["bytes"].get<uint64_t>();
  CHECK(shown + j["not_shown"]["bytes"].get<uint64_t>() == j["total"]["bytes"].get<uint64_t>());

  r = test::run_heapwalk(std::string("histogram --by size --all --format json -n 0 ") + kCtxleak);
  REQUIRE(r.status == 0);
  j = json::parse(r.out);
  const Snapshot s = load_snapshot((test::source_dir() / kCtxleak).string());
  CHECK(j["objects"] == "all");
  CHECK(j["total"]["count"] == s.object_count() - s.phantom_count());
  for (const auto& row : j["rows"]) {
    std::string label = row["label"];
    REQUIRE(label.rfind("[", 0) == 0);
    uint64_t size = std::stoull(label.substr(1));
    CHECK(row["bytes"].get<uint64_t>() == size * row["count"].get<uint64_t>());
  }
  check_sorted(j["rows"]);
}

TEST_CASE("histogram: text output", "[histogram][cli]") {
  test::CliRun r = test::run_heapwalk(std::string("histogram -n 3 ") + kCtxleak);
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind(std::string(kCtxleak) + ": live objects by type: 18,268 objects, 3.24 MiB",
                    0) == 0);
  CHECK(r.out.find("  count     bytes  share  retained  label\n") != std::string::npos);
  // Payloads and their data are allocated at one site and point nowhere else:
  // the row retains exactly its own bytes.
  CHECK(r.out.find("6,000  2.09 MiB  64.5%  2.09 MiB  [site] main.newPayload (main.go:70)\n") !=
        std::string::npos);
  CHECK(r.out.find("more labels:") != std::string::npos);
}

// Retained bytes per row: never less than the row's own bytes (every live
// object is dominated by itself); the parent context's type row retains the
// leaked tree under it; --all has no retained column (garbage has no
// dominators).
TEST_CASE("histogram: retained bytes per label", "[histogram][cli]") {
  test::CliRun live = test::run_heapwalk(std::string("histogram -n 0 --format json ") + kCtxleak);
  REQUIRE(live.status == 0);
  json j = json::parse(live.out);
  uint64_t biggest = 0;
  for (const auto& row : j["rows"]) {
    REQUIRE(row.contains("retained"));
    CHECK(row["retained"].get<uint64_t>() >= row["bytes"].get<uint64_t>());
    CHECK(row["retained"].get<uint64_t>() <= j["total"]["bytes"].get<uint64_t>());
    biggest = std::max(biggest, row["retained"].get<uint64_t>());
  }
  CHECK(biggest * 10 >= j["total"]["bytes"].get<uint64_t>() * 9);  // the context tree holds ~all
  test::CliRun all = test::run_heapwalk(std::string("histogram --all --format json ") + kCtxleak);
  REQUIRE(all.status == 0);
  // Named: a range-for over parse(...)["rows"] would iterate a destroyed
  // temporary (use-after-free, found by the ASan test run).
  const json all_json = json::parse(all.out);
  for (const auto& row : all_json["rows"]) CHECK(!row.contains("retained"));
}

TEST_CASE("histogram: usage and input errors", "[histogram][cli]") {
  CHECK(test::run_heapwalk(std::string("histogram --by colour ") + kCtxleak).status == 1);
  CHECK(test::run_heapwalk("histogram").status == 1);
  test::CliRun r =
      test::run_heapwalk(std::string("histogram --binary /nonexistent/exe ") + kCtxleak);
  CHECK(r.status == 2);
  CHECK(r.err.find("/nonexistent/exe") != std::string::npos);
  r = test::run_heapwalk(std::string("histogram --binary ") + kCtxleak + " " +
                         kCtxleak);  // a dump is not ELF
  CHECK(r.status == 2);
  CHECK(r.err.find("ELF") != std::string::npos);
  // Every verb accepts --binary.
  CHECK(test::run_heapwalk("summary --help").out.find("--binary") != std::string::npos);
  CHECK(test::run_heapwalk("unreachable --help").out.find("--binary") != std::string::npos);
}

TEST_CASE("histogram and summary with --binary: full names, warnings on a mismatch",
          "[histogram][cli][go]") {
  if (std::system("command -v go >/dev/null 2>&1") != 0) {
    WARN("skipped: no go on PATH");
    return;
  }
  fs::path dir = fs::temp_directory_path() / ("heapwalk_hist_go_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string env =
      "GOCACHE=" +
      test::shell_quote((fs::temp_directory_path() / "heapwalk-test-gocache").string()) +
      " GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local GOEXPERIMENT= ";
  std::string build = "cd " + test::shell_quote((test::source_dir() / "samples" / "go").string()) +
                      " && " + env + "go build -trimpath -o " +
                      test::shell_quote((dir / "ctxleak").string()) + " ./ctxleak >/dev/null 2>&1";
  REQUIRE(std::system(build.c_str()) == 0);
  std::string exe = test::shell_quote((dir / "ctxleak").string());
  test::CliRun r = test::run_heapwalk("histogram --format json --binary " + exe + " " + kCtxleak);
  REQUIRE(r.status == 0);
  json j = json::parse(r.out);
  const json truth =
      json::parse(test::read_file(test::source_dir() / "samples/go/ctxleak/ctxleak.truth.json"));
  std::string go = "";
  {
    FILE* p = ::popen("go env GOVERSION", "r");
    char buf[64] = {};
    if (p && std::fgets(buf, sizeof buf, p)) go = buf;
    if (p) ::pclose(p);
    while (!go.empty() && go.back() == '\n') go.pop_back();
  }
  if (go == truth["go_version"]) {
    CHECK(r.err.empty());
    bool cancel = false, value = false;
    for (const auto& row : j["rows"]) {
      // The objects' own types (not the pointers to them).
      cancel |= row["label"] == "context.cancelCtx" &&
                row["count"] == 4001;  // children, grandchildren, parent
      value |= row["label"] == "context.valueCtx" && row["count"] == 2000;
    }
    CHECK(cancel);
    CHECK(value);
  } else {
    CHECK(r.err.find("warning") != std::string::npos);
  }
  // The ctxleak executable is not the garbage sample's program.
  r = test::run_heapwalk("summary --binary " + exe + " samples/go/garbage/garbage.heapdump.zst");
  CHECK(r.status == 0);
  CHECK(r.err.find("heapwalk: warning:") != std::string::npos);
  CHECK(r.err.find("does not match the dump") != std::string::npos);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

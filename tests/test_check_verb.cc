// `heapwalk check` and `heapwalk diff` through the CLI on the sessionleak
// sample (a Go load test's dumps, short and long run): measured values
// against the facts the Go program printed, every exit code, JSON, and the
// README's CI example run for real.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "heapwalk/passes/mark.h"
#include "support/cli.h"
#include "support/paths.h"

using namespace heapwalk;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kDir = "samples/go/sessionleak/";
const std::string kShort = kDir + "sessionleak.short.heapdump.zst";
const std::string kLong = kDir + "sessionleak.long.heapdump.zst";
const std::string kRules = kDir + "heapwalk.rules";

json truth(const std::string& run) {
  return json::parse(
      test::read_file(test::source_dir() / kDir / ("sessionleak." + run + ".truth.json")));
}

const json& result(const json& j, const std::string& rule) {
  for (const json& r : j["results"])
    if (r["rule"] == rule) return r;
  FAIL("no result for " << rule);
  throw;
}

test::CliRun check(const std::string& args) { return test::run_heapwalk("check " + args); }

}  // namespace

TEST_CASE("check: the sample's budgets, measured against what the Go test printed",
          "[check][cli]") {
  for (const std::string run : {"short", "long"}) {
    INFO(run);
    const json t = truth(run);
    const std::string dump = run == "short" ? kShort : kLong;
    test::CliRun r = check("--format json --rules " + kRules + " " + dump);
    INFO(r.err);
    REQUIRE(r.status == (run == "short" ? 0 : 3));
    const json j = json::parse(r.out);
    CHECK(j["schema"] == 1);
    CHECK(j["results"].size() == 8);
    const Snapshot s = load_snapshot((test::source_dir() / dump).string());
    const MarkResult m = mark(s);
    CHECK(result(j, "max live_bytes 64MiB")["value"] == m.live_bytes);
    CHECK(result(j, "max unreachable_bytes 16MiB")["value"] == m.unreachable_bytes);
    // main.newSession allocates only the session struct: live ones are the leaked sessions.
    const json& count = result(j, "max count site:sessionleak.newSession 200");
    CHECK(count["value"] == t["sessions_leaked"]);
    CHECK(count["matched"]["bytes"] ==
          t["sessions_leaked"].get<uint64_t>() * t["session_slot_size"].get<uint64_t>());
    // The set retains at least every leaked session and its 4 KiB buffer.
    const json& retained = result(j, "max retained site:sessionleak.newSession 1MiB");
    CHECK(retained["value"].get<uint64_t>() >=
          t["sessions_leaked"].get<uint64_t>() *
              (t["session_slot_size"].get<uint64_t>() + t["buffer_len"].get<uint64_t>()));
    CHECK(retained["value"].get<uint64_t>() < m.live_bytes);
    CHECK(result(j, "max goroutines wait:\"chan receive\" 150")["value"] ==
          t["goroutines_chan_receive"]);
    CHECK(result(j, "no finalizer-cycles")["value"] == 0);
    CHECK(j["failed"] == (run == "short" ? 0 : 4));
    for (const json& rr : j["results"]) {
      CHECK(rr["pass"] == (rr["value"].get<uint64_t>() <= rr["limit"].get<uint64_t>()));
      CHECK(rr.contains("offenders") == !rr["pass"].get<bool>());
    }
  }
}

TEST_CASE("check: failing rules explain themselves", "[check][cli]") {
  test::CliRun r = check("--rules " + kRules + " " + kLong);
  INFO(r.out << r.err);
  REQUIRE(r.status == 3);
  CHECK(r.err.empty());
  CHECK(r.out.rfind(kLong + ": 8 rules, 4 passed, 4 failed", 0) == 0);
  CHECK(r.out.find("PASS  max live_bytes 64MiB: ") != std::string::npos);
  CHECK(r.out.find("FAIL  max count site:sessionleak.newSession 200: 480 > 200  [" + kRules +
                   ":5]") != std::string::npos);
  // The retained set's offenders: the leaked buffers first, 480 of them.
  CHECK(std::regex_search(r.out, std::regex("480 objects, 1\\.88 MiB  \\[site\\] "
                                            "heapwalk/samples/sessionleak\\.newBuffer")));
  // One retention path from a global to a session.
  CHECK(std::regex_search(r.out, std::regex("one retention path:\n.*sessionleak\\.newSession.*\n"
                                            "        bss bss\\+0x[0-9a-f]+\n")));
  CHECK(r.out.find("480 goroutines [chan receive] heapwalk/samples/sessionleak.(*session).watch") !=
        std::string::npos);
  test::CliRun ok = check("--rules " + kRules + " " + kShort);
  CHECK(ok.status == 0);
  CHECK(ok.out.find("FAIL") == std::string::npos);
  CHECK(ok.out.find("top offenders") == std::string::npos);
}

TEST_CASE("check: --rule, JSON paths and offenders", "[check][cli]") {
  test::CliRun r = check(
      "--format json --rule 'max live_bytes 1MiB' --rule 'max count "
      "site:newBuffer 10' --rule 'max cycle_bytes 0' -n 2 " +
      kLong);
  REQUIRE(r.status == 3);
  const json j = json::parse(r.out);
  REQUIRE(j["results"].size() == 3);
  const json& live = j["results"][0];
  CHECK(live["source"] == "--rule 1");
  CHECK(live["pass"] == false);
  CHECK(live["offenders"].size() == 2);
  CHECK(live["offenders_total"].get<uint64_t>() > 2);
  REQUIRE(live.contains("path"));
  CHECK(live["path"]["target"].contains("retained"));  // the biggest retainer
  CHECK(live["path"]["hops"].size() >= 1);
  const json& buffers = j["results"][1];
  CHECK(buffers["value"] == truth("long")["sessions_leaked"]);
  CHECK(buffers["offenders"][0]["count"] == buffers["value"]);
  CHECK(buffers["path"]["hops"].back()["address"] == buffers["path"]["target"]["address"]);
  const json& cycles = j["results"][2];
  CHECK(cycles["unit"] == "bytes");
  CHECK(cycles["value"].get<uint64_t>() > 0);  // map buckets <-> contexts: Go heaps have cycles
  uint64_t sum = 0;
  for (const json& o : cycles["offenders"]) sum += o["bytes"].get<uint64_t>();
  CHECK(sum <= cycles["value"].get<uint64_t>());
}

TEST_CASE("check: exit codes", "[check][cli]") {
  fs::path tmp = fs::temp_directory_path() / ("heapwalk_check_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  const std::string bad = (tmp / "bad.rules").string();
  std::ofstream(bad) << "# fine\nmax live_bytes 1GiB\nmax count colour:red 3\n";
  test::CliRun r = check("--rules " + test::shell_quote(bad) + " " + kShort);
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "heapwalk: " + bad +
                     ":3:11: expected a selector type:NAME or site:PATTERN, got 'colour:red'\n");
  // Malformed rules are reported before the dump is even read.
  r = check("--rule 'max live_bytes 5 parsecs' no-such.heapdump");
  CHECK(r.status == 1);
  CHECK(r.err == "heapwalk: --rule 1:1:18: unexpected 'parsecs' after the rule\n");
  r = check("--rule '  # nothing' " + kShort);
  CHECK(r.status == 1);
  CHECK(r.err.find("--rule 1:1:1: empty rule") != std::string::npos);
  r = check(kShort);
  CHECK(r.status == 1);
  CHECK(r.err.find("give rules with --rules FILE or --rule") != std::string::npos);
  const std::string empty = (tmp / "empty.rules").string();
  std::ofstream(empty) << "# nothing yet\n";
  CHECK(check("--rules " + test::shell_quote(empty) + " " + kShort).status == 1);
  // Unreadable input: the dump or the rules file.
  r = check("--rule 'max live_bytes 1GiB' no-such.heapdump");
  CHECK(r.status == 2);
  CHECK(r.err.find("no-such.heapdump") != std::string::npos);
  r = check("--rules " + test::shell_quote((tmp / "missing.rules").string()) + " " + kShort);
  CHECK(r.status == 2);
  CHECK(r.err.find("missing.rules: cannot read rules") != std::string::npos);
  const std::string cut = (tmp / "cut.heapdump").string();
  {
    std::string bytes =
        test::read_file(test::source_dir() / "samples/go/garbage/garbage.heapdump.zst");
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  r = check("--rule 'max live_bytes 1GiB' " + test::shell_quote(cut));
  CHECK(r.status == 2);
  r = check("--rule 'max live_bytes 1GiB' --allow-truncated " + test::shell_quote(cut));
  CHECK(r.status == 2);
  // 0 and 3.
  CHECK(check("--rule 'max live_bytes 1GiB' " + kShort).status == 0);
  CHECK(check("--rule 'max live_bytes 1KiB' " + kShort).status == 3);
  CHECK(
      check("--rule 'no finalizer-cycles' samples/go/finalizers/finalizers.heapdump.zst").status ==
      3);
  fs::remove_all(tmp);
}

TEST_CASE("check: no finalizer-cycles names the objects Go never frees", "[check][cli]") {
  test::CliRun r = check(
      "--format json --rule 'no finalizer-cycles' "
      "samples/go/finalizers/finalizers.heapdump.zst");
  REQUIRE(r.status == 3);
  const json j = json::parse(r.out);
  const json& f = j["results"][0];
  const json summary =
      test::run_heapwalk_json("summary samples/go/finalizers/finalizers.heapdump.zst");
  CHECK(f["value"] == summary["finalizers"]["cyclic"]["objects"]);
  CHECK(f["value"].get<uint64_t>() > 0);
  REQUIRE(f.contains("path"));
  CHECK(f["path"]["root"]["kind"] == "finalizer");
}

TEST_CASE("diff: growth between the short and the long run, matched by label", "[diff][cli]") {
  const json s = truth("short"), l = truth("long");
  test::CliRun r = test::run_heapwalk("diff --format json --by site -n 0 " + kShort + " " + kLong);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json j = json::parse(r.out);
  CHECK(j["schema"] == 1);
  CHECK(j["by"] == "site");
  CHECK(j["fail_on_growth"].is_null());
  const Snapshot a = load_snapshot((test::source_dir() / kShort).string());
  const Snapshot b = load_snapshot((test::source_dir() / kLong).string());
  const MarkResult ma = mark(a), mb = mark(b);
  CHECK(j["totals"]["live_bytes"]["base"] == ma.live_bytes);
  CHECK(j["totals"]["live_bytes"]["target"] == mb.live_bytes);
  CHECK(j["totals"]["live_bytes"]["delta"] == int64_t(mb.live_bytes) - int64_t(ma.live_bytes));
  CHECK(j["totals"]["live_objects"]["target"] == mb.live_objects);
  // Growth sorted, largest first; the first row is the leaked buffers.
  const json& rows = j["rows"];
  REQUIRE(rows.size() > 5);
  for (size_t i = 1; i < rows.size(); ++i)
    CHECK(rows[i - 1]["delta"]["bytes"].get<int64_t>() >= rows[i]["delta"]["bytes"].get<int64_t>());
  const int64_t grown = l["sessions_leaked"].get<int64_t>() - s["sessions_leaked"].get<int64_t>();
  CHECK(rows[0]["label"].get<std::string>().find("sessionleak.newBuffer") != std::string::npos);
  CHECK(rows[0]["delta"]["count"] == grown);
  CHECK(rows[0]["delta"]["bytes"] == grown * 4096);
  bool sessions = false;
  uint64_t base_bytes = 0, target_bytes = 0;
  for (const json& row : rows) {
    base_bytes += row["base"]["bytes"].get<uint64_t>();
    target_bytes += row["target"]["bytes"].get<uint64_t>();
    if (row["label"].get<std::string>().find("sessionleak.newSession") == std::string::npos)
      continue;
    sessions = true;
    CHECK(row["base"]["count"] == s["sessions_leaked"]);
    CHECK(row["target"]["count"] == l["sessions_leaked"]);
    CHECK(row["delta"]["retained"].get<int64_t>() >= grown * (4096 + 96));
  }
  CHECK(sessions);
  CHECK(base_bytes == ma.live_bytes);  // -n 0: every label, nothing lost or counted twice
  CHECK(target_bytes == mb.live_bytes);
  bool chan = false;
  for (const json& g : j["goroutines"])
    if (g["state"] == "chan receive") {
      chan = true;
      CHECK(g["base"] == s["goroutines_chan_receive"]);
      CHECK(g["target"] == l["goroutines_chan_receive"]);
    }
  CHECK(chan);
  // Swapped: everything shrinks; the same labels, negated.
  const json back = test::run_heapwalk_json("diff --by site -n 0 " + kLong + " " + kShort);
  CHECK(back["totals"]["live_bytes"]["delta"] ==
        -j["totals"]["live_bytes"]["delta"].get<int64_t>());
  CHECK(back["rows"].size() == rows.size());
}

TEST_CASE("diff: text and exit codes", "[diff][cli]") {
  test::CliRun r = test::run_heapwalk("diff -n 3 " + kShort + " " + kLong);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind(kShort + " -> " + kLong + " (by type)\n", 0) == 0);
  CHECK(r.out.find("growth by type, largest first:") != std::string::npos);
  CHECK(r.out.find("more labels (-n 0 shows all)") != std::string::npos);
  r = test::run_heapwalk("diff --fail-on-growth 1MiB " + kShort + " " + kLong);
  CHECK(r.status == 3);
  CHECK(r.out.find("FAIL  live bytes grew by +") != std::string::npos);
  r = test::run_heapwalk("diff --fail-on-growth 100MiB " + kShort + " " + kLong);
  CHECK(r.status == 0);
  CHECK(r.out.find("PASS  live bytes grew by +") != std::string::npos);
  CHECK(test::run_heapwalk("diff --fail-on-growth 1KiB " + kLong + " " + kShort).status == 0);
  CHECK(test::run_heapwalk("diff --fail-on-growth 0 " + kShort + " " + kShort).status == 0);
  r = test::run_heapwalk("diff --fail-on-growth lots " + kShort + " " + kLong);
  CHECK(r.status == 1);
  CHECK(r.err.find("--fail-on-growth") != std::string::npos);
  CHECK(test::run_heapwalk("diff " + kShort).status == 1);
  CHECK(test::run_heapwalk("diff --by size " + kShort + " " + kLong).status == 1);
  r = test::run_heapwalk("diff " + kShort + " no-such.heapdump");
  CHECK(r.status == 2);
  CHECK(r.err.find("no-such.heapdump") != std::string::npos);
}

// The README's worked CI example (the block after <!-- ci-example -->): every
// `heapwalk` command in it runs against the committed dumps, from
// samples/go as the README says, with the exit code its `# exit N` comment
// promises; failing checks must explain themselves.
TEST_CASE("README CI example runs for real", "[check][diff][cli][readme]") {
  const std::string readme = test::read_file(test::source_dir() / "README.md");
  const size_t marker = readme.find("<!-- ci-example -->");
  REQUIRE(marker != std::string::npos);
  const size_t open = readme.find("```sh\n", marker);
  const size_t close = readme.find("```", open + 6);
  REQUIRE(open != std::string::npos);
  std::istringstream block(readme.substr(open + 6, close - open - 6));
  std::string line;
  int commands = 0;
  bool saw_go_test = false;
  std::string go_test_line;
  while (std::getline(block, line)) {
    if (line.rfind("go test ./sessionleak", 0) == 0) {
      saw_go_test = true;
      go_test_line = line;
    }
    if (line.rfind("heapwalk ", 0) != 0) continue;
    std::smatch m;
    REQUIRE(std::regex_search(line, m, std::regex("  # exit ([0-9])$")));
    const int want = std::stoi(m[1]);
    // Paths relative to samples/go; the committed dumps are zstd.
    std::istringstream words(line.substr(9, m.position(0) - 9));
    std::string word, args;
    while (words >> word) {
      if (word.size() > 9 && word.compare(word.size() - 9, 9, ".heapdump") == 0)
        word = kDir + word + ".zst";
      else if (word.find('/') != std::string::npos)
        word = "samples/go/" + word;
      args += " " + word;
    }
    INFO(line << "\n=> heapwalk" << args);
    test::CliRun r = test::run_heapwalk(args);
    INFO(r.out << r.err);
    CHECK(r.status == want);
    CHECK(r.err.empty());
    if (want == 3 && args.find(" check ") == 0) {
      CHECK(r.out.find("FAIL  ") != std::string::npos);
      CHECK(r.out.find("top offenders:") != std::string::npos);
      CHECK(r.out.find("one retention path:") != std::string::npos);
    }
    ++commands;
  }
  CHECK(saw_go_test);
  CHECK(commands >= 3);
  REQUIRE(!go_test_line.empty());
  // Step 1 for real too, when Go is installed: the load test writes a fresh
  // dump, and the budgets catch its leak.
  if (std::system("command -v go >/dev/null 2>&1") != 0) {
    WARN("skipped running the example's go test: no go on PATH");
    return;
  }
  const fs::path tmp = fs::temp_directory_path() / ("heapwalk_ci_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  std::string cmd = go_test_line;
  cmd.replace(cmd.find("$PWD"), 4, tmp.string());
  const std::string shell =
      "cd " + test::shell_quote((test::source_dir() / "samples/go").string()) +
      " && GOCACHE=${GOCACHE:-" + (tmp / "gocache").string() +
      "} GOPROXY=off GOFLAGS= CGO_ENABLED=0 " + cmd + " >" + (tmp / "go.log").string() + " 2>&1";
  const int go = std::system(shell.c_str());
  INFO(shell << "\n" << test::read_file(tmp / "go.log"));
  REQUIRE(go == 0);
  test::CliRun fresh = check("--rules " + kRules + " " +
                             test::shell_quote((tmp / "sessionleak.long.heapdump").string()));
  INFO(fresh.out << fresh.err);
  CHECK(fresh.status == 3);
  CHECK(fresh.out.find("FAIL  max count site:sessionleak.newSession 200: 480 > 200") !=
        std::string::npos);
  fs::remove_all(tmp);
  // The rules file shown in the README is the committed one.
  CHECK(readme.find("`sessionleak/heapwalk.rules`:\n\n```\n" +
                    test::read_file(test::source_dir() / kRules) + "```") != std::string::npos);
}

TEST_CASE("check: type: selectors match the type name histogram shows", "[check][cli]") {
  const std::string ctx = "samples/go/ctxleak/ctxleak.heapdump.zst";
  const json h = test::run_heapwalk_json("histogram -n 0 " + ctx);
  uint64_t count = 0, bytes = 0, retained = 0;
  for (const json& row : h["rows"])
    if (row.value("type", "") == "context.<pointee type>") {
      count = row["count"];
      bytes = row["bytes"];
      retained = row["retained"];
    }
  REQUIRE(count > 2000);  // 2,000 leaked children, their grandchildren, the parent, ...
  test::CliRun r = check(
      "--format json --rule 'max count type:\"context.<pointee type>\" 10' --rule 'max bytes "
      "type:\"context.<pointee type>\" 1GiB' --rule 'max retained type:\"context.<pointee "
      "type>\" 1GiB' " +
      ctx);
  REQUIRE(r.status == 3);
  const json j = json::parse(r.out);
  CHECK(j["results"][0]["value"] == count);
  CHECK(j["results"][1]["value"] == bytes);
  // The set retains at least what its outermost members retain (histogram's
  // "retained"), and more when members share what they hold.
  CHECK(j["results"][2]["value"].get<uint64_t>() >= retained);
  CHECK(j["results"][2]["pass"] == true);
  CHECK(check("--rule 'max count type:no.such.Type 0' " + ctx).status == 0);
}

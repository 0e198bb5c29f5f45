#include "support/sample_build.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "heapwalk/snapshot.h"
#include "heapwalk/symbols/elf_symbols.h"
#include "support/cli.h"
#include "support/paths.h"

namespace fs = std::filesystem;

namespace heapwalk::test {

namespace {

bool matches(const fs::path& exe, const fs::path& dump) {
  try {
    ElfSymbols e = ElfSymbols::open(exe.string());
    const Snapshot s = load_snapshot(dump.string());
    return match_binary(s, e).layout_matches;
  } catch (const std::exception&) {
    return false;
  }
}

SampleBuild build(const std::string& name) {
  SampleBuild b;
  if (std::system("command -v go >/dev/null 2>&1") != 0) {
    b.why_not = "no go on PATH";
    return b;
  }
  const fs::path dir = fs::path(HEAPWALK_BUILD_DIR) / "samples" / name;
  fs::create_directories(dir);
  const std::string env =
      "GOCACHE=" + shell_quote((fs::path(HEAPWALK_BUILD_DIR) / "samples" / "gocache").string()) +
      " GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local GOEXPERIMENT= ";
  const fs::path exe = dir / name;
  std::string cmd = "cd " + shell_quote((source_dir() / "samples" / "go").string()) + " && " + env +
                    "go build -trimpath -o " + shell_quote(exe.string()) + " ./" + name + " >" +
                    shell_quote((dir / "build.log").string()) + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    b.why_not = "go build failed (see " + (dir / "build.log").string() + ")";
    return b;
  }
  b.exe = exe;
  const fs::path committed = source_dir() / "samples" / "go" / name / (name + ".heapdump.zst");
  if (matches(exe, committed)) {
    b.dump = committed;
    b.truth = source_dir() / "samples" / "go" / name / (name + ".truth.json");
    return b;
  }
  // Another layout: let this executable write its own dump (cached while it
  // is newer than the executable).
  const fs::path run = dir / "run";
  b.dump = run / (name + ".heapdump");
  b.truth = run / (name + ".truth.json");
  b.regenerated = true;
  std::error_code ec;
  if (fs::exists(b.dump) && fs::exists(b.truth) &&
      fs::last_write_time(b.dump, ec) > fs::last_write_time(exe, ec) && matches(exe, b.dump))
    return b;
  fs::remove_all(run, ec);
  fs::create_directories(run);
  cmd = "cd " + shell_quote(run.string()) + " && env -i GOMAXPROCS=2 " + shell_quote(exe.string()) +
        " " + name + " >run.log 2>&1";
  if (std::system(cmd.c_str()) != 0 || !matches(exe, b.dump)) {
    b.why_not = "running " + exe.string() + " did not write a matching dump";
    b.exe.clear();
  }
  return b;
}

}  // namespace

const SampleBuild& sample_build(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, SampleBuild> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, build(name)).first;
  return it->second;
}

}  // namespace heapwalk::test

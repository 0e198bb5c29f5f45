// The README's "What it looks like" block (after <!-- readme-output -->) is
// real output: every `$ ./build/heapwalk ...` line in it is run, with the
// sample's executable built as the first set-up command builds it
// (support/sample_build.h), and must print exactly the lines that follow it.
// The first set-up command must end with the block's first command.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli.h"
#include "support/sample_build.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Shown {
  std::string args;  // after "./build/heapwalk "
  std::string output;
};

std::vector<Shown> shown_runs(const std::string& readme) {
  const size_t marker = readme.find("<!-- readme-output -->");
  REQUIRE(marker != std::string::npos);
  const size_t begin = readme.find('\n', readme.find("```", marker)) + 1;
  const size_t end = readme.find("\n```", begin);
  REQUIRE(end != std::string::npos);
  std::istringstream block(readme.substr(begin, end - begin + 1));
  std::vector<Shown> runs;
  const std::string prompt = "$ ./build/heapwalk ";
  for (std::string line; std::getline(block, line);) {
    if (line.rfind(prompt, 0) == 0)
      runs.push_back({line.substr(prompt.size()), ""});
    else if (!runs.empty())
      runs.back().output += line + "\n";
  }
  return runs;
}

}  // namespace

TEST_CASE("README: the shown paths output is what heapwalk prints", "[readme][paths][cli]") {
  const std::string readme = read_file(std::string(HEAPWALK_SOURCE_DIR) + "/README.md");
  const std::vector<Shown> runs = shown_runs(readme);
  REQUIRE(runs.size() >= 2);
  // The first set-up command ends with the first command shown.
  const size_t run_marker = readme.find("<!-- run-command -->");
  REQUIRE(run_marker != std::string::npos);
  const size_t cmd_begin = readme.find('\n', readme.find("```sh", run_marker)) + 1;
  const std::string run_command =
      readme.substr(cmd_begin, readme.find('\n', cmd_begin) - cmd_begin);
  const std::string first = "./build/heapwalk " + runs.front().args;
  CHECK(run_command.size() >= first.size());
  CHECK(run_command.compare(run_command.size() - first.size(), first.size(), first) == 0);

  const heapwalk::test::SampleBuild& b = heapwalk::test::sample_build("ctxleak");
  if (b.exe.empty()) {
    WARN("skipped: " << b.why_not);
    return;
  }
  if (b.regenerated) {
    WARN("skipped: this Go does not rebuild the executable that wrote the bundled dump");
    return;
  }
  for (const Shown& s : runs) {
    std::string args = s.args;
    const std::string exe_arg = "--binary build/ctxleak";
    const size_t at = args.find(exe_arg);
    REQUIRE(at != std::string::npos);
    args.replace(at, exe_arg.size(), "--binary " + b.exe.string());
    INFO("heapwalk " << args);
    const auto r = heapwalk::test::run_heapwalk(args);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out == s.output);
  }
}

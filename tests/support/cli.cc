#include "support/cli.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace heapwalk::test {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CliRun run_heapwalk(const std::string& args) {
  static int serial = 0;
  fs::path err_file = fs::temp_directory_path() / ("heapwalk_cli_" + std::to_string(::getpid()) +
                                                   "_" + std::to_string(++serial) + ".stderr");
  std::string command = "cd " + shell_quote(source_dir().string()) + " && " +
                        shell_quote(heapwalk_binary().string()) + " " + args + " 2>" +
                        shell_quote(err_file.string());
  CliRun r;
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

nlohmann::json run_heapwalk_json(const std::string& args) {
  CliRun r = run_heapwalk(args + " --format json");
  INFO("heapwalk " << args << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  return nlohmann::json::parse(r.out);
}

std::string relative_dump(const DumpCase& c) {
  return fs::relative(c.dump, source_dir()).generic_string();
}

std::string sample_name(const DumpCase& c) { return c.name.substr(c.name.rfind('/') + 1); }

nlohmann::json sample_truth(const std::string& sample) {
  return nlohmann::json::parse(
      read_file(source_dir() / "samples/go" / sample / (sample + ".truth.json")));
}

bool updating_goldens() {
  const char* update = std::getenv("HEAPWALK_UPDATE_GOLDEN");
  return update && std::string(update) == "1";
}

void compare_golden(const std::string& verb, const std::string& name, const std::string& actual) {
  fs::path path = source_dir() / "tests" / "golden" / verb / name;
  std::string shown = fs::relative(path, source_dir()).generic_string();
  if (updating_goldens()) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << actual;
    REQUIRE(out.good());
    WARN("rewrote " << shown);
    return;
  }
  std::error_code ec;
  if (!fs::exists(path, ec))
    FAIL("no golden " << shown << ": generate it with HEAPWALK_UPDATE_GOLDEN=1");
  std::string golden = read_file(path);
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
  FAIL_CHECK("output differs from "
             << shown << " at line " << line << "\n  golden: " << line_at(golden, i)
             << "\n  actual: " << line_at(actual, i) << "\n(golden " << golden.size()
             << " bytes, actual " << actual.size()
             << "; if intended: HEAPWALK_UPDATE_GOLDEN=1, then review git diff tests/golden)");
}

void golden_all_samples(const std::string& verb, const std::string& args) {
  auto dumps = sample_dumps();
  REQUIRE(!dumps.empty());
  for (const DumpCase& c : dumps) {
    std::string rel = relative_dump(c);
    INFO(rel);
    CliRun r = run_heapwalk(verb + " " + args + " " + shell_quote(rel));
    INFO("stderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.rfind(rel + ": ", 0) == 0);
    CHECK(r.out.find(source_dir().string()) == std::string::npos);
    compare_golden(verb, sample_name(c) + ".txt", r.out);
  }
}

}  // namespace heapwalk::test

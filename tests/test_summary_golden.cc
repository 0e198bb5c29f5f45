// `heapwalk summary` on every bundled sample, text and JSON, compared byte for
// byte with tests/golden/summary/<sample>.{txt,json}.
//
// The CLI runs from the source dir on a RELATIVE path
// (samples/go/NAME/NAME.heapdump.zst), so the goldens hold no machine paths.
// After an intended output change, rewrite the goldens and review the diff:
//
//   HEAPWALK_UPDATE_GOLDEN=1 ./build/tests/heapwalk_tests "[golden]"
//   git diff tests/golden
//
// The JSON is also checked for the keys the README promises ("JSON" section)
// and against the library's own view of the dump, so a golden rewritten in a
// hurry cannot bless a broken schema.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "heapwalk/dump.h"
#include "heapwalk/snapshot.h"
#include "support/paths.h"

using namespace heapwalk;
using heapwalk::test::DumpCase;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool updating_goldens() {
  const char* v = std::getenv("HEAPWALK_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Run {
  int status = -1;  // exit code, or -1 when it did not exit normally
  std::string out, err;
};

// Runs `heapwalk ARGS` with cwd = the source dir; captures stdout and stderr.
Run run_heapwalk(const std::string& args) {
  fs::path err_file = fs::temp_directory_path() /
                      ("heapwalk_golden_" + std::to_string(::getpid()) + ".stderr");
  std::string command = "cd " + shell_quote(test::source_dir().string()) + " && " +
                        shell_quote(test::heapwalk_binary().string()) + " " + args + " 2>" +
                        shell_quote(err_file.string());
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

// "samples/go/ctxleak/ctxleak.heapdump.zst"
std::string relative_dump(const DumpCase& c) {
  return fs::relative(c.dump, test::source_dir()).generic_string();
}

// "ctxleak"
std::string sample_name(const DumpCase& c) { return c.name.substr(c.name.rfind('/') + 1); }

fs::path golden_path(const DumpCase& c, const std::string& ext) {
  return test::source_dir() / "tests" / "golden" / "summary" / (sample_name(c) + "." + ext);
}

// Compares with the golden (or rewrites it); on a difference, names the
// first differing line rather than printing both outputs whole.
void compare_golden(const DumpCase& c, const std::string& ext, const std::string& actual) {
  fs::path path = golden_path(c, ext);
  if (updating_goldens()) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << actual;
    REQUIRE(out.good());
    WARN("rewrote " << fs::relative(path, test::source_dir()).generic_string());
    return;
  }
  std::error_code ec;
  if (!fs::exists(path, ec))
    FAIL("no golden " << path << ": generate it with HEAPWALK_UPDATE_GOLDEN=1");
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
  FAIL_CHECK("summary " << ext << " of " << relative_dump(c) << " differs from "
                        << fs::relative(path, test::source_dir()).generic_string() << " at line " << line
                        << "\n  golden: " << line_at(golden, i) << "\n  actual: " << line_at(actual, i)
                        << "\n(golden " << golden.size() << " bytes, actual " << actual.size()
                        << "; if the change is intended: HEAPWALK_UPDATE_GOLDEN=1)");
}

void require_keys(const json& j, const std::string& where, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    INFO(where << "." << k);
    CHECK(j.contains(k));
  }
}

}  // namespace

TEST_CASE("summary golden: text of every sample", "[golden][summary][cli]") {
  auto dumps = test::sample_dumps();
  REQUIRE(!dumps.empty());
  for (const DumpCase& c : dumps) {
    std::string rel = relative_dump(c);
    INFO(rel);
    Run r = run_heapwalk("summary --format text " + shell_quote(rel));
    INFO("stderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    // The first line names the file as given, relative: no machine paths.
    CHECK(r.out.rfind(rel + ": Go heap dump, go1.19.8 amd64, 64-bit", 0) == 0);
    CHECK(r.out.find(test::source_dir().string()) == std::string::npos);
    compare_golden(c, "txt", r.out);
  }
}

TEST_CASE("summary golden: JSON of every sample and the README schema", "[golden][summary][cli]") {
  auto dumps = test::sample_dumps();
  REQUIRE(!dumps.empty());
  for (const DumpCase& c : dumps) {
    std::string rel = relative_dump(c);
    INFO(rel);
    Run r = run_heapwalk("summary --format json " + shell_quote(rel));
    INFO("stderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find(test::source_dir().string()) == std::string::npos);
    compare_golden(c, "json", r.out);

    json j = json::parse(r.out);
    CHECK(j["schema"] == 1);
    require_keys(j, "", {"schema", "dump", "records", "objects", "pointers", "roots", "root_words", "goroutines",
                         "memstats", "memstats_check", "live", "unreachable", "live_by_root", "anomalies",
                         "caveats"});
    require_keys(j["dump"], "dump", {"file", "format", "go_version", "arch", "ptr_size", "big_endian", "bytes",
                                     "compressed_bytes", "truncated"});
    CHECK(j["dump"]["file"] == rel);
    CHECK(j["dump"]["format"] == "go");
    // records: exactly one key per record kind (tags 1..17).
    CHECK(j["records"].size() == static_cast<size_t>(kRecordTagCount - 1));
    for (int tag = 1; tag < kRecordTagCount; ++tag) {
      INFO("records." << record_tag_name(tag));
      CHECK(j["records"].contains(record_tag_name(tag)));
    }
    require_keys(j["objects"], "objects", {"count", "bytes", "span_bitmap_records"});
    require_keys(j["pointers"], "pointers", {"fields", "nil", "heap_edges", "interior", "self", "unresolved"});
    for (int k = 0; k < kRootKindCount; ++k) {
      const char* kind = root_kind_name(static_cast<RootKind>(k));
      INFO("roots/live_by_root." << kind);
      CHECK(j["roots"].contains(kind));
      CHECK(j["live_by_root"].contains(kind));
    }
    require_keys(j["root_words"], "root_words", {"count", "nil", "unresolved"});
    require_keys(j["goroutines"], "goroutines", {"count", "user", "system", "by_state", "system_by_state", "groups"});
    require_keys(j["memstats"], "memstats",
                 {"HeapAlloc", "HeapObjects", "HeapInuse", "HeapSys", "Sys", "TotalAlloc", "Mallocs", "Frees",
                  "NumGC"});
    require_keys(j["memstats_check"], "memstats_check",
                 {"agrees", "explanation", "record_objects", "record_bytes", "heap_objects_delta",
                  "heap_alloc_delta"});
    require_keys(j["live"], "live", {"objects", "bytes"});
    require_keys(j["unreachable"], "unreachable", {"objects", "bytes"});
    require_keys(j["anomalies"], "anomalies", {"duplicate_objects", "overlapping_objects", "duplicate_types"});
    CHECK(j["caveats"].is_array());

    // The numbers are the library's (and, for Go 1.19, MemStats agree exactly).
    Snapshot s = load_snapshot(c.dump.string());
    const DumpFacts& f = s.facts();
    CHECK(j["dump"]["go_version"] == f.params.go_version);
    CHECK(j["dump"]["arch"] == f.params.arch);
    CHECK(j["dump"]["ptr_size"] == f.params.pointer_size);
    CHECK(j["dump"]["bytes"] == s.input().bytes().size());
    CHECK(j["records"]["object"] == f.record_counts[1]);
    CHECK(j["objects"]["count"] == s.object_count());
    CHECK(j["objects"]["count"] == f.memstats[kHeapObjects]);
    CHECK(j["objects"]["bytes"] == f.memstats[kHeapAlloc]);
    CHECK(j["memstats"]["HeapAlloc"] == f.memstats[kHeapAlloc]);
    CHECK(j["memstats"]["HeapObjects"] == f.memstats[kHeapObjects]);
    CHECK(j["memstats"]["HeapInuse"] == f.memstats[kHeapInuse]);
    CHECK(j["memstats"]["Sys"] == f.memstats[kSys]);
    CHECK(j["memstats"]["NumGC"] == f.memstats[kNumGC]);
    CHECK(j["memstats_check"]["agrees"] == true);
    CHECK(j["pointers"]["fields"] == f.pointer_fields);
    CHECK(j["pointers"]["heap_edges"] == s.stats().heap_edges);
    CHECK(j["pointers"]["interior"] == s.stats().interior);
    CHECK(j["pointers"]["unresolved"] == s.stats().unresolved);
    CHECK(j["goroutines"]["count"] == f.goroutines.size());
    CHECK(j["live"]["objects"].get<uint64_t>() + j["unreachable"]["objects"].get<uint64_t>() ==
          s.object_count());
    CHECK(j["live"]["bytes"].get<uint64_t>() + j["unreachable"]["bytes"].get<uint64_t>() ==
          j["objects"]["bytes"].get<uint64_t>());
  }
}

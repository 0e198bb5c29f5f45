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

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "heapwalk/dump.h"
#include "heapwalk/snapshot.h"
#include "support/cli.h"
#include "support/paths.h"

using namespace heapwalk;
using heapwalk::test::DumpCase;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

void require_keys(const json& j, const std::string& where,
                  std::initializer_list<const char*> keys) {
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
    std::string rel = test::relative_dump(c);
    INFO(rel);
    test::CliRun r = test::run_heapwalk("summary --format text " + test::shell_quote(rel));
    INFO("stderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    // The first line names the file as given, relative: no machine paths.
    CHECK(r.out.rfind(rel + ": Go heap dump, go1.19.8 amd64, 64-bit", 0) == 0);
    CHECK(r.out.find(test::source_dir().string()) == std::string::npos);
    test::compare_golden("summary", test::sample_name(c) + ".txt", r.out);
  }
}

TEST_CASE("summary golden: JSON of every sample and the README schema", "[golden][summary][cli]") {
  auto dumps = test::sample_dumps();
  REQUIRE(!dumps.empty());
  for (const DumpCase& c : dumps) {
    std::string rel = test::relative_dump(c);
    INFO(rel);
    test::CliRun r = test::run_heapwalk("summary --format json " + test::shell_quote(rel));
    INFO("stderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find(test::source_dir().string()) == std::string::npos);
    test::compare_golden("summary", test::sample_name(c) + ".json", r.out);

    json j = json::parse(r.out);
    CHECK(j["schema"] == 1);
    require_keys(j, "",
                 {"schema", "dump", "records", "objects", "pointers", "roots", "root_words",
                  "goroutines", "memstats", "memstats_check", "live", "unreachable", "live_by_root",
                  "anomalies", "caveats"});
    require_keys(j["dump"], "dump",
                 {"file", "format", "go_version", "arch", "ptr_size", "big_endian", "bytes",
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
    require_keys(j["pointers"], "pointers",
                 {"fields", "nil", "heap_edges", "interior", "self", "unresolved"});
    for (int k = 0; k < kRootKindCount; ++k) {
      const char* kind = root_kind_name(static_cast<RootKind>(k));
      INFO("roots/live_by_root." << kind);
      CHECK(j["roots"].contains(kind));
      CHECK(j["live_by_root"].contains(kind));
    }
    require_keys(j["root_words"], "root_words", {"count", "nil", "unresolved"});
    require_keys(j["goroutines"], "goroutines",
                 {"count", "user", "system", "by_state", "system_by_state", "groups"});
    require_keys(j["memstats"], "memstats",
                 {"HeapAlloc", "HeapObjects", "HeapInuse", "HeapSys", "Sys", "TotalAlloc",
                  "Mallocs", "Frees", "NumGC"});
    require_keys(j["memstats_check"], "memstats_check",
                 {"agrees", "explanation", "record_objects", "record_bytes", "heap_objects_delta",
                  "heap_alloc_delta"});
    require_keys(j["live"], "live", {"objects", "bytes"});
    require_keys(j["unreachable"], "unreachable", {"objects", "bytes"});
    require_keys(j["anomalies"], "anomalies",
                 {"duplicate_objects", "overlapping_objects", "duplicate_types"});
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

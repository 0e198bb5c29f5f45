// `heapwalk unreachable`: called in-process with std::cout captured, on
// synthetic dumps written to temporary files and on the corpus.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "heapwalk/error.h"
#include "src/cli/verb.h"
#include "support/dump_writer.h"
#include "support/paths.h"

using namespace heapwalk;
using namespace heapwalk::test;
using nlohmann::json;

namespace {

struct Run {
  int code;
  std::string out;
};

Run run(const std::vector<std::string>& args) {
  std::ostringstream captured;
  std::streambuf* old = std::cout.rdbuf(captured.rdbuf());
  int code = -1;
  try {
    code = cli::run_unreachable(args);
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  return {code, captured.str()};
}

std::string write_temp(const std::vector<uint8_t>& bytes, const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("heapwalk_test_" + name);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path.string();
}

// Live: data -> A(64). Garbage: three 16-byte, one 1024-byte, two 48-byte
// objects; F(32) has a finalizer and is garbage too.
DumpBuilder sample(const std::string& version) {
  DumpBuilder b;
  b.description().params.go_version = version;
  const uint64_t a = b.object(64);
  b.data_root(a);
  for (int i = 0; i < 3; ++i) b.object(16);
  b.object(1024);
  b.object(48);
  b.object(48);
  b.finalizer(b.object(32), 0x4c0000);
  return b;
}

}  // namespace

TEST_CASE("unreachable: JSON groups by slot size, largest total first", "[unreachable][cli]") {
  const std::string path = write_temp(sample("go1.19.8").bytes(), "unreachable1.heapdump");
  const Run r = run({path, "--format", "json", "--by", "size"});
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);
  CHECK(j["schema"] == 1);
  CHECK(j["by"] == "size");
  CHECK(j["unreachable"]["objects"] == 7);
  CHECK(j["unreachable"]["bytes"] == 3 * 16 + 1024 + 2 * 48 + 32);
  REQUIRE(j["groups"].size() == 4);
  CHECK(j["groups"][0] == json{{"size", 1024}, {"count", 1}, {"bytes", 1024}});
  CHECK(j["groups"][1] == json{{"size", 48}, {"count", 2}, {"bytes", 96}});
  CHECK(j["groups"][2] == json{{"size", 16}, {"count", 3}, {"bytes", 48}});
  CHECK(j["groups"][3] == json{{"size", 32}, {"count", 1}, {"bytes", 32}});
  CHECK(j["finalizer_pending"]["objects"] == 1);
  CHECK(j["span_bitmap_records"]["objects"] == 0);
  CHECK(j["caveats"].empty());

  const json limited =
      json::parse(run({path, "--format", "json", "--by", "size", "--limit", "2"}).out);
  CHECK(limited["groups"].size() == 2);
  CHECK(limited["groups_omitted"] == json{{"groups", 2}, {"count", 4}, {"bytes", 80}});

  // By default groups are labels; this synthetic dump names nothing, so each
  // label is the slot size ("[N-byte object]") and the groups are the same.
  const json by_label = json::parse(run({path, "--format", "json"}).out);
  CHECK(by_label["by"] == "type");
  REQUIRE(by_label["groups"].size() == 4);
  CHECK(by_label["groups"][0] ==
        json{{"label", "[1024-byte object]"}, {"count", 1}, {"bytes", 1024}});
  CHECK(by_label["groups"][2] == json{{"label", "[16-byte object]"}, {"count", 3}, {"bytes", 48}});
}

// On a real sample the groups carry the names the labels pass found: the
// cancelled requests' payloads, by their allocation site.
TEST_CASE("unreachable: groups are named by type and site", "[unreachable][cli]") {
  const std::string path =
      (heapwalk::test::source_dir() / "samples/go/ctxleak/ctxleak.heapdump.zst").string();
  const json j = json::parse(run({path, "--format", "json", "--limit", "0"}).out);
  bool payloads = false;
  for (const json& g : j["groups"])
    if (g["label"] == "[site] main.newPayload (main.go:70)") {
      payloads = true;
      CHECK(g["count"] == 1500);  // 500 cancelled requests x (payload, data, marker)
    }
  CHECK(payloads);
  const json sites =
      json::parse(run({path, "--format", "json", "--by", "site", "--limit", "1"}).out);
  CHECK(sites["groups"][0]["label"] == "main.newPayload (main.go:70)");
}

TEST_CASE("unreachable: text output", "[unreachable][cli]") {
  const std::string path = write_temp(sample("go1.19.8").bytes(), "unreachable2.heapdump");
  const Run r = run({path, "--by", "size"});
  REQUIRE(r.code == 0);
  INFO(r.out);
  CHECK(r.out.find("7 objects") != std::string::npos);
  CHECK(r.out.find("1,024 B") != std::string::npos);
  CHECK(run({path}).out.find("[1024-byte object]") != std::string::npos);
  CHECK(r.out.find("total") != std::string::npos);
  CHECK(r.out.find("finalizer") != std::string::npos);
  CHECK(r.out.find("Caveat") == std::string::npos);
}

TEST_CASE("unreachable: caveats name the roots newer Go versions do not dump",
          "[unreachable][cli]") {
  const json j23 = json::parse(
      run({write_temp(sample("go1.23.0").bytes(), "u23.heapdump"), "--format", "json"}).out);
  REQUIRE(j23["caveats"].size() == 1);
  CHECK(j23["caveats"][0].get<std::string>().find("weak") != std::string::npos);
  const json j25 = json::parse(
      run({write_temp(sample("go1.25.0").bytes(), "u25.heapdump"), "--format", "json"}).out);
  REQUIRE(j25["caveats"].size() == 2);
  CHECK(j25["caveats"][1].get<std::string>().find("cleanup") != std::string::npos);
  const Run text = run({write_temp(sample("go1.25.0").bytes(), "u25t.heapdump")});
  CHECK(text.out.find("Caveat: Go 1.24+") != std::string::npos);
}

TEST_CASE("unreachable: phantoms are reported apart", "[unreachable][cli]") {
  DumpDescription d;
  d.params.go_version = "go1.23.0";
  const uint64_t page = d.params.heap_start;
  d.objects.push_back({page, 64, {}, {{0, page + 64}}});
  d.objects.push_back({page + 64, 64, {}, {}});
  d.objects.push_back({page + 128, 64, {}, {}});
  d.objects.push_back({page + 126 * 64, 64, {}, {}});
  d.objects.push_back({page + 127 * 64, 64, {}, {}});
  d.segments.push_back({false, 0x5a0000, 0, {{0, page}}});
  const std::string path = write_temp(write_dump(d), "uphantom.heapdump");
  const json j = json::parse(run({path, "--format", "json"}).out);
  CHECK(j["unreachable"]["objects"] == 1);
  CHECK(j["span_bitmap_records"]["objects"] == 2);
  CHECK(j["span_bitmap_records"]["bytes"] == 128);
  CHECK(!j["span_bitmap_records"]["explanation"].get<std::string>().empty());
  const Run text = run({path});
  CHECK(text.out.find("Span bitmaps: 2 records") != std::string::npos);
}

TEST_CASE("unreachable: bad arguments are usage errors", "[unreachable][cli]") {
  CHECK_THROWS_AS(run({}), UsageError);
  CHECK_THROWS_AS(run({"a.heapdump", "--limit", "lots"}), UsageError);
  CHECK_THROWS_AS(run({"a.heapdump", "--format", "dot"}), UsageError);
  CHECK(run({"--help"}).code == 0);
}

TEST_CASE("unreachable: corpus totals agree with mark, go1.25 connpool has the cleanup caveat",
          "[unreachable][cli][corpus]") {
  bool any = false;
  for (const DumpCase& c : corpus_dumps()) {
    any = true;
    INFO(c.name);
    const json j = json::parse(run({c.dump.string(), "--format", "json", "--limit", "0"}).out);
    uint64_t objects = 0, bytes = 0;
    for (const auto& g : j["groups"]) {
      objects += g["count"].get<uint64_t>();
      bytes += g["bytes"].get<uint64_t>();
    }
    CHECK(objects == j["unreachable"]["objects"].get<uint64_t>());
    CHECK(bytes == j["unreachable"]["bytes"].get<uint64_t>());
    const bool go125 = c.name.rfind("go1.25/", 0) == 0;
    const bool go123 = c.name.rfind("go1.23/", 0) == 0;
    CHECK(j["caveats"].size() == (go125 ? 2u : go123 ? 1u : 0u));
    if (go125 || go123)
      CHECK(j["span_bitmap_records"]["objects"].get<uint64_t>() > 0);
    else
      CHECK(j["span_bitmap_records"]["objects"] == 0);
  }
  if (!any) WARN("SKIP: no corpus (../shared/corpus)");
}

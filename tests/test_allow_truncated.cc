// --allow-truncated on real dumps cut short (issue 10): what each verb answers
// and refuses. The ctxleak sample, written by Go 1.19, is cut (1) inside its
// objects, before any root, as an OOM-killed process leaves it, and (2) inside
// its memory profile, after every root. Expected counts come from the reader's
// records of the whole dump; expected liveness from the whole dump's summary.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "heapwalk/input.h"
#include "heapwalk/reader.h"
#include "support/cli.h"
#include "support/paths.h"

using namespace heapwalk;
using namespace heapwalk::test;
namespace fs = std::filesystem;

namespace {

struct CutDump {
  fs::path path;
  CutDump(const std::string& name, const std::vector<uint8_t>& bytes, uint64_t size) {
    path = fs::temp_directory_path() /
           ("heapwalk-cut-" + std::to_string(::getpid()) + "-" + name + ".heapdump");
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(size));
  }
  ~CutDump() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  std::string arg() const { return shell_quote(path.string()); }
};

const std::string kSample = "samples/go/ctxleak/ctxleak.heapdump.zst";

}  // namespace

TEST_CASE("allow-truncated: a dump cut in its objects gives sizes, refuses liveness, says why",
          "[truncation][cli]") {
  if (!fs::exists(source_dir() / kSample)) {
    WARN("no ctxleak sample: skipped");
    return;
  }
  InputBuffer input = InputBuffer::open((source_dir() / kSample).string());
  const std::vector<uint8_t> bytes(input.bytes().begin(), input.bytes().end());
  DumpFacts whole = read_dump(input);
  REQUIRE(whole.objects.size() > 1000);
  // Cut inside the 1000th object record: 999 objects are whole before it.
  const uint64_t cut = whole.objects[999].contents_offset + 1;
  uint64_t objects_before = 0;
  for (const ObjectRecord& o : whole.objects) objects_before += o.contents_offset < cut;
  --objects_before;  // the cut one is not whole
  CutDump dump("objects", bytes, cut);

  // Default: refused, exit 2, the message.
  CliRun plain = run_heapwalk("summary " + dump.arg());
  CHECK(plain.status == 2);
  CHECK(plain.err.find("truncated at offset ") != std::string::npos);
  CHECK(plain.err.find("after " + std::to_string(objects_before) +
                       " objects (the dump ends before its roots)") != std::string::npos);

  // summary: counts and sizes, what is missing, no liveness.
  CliRun s = run_heapwalk("summary --allow-truncated --format json " + dump.arg());
  REQUIRE(s.status == 0);
  nlohmann::json j = nlohmann::json::parse(s.out);
  CHECK(j["dump"]["truncated"] == true);
  CHECK(j["dump"]["roots_complete"] == false);
  CHECK(j["objects"]["count"] == objects_before);
  const auto missing = j["dump"]["missing"].get<std::vector<std::string>>();
  CHECK(missing.size() >= 8);
  CHECK(std::find(missing.begin(), missing.end(),
                  "goroutines and their stack frames, defers and panics") != missing.end());
  CHECK(std::find(missing.begin(), missing.end(), "bss globals") != missing.end());
  CHECK_FALSE(j.contains("live"));
  CHECK_FALSE(j.contains("unreachable"));
  bool caveat = false;
  for (const auto& c : j["caveats"])
    caveat |= c.get<std::string>().find("liveness cannot be computed") != std::string::npos;
  CHECK(caveat);
  CliRun text = run_heapwalk("summary --allow-truncated " + dump.arg());
  CHECK(text.status == 0);
  CHECK(text.out.find("not reached: itabs") == std::string::npos);  // objects were reached
  CHECK(text.out.find("not reached: goroutines") != std::string::npos);

  // histogram --all: every object read, by type.
  CliRun h = run_heapwalk("histogram --all --allow-truncated --format json " + dump.arg());
  REQUIRE(h.status == 0);
  nlohmann::json hj = nlohmann::json::parse(h.out);
  CHECK(hj["objects"] == "all");
  CHECK(hj["total"]["count"] == objects_before);

  // Verbs that need liveness: exit 2, naming the verb, the cut and what is missing.
  for (const std::string verb :
       {"top", "paths", "dominators", "goroutines", "unreachable", "histogram"}) {
    INFO(verb);
    CliRun r = run_heapwalk(verb + " --allow-truncated " + dump.arg());
    CHECK(r.status == 2);
    CHECK(r.err.find(verb + " needs liveness") != std::string::npos);
    CHECK(r.err.find("after " + std::to_string(objects_before) + " objects") != std::string::npos);
    CHECK(r.err.find("offset " + std::to_string(whole.objects[999].contents_offset)) ==
          std::string::npos);  // the reported offset is the record's start, not inside it
    CHECK(r.err.find("not reached: goroutines") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("allow-truncated: a dump cut after its roots is analysed in full", "[truncation][cli]") {
  if (!fs::exists(source_dir() / kSample)) {
    WARN("no ctxleak sample: skipped");
    return;
  }
  InputBuffer input = InputBuffer::open((source_dir() / kSample).string());
  const std::vector<uint8_t> bytes(input.bytes().begin(), input.bytes().end());
  // The memory profile comes after every root: cut in its middle. Its records
  // are not located by the reader; the last 2% of a ctxleak dump is profile
  // (alloc samples of MemProfileRate = 1), checked below by "missing".
  const uint64_t cut = bytes.size() - bytes.size() / 50;
  CutDump dump("profile", bytes, cut);
  nlohmann::json whole = run_heapwalk_json("summary " + shell_quote(kSample));
  CliRun s = run_heapwalk("summary --allow-truncated --format json " + dump.arg());
  REQUIRE(s.status == 0);
  nlohmann::json j = nlohmann::json::parse(s.out);
  CHECK(j["dump"]["truncated"] == true);
  CHECK(j["dump"]["roots_complete"] == true);
  const auto missing = j["dump"]["missing"].get<std::vector<std::string>>();
  CHECK(missing.size() <= 2);  // at most the profile's two parts
  // Every object and root was read: liveness is the whole dump's.
  CHECK(j["objects"] == whole["objects"]);
  CHECK(j["live"] == whole["live"]);
  CHECK(j["unreachable"] == whole["unreachable"]);
  CHECK(run_heapwalk("top --allow-truncated " + dump.arg()).status == 0);
  CHECK(run_heapwalk("top " + dump.arg()).status == 2);
}

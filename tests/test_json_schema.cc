// docs/json-schema.md is the JSON contract: every verb's output on a sample
// has exactly the documented top-level keys (optional ones marked "key"?),
// in the documented order, and "schema": 1 first.

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "support/cli.h"
#include "support/paths.h"

using json = nlohmann::ordered_json;

namespace {

struct Key {
  std::string name;
  bool optional;
};

// verb -> its top-level keys, from the <!-- schema: VERB --> blocks.
std::map<std::string, std::vector<Key>> documented() {
  const std::string doc =
      heapwalk::test::read_file(heapwalk::test::source_dir() / "docs/json-schema.md");
  std::map<std::string, std::vector<Key>> out;
  const std::regex marker("<!-- schema: ([a-z]+) -->\n```text\n");
  const std::regex key("^  \"([a-z_]+)\"(\\?)?:");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), marker); it != std::sregex_iterator();
       ++it) {
    const size_t start = it->position(0) + it->length(0);
    const size_t end = doc.find("```", start);
    std::istringstream block(doc.substr(start, end - start));
    std::string line;
    std::vector<Key>& keys = out[(*it)[1]];
    while (std::getline(block, line)) {
      std::smatch m;
      if (std::regex_search(line, m, key)) keys.push_back({m[1], m[2].matched});
    }
  }
  return out;
}

void check_keys(const std::string& verb, const std::vector<Key>& keys, const json& j) {
  INFO(verb << ": " << j.dump().substr(0, 300));
  REQUIRE(j.is_object());
  REQUIRE(!j.empty());
  CHECK(j.begin().key() == "schema");
  CHECK(j["schema"] == 1);
  // Actual keys, in order, are the documented ones with some optional ones left out.
  size_t k = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    while (k < keys.size() && keys[k].name != it.key() && keys[k].optional) ++k;
    INFO("key " << it.key());
    REQUIRE(k < keys.size());
    CHECK(keys[k].name == it.key());
    ++k;
  }
  for (; k < keys.size(); ++k) {
    INFO("documented key missing: " << keys[k].name);
    CHECK(keys[k].optional);
  }
}

}  // namespace

TEST_CASE("JSON schema: every verb's top-level keys are the documented ones",
          "[json][schema][cli]") {
  const auto doc = documented();
  const std::string ctx = "samples/go/ctxleak/ctxleak.heapdump.zst";
  const std::string fin = "samples/go/finalizers/finalizers.heapdump.zst";
  const std::string s = "samples/go/sessionleak/sessionleak.short.heapdump.zst";
  const std::string l = "samples/go/sessionleak/sessionleak.long.heapdump.zst";
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"summary", "summary " + ctx},
      {"summary", "summary " + fin},
      {"unreachable", "unreachable " + ctx},
      {"unreachable", "unreachable --by size " + fin},
      {"histogram", "histogram " + ctx},
      {"histogram", "histogram --all --by site " + ctx},
      {"top", "top " + ctx},
      {"top", "top --by type " + ctx},
      {"top", "top -n 3 --show-contents " + ctx},
      {"dominators", "dominators " + ctx},
      {"dominators", "dominators --depth 1 --show-contents=16 " + ctx},
      {"paths", "paths " + ctx},
      {"paths", "paths --site newPayload " + ctx},
      {"paths", "paths --show-contents --hop-contents " + ctx},
      {"goroutines", "goroutines " + ctx},
      {"cycles", "cycles " + ctx},
      {"cycles", "cycles --all --members-limit 3 " + fin},
      {"cycles", "cycles --limit 2 --show-contents=32 " + fin},
      {"check", "check --rules samples/go/sessionleak/heapwalk.rules " + s},
      {"diff", "diff " + s + " " + l},
      {"diff", "diff --by site --fail-on-growth 1GiB " + s + " " + l},
  };
  std::map<std::string, int> seen;
  for (const auto& [verb, args] : runs) {
    REQUIRE(doc.count(verb));
    CHECK(doc.at(verb).size() >= 3);
    const heapwalk::test::CliRun r = heapwalk::test::run_heapwalk(args + " --format json");
    INFO("heapwalk " << args << "\n" << r.err);
    REQUIRE(r.status == 0);
    check_keys(verb, doc.at(verb), json::parse(r.out));
    ++seen[verb];
  }
  // Every documented verb was run, and every verb of the CLI is documented.
  for (const auto& [verb, keys] : doc) CHECK(seen.count(verb));
  const heapwalk::test::CliRun help = heapwalk::test::run_heapwalk("--help");
  for (const char* verb : {"summary", "unreachable", "histogram", "top", "dominators", "paths",
                           "goroutines", "cycles", "check", "diff"}) {
    CHECK(help.out.find(std::string("  ") + verb + " ") != std::string::npos);
    CHECK(doc.count(verb));
  }
  // A failing check's results carry the documented extras.
  const heapwalk::test::CliRun failing = heapwalk::test::run_heapwalk(
      "check --format json --rules samples/go/sessionleak/heapwalk.rules " + l);
  REQUIRE(failing.status == 3);
  check_keys("check", doc.at("check"), json::parse(failing.out));
}

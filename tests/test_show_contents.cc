// --show-contents on a real dump written by Go: the growingmap sample's
// tracked entry (truth.json: its address, its key "user:100000", its data
// array and the shared config) shows exactly the bytes the program stored,
// and the option's values are validated before any dump is read.
#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "heapwalk/snapshot.h"
#include "support/cli.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

const std::string kGrowingmap = "samples/go/growingmap/growingmap.heapdump.zst";

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

uint64_t le64(const std::vector<uint8_t>& bytes, size_t offset) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | bytes.at(offset + static_cast<size_t>(i));
  return v;
}

uint64_t address_of(const nlohmann::json& hex) {
  return std::stoull(hex.get<std::string>(), nullptr, 16);
}

std::string hex_string(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The target's contents of `paths --address A --show-contents=N`.
nlohmann::json target_contents(uint64_t address, const std::string& n) {
  const nlohmann::json j = run_heapwalk_json("paths --address " + hex_string(address) +
                                             " --show-contents=" + n + " " + kGrowingmap);
  REQUIRE(j["sensitive"] == true);
  REQUIRE(j["paths"].size() == 1);
  return j["paths"][0]["target"];
}

}  // namespace

TEST_CASE("show contents: a Go entry's bytes are the fields the program stored",
          "[show_contents][cli][samples]") {
  const nlohmann::json truth = sample_truth("growingmap");
  // ["user:100000", entry, entry_data, in_recent, generation]: entry i = 0.
  const nlohmann::json& first = truth["sample_entries"][0];
  REQUIRE(first[0] == "user:100000");
  const uint64_t entry = address_of(first[1]), data = address_of(first[2]);
  const uint64_t config = address_of(truth["config"]);
  const uint64_t data_len = truth["entry_data_len"].get<uint64_t>();
  const uint64_t generation = first[4].get<uint64_t>();

  // type Entry struct { Key string; Data []byte; Cfg *Config; Hits int64; Marker *dumpkit.Marker }
  const nlohmann::json target = target_contents(entry, "64");
  CHECK(address_of(target["address"]) == entry);
  const nlohmann::json& c = target["contents"];
  CHECK(c["size"] == truth["entry_slot_size"]);
  REQUIRE(c["shown"] == 64);
  const std::vector<uint8_t> bytes = from_hex(c["hex"].get<std::string>());
  REQUIRE(bytes.size() == 64);
  CHECK(le64(bytes, 8) == 11);  // len("user:100000")
  CHECK(le64(bytes, 16) == data);
  CHECK(le64(bytes, 24) == data_len);
  CHECK(le64(bytes, 32) == data_len);  // make([]byte, dataLen): cap = len
  CHECK(le64(bytes, 40) == config);
  // The pointer fields that resolve: Key's bytes, Data, Cfg (and the marker).
  std::vector<std::pair<uint64_t, uint64_t>> pointers;
  for (const auto& p : c["pointers"])
    pointers.emplace_back(p["offset"].get<uint64_t>(), address_of(p["address"]));
  CHECK(std::count(pointers.begin(), pointers.end(), std::make_pair(uint64_t{16}, data)) == 1);
  CHECK(std::count(pointers.begin(), pointers.end(), std::make_pair(uint64_t{40}, config)) == 1);
  const uint64_t key = le64(bytes, 0);
  bool key_marked = false;
  for (const auto& [offset, to] : pointers) key_marked |= offset == 0 && to <= key;
  CHECK(key_marked);

  SECTION("the key string's bytes, at the key pointer's offset in its (tiny) block") {
    const nlohmann::json block = target_contents(key, "4096");
    const uint64_t start = address_of(block["address"]);
    REQUIRE(start <= key);
    const std::string hex = block["contents"]["hex"].get<std::string>();
    const size_t at = 2 * static_cast<size_t>(key - start);
    REQUIRE(hex.size() >= at + 22);
    CHECK(hex.substr(at, 22) == "757365723a313030303030");  // "user:100000"
    // Text: the key in the ASCII column.
    const CliRun r =
        run_heapwalk("paths --address " + hex_string(key) + " --show-contents " + kGrowingmap);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("user:100000") != std::string::npos);
  }

  SECTION("Data: e.Data[0], e.Data[1] = gen, byte(i); the rest not shown, and said so") {
    const nlohmann::json t = target_contents(data, "2");
    char gen_hex[8];
    std::snprintf(gen_hex, sizeof gen_hex, "%02x", static_cast<unsigned>(generation));
    CHECK(t["contents"]["hex"] == std::string(gen_hex) + "00");  // i = 0
    CHECK(t["contents"]["shown"] == 2);
    CHECK(t["contents"]["size"] == truth["entry_data_slot_size"]);
    const CliRun r =
        run_heapwalk("paths --address " + hex_string(data) + " --show-contents=2 " + kGrowingmap);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("contents of " + hex_string(data) + ", first 2 of 256 bytes (sensitive):\n") !=
          std::string::npos);
    CHECK(r.out.find("  0000  0" + std::to_string(generation) + " 00 ") != std::string::npos);
    CHECK(r.out.find("... 254 more bytes not shown\n") != std::string::npos);
  }

  SECTION("text: the entry's hex dump with its pointer fields named") {
    const CliRun r =
        run_heapwalk("paths --address " + hex_string(entry) + " --show-contents " + kGrowingmap);
    INFO(r.out);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("contents of " + hex_string(entry) + ", 64 of 64 bytes (sensitive):\n") !=
          std::string::npos);
    CHECK(r.out.find("+0x10 -> " + hex_string(data) + "  ") != std::string::npos);
    CHECK(r.out.find("+0x28 -> " + hex_string(config) + "  ") != std::string::npos);
    // Line 0010: Data's pointer, then its len 256 = 00 01 00 ... little-endian.
    std::string data_hex;
    for (int i = 0; i < 8; ++i) {
      char b[4];
      std::snprintf(b, sizeof b, "%02x ", static_cast<unsigned>((data >> (8 * i)) & 0xff));
      data_hex += b;
    }
    CHECK(r.out.find("  0010  " + data_hex + " 00 01 00 00 00 00 00 00  ") != std::string::npos);
  }
}

TEST_CASE("show contents: top and dominators show each object's real bytes",
          "[show_contents][cli][samples]") {
  const Snapshot s = load_snapshot((source_dir() / kGrowingmap).string());
  const nlohmann::json truth = sample_truth("growingmap");
  const std::string hmap = truth["registry_map"]["hmap"].get<std::string>();
  const std::vector<std::string> runs = {
      "top -n 5 --show-contents=48 ", "dominators --depth 2 --min-bytes 4KiB --show-contents=48 ",
      "dominators --address " + hmap + " --depth 1 --show-contents=48 "};
  for (const std::string& args : runs) {
    INFO("heapwalk " << args);
    const nlohmann::json j = run_heapwalk_json(args + kGrowingmap);
    CHECK(j["sensitive"] == true);
    const nlohmann::json& rows = j.contains("top") ? j["top"] : j["nodes"];
    int checked = 0;
    for (const auto& row : rows) {
      if (!row.contains("address")) continue;  // the super-root
      const ObjectId id = s.find(address_of(row["address"]));
      REQUIRE(id != kNoObject);
      const auto bytes = s.contents(id);
      const size_t n = std::min<size_t>(48, bytes.size());
      std::string hex;
      for (size_t i = 0; i < n; ++i) {
        char b[4];
        std::snprintf(b, sizeof b, "%02x", bytes[i]);
        hex += b;
      }
      CHECK(row["contents"]["hex"] == hex);
      CHECK(row["contents"]["shown"] == n);
      CHECK(row["contents"]["size"] == s.size(id));
      // Every marked pointer is an out-edge whose field lies in the shown bytes.
      for (const auto& p : row["contents"]["pointers"]) {
        CHECK(p["offset"].get<uint64_t>() < n);
        CHECK(s.find(s.word(id, p["offset"].get<uint64_t>())) == s.find(address_of(p["address"])));
      }
      ++checked;
    }
    CHECK(checked >= 2);
  }
}

TEST_CASE("show contents: N is validated before the dump is read (exit 1)",
          "[show_contents][cli]") {
  const std::string file = "samples/go/ctxleak/ctxleak.heapdump.zst";
  for (const char* bad : {"0", "4097", "99999", "abc", "12x", "-1", "+5", "1e3", "0x40"}) {
    for (const char* verb : {"top", "paths", "dominators", "cycles"}) {
      const std::string args = std::string(verb) + " --show-contents=" + bad + " " + file;
      INFO("heapwalk " << args);
      const CliRun r = run_heapwalk(args);
      CHECK(r.status == 1);
      CHECK(r.out.empty());
      CHECK(r.err.find("--show-contents=N takes a byte count from 1 to 4096, got '" +
                       std::string(bad) + "'") != std::string::npos);
    }
  }
  const CliRun blank = run_heapwalk("top --show-contents 128 " + file);
  CHECK(blank.status == 1);
  CHECK(blank.err.find("write --show-contents=128") != std::string::npos);
  const CliRun empty = run_heapwalk("top --show-contents= " + file);
  CHECK(empty.status == 1);
  CHECK(empty.err.find("--show-contents= needs a value") != std::string::npos);
  for (const char* good : {"1", "4096"}) {
    const CliRun r = run_heapwalk(std::string("top -n 1 --show-contents=") + good + " " + file);
    CHECK(r.status == 0);
  }
  const struct {
    const char* args;
    const char* message;
  } misuse[] = {
      {"top --by type --show-contents ", "use it with --by object"},
      {"paths --hop-contents ", "--hop-contents needs --show-contents"},
      {"paths --format dot --show-contents ", "DOT output never holds object contents"},
      {"summary --show-contents ", "show-contents"},
      {"histogram --show-contents ", "show-contents"},
      {"unreachable --show-contents ", "show-contents"},
  };
  for (const auto& m : misuse) {
    INFO("heapwalk " << m.args);
    const CliRun r = run_heapwalk(m.args + file);
    CHECK(r.status == 1);
    CHECK(r.err.find(m.message) != std::string::npos);
  }
}

// Output safety (issue 10): a crafted dump whose type, function, file, wait
// reason and root names hold quotes, backslashes, newlines, terminal escape
// sequences and invalid UTF-8, and whose objects hold a "secret". Every verb,
// in every output format, must print no object contents, no raw control
// character (text: \xNN escapes; JSON: \u00NN; DOT: escaped string literals)
// and no line that the dump's strings injected.
//
// With --show-contents (the opt-in) the secret object's bytes are shown, but
// only as hex (JSON) or as a hex dump whose ASCII column turns every byte
// outside 0x20..0x7e into '.', the output is marked sensitive, and the bytes
// shown are the object's real bytes.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "heapwalk/snapshot.h"
#include "support/cli.h"
#include "support/dump_writer.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

// Each hostile string: a quote, a backslash, a newline that would start an
// "INJECTED" line, an ANSI colour and an OSC title sequence, a bell, and a
// lone continuation byte (invalid UTF-8).
const std::string kHostile =
    "main.Evil\"q\\b\nINJECTED line\x1b[31mred\x1b]0;title\x07\x80"
    "end";
const std::string kSecret = "SECRET-PASSWORD-hunter2";
// The rest of the secret object's bytes before its pointer field at 56: an
// OSC title sequence, a bell, a newline starting an "INJECTED" line, an ANSI
// colour, DEL and bytes that are not ASCII.
const std::string kSecretTail = "\x1b]0;pwned\x07\nINJECTED\x1b[31m\x7f\x80\xff";
const std::string kBanner =
    "SENSITIVE: object contents shown (--show-contents); this output may contain secrets";

struct HostileDump {
  std::vector<uint8_t> bytes;
  uint64_t secret = 0;  // the secret object's address
  uint64_t sited = 0;   // the object the secret's field at 56 points to
};

HostileDump hostile_dump() {
  DumpBuilder b;
  DumpDescription& d = b.description();
  const uint64_t type_address = 0x4a0000;
  d.types.push_back({type_address, 8, kHostile + "T", false});  // pointer-shaped
  const uint64_t a = b.object(64);  // holds an interface (type word, data word) and a site pointer
  const uint64_t secret = b.object(64);
  const uint64_t sited = b.object(48);
  // a: word 0 = the type's address, word 1 = pointer to `secret`: an
  // interface naming `secret` by the hostile type.
  auto& spec_a = d.objects;
  for (auto& o : spec_a) {
    if (o.address == a) {
      o.contents.resize(64, 0);
      for (int i = 0; i < 8; ++i) o.contents[i] = static_cast<uint8_t>(type_address >> (8 * i));
    }
    if (o.address == secret) {
      o.contents.assign(kSecret.begin(), kSecret.end());
      o.contents.insert(o.contents.end(), kSecretTail.begin(), kSecretTail.end());
      o.contents.resize(64, 0);
    }
  }
  b.point(a, 8, secret);
  b.point(a, 16, sited);
  b.point(secret, 56, sited);
  b.point(sited, 0, secret);  // a reference cycle, for `cycles`
  b.data_root(a);
  b.frame_root(secret);
  b.other_root(sited);
  d.other_roots.back().description = kHostile + "root";
  d.goroutines.front().wait_reason = kHostile + "wait";
  d.goroutines.front().frames.front().function = kHostile + "frame";
  MemProfBucket bucket;
  bucket.address = 0x7f0000001000;
  bucket.size = 48;
  bucket.stack = {{kHostile + "alloc", "/src/" + kHostile + ".go", 12},
                  {"main." + kHostile + "caller", "main\n.go", 34}};
  bucket.allocs = 1;
  bucket.frees = 0;
  d.buckets.push_back(bucket);
  d.alloc_samples.push_back({sited, bucket.address});
  d.alloc_samples.push_back({secret, bucket.address});
  return {write_dump(d), secret, sited};
}

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::vector<uint8_t>& bytes) {
    path = std::filesystem::temp_directory_path() /
           ("heapwalk-hostile-" + std::to_string(::getpid()) + ".heapdump");
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

// Bytes below 0x20 other than newline and tab, and DEL.
bool has_raw_control(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
  return false;
}

bool has_injected_line(const std::string& s) {
  size_t at = 0;
  while ((at = s.find("INJECTED", at)) != std::string::npos) {
    if (at == 0 || s[at - 1] == '\n') return true;
    ++at;
  }
  return false;
}

// Every string value anywhere in `j`.
void strings_of(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_structured())
    for (const auto& v : j) strings_of(v, out);
  if (j.is_object())
    for (const auto& [k, v] : j.items()) out.push_back(k);
}

// Whether any object in `j` has the key `key`, at any depth.
bool has_key(const nlohmann::json& j, const std::string& key) {
  if (j.is_object() && j.contains(key)) return true;
  if (j.is_structured())
    for (const auto& v : j)
      if (has_key(v, key)) return true;
  return false;
}

// Every object in `j` that has both "address" and "contents", at any depth.
void objects_with_contents(const nlohmann::json& j, std::vector<const nlohmann::json*>& out) {
  if (j.is_object() && j.contains("address") && j.contains("contents")) out.push_back(&j);
  if (j.is_structured())
    for (const auto& v : j) objects_with_contents(v, out);
}

// DOT: every line's string literals close (unescaped quotes come in pairs).
bool dot_quotes_balanced(const std::string& dot) {
  size_t start = 0;
  while (start < dot.size()) {
    size_t end = dot.find('\n', start);
    if (end == std::string::npos) end = dot.size();
    int quotes = 0;
    for (size_t i = start; i < end; ++i) {
      if (dot[i] == '\\') {
        ++i;
        continue;
      }
      quotes += dot[i] == '"';
    }
    if (quotes % 2) return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

TEST_CASE("output safety: dump strings are escaped and contents never printed, in every verb",
          "[output_safety][cli]") {
  const HostileDump hostile = hostile_dump();
  TempFile dump(hostile.bytes);
  const std::string file = shell_quote(dump.path.string());
  const std::string secret_hex = to_hex(kSecret);
  const std::vector<std::string> runs = {
      "summary",         "top",
      "top --by type",   "top --by site",
      "paths",           "paths --largest 3",
      "dominators",      "goroutines",
      "histogram",       "histogram --by site",
      "histogram --all", "unreachable --by site",
  };
  int text_escapes = 0, json_hostile = 0;
  for (const std::string& verb : runs) {
    for (const char* format : {"text", "json"}) {
      const std::string args = verb + " --format " + format + " " + file;
      INFO("heapwalk " << args);
      CliRun r = run_heapwalk(args);
      INFO("stderr: " << r.err);
      REQUIRE(r.status == 0);
      CHECK(r.out.find(kSecret) == std::string::npos);
      CHECK(r.out.find("hunter2") == std::string::npos);
      CHECK(r.out.find(secret_hex.substr(0, 16)) == std::string::npos);
      CHECK(r.out.find("SENSITIVE") == std::string::npos);
      CHECK(r.err.find("SENSITIVE") == std::string::npos);
      CHECK_FALSE(has_raw_control(r.out));
      CHECK_FALSE(has_raw_control(r.err));
      CHECK_FALSE(has_injected_line(r.out));
      if (std::string(format) == "text") {
        text_escapes += r.out.find("\\x1b[31mred") != std::string::npos;
      } else {
        nlohmann::json j = nlohmann::json::parse(r.out);  // throws on broken JSON
        CHECK(j["schema"] == 1);
        CHECK_FALSE(has_key(j, "contents"));
        CHECK_FALSE(has_key(j, "sensitive"));
        CHECK_FALSE(has_key(j, "hex"));
        std::vector<std::string> strings;
        strings_of(j, strings);
        // The names reach JSON whole (escape sequences included, as JSON
        // escapes), not dropped: the invalid byte becomes U+FFFD.
        for (const std::string& s : strings)
          if (s.find("\x1b[31mred\x1b]0;title\x07") != std::string::npos) ++json_hostile;
      }
    }
  }
  // The hostile names do show (escaped) somewhere: the test is not vacuous.
  CHECK(text_escapes >= 4);
  CHECK(json_hostile >= 4);

  for (const std::string& verb : {std::string("paths"), std::string("paths --largest 3")}) {
    const std::string args = verb + " --format dot " + file;
    INFO("heapwalk " << args);
    CliRun r = run_heapwalk(args);
    INFO("stdout: " << r.out);
    REQUIRE(r.status == 0);
    CHECK(r.out.rfind("digraph", 0) == 0);
    CHECK(r.out.find(kSecret) == std::string::npos);
    CHECK_FALSE(has_raw_control(r.out));
    CHECK_FALSE(has_injected_line(r.out));
    CHECK(dot_quotes_balanced(r.out));
    CHECK(r.out.find("\\\"q\\\\b") != std::string::npos);  // the quote and backslash, escaped
  }
}

TEST_CASE("output safety: --show-contents shows real bytes, hex only, control bytes neutralised",
          "[output_safety][show_contents][cli]") {
  const HostileDump hostile = hostile_dump();
  TempFile dump(hostile.bytes);
  const std::string file = shell_quote(dump.path.string());
  // The secret object's bytes, found in the dump file itself (not through
  // heapwalk's reader): the writer stores contents verbatim, once.
  const std::string raw(hostile.bytes.begin(), hostile.bytes.end());
  const size_t at = raw.find(kSecret);
  REQUIRE(at != std::string::npos);
  REQUIRE(raw.find(kSecret, at + 1) == std::string::npos);
  const std::string secret_bytes = raw.substr(at, 64);
  REQUIRE(secret_bytes.substr(kSecret.size(), kSecretTail.size()) == kSecretTail);
  const std::string secret_address = "0x" + [&] {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(hostile.secret));
    return std::string(buf);
  }();
  const std::string sited_address = [&] {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(hostile.sited));
    return std::string(buf);
  }();

  SECTION("JSON: marked sensitive, the secret as hex equal to the dump's bytes, never raw") {
    for (const char* n : {"", "=16", "=64", "=4096"}) {
      const std::string args =
          "paths --address " + secret_address + " --show-contents" + n + " --format json " + file;
      INFO("heapwalk " << args);
      CliRun r = run_heapwalk(args);
      INFO("stderr: " << r.err);
      REQUIRE(r.status == 0);
      CHECK(r.out.find("hunter2") == std::string::npos);  // the bytes appear as hex only
      CHECK_FALSE(has_raw_control(r.out));
      CHECK(r.err.find(kBanner) != std::string::npos);
      const auto j = nlohmann::ordered_json::parse(r.out);
      auto key = j.begin();
      CHECK(key.key() == "schema");
      ++key;
      CHECK(key.key() == "sensitive");
      CHECK(j["sensitive"] == true);
      REQUIRE(j["paths"].size() == 1);
      const auto& target = j["paths"][0]["target"];
      CHECK(target["address"] == secret_address);
      const auto& c = target["contents"];
      const size_t shown = std::string(n) == "=16" ? 16 : 64;
      CHECK(c["offset"] == 0);
      CHECK(c["size"] == 64);
      CHECK(c["shown"] == shown);
      CHECK(c["hex"] == to_hex(secret_bytes.substr(0, shown)));
      // The pointer field at 56 resolves to `sited`: marked when shown.
      if (shown == 64) {
        REQUIRE(c["pointers"].size() == 1);
        CHECK(c["pointers"][0]["offset"] == 56);
        CHECK(c["pointers"][0]["address"] == sited_address);
      } else {
        CHECK(c["pointers"].empty());
      }
    }
  }

  SECTION("text: banner first, a hex dump whose ASCII column has no control byte") {
    const std::string args = "paths --address " + secret_address + " --show-contents " + file;
    INFO("heapwalk " << args);
    CliRun r = run_heapwalk(args);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.rfind(kBanner + "\n", 0) == 0);
    CHECK(r.err.find(kBanner) != std::string::npos);
    CHECK_FALSE(has_raw_control(r.out));
    CHECK_FALSE(has_injected_line(r.out));
    // Each 16-byte line: offset, the bytes in hex, and the ASCII column
    // computed here from the dump's bytes ('.' for anything unprintable).
    for (size_t line = 0; line < 64; line += 16) {
      std::string hex, ascii;
      for (size_t i = line; i < line + 16; ++i) {
        if (i == line + 8) hex += ' ';
        const auto byte = static_cast<unsigned char>(secret_bytes[i]);
        hex += to_hex(secret_bytes.substr(i, 1)) + ' ';
        ascii += byte >= 0x20 && byte <= 0x7e ? static_cast<char>(byte) : '.';
      }
      char offset[8];
      std::snprintf(offset, sizeof offset, "%04zx", line);
      const std::string expected = std::string(offset) + "  " + hex + " |" + ascii + "|\n";
      INFO("expected line: " << expected);
      CHECK(r.out.find(expected) != std::string::npos);
    }
    CHECK(r.out.find("|hunter2.]0;pwned|") != std::string::npos);
    CHECK(r.out.find("+0x38 -> " + sited_address) != std::string::npos);
  }

  SECTION("every verb that shows contents: marked, safe, and every object's bytes real") {
    const Snapshot s = load_snapshot(dump.path.string());
    const std::vector<std::string> runs = {
        "top --show-contents",
        "top --show-contents=8",
        "dominators --show-contents",
        "paths --show-contents",
        "paths --largest 3 --show-contents --hop-contents",
        "paths --largest 3 -k 2 --show-contents=24 --hop-contents",
        "cycles --all --show-contents",
    };
    int objects_checked = 0;
    for (const std::string& verb : runs) {
      for (const char* format : {"text", "json"}) {
        const std::string args = verb + " --format " + format + " " + file;
        INFO("heapwalk " << args);
        CliRun r = run_heapwalk(args);
        INFO("stderr: " << r.err);
        REQUIRE(r.status == 0);
        CHECK_FALSE(has_raw_control(r.out));
        CHECK_FALSE(has_raw_control(r.err));
        CHECK_FALSE(has_injected_line(r.out));
        CHECK(r.err.find(kBanner) != std::string::npos);
        if (std::string(format) == "text") {
          CHECK(r.out.rfind(kBanner + "\n", 0) == 0);
          CHECK(r.out.find(" bytes (sensitive):\n") != std::string::npos);
          continue;
        }
        const auto j = nlohmann::json::parse(r.out);
        CHECK(j["sensitive"] == true);
        std::vector<const nlohmann::json*> shown;
        objects_with_contents(j, shown);
        CHECK(!shown.empty());
        for (const nlohmann::json* o : shown) {
          const std::string address = (*o)["address"].get<std::string>();
          const ObjectId id = s.find(std::stoull(address, nullptr, 16));
          REQUIRE(id != kNoObject);
          REQUIRE(s.address(id) == std::stoull(address, nullptr, 16));
          const auto bytes = s.contents(id);
          const auto& c = (*o)["contents"];
          const size_t n = c["shown"].get<size_t>();
          CHECK(n == std::min<size_t>(bytes.size(), verb.find("=8") != std::string::npos    ? 8
                                                    : verb.find("=24") != std::string::npos ? 24
                                                                                            : 64));
          CHECK(c["size"] == s.size(id));
          CHECK(c["hex"] ==
                to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), n)));
          ++objects_checked;
        }
      }
    }
    CHECK(objects_checked >= 8);
  }

  SECTION("DOT never holds contents: --show-contents with --format dot is a usage error") {
    for (const char* verb : {"paths", "cycles"}) {
      CliRun r = run_heapwalk(std::string(verb) + " --show-contents --format dot " + file);
      CHECK(r.status == 1);
      CHECK(r.out.empty());
      CHECK(r.err.find("DOT output never holds object contents") != std::string::npos);
    }
  }
}

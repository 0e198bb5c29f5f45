// Output safety (issue 10): a crafted dump whose type, function, file, wait
// reason and root names hold quotes, backslashes, newlines, terminal escape
// sequences and invalid UTF-8, and whose objects hold a "secret". Every verb,
// in every output format, must print no object contents, no raw control
// character (text: \xNN escapes; JSON: \u00NN; DOT: escaped string literals)
// and no line that the dump's strings injected.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

std::vector<uint8_t> hostile_dump() {
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
      o.contents.resize(64, 0);
    }
  }
  b.point(a, 8, secret);
  b.point(a, 16, sited);
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
  return write_dump(d);
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
  TempFile dump(hostile_dump());
  const std::string file = shell_quote(dump.path.string());
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
      CHECK_FALSE(has_raw_control(r.out));
      CHECK_FALSE(has_raw_control(r.err));
      CHECK_FALSE(has_injected_line(r.out));
      if (std::string(format) == "text") {
        text_escapes += r.out.find("\\x1b[31mred") != std::string::npos;
      } else {
        nlohmann::json j = nlohmann::json::parse(r.out);  // throws on broken JSON
        CHECK(j["schema"] == 1);
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

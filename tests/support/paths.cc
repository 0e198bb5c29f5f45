#include "support/paths.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

namespace heapwalk::test {

namespace fs = std::filesystem;

fs::path source_dir() { return HEAPWALK_SOURCE_DIR; }
fs::path heapwalk_binary() { return HEAPWALK_BINARY; }

fs::path corpus_dir() {
  fs::path dir = fs::path(HEAPWALK_SHARED_DIR) / "corpus";
  std::error_code ec;
  return fs::is_directory(dir, ec) ? dir : fs::path();
}

namespace {

// Every NAME.heapdump(.zst) under `dir`'s immediate subfolders, sorted.
std::vector<DumpCase> dumps_under(const fs::path& dir, const std::string& prefix) {
  std::vector<DumpCase> out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  for (const auto& sub : fs::directory_iterator(dir)) {
    if (!sub.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(sub.path())) {
      std::string name = file.path().filename().string();
      for (const char* suffix : {".heapdump.zst", ".heapdump"}) {
        std::string s = suffix;
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
          std::string stem = name.substr(0, name.size() - s.size());
          out.push_back({prefix + sub.path().filename().string() + "/" + stem, file.path(),
                         sub.path() / (stem + ".truth.json")});
          break;
        }
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const DumpCase& a, const DumpCase& b) { return a.name < b.name; });
  return out;
}

}  // namespace

std::vector<DumpCase> corpus_dumps() { return dumps_under(corpus_dir(), ""); }
std::vector<DumpCase> sample_dumps() {
  // Only each sample's own dump (NAME/NAME.heapdump.zst, whose truth file has
  // the shared shape). samples/go/sessionleak holds two runs of a load test
  // (sessionleak.short, sessionleak.long) for check and diff, with truth
  // files of their own shape; tests/test_check_verb.cc reads them.
  std::vector<DumpCase> out;
  for (DumpCase& c : dumps_under(source_dir() / "samples" / "go", "sample/")) {
    const std::string folder = c.dump.parent_path().filename().string();
    if (c.name == "sample/" + folder + "/" + folder) out.push_back(std::move(c));
  }
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) FAIL("cannot read " << path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace heapwalk::test

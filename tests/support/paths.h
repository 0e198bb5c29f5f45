// Where tests find their inputs. The shared corpus sits beside the project in
// CI and on developers' machines, but not in a user's clone: tests that read
// it SKIP (never fail) when it is absent.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace heapwalk::test {

std::filesystem::path source_dir();       // the project checkout
std::filesystem::path heapwalk_binary();  // the built CLI
// ../shared/corpus, or empty when it is not there.
std::filesystem::path corpus_dir();

struct DumpCase {
  std::string name;             // "go1.19/reqctx", "sample/ctxleak"
  std::filesystem::path dump;   // .heapdump.zst
  std::filesystem::path truth;  // .truth.json (may not exist)
};
std::vector<DumpCase> corpus_dumps();  // empty without the corpus
std::vector<DumpCase> sample_dumps();  // samples/go/*/ in this checkout

// Reads a whole file; fails the test if it cannot.
std::string read_file(const std::filesystem::path& path);

}  // namespace heapwalk::test

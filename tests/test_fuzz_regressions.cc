// Every input a fuzzer found a bug with, replayed through the fuzz target's
// own pipeline (fuzz/pipelines.h): it must load or be refused with an
// InputError, never crash, throw anything else or trip a sanitizer (run
// under HEAPWALK_SANITIZE=ON in CI). Inputs live in
// tests/data/fuzz-regressions/TARGET/, one file each, named after the bug;
// the committed seed corpora (fuzz/corpus/TARGET/) are replayed too.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "fuzz/pipelines.h"
#include "support/paths.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

template <class Refusal = heapwalk::InputError>
void replay(const std::string& target, void (*pipeline)(std::span<const uint8_t>)) {
  const fs::path root = heapwalk::test::source_dir();
  std::vector<fs::path> inputs = files_in(root / "tests/data/fuzz-regressions" / target);
  const size_t regressions = inputs.size();
  for (const fs::path& p : files_in(root / "fuzz/corpus" / target)) inputs.push_back(p);
  REQUIRE(inputs.size() > regressions);  // the seeds are there
  for (const fs::path& p : inputs) {
    INFO(p.string());
    const std::string bytes = heapwalk::test::read_file(p);
    try {
      pipeline({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    } catch (const Refusal& e) {
      CHECK(std::string(e.what()).size() > 0);
    } catch (const std::exception& e) {
      FAIL_CHECK(typeid(e).name() << ": " << e.what());
    }
  }
}

}  // namespace

TEST_CASE("fuzz regressions: the input layer", "[fuzz][regression]") {
  replay("input", heapwalk::fuzz::input_pipeline);
}

TEST_CASE("fuzz regressions: the Go reader, builder and passes", "[fuzz][regression]") {
  replay("go_reader", heapwalk::fuzz::go_reader_pipeline);
}

#ifdef HEAPWALK_FUZZ_HAVE_RULES
TEST_CASE("fuzz regressions: the rules parser", "[fuzz][regression]") {
  replay<heapwalk::rules::ParseError>("rules", heapwalk::fuzz::rules_pipeline);
}
#endif

// Found by fuzz_input (slow, 190 MB RSS per run): a zstd frame header's
// announced content size was allocated (and zero-filled) up front, so 20 bytes
// announcing 1 TiB under a large --max-decompressed allocated 1 TiB before a
// single byte was decompressed (std::bad_alloc, or the OOM killer). Memory
// must follow the output really produced.
TEST_CASE("fuzz regressions: a zstd header announcing a huge size allocates nothing of it",
          "[fuzz][regression]") {
  std::vector<uint8_t> frame = {0x28, 0xB5, 0x2F, 0xFD, 0xE0};  // single segment, 8-byte size
  for (int i = 0; i < 8; ++i) frame.push_back(static_cast<uint8_t>((uint64_t{1} << 40) >> (8 * i)));
  for (int i = 0; i < 16; ++i) frame.push_back(0);  // then garbage: a corrupt block
  heapwalk::InputOptions options;
  options.max_decompressed_bytes = uint64_t{1} << 41;  // the announced size is within the bound
  try {
    heapwalk::InputBuffer::from_bytes("announces-1TiB.zst", frame, options);
    FAIL("decompressed");
  } catch (const heapwalk::InputError& e) {
    CHECK(e.file() == "announces-1TiB.zst");
  }  // std::bad_alloc (the old up-front allocation) fails the test
}

// --max-memory (issue 10): refused politely (exit 2, one line naming the file
// and the estimate) before the memory is used; accepted when it fits.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "heapwalk/error.h"
#include "heapwalk/input.h"
#include "heapwalk/snapshot.h"
#include "support/cli.h"
#include "support/paths.h"

using namespace heapwalk;
using namespace heapwalk::test;
namespace fs = std::filesystem;

TEST_CASE("max-memory: refuses zstd input over it, then an analysis estimated over it",
          "[max_memory][cli]") {
  const std::string sample = "samples/go/ctxleak/ctxleak.heapdump.zst";
  if (!fs::exists(source_dir() / sample)) {
    WARN("no ctxleak sample: skipped");
    return;
  }
  // 5.5 MB decompressed: refused before decompressing.
  CliRun small = run_heapwalk("summary --max-memory 1MiB " + sample);
  CHECK(small.status == 2);
  CHECK(small.err.find("heapwalk: " + sample + ": ") == 0);
  CHECK(small.err.find("--max-memory") != std::string::npos);
  CHECK(std::count(small.err.begin(), small.err.end(), '\n') == 1);

  // The plain dump: its bytes fit, the estimate for its objects does not.
  InputBuffer input = InputBuffer::open((source_dir() / sample).string());
  const fs::path plain = fs::temp_directory_path() /
                         ("heapwalk-max-memory-" + std::to_string(::getpid()) + ".heapdump");
  {
    std::ofstream out(plain, std::ios::binary);
    out.write(reinterpret_cast<const char*>(input.bytes().data()),
              static_cast<std::streamsize>(input.bytes().size()));
  }
  const std::string budget = std::to_string(input.bytes().size() + 4096);
  CliRun over = run_heapwalk("top --max-memory " + budget + " " + shell_quote(plain.string()));
  CHECK(over.status == 2);
  CHECK(over.err.find("needs about ") != std::string::npos);
  CHECK(over.err.find(" objects, ") != std::string::npos);
  // In-process: the same refusal is an InputError, before build_snapshot.
  LoadOptions options;
  options.max_memory = input.bytes().size() + 4096;
  CHECK_THROWS_AS(load_snapshot(plain.string(), options), InputError);
  options.max_memory = uint64_t{1} << 30;
  CHECK(load_snapshot(plain.string(), options).object_count() > 0);

  CHECK(run_heapwalk("top --max-memory 1GiB " + shell_quote(plain.string())).status == 0);
  CHECK(run_heapwalk("top --max-memory lots " + shell_quote(plain.string())).status == 1);
  std::error_code ec;
  fs::remove(plain, ec);
}

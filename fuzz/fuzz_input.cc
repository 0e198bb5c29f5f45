// libFuzzer target: the input layer on bytes in memory. zstd sniffing and the
// bounded decompression (a small limit, so that decompression bombs are
// refused rather than allocated), then the format sniff of whatever came out.
// Anything but an InputError escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "heapwalk/error.h"
#include "heapwalk/input.h"
#include "heapwalk/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  heapwalk::InputOptions options;
  options.max_decompressed_bytes = 16u
                                   << 20;  // keeps every run far below libFuzzer's -rss_limit_mb
  try {
    heapwalk::InputBuffer input =
        heapwalk::InputBuffer::from_bytes("fuzz", std::span<const uint8_t>(data, size), options);
    if (input.bytes().size() > options.max_decompressed_bytes) __builtin_trap();  // bound broken
    for (const heapwalk::FormatReader& reader : heapwalk::format_readers())
      (void)reader.sniff(input.bytes());
  } catch (const heapwalk::InputError&) {
  }
  return 0;
}

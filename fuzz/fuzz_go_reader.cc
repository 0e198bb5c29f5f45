// libFuzzer target: the Go reader, the snapshot builder and the passes on an
// uncompressed dump in memory (fuzz/pipelines.h; the first byte is an option
// byte).
#include "fuzz/pipelines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    heapwalk::fuzz::go_reader_pipeline({data, size});
  } catch (const heapwalk::InputError&) {
  }
  return 0;
}

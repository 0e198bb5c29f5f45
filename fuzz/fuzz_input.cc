// libFuzzer target: the input layer on bytes in memory (fuzz/pipelines.h).
#include "fuzz/pipelines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    heapwalk::fuzz::input_pipeline({data, size});
  } catch (const heapwalk::InputError&) {
  }
  return 0;
}

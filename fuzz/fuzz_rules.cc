// libFuzzer target: the rules parser of `heapwalk check` (fuzz/pipelines.h).
// Built only once include/heapwalk/rules/rules.h exists (fuzz/CMakeLists.txt).
#include "fuzz/pipelines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    heapwalk::fuzz::rules_pipeline({data, size});
  } catch (const heapwalk::rules::ParseError&) {
  }
  return 0;
}

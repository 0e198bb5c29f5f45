#include "goroutine_function.h"

#include <algorithm>

namespace heapwalk::cli {

namespace {

// Standard library: the package path's first element has no dot and is not "main".
bool is_std_function(const std::string& function) {
  std::string path = function.substr(0, function.find('.', function.rfind('/') + 1));
  std::string first = path.substr(0, path.find('/'));
  return first != "main" && first.find('.') == std::string::npos;
}

}  // namespace

std::string goroutine_function(const DumpFacts& f, const GoroutineRecord& g) {
  uint32_t end = std::min<uint64_t>(g.first_frame + uint64_t{g.frame_count}, f.frames.size());
  for (uint32_t i = g.first_frame; i < end; ++i)
    if (!is_std_function(f.frames[i].function)) return f.frames[i].function;
  for (uint32_t i = g.first_frame; i < end; ++i)
    if (f.frames[i].function.rfind("runtime.", 0) != 0) return f.frames[i].function;
  return g.first_frame < end ? f.frames[g.first_frame].function : std::string();
}

}  // namespace heapwalk::cli

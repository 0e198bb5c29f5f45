// Where a goroutine is stuck, as a Go engineer would say it: the innermost
// frame of the program's own code, else the innermost frame outside the
// runtime, else the innermost frame. Summary's goroutine groups and check's
// goroutine offenders both use it.
#pragma once

#include <string>

#include "heapwalk/dump.h"

namespace heapwalk::cli {

std::string goroutine_function(const DumpFacts& facts, const GoroutineRecord& g);

}  // namespace heapwalk::cli

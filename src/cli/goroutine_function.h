// Where a goroutine is stuck, as a Go engineer would say it: the innermost
// frame of the program's own code, else the innermost frame outside the
// runtime, else the innermost frame. The same rule as summary's goroutine
// groups (summary.cc has its own copy; it can switch to this one).
#pragma once

#include <string>

#include "heapwalk/dump.h"

namespace heapwalk::cli {

std::string goroutine_function(const DumpFacts& facts, const GoroutineRecord& g);

}  // namespace heapwalk::cli

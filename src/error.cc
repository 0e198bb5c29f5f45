#include "heapwalk/error.h"

#include <cstdio>

namespace heapwalk {

std::string InputError::describe() const {
  if (offset_ == kNoOffset) return file_ + ": " + what();
  char where[64];
  std::snprintf(where, sizeof where, "offset 0x%llx (%llu)",
                static_cast<unsigned long long>(offset_), static_cast<unsigned long long>(offset_));
  return file_ + ": " + where + ": " + what();
}

}  // namespace heapwalk

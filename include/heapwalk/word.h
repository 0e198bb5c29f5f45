// Reading a pointer-sized word of the target process's memory from the dump:
// 4 or 8 bytes, in the byte order the params record gives. Inline: it sits in
// the loop that resolves every pointer field.
#pragma once

#include <cstdint>

namespace heapwalk {

inline uint64_t read_word(const uint8_t* p, uint32_t size, bool big_endian) {
  uint64_t v = 0;
  if (!big_endian) {
    for (uint32_t i = size; i-- > 0;) v = (v << 8) | p[i];
  } else {
    for (uint32_t i = 0; i < size; ++i) v = (v << 8) | p[i];
  }
  return v;
}

}  // namespace heapwalk

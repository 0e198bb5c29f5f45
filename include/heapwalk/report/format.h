// Small formatting helpers shared by every report: sizes, counts, addresses,
// and neutralising strings that come from the dump (function, file and type
// names are attacker-controlled in a crafted dump).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace heapwalk::report {

std::string hex(uint64_t value);                     // "0xc000012000"
std::string bytes_human(uint64_t bytes);             // "512 B", "1.5 KiB", "2.2 MiB"
std::string count(uint64_t n);                       // "12,345"
std::string percent(uint64_t part, uint64_t whole);  // "12.3%"
// Nanoseconds rounded DOWN to whole seconds, minutes or hours, for lower
// bounds: "59 s", "12 min", "3 h", "0 s".
std::string duration_floor(uint64_t nanoseconds);
// Text output: control characters and invalid UTF-8 become \xNN escapes.
std::string safe_text(std::string_view s);

}  // namespace heapwalk::report

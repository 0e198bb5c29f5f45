// --show-contents[=N]: the one opt-in to object contents, shared by the verbs
// that list individual objects (paths, top --by object, dominators, cycles).
//
// Dumps hold passwords, keys and tokens, so heapwalk never shows an object's
// bytes unless asked. When asked, the output says so where a reader cannot
// miss it: text output starts with kSensitiveBanner (and stderr gets it too,
// so a person piping the output elsewhere still sees it); JSON carries
// "sensitive": true right after "schema" (mark_sensitive adds the key,
// announce_sensitive, which print_result calls, writes the banner).
//
// N is the bytes shown per object: 64 when given without a value, 1..4096
// otherwise (write --show-contents=N: a separate word would be taken as a
// FILE). Anything else is a UsageError naming the verb and the value.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "common_options.h"
#include "heapwalk/report/json.h"

namespace heapwalk::cli {

inline constexpr uint64_t kDefaultContentsBytes = 64;
inline constexpr uint64_t kMaxContentsBytes = 4096;

inline constexpr const char* kSensitiveBanner =
    "SENSITIVE: object contents shown (--show-contents); this output may contain secrets";

class ShowContentsOption {
 public:
  // Adds --show-contents to the parser's options; `applies_to` ends its help
  // line ("the target of each path").
  ShowContentsOption(VerbParser& parser, const std::string& applies_to);
  // After parser.parse(): the bytes to show per object, 0 when not asked.
  // Throws UsageError for a value that is not a whole number in 1..4096.
  uint64_t bytes(const std::string& verb) const;

 private:
  VerbParser& parser_;
  std::string text_;
};

// The N of --show-contents=N: decimal digits, 1..4096. Throws UsageError.
uint64_t parse_contents_bytes(const std::string& verb, const std::string& text);

// Adds "sensitive": true to a verb's JSON, right after "schema".
void mark_sensitive(report::Json& j);
bool is_sensitive(const report::Json& j);

// For JSON marked sensitive: the banner as the first line of text output on
// `out` (nothing on `out` for JSON, which carries the key), and as a warning
// line on `err` in every format. Nothing for unmarked JSON.
void announce_sensitive(const report::Json& j, OutputFormat format, std::ostream& out,
                        std::ostream& err);

}  // namespace heapwalk::cli

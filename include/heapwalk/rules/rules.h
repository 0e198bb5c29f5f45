// The rules language of `heapwalk check`: one budget or forbidden shape per
// line, so that a CI job fails when a heap dump exceeds it.
//
//   # budgets for the session service
//   max live_bytes 512MiB
//   max unreachable_bytes 64MiB
//   max retained type:*context.cancelCtx 10MiB
//   max count site:main.newSession 1000
//   max goroutines 1000
//   max goroutines wait:"chan receive" 100
//   no finalizer-cycles
//   max cycle_bytes 1MiB
//
// Grammar (README.md, "Rules", is the user's copy):
//
//   file      = { line } ;                 lines end at "\n" ("\r\n" too)
//   line      = [ rule ] [ comment ] ;
//   comment   = "#" { any character } ;    outside quoted strings only
//   rule      = "max" measure limit
//             | "no" "finalizer-cycles" ;
//   measure   = "live_bytes" | "live_objects" | "unreachable_bytes" | "cycle_bytes"
//             | "retained" selector | "bytes" selector | "count" selector
//             | "goroutines" [ "wait:" value ] ;
//   selector  = ( "type:" | "site:" ) value ;
//   value     = bare | quoted ;            bare: no blanks, '#' or '"'
//   quoted    = '"' { char | escape } '"' ; escapes \" \\ \n \t \xHH
//   limit     = size (byte measures) | integer (count measures) ;
//   size      = number [ unit ] ;          unit: B KiB MiB GiB TiB KB MB GB TB
//   number    = digits [ "." digits ] ;    a fraction only with a unit
//
// Words are separated by blanks (spaces, tabs). `type:` matches the type
// name exactly (what `histogram` shows; `--binary` gives full names);
// `site:` matches objects whose allocation site label contains the value;
// `wait:` matches a user goroutine's state exactly ("chan receive",
// "select", "running", ...).
//
// parse_rules is a pure function (no I/O, no globals), so it can be fuzzed.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace heapwalk::rules {

enum class Measure {
  kLiveBytes,         // bytes of live objects (Go's mark)
  kLiveObjects,       // live objects
  kUnreachableBytes,  // bytes the next collection frees (span bitmaps excluded)
  kCycleBytes,        // bytes of live objects on reference cycles
  kRetained,          // bytes retained by the SET of objects the selector matches
  kBytes,             // bytes of the live objects the selector matches
  kCount,             // number of live objects the selector matches
  kGoroutines,        // user goroutines (optionally those in one state)
  kFinalizerCycles,   // objects with finalizers on a cycle ("no finalizer-cycles": limit 0)
};

enum class SelectorKind { kNone, kType, kSite, kWait };

struct Rule {
  Measure measure = Measure::kLiveBytes;
  SelectorKind selector = SelectorKind::kNone;
  std::string value;  // the selector's value, unescaped
  uint64_t limit = 0;
  bool is_size = false;  // limit is a byte count (print it as a size)
  // Where it was written, for messages: "heapwalk.rules:3".
  std::string source;
  uint32_t line = 0, column = 0;  // 1-based; column of the rule's first word
  std::string text;               // the rule as written, comment and blanks trimmed
};

// A malformed rule: what was expected where. what() is
// "SOURCE:LINE:COLUMN: message".
class ParseError : public std::runtime_error {
 public:
  ParseError(std::string source, uint32_t line, uint32_t column, std::string message);
  const std::string& source() const { return source_; }
  uint32_t line() const { return line_; }
  uint32_t column() const { return column_; }  // 1-based, in bytes
  const std::string& message() const { return message_; }

 private:
  std::string source_;
  uint32_t line_, column_;
  std::string message_;
};

// Parses a whole rules text; `source_name` names it in messages and in each
// Rule. Throws ParseError at the first mistake. An empty text (or only
// comments) gives no rules. Linear in the text.
std::vector<Rule> parse_rules(std::string_view text, const std::string& source_name);

// "max retained type:*context.cancelCtx 10 MiB": the rule in canonical form
// (quoted where needed, limit in bytes or as a count).
std::string describe(const Rule& rule);
// "live_bytes", "retained type:X", ...: the measure with its selector.
std::string measure_name(const Rule& rule);

}  // namespace heapwalk::rules

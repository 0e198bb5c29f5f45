// parse_rules: every rule the README documents, units, comments, quoting, and
// every error path with its line and column.

#include <catch2/catch.hpp>
#include <string>

#include "heapwalk/rules/rules.h"

using namespace heapwalk::rules;

namespace {

Rule one(const std::string& text) {
  const std::vector<Rule> rules = parse_rules(text, "t.rules");
  REQUIRE(rules.size() == 1);
  return rules[0];
}

// Parses `text` expecting an error at line:column whose message contains `part`.
void expect_error(const std::string& text, uint32_t line, uint32_t column,
                  const std::string& part) {
  INFO("rules: " << text);
  try {
    parse_rules(text, "t.rules");
    FAIL("no error");
  } catch (const ParseError& e) {
    INFO("error: " << e.what());
    CHECK(e.line() == line);
    CHECK(e.column() == column);
    CHECK(e.source() == "t.rules");
    CHECK(e.message().find(part) != std::string::npos);
    CHECK(std::string(e.what()) ==
          "t.rules:" + std::to_string(line) + ":" + std::to_string(column) + ": " + e.message());
  }
}

}  // namespace

TEST_CASE("rules: the issue's examples", "[rules]") {
  const std::string text =
      "# budgets\n"
      "max live_bytes 512MiB\n"
      "max unreachable_bytes 64MiB   # garbage is fine up to here\n"
      "max retained type:*context.cancelCtx 10MiB\n"
      "max count site:main.newSession 1000\n"
      "max goroutines 1000\n"
      "max goroutines wait:\"chan receive\" 100\n"
      "no finalizer-cycles\n"
      "max cycle_bytes 1MiB\n";
  const std::vector<Rule> r = parse_rules(text, "ci.rules");
  REQUIRE(r.size() == 8);
  CHECK(r[0].measure == Measure::kLiveBytes);
  CHECK(r[0].limit == 512ull << 20);
  CHECK(r[0].is_size);
  CHECK(r[0].line == 2);
  CHECK(r[0].column == 1);
  CHECK(r[0].source == "ci.rules");
  CHECK(r[1].measure == Measure::kUnreachableBytes);
  CHECK(r[1].limit == 64ull << 20);
  CHECK(r[1].text == "max unreachable_bytes 64MiB");
  CHECK(r[2].measure == Measure::kRetained);
  CHECK(r[2].selector == SelectorKind::kType);
  CHECK(r[2].value == "*context.cancelCtx");
  CHECK(r[2].limit == 10ull << 20);
  CHECK(r[3].measure == Measure::kCount);
  CHECK(r[3].selector == SelectorKind::kSite);
  CHECK(r[3].value == "main.newSession");
  CHECK(r[3].limit == 1000);
  CHECK_FALSE(r[3].is_size);
  CHECK(r[4].measure == Measure::kGoroutines);
  CHECK(r[4].selector == SelectorKind::kNone);
  CHECK(r[4].limit == 1000);
  CHECK(r[5].measure == Measure::kGoroutines);
  CHECK(r[5].selector == SelectorKind::kWait);
  CHECK(r[5].value == "chan receive");
  CHECK(r[5].limit == 100);
  CHECK(r[6].measure == Measure::kFinalizerCycles);
  CHECK(r[6].limit == 0);
  CHECK(r[7].measure == Measure::kCycleBytes);
  CHECK(r[7].limit == 1ull << 20);
  CHECK(describe(r[2]) == "max retained type:*context.cancelCtx 10MiB");
  CHECK(describe(r[5]) == "max goroutines wait:\"chan receive\" 100");
  CHECK(describe(r[6]) == "no finalizer-cycles");
  CHECK(measure_name(r[3]) == "count site:main.newSession");
  // describe() gives text that parses back to the same rule.
  for (const Rule& rule : r) {
    const Rule again = one(describe(rule));
    CHECK(again.measure == rule.measure);
    CHECK(again.selector == rule.selector);
    CHECK(again.value == rule.value);
    CHECK(again.limit == rule.limit);
  }
}

TEST_CASE("rules: sizes and units", "[rules]") {
  struct {
    const char* limit;
    uint64_t bytes;
  } cases[] = {{"0", 0},
               {"4096", 4096},
               {"17B", 17},
               {"2KiB", 2048},
               {"3MiB", 3ull << 20},
               {"1GiB", 1ull << 30},
               {"2TiB", 2ull << 40},
               {"2KB", 2000},
               {"3MB", 3000000},
               {"1GB", 1000000000},
               {"1TB", 1000000000000ull},
               {"1.5MiB", 3ull << 19},
               {"0.5KB", 500},
               {"18446744073709551615", ~0ull},
               {"18446744073709551615B", ~0ull}};
  for (const auto& c : cases) {
    INFO(c.limit);
    CHECK(one(std::string("max live_bytes ") + c.limit).limit == c.bytes);
  }
  CHECK(one("max live_objects 12").limit == 12);
  CHECK(one("max bytes type:main.T 1KiB").measure == Measure::kBytes);
}

TEST_CASE("rules: comments, blanks, CRLF, quoting", "[rules]") {
  CHECK(parse_rules("", "t").empty());
  CHECK(parse_rules("\n\n   \t\n# only a comment\n   # indented\n", "t").empty());
  const std::vector<Rule> r =
      parse_rules("\t max\tlive_bytes   1KiB  # trailing\r\n\r\nno finalizer-cycles#x", "t");
  REQUIRE(r.size() == 2);
  CHECK(r[0].column == 3);
  CHECK(r[0].text == "max\tlive_bytes   1KiB");
  CHECK(r[1].line == 3);
  CHECK(one("max count type:\"a b#c\" 3").value == "a b#c");
  CHECK(one("max count type:\"q\\\"\\\\\\n\\t\\x41\" 3").value == "q\"\\\n\tA");
  CHECK(one("max count site:\"main.(*T).run\" 3").value == "main.(*T).run");
  CHECK(one("max count type:\"\\x00\" 3").value == std::string(1, '\0'));
  const Rule weird = one("max count type:\"x y\\\"\\x01\" 3");
  CHECK(describe(weird) == "max count type:\"x y\\\"\\x01\" 3");
  CHECK(one(describe(weird)).value == weird.value);
  // A '#' inside a bare word ends the word: comments start anywhere outside quotes.
  CHECK(one("max count type:T 3#comment\n# x").value == "T");
  expect_error("max count type:T#comment 3", 1, 27, "expected a count limit");
}

TEST_CASE("rules: every error names line and column", "[rules]") {
  expect_error("maximum live_bytes 1", 1, 1, "expected 'max' or 'no'");
  expect_error("\n  max", 2, 6, "expected a measure after 'max'");
  expect_error("max heap 1", 1, 5, "unknown measure 'heap'");
  expect_error("max live_bytes", 1, 15, "expected a size limit");
  expect_error("max live_objects", 1, 17, "expected a count limit");
  expect_error("max live_bytes lots", 1, 16, "expected a size (e.g. 64MiB), got 'lots'");
  expect_error("max live_bytes 12XB", 1, 18, "unknown size unit 'XB'");
  expect_error("max live_bytes 1.5", 1, 17, "a fraction of a byte");
  expect_error("max live_bytes 1.MiB", 1, 17, "expected digits after the decimal point");
  expect_error("max live_bytes 18446744073709551616", 1, 16, "too large");
  expect_error("max live_bytes 16777216TiB", 1, 16, "too large");
  expect_error("max live_bytes 1MiB 2", 1, 21, "unexpected '2' after the rule");
  expect_error("max live_bytes \"1\"", 1, 16, "got a quoted string");
  expect_error("max goroutines 10k", 1, 18, "a count takes no unit, got 'k'");
  expect_error("max goroutines 1.5", 1, 17, "a count is a whole number");
  expect_error("max goroutines", 1, 15, "a count limit (e.g. 1000) or wait:STATE");
  expect_error("max goroutines state:x 1", 1, 16, "expected wait:STATE");
  expect_error("max goroutines wait:x", 1, 22, "expected a count limit");
  expect_error("max goroutines wait: 3", 1, 21, "empty value after 'wait:'");
  expect_error("max goroutines wait:\"\" 3", 1, 21, "empty value after 'wait:'");
  expect_error("max retained 10MiB", 1, 14, "expected a selector type:NAME or site:PATTERN");
  expect_error("max retained", 1, 13, "expected a selector");
  expect_error("max retained type:T", 1, 20, "expected a size limit");
  expect_error("max count color:red 1", 1, 11, "expected a selector");
  expect_error("max count type:T 1MiB", 1, 19, "a count takes no unit");
  expect_error("max count type\"x\" 1", 1, 11, "expected a selector");
  expect_error("max count type:a\"x\" 1", 1, 11, "quoted value must follow the colon");
  expect_error("max count type:\"x\"y 1", 1, 19, "expected a blank after the closing quote");
  expect_error("max count type:\"abc 1", 1, 16, "unterminated quoted string");
  expect_error("max count type:\"abc\\", 1, 16, "unterminated quoted string");
  expect_error("max count type:\"a\\q\" 1", 1, 18, "unknown escape '\\q'");
  expect_error("max count type:\"a\\x4\" 1", 1, 18, "\\x needs two hex digits");
  expect_error("max count type:\"a\\xZZ\" 1", 1, 18, "\\x needs two hex digits");
  expect_error("max count type:\"a\x01\" 1", 1, 18, "control character");
  expect_error("no", 1, 3, "expected 'finalizer-cycles' after 'no'");
  expect_error("no cycles", 1, 4, "expected 'finalizer-cycles' after 'no', got 'cycles'");
  expect_error("no finalizer-cycles 0", 1, 21, "unexpected '0'");
  expect_error("\"max\" live_bytes 1", 1, 1, "unexpected quoted string");
  expect_error("max \"live_bytes\" 1", 1, 5, "unexpected quoted string");
  expect_error("ok\r\n\r\n\tmax x\x01 1", 1, 1, "'ok'");
  expect_error("max live_bytes 1\r\n\r\n\tmax x\x01 1", 3, 6, "unknown measure 'x\\x01'");
}

// Random texts built from the language's own pieces (and raw bytes): parse
// either succeeds or throws ParseError with a position inside the text;
// nothing else, and every parsed rule re-parses from describe().
TEST_CASE("rules: random texts give rules or a positioned ParseError", "[rules]") {
  static const char* kPieces[] = {"max",
                                  "no",
                                  "finalizer-cycles",
                                  "live_bytes",
                                  "retained",
                                  "count",
                                  "goroutines",
                                  "wait:",
                                  "type:",
                                  "site:",
                                  "\"",
                                  "\\",
                                  "#",
                                  " ",
                                  "\t",
                                  "\n",
                                  "\r\n",
                                  "1",
                                  "1.5",
                                  "KiB",
                                  "MiB",
                                  "x",
                                  "\x01",
                                  "\xff",
                                  "18446744073709551616",
                                  "\\x4",
                                  "cycle_bytes"};
  uint64_t state = 12345, parsed = 0, errors = 0;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const uint64_t n = next() % 12;
    for (uint64_t i = 0; i < n; ++i) text += kPieces[next() % std::size(kPieces)];
    if (next() % 4 == 0) text = "max " + text;
    uint32_t lines = 1;
    for (char c : text) lines += c == '\n';
    try {
      for (const Rule& r : parse_rules(text, "fuzz")) {
        const Rule again = one(describe(r));
        REQUIRE(again.measure == r.measure);
        REQUIRE(again.value == r.value);
        REQUIRE(again.limit == r.limit);
      }
      ++parsed;
    } catch (const ParseError& e) {
      INFO(text);
      REQUIRE(e.line() >= 1);
      REQUIRE(e.line() <= lines);
      REQUIRE(e.column() >= 1);
      REQUIRE(e.column() <= text.size() + 1);
      ++errors;
    }
  }
  CHECK(parsed > 1000);
  CHECK(errors > 1000);
}

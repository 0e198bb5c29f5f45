// parse_rules: a hand-written line lexer and a small recursive-descent-free
// parser (each rule is a few words, decided by its first two). Columns are
// 1-based byte positions in the line, so an editor's "go to column" lands on
// the offending word.
#include <cstring>
#include <optional>

#include "heapwalk/report/format.h"
#include "heapwalk/rules/rules.h"

namespace heapwalk::rules {

ParseError::ParseError(std::string source, uint32_t line, uint32_t column, std::string message)
    : std::runtime_error(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         message),
      source_(std::move(source)),
      line_(line),
      column_(column),
      message_(std::move(message)) {}

namespace {

// One word of a line. A word may end in a quoted string: `wait:"chan
// receive"` is prefix "wait:" and value "chan receive".
struct Token {
  std::string prefix;  // text before the quote (the whole word when unquoted)
  std::string value;   // the decoded quoted string (quoted words only)
  bool quoted = false;
  uint32_t column = 0;
  std::string raw;  // as written
};

bool blank(char c) { return c == ' ' || c == '\t'; }

// Shows a word in a message without letting control bytes (or broken
// UTF-8) through: the escaping every text output uses.
std::string shown(std::string_view word) { return "'" + report::safe_text(word) + "'"; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class LineParser {
 public:
  LineParser(std::string_view line, uint32_t number, const std::string& source)
      : line_(line), number_(number), source_(source) {}

  [[noreturn]] void fail(uint32_t column, const std::string& message) const {
    throw ParseError(source_, number_, column, message);
  }
  uint32_t end_column() const { return static_cast<uint32_t>(line_.size()) + 1; }

  std::vector<Token> tokens() {
    std::vector<Token> out;
    size_t pos = 0;
    while (pos < line_.size()) {
      const char c = line_[pos];
      if (blank(c)) {
        ++pos;
        continue;
      }
      if (c == '#') break;
      Token t;
      t.column = static_cast<uint32_t>(pos) + 1;
      const size_t start = pos;
      while (pos < line_.size() && !blank(line_[pos]) && line_[pos] != '#') {
        if (line_[pos] == '"') {
          pos = quoted(pos, t.value);
          t.quoted = true;
          if (pos < line_.size() && !blank(line_[pos]) && line_[pos] != '#')
            fail(static_cast<uint32_t>(pos) + 1, "expected a blank after the closing quote");
          break;
        }
        t.prefix += line_[pos++];
      }
      t.raw = std::string(line_.substr(start, pos - start));
      out.push_back(std::move(t));
    }
    return out;
  }

 private:
  // Decodes the quoted string opening at `open`; returns the position after
  // its closing quote.
  size_t quoted(size_t open, std::string& value) const {
    size_t pos = open + 1;
    while (pos < line_.size()) {
      const char c = line_[pos];
      if (c == '"') return pos + 1;
      if (c != '\\') {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
          fail(static_cast<uint32_t>(pos) + 1, "control character in a quoted string (use \\xHH)");
        value += c;
        ++pos;
        continue;
      }
      const uint32_t at = static_cast<uint32_t>(pos) + 1;
      if (pos + 1 >= line_.size()) break;  // unterminated
      const char e = line_[pos + 1];
      switch (e) {
        case '"': value += '"'; break;
        case '\\': value += '\\'; break;
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'x': {
          const int hi = pos + 2 < line_.size() ? hex_digit(line_[pos + 2]) : -1;
          const int lo = pos + 3 < line_.size() ? hex_digit(line_[pos + 3]) : -1;
          if (hi < 0 || lo < 0) fail(at, "\\x needs two hex digits");
          value += static_cast<char>(hi * 16 + lo);
          pos += 2;
          break;
        }
        default:
          fail(at, "unknown escape " + shown(line_.substr(pos, 2)) +
                       " (use \\\" \\\\ \\n \\t or \\xHH)");
      }
      pos += 2;
    }
    fail(static_cast<uint32_t>(open) + 1, "unterminated quoted string");
  }

  std::string_view line_;
  uint32_t number_;
  const std::string& source_;
};

struct Unit {
  const char* name;
  uint64_t factor;
};
constexpr Unit kUnits[] = {{"B", 1},
                           {"KiB", uint64_t{1} << 10},
                           {"MiB", uint64_t{1} << 20},
                           {"GiB", uint64_t{1} << 30},
                           {"TiB", uint64_t{1} << 40},
                           {"KB", 1000},
                           {"MB", 1000 * 1000},
                           {"GB", 1000 * 1000 * 1000},
                           {"TB", uint64_t{1000} * 1000 * 1000 * 1000}};

// A limit: "512MiB", "1.5GB", "4096" (sizes) or "1000" (counts).
uint64_t parse_limit(const LineParser& p, const Token& t, bool is_size) {
  const std::string what = is_size ? "a size (e.g. 64MiB)" : "a whole number";
  if (t.quoted) p.fail(t.column, "expected " + what + ", got a quoted string");
  const std::string& s = t.prefix;
  size_t pos = 0;
  unsigned __int128 whole = 0;
  const unsigned __int128 kMax = ~uint64_t{0};
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    whole = whole * 10 + static_cast<unsigned>(s[pos] - '0');
    if (whole > kMax) p.fail(t.column, "limit " + shown(s) + " is too large");
    ++pos;
  }
  if (pos == 0) p.fail(t.column, "expected " + what + ", got " + shown(s));
  uint64_t fraction = 0, scale = 1;  // fraction / scale
  const uint32_t fraction_column = t.column + static_cast<uint32_t>(pos);
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t digits = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale < uint64_t{1000} * 1000 * 1000 * 1000 * 1000 * 1000) {
        fraction = fraction * 10 + static_cast<unsigned>(s[pos] - '0');
        scale *= 10;
      }
      ++pos;
    }
    if (pos == digits) p.fail(fraction_column, "expected digits after the decimal point");
  }
  const std::string unit = s.substr(pos);
  const uint32_t unit_column = t.column + static_cast<uint32_t>(pos);
  if (!is_size) {
    if (scale != 1) p.fail(fraction_column, "a count is a whole number");
    if (!unit.empty()) p.fail(unit_column, "a count takes no unit, got " + shown(unit));
    return static_cast<uint64_t>(whole);
  }
  uint64_t factor = 1;
  if (!unit.empty()) {
    const Unit* found = nullptr;
    for (const Unit& u : kUnits)
      if (unit == u.name) found = &u;
    if (!found)
      p.fail(unit_column,
             "unknown size unit " + shown(unit) + " (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)");
    factor = found->factor;
  } else if (scale != 1) {
    p.fail(fraction_column, "a fraction of a byte: give a unit (e.g. 1.5MiB)");
  }
  const unsigned __int128 bytes =
      whole * factor + static_cast<unsigned __int128>(fraction) * factor / scale;
  if (bytes > kMax) p.fail(t.column, "limit " + shown(s) + " is too large");
  return static_cast<uint64_t>(bytes);
}

// "type:NAME" / "site:PATTERN" / "wait:STATE", bare or quoted.
void parse_selector(const LineParser& p, const Token& t, Rule& rule, bool goroutines) {
  const size_t colon = t.prefix.find(':');
  const std::string key = colon == std::string::npos ? t.prefix : t.prefix.substr(0, colon);
  if (goroutines) {
    if (key != "wait" || colon == std::string::npos)
      p.fail(t.column, "expected wait:STATE or a limit after 'goroutines', got " + shown(t.raw));
    rule.selector = SelectorKind::kWait;
  } else if (key == "type" && colon != std::string::npos) {
    rule.selector = SelectorKind::kType;
  } else if (key == "site" && colon != std::string::npos) {
    rule.selector = SelectorKind::kSite;
  } else {
    p.fail(t.column, "expected a selector type:NAME or site:PATTERN, got " + shown(t.raw));
  }
  if (t.quoted) {
    if (colon + 1 != t.prefix.size())
      p.fail(t.column, "a quoted value must follow the colon directly: " + key + ":\"...\"");
    rule.value = t.value;
  } else {
    rule.value = t.prefix.substr(colon + 1);
  }
  if (rule.value.empty())
    p.fail(t.column + static_cast<uint32_t>(colon) + 1, "empty value after '" + key + ":'");
}

std::optional<Measure> plain_measure(const std::string& word) {
  if (word == "live_bytes") return Measure::kLiveBytes;
  if (word == "live_objects") return Measure::kLiveObjects;
  if (word == "unreachable_bytes") return Measure::kUnreachableBytes;
  if (word == "cycle_bytes") return Measure::kCycleBytes;
  return std::nullopt;
}

std::optional<Measure> selected_measure(const std::string& word) {
  if (word == "retained") return Measure::kRetained;
  if (word == "bytes") return Measure::kBytes;
  if (word == "count") return Measure::kCount;
  return std::nullopt;
}

const char* kMeasures =
    "live_bytes, live_objects, unreachable_bytes, cycle_bytes, retained, bytes, count, goroutines";

Rule parse_line(const LineParser& p, const std::vector<Token>& words, const std::string& source,
                uint32_t number, std::string_view line) {
  Rule rule;
  rule.source = source;
  rule.line = number;
  rule.column = words[0].column;
  size_t next = 1;
  auto need = [&](const char* what) -> const Token& {
    if (next >= words.size()) p.fail(p.end_column(), std::string("expected ") + what);
    return words[next++];
  };
  auto keyword = [&](const Token& t) {
    if (t.quoted) p.fail(t.column, "unexpected quoted string " + shown(t.raw));
    return t.prefix;
  };
  const std::string verb = keyword(words[0]);
  if (verb == "no") {
    const Token& t = need("'finalizer-cycles' after 'no'");
    if (keyword(t) != "finalizer-cycles")
      p.fail(t.column, "expected 'finalizer-cycles' after 'no', got " + shown(t.raw));
    rule.measure = Measure::kFinalizerCycles;
    rule.limit = 0;
  } else if (verb == "max") {
    const Token& m = need("a measure after 'max' (live_bytes, retained, count, goroutines, ...)");
    const std::string word = keyword(m);
    if (auto plain = plain_measure(word)) {
      rule.measure = *plain;
      rule.is_size = rule.measure != Measure::kLiveObjects;
      rule.limit = parse_limit(
          p, need(rule.is_size ? "a size limit (e.g. 64MiB)" : "a count limit (e.g. 1000)"),
          rule.is_size);
    } else if (auto selected = selected_measure(word)) {
      rule.measure = *selected;
      rule.is_size = rule.measure != Measure::kCount;
      parse_selector(p, need("a selector type:NAME or site:PATTERN"), rule, false);
      rule.limit = parse_limit(
          p, need(rule.is_size ? "a size limit (e.g. 64MiB)" : "a count limit (e.g. 1000)"),
          rule.is_size);
    } else if (word == "goroutines") {
      rule.measure = Measure::kGoroutines;
      const Token& t = need("a count limit (e.g. 1000) or wait:STATE after 'goroutines'");
      if (t.quoted || t.prefix.find(':') != std::string::npos) {
        parse_selector(p, t, rule, true);
        rule.limit = parse_limit(p, need("a count limit (e.g. 100)"), false);
      } else {
        rule.limit = parse_limit(p, t, false);
      }
    } else {
      p.fail(m.column, "unknown measure " + shown(m.raw) + " (known: " + kMeasures + ")");
    }
  } else {
    p.fail(words[0].column, "expected 'max' or 'no' to start a rule, got " + shown(words[0].raw));
  }
  if (next < words.size())
    p.fail(words[next].column, "unexpected " + shown(words[next].raw) + " after the rule");
  const Token& last = words.back();
  const size_t end = last.column - 1 + last.raw.size();
  rule.text = std::string(line.substr(rule.column - 1, end - (rule.column - 1)));
  return rule;
}

bool needs_quotes(const std::string& value) {
  for (unsigned char c : value)
    if (c <= 0x20 || c == '#' || c == '"' || c == 0x7f) return true;
  return value.empty();
}

std::string quote(const std::string& value) {
  if (!needs_quotes(value)) return value;
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += report::safe_text(std::string_view(reinterpret_cast<const char*>(&c), 1));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string size_text(uint64_t bytes) {
  for (size_t i = std::size(kUnits); i-- > 1;) {
    if (bytes >= kUnits[i].factor && bytes % kUnits[i].factor == 0 &&
        std::strstr(kUnits[i].name, "i"))
      return std::to_string(bytes / kUnits[i].factor) + kUnits[i].name;
  }
  return std::to_string(bytes) + "B";
}

}  // namespace

std::vector<Rule> parse_rules(std::string_view text, const std::string& source_name) {
  std::vector<Rule> rules;
  uint32_t number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number;
    pos = end + 1;
    LineParser p(line, number, source_name);
    const std::vector<Token> words = p.tokens();
    if (!words.empty()) rules.push_back(parse_line(p, words, source_name, number, line));
  }
  return rules;
}

std::string measure_name(const Rule& rule) {
  std::string out;
  switch (rule.measure) {
    case Measure::kLiveBytes: return "live_bytes";
    case Measure::kLiveObjects: return "live_objects";
    case Measure::kUnreachableBytes: return "unreachable_bytes";
    case Measure::kCycleBytes: return "cycle_bytes";
    case Measure::kFinalizerCycles: return "finalizer-cycles";
    case Measure::kRetained: out = "retained"; break;
    case Measure::kBytes: out = "bytes"; break;
    case Measure::kCount: out = "count"; break;
    case Measure::kGoroutines: out = "goroutines"; break;
  }
  switch (rule.selector) {
    case SelectorKind::kNone: break;
    case SelectorKind::kType: out += " type:" + quote(rule.value); break;
    case SelectorKind::kSite: out += " site:" + quote(rule.value); break;
    case SelectorKind::kWait: out += " wait:" + quote(rule.value); break;
  }
  return out;
}

std::string describe(const Rule& rule) {
  if (rule.measure == Measure::kFinalizerCycles) return "no finalizer-cycles";
  return "max " + measure_name(rule) + " " +
         (rule.is_size ? size_text(rule.limit) : std::to_string(rule.limit));
}

}  // namespace heapwalk::rules

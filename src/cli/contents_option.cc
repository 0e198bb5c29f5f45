#include "contents_option.h"

#include <ostream>

#include "heapwalk/error.h"
#include "heapwalk/report/format.h"

namespace heapwalk::cli {

namespace po = boost::program_options;

ShowContentsOption::ShowContentsOption(VerbParser& parser, const std::string& applies_to)
    : parser_(parser) {
  const std::string help = "SENSITIVE: hex dump of the first N bytes (default " +
                           std::to_string(kDefaultContentsBytes) + ", at most " +
                           std::to_string(kMaxContentsBytes) + ") of " + applies_to +
                           "; dumps hold secrets, so never shown unless asked";
  parser_.options().add_options()("show-contents", po::value(&text_)->value_name("[=N]"),
                                  help.c_str());
  parser_.allow_bare("show-contents", std::to_string(kDefaultContentsBytes));
}

uint64_t ShowContentsOption::bytes(const std::string& verb) const {
  if (!parser_.values().count("show-contents")) return 0;
  return parse_contents_bytes(verb, text_);
}

uint64_t parse_contents_bytes(const std::string& verb, const std::string& text) {
  // Digits only: stoull would accept " 12", "+12", "-1" (wrapping) and "12x".
  uint64_t n = 0;
  bool ok = !text.empty() && text.size() <= 5;
  for (char c : text) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || n == 0 || n > kMaxContentsBytes)
    throw UsageError(verb + ": --show-contents=N takes a byte count from 1 to " +
                     std::to_string(kMaxContentsBytes) + ", got '" + report::safe_text(text) + "'");
  return n;
}

void mark_sensitive(report::Json& j) {
  report::Json out;
  if (j.contains("schema")) out["schema"] = j["schema"];
  out["sensitive"] = true;
  for (auto& [key, value] : j.items())
    if (key != "schema" && key != "sensitive") out[key] = std::move(value);
  j = std::move(out);
}

bool is_sensitive(const report::Json& j) { return j.is_object() && j.value("sensitive", false); }

void announce_sensitive(const report::Json& j, OutputFormat format, std::ostream& out,
                        std::ostream& err) {
  if (!is_sensitive(j)) return;
  err << "heapwalk: warning: " << kSensitiveBanner << "\n";
  if (format == OutputFormat::kText) out << kSensitiveBanner << "\n";
}

}  // namespace heapwalk::cli

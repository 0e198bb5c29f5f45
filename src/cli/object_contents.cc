#include "object_contents.h"

#include <algorithm>
#include <ostream>
#include <vector>

#include "heapwalk/report/format.h"

namespace heapwalk::cli {

using report::Json;

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr size_t kBytesPerLine = 16;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) break;
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

// The one place a dump byte becomes a character on a terminal: printable
// ASCII as itself, anything else (controls, escapes, DEL, non-ASCII) '.'.
char printable(uint8_t byte) {
  return byte >= 0x20 && byte <= 0x7e ? static_cast<char>(byte) : '.';
}

// "0010": at least four hex digits (N is at most 4096, but the format need not care).
std::string offset_hex(uint64_t offset) {
  const std::string digits = report::hex(offset).substr(2);
  return std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0') + digits;
}

}  // namespace

Json contents_json(const Snapshot& s, const Labels& labels, ObjectId v, uint64_t max_bytes) {
  const std::span<const uint8_t> bytes = s.contents(v);
  const size_t shown = static_cast<size_t>(std::min<uint64_t>(max_bytes, bytes.size()));
  std::string hex;
  hex.reserve(2 * shown);
  for (size_t i = 0; i < shown; ++i) {
    hex += kHexDigits[bytes[i] >> 4];
    hex += kHexDigits[bytes[i] & 0xf];
  }
  Json pointers = Json::array();
  const GraphView g = s.view();
  for (uint32_t e = g.rowstart[v]; e < g.rowstart[v + 1]; ++e) {
    const uint64_t offset = s.edge_offset(e);
    if (offset >= shown) continue;
    const ObjectId target = g.targets[e];
    pointers.push_back({{"offset", offset},
                        {"address", report::hex(s.address(target))},
                        {"label", labels.label(s, target)}});
  }
  return {{"offset", 0},
          {"hex", std::move(hex)},
          {"shown", shown},
          {"size", s.size(v)},
          {"pointers", std::move(pointers)}};
}

void render_contents(const Json& contents, const std::string& indent, std::ostream& out,
                     const std::string& address) {
  const std::vector<uint8_t> bytes = from_hex(contents["hex"].get<std::string>());
  const uint64_t base = contents.value("offset", uint64_t{0});
  const uint64_t size = contents["size"].get<uint64_t>();
  out << indent << "contents" << (address.empty() ? "" : " of " + address) << ", "
      << (bytes.size() < size ? "first " : "") << bytes.size() << " of " << size
      << (size == 1 ? " byte" : " bytes") << " (sensitive):\n";
  // Pointer notes by line, in field order (the out-edges are).
  const Json& pointers = contents["pointers"];
  size_t next_pointer = 0;
  for (size_t line = 0; line < bytes.size(); line += kBytesPerLine) {
    std::string hex_part, ascii;
    for (size_t i = line; i < line + kBytesPerLine; ++i) {
      if (i == line + kBytesPerLine / 2) hex_part += ' ';
      if (i < bytes.size()) {
        hex_part += kHexDigits[bytes[i] >> 4];
        hex_part += kHexDigits[bytes[i] & 0xf];
        hex_part += ' ';
        ascii += printable(bytes[i]);
      } else {
        hex_part += "   ";
      }
    }
    out << indent << "  " << offset_hex(base + line) << "  " << hex_part << " |" << ascii << "|\n";
    while (next_pointer < pointers.size() &&
           pointers[next_pointer]["offset"].get<uint64_t>() < line + kBytesPerLine) {
      const Json& p = pointers[next_pointer++];
      out << indent << "        +" << report::hex(p["offset"].get<uint64_t>()) << " -> "
          << p["address"].get<std::string>() << "  "
          << report::safe_text(p["label"].get<std::string>()) << "\n";
    }
  }
  if (bytes.size() < size)
    out << indent << "  ... " << report::count(size - bytes.size()) << " more "
        << (size - bytes.size() == 1 ? "byte" : "bytes") << " not shown\n";
}

}  // namespace heapwalk::cli

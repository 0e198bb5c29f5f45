#include "heapwalk/symbols/elf_symbols.h"

#include <algorithm>
#include <cstring>

#include "heapwalk/error.h"
#include "heapwalk/report/format.h"
#include "heapwalk/snapshot.h"
#include "heapwalk/symbols/dwarf_types.h"

namespace heapwalk {

namespace {

constexpr uint32_t kShtSymtab = 2, kShtStrtab = 3, kShtNobits = 8;
constexpr uint64_t kShfAlloc = 2;
constexpr uint16_t kEtDyn = 3;
constexpr size_t kEhdrSize = 64, kShdrSize = 64, kSymSize = 24;
// runtime._type on 64-bit, Go 1.17..1.25 (internal/abi.Type from 1.21: same
// layout): size, ptrdata, hash u32, tflag u8, align, fieldAlign, kind u8,
// equal, gcdata, str nameOff (int32), ptrToThis; *ptrtype adds elem at 48.
constexpr uint64_t kTypeSizeOff = 0, kTypePtrdataOff = 8, kTypeTflagOff = 20, kTypeKindOff = 23,
                   kTypeStrOff = 40, kTypeHeaderSize = 48, kPtrTypeElemOff = 48;
constexpr uint8_t kTflagExtraStar = 1 << 1;
constexpr uint8_t kKindMask = 0x1f, kKindPtr = 22;

uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

bool printable_name(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

int go_minor(const std::string& version) {
  // "go1.19.8", "go1.25.0 X:greenteagc"
  if (version.rfind("go1.", 0) != 0) return 0;
  int minor = 0;
  for (size_t i = 4; i < version.size() && version[i] >= '0' && version[i] <= '9'; ++i)
    minor = minor * 10 + (version[i] - '0');
  return minor;
}

}  // namespace

ElfSymbols::ElfSymbols() = default;
ElfSymbols::ElfSymbols(ElfSymbols&&) noexcept = default;
ElfSymbols& ElfSymbols::operator=(ElfSymbols&&) noexcept = default;
ElfSymbols::~ElfSymbols() = default;

ElfSymbols ElfSymbols::open(const std::string& path) {
  ElfSymbols e;
  e.input_ = std::make_unique<InputBuffer>(InputBuffer::open(path));
  e.parse();
  auto dwarf = std::make_unique<DwarfTypes>(DwarfTypes::open(path));
  for (const std::string& w : dwarf->warnings()) e.warnings_.push_back(w);
  if (!dwarf->types().empty()) e.dwarf_ = std::move(dwarf);
  return e;
}

ElfSymbols ElfSymbols::from_bytes(std::string name, std::span<const uint8_t> bytes) {
  ElfSymbols e;
  e.input_ = std::make_unique<InputBuffer>(InputBuffer::from_bytes(std::move(name), bytes));
  e.parse();
  return e;
}

void ElfSymbols::fail(uint64_t offset, const std::string& message) const {
  throw InputError(input_->name(), offset, "not a usable ELF64 executable: " + message);
}

void ElfSymbols::parse() {
  std::span<const uint8_t> f = input_->bytes();
  const uint64_t n = f.size();
  if (n < kEhdrSize) fail(n, "file too short for an ELF header (" + std::to_string(n) + " bytes)");
  if (std::memcmp(f.data(),
                  "\x7f"
                  "ELF",
                  4) != 0)
    fail(0, "no ELF magic");
  if (f[4] != 2) fail(4, "not a 64-bit ELF file (class " + std::to_string(f[4]) + ")");
  if (f[5] != 1) fail(5, "not a little-endian ELF file");
  pie_ = le(&f[16], 2) == kEtDyn;
  uint64_t shoff = le(&f[40], 8);
  uint64_t shentsize = le(&f[58], 2);
  uint64_t shnum = le(&f[60], 2);
  uint64_t shstrndx = le(&f[62], 2);
  if (shoff == 0) fail(40, "no section header table");
  if (shentsize != kShdrSize)
    fail(58, "section header size " + std::to_string(shentsize) + ", expected 64");
  auto header_at = [&](uint64_t i, uint64_t field_offset) -> uint64_t {
    uint64_t at = shoff + i * kShdrSize;
    if (shoff > n || i > (n - shoff) / kShdrSize || n - shoff - i * kShdrSize < kShdrSize)
      fail(at + field_offset,
           "section header " + std::to_string(i) + " lies past the end of the file");
    return at;
  };
  if (shnum == 0) shnum = le(&f[header_at(0, 32) + 32], 8);  // extended numbering
  if (shstrndx == 0xffff) shstrndx = le(&f[header_at(0, 40) + 40], 4);
  if (shnum > (n - std::min(n, shoff)) / kShdrSize)
    fail(60, "section header table lies past the end of the file");
  if (shstrndx >= shnum) fail(62, "section name table index out of range");

  struct Raw {
    uint32_t name, type, link;
    uint64_t flags, addr, offset, size, entsize;
    uint64_t header;
  };
  std::vector<Raw> raw(shnum);
  for (uint64_t i = 0; i < shnum; ++i) {
    uint64_t h = header_at(i, 0);
    const uint8_t* p = &f[h];
    raw[i] = {static_cast<uint32_t>(le(p, 4)),
              static_cast<uint32_t>(le(p + 4, 4)),
              static_cast<uint32_t>(le(p + 40, 4)),
              le(p + 8, 8),
              le(p + 16, 8),
              le(p + 24, 8),
              le(p + 32, 8),
              le(p + 56, 8),
              h};
    if (raw[i].type != kShtNobits && raw[i].type != 0 &&
        (raw[i].offset > n || raw[i].size > n - raw[i].offset))
      fail(h + 24, "section " + std::to_string(i) + " lies past the end of the file");
  }
  const Raw& shstr = raw[shstrndx];
  auto string_in = [&](const Raw& table, uint64_t index, uint64_t field) -> std::string_view {
    if (index >= table.size)
      fail(field, "string index " + std::to_string(index) + " outside its table");
    const char* s = reinterpret_cast<const char*>(&f[table.offset + index]);
    const void* end = std::memchr(s, 0, table.size - index);
    if (!end) fail(field, "unterminated string in a string table");
    return std::string_view(s, static_cast<const char*>(end) - s);
  };
  for (uint64_t i = 0; i < shnum; ++i) {
    const Raw& r = raw[i];
    if (!(r.flags & kShfAlloc) || r.type == 0) continue;
    sections_.push_back({std::string(string_in(shstr, r.name, r.header)), r.addr, r.size, r.offset,
                         r.type == kShtNobits});
  }

  const Raw* symtab = nullptr;
  for (const Raw& r : raw)
    if (r.type == kShtSymtab) symtab = &r;
  if (!symtab) {
    warnings_.push_back(input_->name() +
                        " has no symbol table (stripped?): globals and types cannot be named");
  } else {
    if (symtab->entsize != kSymSize)
      fail(symtab->header + 56, "symbol size " + std::to_string(symtab->entsize));
    if (symtab->link >= shnum || raw[symtab->link].type != kShtStrtab)
      fail(symtab->header + 40, "symbol table's string table index is not a string table");
    const Raw& strtab = raw[symtab->link];
    uint64_t count = symtab->size / kSymSize;
    symbols_.reserve(count);
    for (uint64_t i = 1; i < count; ++i) {  // symbol 0 is the null symbol
      uint64_t at = symtab->offset + i * kSymSize;
      const uint8_t* p = &f[at];
      uint8_t type = p[4] & 0xf;
      uint16_t shndx = static_cast<uint16_t>(le(p + 6, 2));
      // NOTYPE, OBJECT, FUNC, TLS; not SECTION/FILE; not undefined ones.
      if (!(type == 0 || type == 1 || type == 2 || type == 6) || shndx == 0) continue;
      std::string_view name = string_in(strtab, le(p, 4), at);
      if (name.empty()) continue;
      symbols_.push_back({le(p + 8, 8), le(p + 16, 8), name, type == 2});
    }
    std::sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) {
      return a.address != b.address ? a.address < b.address : a.size > b.size;
    });
  }
  read_go_version();
  go_minor_ = go_minor(go_version_);
  read_type_symbols();
}

std::optional<ElfSymbols::Section> ElfSymbols::section(std::string_view name) const {
  for (const Section& s : sections_)
    if (s.name == name) return s;
  return std::nullopt;
}

std::span<const uint8_t> ElfSymbols::bytes_at(uint64_t a, uint64_t n) const {
  for (const Section& s : sections_) {
    if (s.nobits || a < s.address || a - s.address > s.size || s.size - (a - s.address) < n)
      continue;
    return input_->bytes().subspan(s.offset + (a - s.address), n);
  }
  return {};
}

void ElfSymbols::read_go_version() {
  // runtime.buildVersion is a Go string header {ptr, len} in .data.
  if (const Symbol* s = find_symbol("runtime.buildVersion"); s && s->size >= 16) {
    auto header = bytes_at(s->address, 16);
    if (!header.empty()) {
      uint64_t ptr = le(header.data(), 8), len = le(header.data() + 8, 8);
      if (len > 0 && len <= 256) {
        auto text = bytes_at(ptr, len);
        if (!text.empty()) {
          go_version_.assign(reinterpret_cast<const char*>(text.data()), text.size());
          return;
        }
      }
    }
  }
  // Stripped: .go.buildinfo ("\xff Go buildinf:", ptrsize, flags; with flag 2
  // (Go 1.18+) the version follows at 32 as a uvarint-prefixed string).
  auto info = section(".go.buildinfo");
  if (!info || info->nobits || info->size < 33) return;
  auto b = bytes_at(info->address, info->size);
  if (b.empty() || std::memcmp(b.data(), "\xff Go buildinf:", 14) != 0) return;
  if (b[15] & 2) {
    uint64_t len = 0, at = 32;
    for (int shift = 0; at < b.size() && shift < 63; shift += 7) {
      uint8_t c = b[at++];
      len |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
    }
    if (len > 0 && len <= 256 && len <= b.size() - at)
      go_version_.assign(reinterpret_cast<const char*>(b.data() + at), len);
  } else if (b[14] == 8 && !(b[15] & 1)) {
    auto header = bytes_at(le(b.data() + 16, 8), 16);
    if (header.empty()) return;
    uint64_t len = le(header.data() + 8, 8);
    auto text = len <= 256 ? bytes_at(le(header.data(), 8), len) : std::span<const uint8_t>();
    if (!text.empty()) go_version_.assign(reinterpret_cast<const char*>(text.data()), text.size());
  }
}

void ElfSymbols::read_type_symbols() {
  for (const Symbol& s : symbols_) {
    if (s.function || s.name.size() < 6) continue;
    std::string_view rest = s.name.substr(5);
    bool prefix = s.name.starts_with("type.") || s.name.starts_with("type:");
    // Not the section markers (type.*, type:*) nor generated helpers (type..eq.X, type:.eq.X).
    if (!prefix || rest == "*" || rest.starts_with(".")) continue;
    type_symbols_.emplace_back(s.address, rest);
  }
  std::sort(type_symbols_.begin(), type_symbols_.end());
  const Symbol* b = find_symbol("runtime.types");
  const Symbol* e = find_symbol("runtime.etypes");
  if (b && e && b->address < e->address) {
    types_begin_ = b->address;
    types_end_ = e->address;
  } else if (!symbols_.empty()) {
    warnings_.push_back(
        input_->name() +
        ": no runtime.types/runtime.etypes symbols: type names come only from type symbols");
  }
  if (types_end_ && go_minor_ != 0 && (go_minor_ < 17 || go_minor_ > 25))
    warnings_.push_back(input_->name() + ": built with " + go_version_ +
                        ": type descriptors are decoded with the Go 1.17-1.25 layout");
}

const ElfSymbols::Symbol* ElfSymbols::symbol_at(uint64_t runtime_address) const {
  uint64_t a = runtime_address - static_cast<uint64_t>(bias_);
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), a,
                             [](uint64_t x, const Symbol& s) { return x < s.address; });
  // Walk back a little: among the nearest starts, the closest symbol that
  // holds the address; size-0 markers (runtime.bss) only on an exact hit.
  const Symbol* exact_marker = nullptr;
  for (int steps = 0; it != symbols_.begin() && steps < 64; ++steps) {
    const Symbol& s = *--it;
    if (s.size != 0 && a - s.address < s.size) return &s;
    if (s.size == 0 && s.address == a && !exact_marker) exact_marker = &s;
  }
  return exact_marker;
}

std::string ElfSymbols::symbol_name(uint64_t runtime_address) const {
  const Symbol* s = symbol_at(runtime_address);
  if (!s) return "";
  uint64_t off = runtime_address - static_cast<uint64_t>(bias_) - s->address;
  return std::string(s->name) + (off ? "+" + report::hex(off) : std::string());
}

const ElfSymbols::Symbol* ElfSymbols::find_symbol(std::string_view name) const {
  if (by_name_.size() != symbols_.size()) {
    by_name_.resize(symbols_.size());
    for (uint32_t i = 0; i < by_name_.size(); ++i) by_name_[i] = i;
    std::stable_sort(by_name_.begin(), by_name_.end(),
                     [&](uint32_t x, uint32_t y) { return symbols_[x].name < symbols_[y].name; });
  }
  auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                             [&](uint32_t i, std::string_view n) { return symbols_[i].name < n; });
  return it != by_name_.end() && symbols_[*it].name == name ? &symbols_[*it] : nullptr;
}

std::string ElfSymbols::decode_type_name(uint64_t a) const {
  if (!types_end_ || a < types_begin_ || a >= types_end_ || types_end_ - a < kTypeHeaderSize)
    return "";
  auto t = bytes_at(a, kTypeHeaderSize);
  if (t.empty()) return "";
  uint8_t tflag = t[kTypeTflagOff];
  int64_t str = static_cast<int32_t>(le(t.data() + kTypeStrOff, 4));
  if (str <= 0) return "";
  uint64_t name = types_begin_ + static_cast<uint64_t>(str);
  auto head = bytes_at(name, 3);
  if (head.empty()) return "";
  uint64_t len = 0, at = 1;
  if (go_minor_ != 0 && go_minor_ < 17) {
    len = (uint64_t(head[1]) << 8) | head[2];  // big-endian uint16 before Go 1.17
    at = 3;
  } else {
    auto v = bytes_at(name + 1, 1);
    for (int shift = 0; !v.empty() && shift < 28; shift += 7) {
      len |= uint64_t(v[0] & 0x7f) << shift;
      ++at;
      if (!(v[0] & 0x80)) break;
      v = bytes_at(name + at, 1);
    }
  }
  if (len == 0 || len > 4096) return "";
  auto text = bytes_at(name + at, len);
  if (text.empty()) return "";
  std::string_view s(reinterpret_cast<const char*>(text.data()), text.size());
  if (tflag & kTflagExtraStar) {
    if (s.size() < 2 || s[0] != '*') return "";
    s.remove_prefix(1);
  }
  return printable_name(s) ? std::string(s) : std::string();
}

std::string ElfSymbols::type_name(uint64_t runtime_address) const {
  uint64_t a = runtime_address - static_cast<uint64_t>(bias_);
  auto it = std::lower_bound(type_symbols_.begin(), type_symbols_.end(),
                             std::make_pair(a, std::string_view()));
  if (it != type_symbols_.end() && it->first == a) return std::string(it->second);
  return decode_type_name(a);
}

std::optional<ElfSymbols::TypeShape> ElfSymbols::type_shape(uint64_t runtime_address) const {
  uint64_t a = runtime_address - static_cast<uint64_t>(bias_);
  if (decode_type_name(a).empty()) return std::nullopt;
  auto t = bytes_at(a, kTypeHeaderSize);
  return TypeShape{le(t.data() + kTypeSizeOff, 8), le(t.data() + kTypePtrdataOff, 8)};
}

uint64_t ElfSymbols::pointer_elem(uint64_t runtime_address) const {
  uint64_t a = runtime_address - static_cast<uint64_t>(bias_);
  if (decode_type_name(a).empty()) return 0;
  auto t = bytes_at(a, kTypeHeaderSize + 8);
  if (t.empty() || (t[kTypeKindOff] & kKindMask) != kKindPtr) return 0;
  uint64_t elem = le(t.data() + kPtrTypeElemOff, 8);
  return elem ? elem + static_cast<uint64_t>(bias_) : 0;
}

BinaryMatch match_binary(const Snapshot& snapshot, ElfSymbols& binary) {
  BinaryMatch m;
  const DumpFacts& f = snapshot.facts();
  const std::string& dump_version = f.params.go_version;
  m.go_version_matches = !binary.go_version().empty() && binary.go_version() == dump_version;
  if (!m.go_version_matches)
    m.warnings.push_back(
        binary.path() + " was built with " +
        (binary.go_version().empty() ? std::string("an unknown Go version") : binary.go_version()) +
        " but the dump was written by " + dump_version +
        ": it may not be the program that wrote the dump");
  auto data = binary.section(".data");
  auto bss = binary.section(".bss");
  int checked = 0, matched = 0;
  bool bias_set = false;
  for (const SegmentRecord& seg : f.segments) {
    const auto& sec = seg.bss ? bss : data;
    if (!sec) continue;
    ++checked;
    if (binary.position_independent() && !bias_set) {
      binary.set_load_bias(static_cast<int64_t>(seg.start - sec->address));
      bias_set = true;
    }
    if (seg.start == sec->address + static_cast<uint64_t>(binary.load_bias()) &&
        seg.size == sec->size)
      ++matched;
  }
  m.layout_matches = checked > 0 && matched == checked;
  if (!m.layout_matches)
    m.warnings.push_back(binary.path() +
                         " does not match the dump (its .data/.bss are not the dump's data/bss "
                         "segments): not using it to name globals and types");
  for (const std::string& w : binary.warnings()) m.warnings.push_back(w);
  return m;
}

}  // namespace heapwalk

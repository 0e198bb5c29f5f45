// ElfSymbols: a hand-made ELF64 file (every field known), malformed files
// (each an InputError naming file and offset), and, when `go` is on PATH, the
// samples' real executables built with -trimpath at test time.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "heapwalk/error.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/symbols/elf_symbols.h"
#include "heapwalk/symbols/root_name.h"
#include "support/dump_writer.h"
#include "support/paths.h"

using namespace heapwalk;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

void put(std::vector<uint8_t>& b, uint64_t at, uint64_t v, int n) {
  if (b.size() < at + n) b.resize(at + n);
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_bytes(std::vector<uint8_t>& b, uint64_t at, const std::string& s) {
  if (b.size() < at + s.size()) b.resize(at + s.size());
  std::memcpy(b.data() + at, s.data(), s.size());
}

// A tiny Go-like executable:
//   .rodata 0x400000 (file 0x200, 0x200 bytes): runtime.types .. etypes = 0x400000 .. 0x400100
//     0x400000 type main.T (named, tflag ExtraStar, str -> "*main.T")
//     0x400040 type *context.cancelCtx (kind ptr, str -> "*context.cancelCtx", elem 0x400000)
//     0x400080 name "*context.cancelCtx", 0x4000c0 name "*main.T", 0x400100 "go1.19.8"
//   .data 0x500000 (file 0x400, 0x40 bytes): runtime.buildVersion {0x400100, 8}; main.registry at
//   +0x10 (0x20) .bss  0x510000 (0x100 bytes, NOBITS): main.cache at +8 (8); runtime.bss marker
//   (size 0) at +0 type:main.Sym symbol at 0x400180 (outside runtime.types..etypes: only the symbol
//   names it)
struct TinyElf {
  std::vector<uint8_t> bytes;
  uint64_t shoff = 0, symtab_off = 0, strtab_off = 0;
};

TinyElf tiny_elf() {
  TinyElf e;
  auto& b = e.bytes;
  b.assign(0x400 + 0x40, 0);
  put_bytes(b, 0,
            "\x7f"
            "ELF");
  b[4] = 2;  // 64-bit
  b[5] = 1;  // little-endian
  b[6] = 1;
  put(b, 16, 2, 2);   // ET_EXEC
  put(b, 18, 62, 2);  // x86-64
  put(b, 20, 1, 4);
  put(b, 52, 64, 2);
  // .rodata at file 0x200
  const uint64_t ro = 0x200;
  auto type = [&](uint64_t at, uint64_t size, uint64_t ptrdata, uint8_t tflag, uint8_t kind,
                  uint32_t str) {
    put(b, ro + at + 0, size, 8);
    put(b, ro + at + 8, ptrdata, 8);
    b[ro + at + 20] = tflag;
    b[ro + at + 23] = kind;
    put(b, ro + at + 40, str, 4);
  };
  type(0x00, 16, 8, 2 | 4, 25, 0xc0);
  type(0x40, 8, 8, 0, 22, 0x80);
  put(b, ro + 0x40 + 48, 0x400000, 8);
  b[ro + 0x80] = 0;
  b[ro + 0x81] = 18;
  put_bytes(b, ro + 0x82, "*context.cancelCtx");
  b[ro + 0xc0] = 0;
  b[ro + 0xc1] = 7;
  put_bytes(b, ro + 0xc2, "*main.T");
  put_bytes(b, ro + 0x100, "go1.19.8");
  // .data at file 0x400
  put(b, 0x400, 0x400100, 8);
  put(b, 0x408, 8, 8);

  std::string strtab("\0", 1);
  struct Sym {
    std::string name;
    uint8_t info;
    uint16_t shndx;
    uint64_t value, size;
  };
  // Section indexes: 1 .rodata, 2 .data, 3 .bss, 4 .shstrtab, 5 .symtab, 6 .strtab
  std::vector<Sym> syms = {{"runtime.buildVersion", 0x11, 2, 0x500000, 16},
                           {"main.registry", 0x11, 2, 0x500010, 0x20},
                           {"runtime.bss", 0x01, 3, 0x510000, 0},
                           {"main.first", 0x11, 3, 0x510000, 8},
                           {"main.cache", 0x11, 3, 0x510008, 8},
                           {"runtime.types", 0x01, 1, 0x400000, 0},
                           {"runtime.etypes", 0x01, 1, 0x400100, 0},
                           {"type:main.Sym", 0x01, 1, 0x400180, 8},
                           {"type:.eq.main.T", 0x12, 1, 0x400190, 8},
                           {"main.main", 0x12, 1, 0x4001a0, 0x10}};
  std::vector<uint8_t> symtab(24, 0);
  for (const Sym& s : syms) {
    size_t at = symtab.size();
    symtab.resize(at + 24);
    put(symtab, at, strtab.size(), 4);
    symtab[at + 4] = s.info;
    put(symtab, at + 6, s.shndx, 2);
    put(symtab, at + 8, s.value, 8);
    put(symtab, at + 16, s.size, 8);
    strtab += s.name;
    strtab.push_back('\0');
  }
  std::string shstr("\0.rodata\0.data\0.bss\0.shstrtab\0.symtab\0.strtab\0", 47);
  uint64_t shstr_off = b.size();
  put_bytes(b, shstr_off, shstr);
  e.symtab_off = (b.size() + 7) / 8 * 8;
  b.resize(e.symtab_off);
  b.insert(b.end(), symtab.begin(), symtab.end());
  e.strtab_off = b.size();
  put_bytes(b, e.strtab_off, strtab);
  e.shoff = (b.size() + 7) / 8 * 8;
  b.resize(e.shoff + 7 * 64, 0);
  auto section = [&](int i, uint32_t name, uint32_t type, uint64_t flags, uint64_t addr,
                     uint64_t off, uint64_t size, uint32_t link, uint64_t entsize) {
    uint64_t h = e.shoff + i * 64;
    put(b, h + 0, name, 4);
    put(b, h + 4, type, 4);
    put(b, h + 8, flags, 8);
    put(b, h + 16, addr, 8);
    put(b, h + 24, off, 8);
    put(b, h + 32, size, 8);
    put(b, h + 40, link, 4);
    put(b, h + 56, entsize, 8);
  };
  section(1, 1, 1, 2, 0x400000, 0x200, 0x200, 0, 0);            // .rodata
  section(2, 9, 1, 3, 0x500000, 0x400, 0x40, 0, 0);             // .data
  section(3, 15, 8, 3, 0x510000, 0x440, 0x100, 0, 0);           // .bss
  section(4, 20, 3, 0, 0, shstr_off, shstr.size(), 0, 0);       // .shstrtab
  section(5, 30, 2, 0, 0, e.symtab_off, symtab.size(), 6, 24);  // .symtab
  section(6, 38, 3, 0, 0, e.strtab_off, strtab.size(), 0, 0);   // .strtab
  put(b, 40, e.shoff, 8);
  put(b, 58, 64, 2);
  put(b, 60, 7, 2);
  put(b, 62, 4, 2);
  return e;
}

void expect_input_error(const std::vector<uint8_t>& bytes, uint64_t offset,
                        const std::string& part) {
  try {
    ElfSymbols::from_bytes("bad.elf", bytes);
    FAIL("no InputError (expected one about '" << part << "')");
  } catch (const InputError& e) {
    INFO(e.describe());
    CHECK(e.file() == "bad.elf");
    CHECK(e.offset() == offset);
    CHECK(std::string(e.what()).find(part) != std::string::npos);
    CHECK(e.describe().find("bad.elf") != std::string::npos);
  }
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Output of a shell command, or nullopt when it fails.
std::optional<std::string> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Builds every sample with the `go` on PATH, as samples/make.sh does
// (-trimpath, CGO_ENABLED=0, GOFLAGS/GOEXPERIMENT empty), into a temporary folder.
// Returns the folder, or empty (with the reason) when there is no go.
struct SampleBuild {
  fs::path dir;
  std::string go_version, why_not;
};
SampleBuild sample_executables() {
  SampleBuild build = [] {
    SampleBuild b;
    if (!run("command -v go >/dev/null 2>&1 && echo yes")) {
      b.why_not = "no go on PATH";
      return b;
    }
    fs::path dir = fs::temp_directory_path() / ("heapwalk_elf_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::path cache = fs::temp_directory_path() / "heapwalk-test-gocache";
    std::string env = "GOCACHE=" + shell_quote(cache.string()) +
                      " GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=local GOEXPERIMENT= ";
    std::string cmd =
        "cd " + shell_quote((test::source_dir() / "samples" / "go").string()) + " && " + env +
        "go build -trimpath -o " + shell_quote(dir.string() + "/") +
        " ./ctxleak ./blockedgoroutines ./growingmap ./garbage ./finalizers 2>&1 && " + env +
        "go env GOVERSION";
    auto out = run(cmd);
    if (!out) {
      b.why_not = "go build failed";
      return b;
    }
    b.dir = dir;
    b.go_version = out->substr(out->rfind('\n') == std::string::npos ? 0 : out->rfind('\n') + 1);
    return b;
  }();
  return build;
}

}  // namespace

TEST_CASE("elf symbols: a hand-made executable", "[elf]") {
  TinyElf t = tiny_elf();
  ElfSymbols e = ElfSymbols::from_bytes("tiny.elf", t.bytes);
  CHECK(e.go_version() == "go1.19.8");
  CHECK_FALSE(e.position_independent());
  CHECK(e.symbol_count() == 10);
  CHECK(e.warnings().empty());
  CHECK(e.symbol_name(0x500010) == "main.registry");
  CHECK(e.symbol_name(0x500020) == "main.registry+0x10");
  CHECK(e.symbol_name(0x50002f) == "main.registry+0x1f");
  CHECK(e.symbol_name(0x500030).empty());
  CHECK(e.symbol_name(0x510000) == "main.first");  // the sized symbol beats the marker
  CHECK(e.symbol_name(0x510008) == "main.cache");
  CHECK(e.symbol_name(0x510010).empty());
  CHECK(e.symbol_name(0x400000) == "runtime.types");  // a marker, exact hit only
  CHECK(e.symbol_name(0x400001).empty());
  CHECK(e.type_name(0x400040) == "*context.cancelCtx");
  CHECK(e.type_name(0x400000) == "main.T");    // tflag ExtraStar: "*main.T"[1:]
  CHECK(e.type_name(0x400180) == "main.Sym");  // from the type:main.Sym symbol
  CHECK(e.type_name(0x400190).empty());        // type:.eq.* is a function, not a type
  CHECK(e.type_name(0x400008).empty());        // no descriptor there (str 0)
  CHECK(e.type_name(0x600000).empty());
  CHECK(e.pointer_elem(0x400040) == 0x400000);
  CHECK(e.pointer_elem(0x400000) == 0);
  auto shape = e.type_shape(0x400000);
  REQUIRE(shape);
  CHECK(shape->size == 16);
  CHECK(shape->ptrdata == 8);
  REQUIRE(e.section(".bss"));
  CHECK(e.section(".bss")->nobits);
  CHECK(e.find_symbol("main.cache")->address == 0x510008);
  CHECK(e.find_symbol("main.nothing") == nullptr);

  // A PIE loaded elsewhere: runtime addresses are ELF addresses + bias.
  e.set_load_bias(0x10000000);
  CHECK(e.symbol_name(0x10500018) == "main.registry+0x8");
  CHECK(e.type_name(0x10400040) == "*context.cancelCtx");
}

TEST_CASE("elf symbols: with a dump, globals and full type names", "[elf][labels]") {
  TinyElf t = tiny_elf();
  ElfSymbols e = ElfSymbols::from_bytes("tiny.elf", t.bytes);
  test::DumpDescription d;
  d.types = {{0x400040, 8, "context.", true}};
  d.itabs = {{0x400300, 0x400040}};
  test::DumpObjectSpec a, x;
  a.address = 0xc000010000;
  a.size = 16;
  x.address = 0xc000011000;
  x.size = 64;
  d.objects = {a, x};
  d.segments = {test::DumpSegmentSpec{false, 0x500000, 0x40, {{0x18, 0x400300}, {0x20, x.address}}},
                test::DumpSegmentSpec{true, 0x510000, 0x100, {{8, a.address}}}};
  const Snapshot s = test::snapshot_of(d);
  BinaryMatch m = match_binary(s, e);
  CHECK(m.layout_matches);
  CHECK(m.go_version_matches);
  CHECK(m.warnings.empty());
  std::vector<std::string> names, plain;
  for (const Root& r : s.roots()) {
    names.push_back(root_name(s, r, &e));
    plain.push_back(root_name(s, r, nullptr));
  }
  CHECK(names == std::vector<std::string>{"main.registry+0x8", "main.registry+0x10", "main.cache"});
  CHECK(plain == std::vector<std::string>{"data+0x18", "data+0x20", "bss+0x8"});

  const Labels with = compute_labels(s, &e), without = compute_labels(s);
  // The object is named by its own type: the pointee of the interface's
  // pointer type (this hand-made file's *context.cancelCtx descriptor has
  // main.T as its element).
  CHECK(with.type_name(s.find(x.address)) == "main.T");
  CHECK(with.counts().by_binary == 1);
  CHECK(without.type_name(s.find(x.address)) == "context.<pointee type>");

  // Another Go, another layout: both said.
  test::DumpDescription d2 = d;
  d2.params.go_version = "go1.21.0";
  d2.segments[1].start = 0x520000;
  const Snapshot s2 = test::snapshot_of(d2);
  BinaryMatch m2 = match_binary(s2, e);
  CHECK_FALSE(m2.layout_matches);
  CHECK_FALSE(m2.go_version_matches);
  CHECK(m2.warnings.size() == 2);
}

TEST_CASE("elf symbols: malformed files are InputErrors naming file and offset", "[elf]") {
  TinyElf t = tiny_elf();
  expect_input_error({0x7f, 'E', 'L'}, 3, "too short");
  std::vector<uint8_t> b = t.bytes;
  b[1] = 'X';
  expect_input_error(b, 0, "magic");
  b = t.bytes;
  b[4] = 1;
  expect_input_error(b, 4, "64-bit");
  b = t.bytes;
  b[5] = 2;
  expect_input_error(b, 5, "little-endian");
  b = t.bytes;
  put(b, 40, 0, 8);
  expect_input_error(b, 40, "no section header table");
  b = t.bytes;
  b.resize(t.shoff + 3 * 64 + 10);  // cut inside the section headers
  expect_input_error(b, 60, "past the end");
  b = t.bytes;
  put(b, t.shoff + 5 * 64 + 32, 1 << 20, 8);  // .symtab size past the end
  expect_input_error(b, t.shoff + 5 * 64 + 24, "past the end");
  b = t.bytes;
  put(b, t.symtab_off + 24, 1 << 20, 4);  // first symbol's name outside .strtab
  expect_input_error(b, t.symtab_off + 24, "outside its table");
  b = t.bytes;
  b.resize(b.size() - 3 * 64);  // the last headers cut off, sizes now past the end of file
  expect_input_error(b, 60, "past the end");
  b = t.bytes;
  put(b, t.shoff + 5 * 64 + 40, 2, 4);  // symtab linked to .data
  expect_input_error(b, t.shoff + 5 * 64 + 40, "not a string table");

  // Stripped: accepted, names nothing, says so.
  b = t.bytes;
  put(b, t.shoff + 5 * 64 + 4, 1, 4);  // .symtab becomes PROGBITS
  ElfSymbols stripped = ElfSymbols::from_bytes("stripped.elf", b);
  CHECK(stripped.symbol_count() == 0);
  CHECK(stripped.symbol_name(0x500010).empty());
  CHECK_FALSE(stripped.warnings().empty());

  CHECK_THROWS_AS(ElfSymbols::open("/nonexistent/heapwalk-no-such-file"), InputError);
}

TEST_CASE("elf symbols: the samples' executables name their globals and types",
          "[elf][samples][go]") {
  const SampleBuild build = sample_executables();
  if (build.dir.empty()) {
    WARN("skipped: " << build.why_not);
    return;
  }
  for (const auto& c : test::sample_dumps()) {
    std::string name = c.name.substr(c.name.rfind('/') + 1);
    INFO(name);
    const json truth = json::parse(test::read_file(c.truth));
    ElfSymbols e = ElfSymbols::open((build.dir / name).string());
    CHECK(e.go_version() == build.go_version);
    CHECK(e.symbol_count() > 1000);
    const Snapshot s = load_snapshot(c.dump.string());
    BinaryMatch m = match_binary(s, e);
    if (build.go_version != truth["go_version"]) {
      // Another toolchain lays the program out differently: the check must say so.
      CHECK_FALSE(m.go_version_matches);
      WARN("go on PATH is " << build.go_version << ", the samples were built with "
                            << truth["go_version"] << ": only the ELF parsing was checked");
      continue;
    }
    // Same Go, -trimpath, same flags: the build is reproducible, so the fresh
    // executable has the addresses of the one that wrote the dump.
    CHECK(m.go_version_matches);
    CHECK(m.layout_matches);
    for (const auto& [global, address] : truth["globals"].items()) {
      INFO(global);
      CHECK(e.symbol_name(std::stoull(address.get<std::string>(), nullptr, 16)) == global);
    }
    // Every type record of the dump has a name in the executable: what %T
    // prints, with the package's name where the dump has its path
    // ("json.byIndex" for "encoding/json.byIndex"); the labels pass puts the
    // path back, and a truncated "context." becomes "*context.cancelCtx".
    const Labels named = compute_labels(s, &e);
    std::set<std::string> names(named.type_names().begin(), named.type_names().end());
    for (const TypeRecord& t : s.facts().types) {
      std::string full = e.type_name(t.address);
      INFO(t.name << " at " << t.address << ": " << full);
      REQUIRE(!full.empty());
      std::string path = t.name.substr(0, t.name.rfind('.'));
      std::string pkg = path.substr(path.rfind('/') + 1);
      std::string bare = full.substr(full.find_first_not_of('*'));
      CHECK(bare.rfind(pkg + ".", 0) == 0);
      if (t.name.back() != '.')
        CHECK(t.name == path + bare.substr(pkg.size()));
      else
        CHECK(full.rfind("*", 0) == 0);
    }
    for (const std::string& n : names) CHECK(n.find("<pointee type>") == std::string::npos);
    if (name == "ctxleak") {
      const Labels L = compute_labels(s, &e);
      const auto& cols = truth["leaked_children_columns"];
      for (const auto& row : truth["leaked_children"]) {
        for (size_t i = 0; i < cols.size(); ++i) {
          std::string col = cols[i];
          std::string want = col == "valueCtx"                            ? truth["types"]["value"]
                             : col.find("cancelCtx") != std::string::npos ? truth["types"]["child"]
                                                                          : "";
          if (want.empty()) continue;
          want = want.substr(1);  // %T of the pointer; the label names the object
          CHECK(L.type_name(s.find(std::stoull(row[i].get<std::string>(), nullptr, 16))) == want);
        }
      }
      // The parent's interface word is a data root: named by its global.
      uint64_t word =
          std::stoull(truth["globals"]["main.parentCtx"].get<std::string>(), nullptr, 16) + 8;
      bool found = false;
      for (const Root& r : s.roots())
        if (root_address(s, r) == word) {
          CHECK(root_name(s, r, &e) == "main.parentCtx+0x8");
          found = true;
        }
      CHECK(found);
    }
  }
  std::error_code ec;
  fs::remove_all(build.dir, ec);
}

// DWARF type propagation on the samples, built from source with the Go on
// PATH (support/sample_build.h): with --binary, the objects the programs
// tracked get the types the programs printed (%T), and so do the maps,
// buckets and slices the truth files locate.
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "heapwalk/passes/dwarf_propagation.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/symbols/dwarf_types.h"
#include "heapwalk/symbols/elf_symbols.h"
#include "support/paths.h"
#include "support/sample_build.h"

using namespace heapwalk;
using json = nlohmann::json;

namespace {

uint64_t addr(const json& v) { return std::stoull(v.get<std::string>(), nullptr, 16); }

// %T prints package names ("dumpkit.Marker"), DWARF package paths
// ("heapwalk/samples/internal/dumpkit.Marker").
bool same_type(const std::string& label, const std::string& printed) {
  return label == printed || (label.size() > printed.size() && label.ends_with("/" + printed) &&
                              label.find_first_of("[]*<") == std::string::npos);
}

struct Loaded {
  const test::SampleBuild* build;
  ElfSymbols exe;
  Snapshot snapshot;
  json truth;
};

// nullopt (with a WARN) when the sample cannot be built here.
std::optional<Loaded> load(const std::string& name) {
  const test::SampleBuild& b = test::sample_build(name);
  if (b.exe.empty()) {
    WARN(name << ": skipped: " << b.why_not);
    return std::nullopt;
  }
  if (b.regenerated) WARN(name << ": the committed dump is another build's: using a fresh one");
  Loaded l{&b, ElfSymbols::open(b.exe.string()), load_snapshot(b.dump.string()),
           json::parse(test::read_file(b.truth))};
  REQUIRE(match_binary(l.snapshot, l.exe).layout_matches);
  REQUIRE(l.exe.dwarf());
  return l;
}

}  // namespace

TEST_CASE("dwarf types: a sample executable's globals and layouts", "[dwarf][samples][go]") {
  auto l = load("growingmap");
  if (!l) return;
  const DwarfTypes& d = *l->exe.dwarf();
  const DwarfTypes::Global* registry = nullptr;
  for (const auto& g : d.globals())
    if (g.name == "main.registry") registry = &g;
  REQUIRE(registry);
  CHECK(registry->address == addr(l->truth["globals"]["main.registry"]));
  const DwarfTypes::Type& map = d.type(registry->type);
  CHECK(map.name == "map[string]*main.Entry");
  REQUIRE(map.kind == DwarfTypes::Kind::kMap);
  const DwarfTypes::Type& hash = d.type(map.target);
  CHECK(hash.name == "hash<string,*main.Entry>");
  // hash.buckets points at an array of the 208-byte buckets the truth describes.
  bool buckets = false;
  for (uint32_t k = hash.first_member; k < hash.first_member + hash.member_count; ++k) {
    const auto& m = d.members()[k];
    if (m.tile_elem == DwarfTypes::kNoType) continue;
    CHECK(d.type(m.tile_elem).name == "bucket<string,*main.Entry>");
    CHECK(d.type(m.tile_elem).size == l->truth["registry_map"]["bucket_size"]);
    buckets |= m.offset == 16;
  }
  CHECK(buckets);
  // Entry: Key string at 0, Data []byte at 16, Cfg *Config at 40.
  uint32_t entry = DwarfTypes::kNoType;
  for (uint32_t i = 0; i < d.types().size(); ++i)
    if (d.type(i).name == "main.Entry" && d.type(i).kind == DwarfTypes::Kind::kStruct) entry = i;
  REQUIRE(entry != DwarfTypes::kNoType);
  CHECK(d.type(entry).size == l->truth["entry_size"]);
  std::vector<std::pair<uint64_t, std::string>> layout;
  for (uint32_t k = d.type(entry).first_member;
       k < d.type(entry).first_member + d.type(entry).member_count; ++k)
    layout.emplace_back(d.members()[k].offset, d.type(d.members()[k].type).name);
  CHECK(layout == std::vector<std::pair<uint64_t, std::string>>{
                      {0, "string"},
                      {16, "[]uint8"},
                      {40, "*main.Config"},
                      {48, "int64"},
                      {56, "*heapwalk/samples/internal/dumpkit.Marker"}});
}

TEST_CASE("dwarf propagation: tracked objects get the types the programs printed",
          "[dwarf][labels][samples][go]") {
  for (const char* name : {"ctxleak", "growingmap", "garbage", "finalizers", "blockedgoroutines"}) {
    INFO(name);
    auto l = load(name);
    if (!l) continue;
    const Snapshot& s = l->snapshot;
    const Labels with = compute_labels(s, &l->exe), without = compute_labels(s);
    const MarkResult m = mark(s);
    uint64_t checked = 0, only_dwarf = 0;
    if (l->truth.contains("tracked_objects")) {
      for (const auto& o : l->truth["tracked_objects"]) {
        const std::string printed = o["type"];
        if (!o["expected_live_at_dump"].get<bool>() || printed.empty() || printed[0] != '*')
          continue;
        ObjectId id = s.find(addr(o["addr"]));
        REQUIRE(id != kNoObject);
        // What DWARF can reach: the globals' data structures and objects
        // with finalizers; not what only goroutine stacks hold.
        const auto root = static_cast<RootKind>(m.first_root[id]);
        if (root != RootKind::kData && root != RootKind::kBss && !o["has_finalizer"].get<bool>())
          continue;
        // Held by a global *int64 pointing INTO it: the global's type names a
        // field, not the object; left untyped on purpose.
        if (o["class"] == "interior_pointer") {
          CHECK(with.type_name(id).empty());
          continue;
        }
        INFO(o["class"] << " " << o["role"] << " at " << o["addr"] << ": " << with.type_name(id));
        // The label is the object's type: the pointee of the %T pointer.
        CHECK(same_type(with.type_name(id), printed.substr(1)));
        only_dwarf += with.type_source(id) == TypeSource::kDwarf;
        ++checked;
      }
    }
    // Nothing with the executable is left as an unknown pointee.
    for (const std::string& n : with.type_names())
      CHECK(n.find("<pointee type>") == std::string::npos);
    const LabelCounts a = label_coverage(s, without, m), b = label_coverage(s, with, m);
    CHECK(b.typed_live_bytes >= a.typed_live_bytes);
    std::printf(
        "dwarf %-18s tracked %3llu (%3llu by DWARF alone); typed live bytes %5.1f%% -> %5.1f%%, "
        "unnamed %5.1f%% -> %5.1f%%; DWARF typed %llu objects, %llu conflicts, %llu interior\n",
        name, static_cast<unsigned long long>(checked), static_cast<unsigned long long>(only_dwarf),
        100.0 * a.typed_live_bytes / m.live_bytes, 100.0 * b.typed_live_bytes / m.live_bytes,
        100.0 * a.unnamed_live_bytes / m.live_bytes, 100.0 * b.unnamed_live_bytes / m.live_bytes,
        static_cast<unsigned long long>(b.by_dwarf),
        static_cast<unsigned long long>(b.dwarf_conflicts),
        static_cast<unsigned long long>(b.dwarf_interior));
    if (std::string(name) != "blockedgoroutines") {
      CHECK(checked > 0);
      // Globals reach nearly everything these programs keep.
      CHECK(b.typed_live_bytes * 10 > m.live_bytes * 9);
    }
  }
}

TEST_CASE("dwarf propagation: maps, buckets and slices of the samples",
          "[dwarf][labels][samples][go]") {
  if (auto l = load("growingmap")) {
    const Snapshot& s = l->snapshot;
    const Labels L = compute_labels(s, &l->exe);
    const json& map = l->truth["registry_map"];
    auto name = [&](const json& a) { return L.type_name(s.find(addr(a))); };
    CHECK(name(map["hmap"]) == "hash<string,*main.Entry>");
    CHECK(name(map["buckets"]) == "bucket<string,*main.Entry> array");
    CHECK(name(l->truth["recent_slice"]["array"]) == "[]*main.Entry backing array");
    CHECK(name(l->truth["config"]) == "main.Config");
    const auto& cols = l->truth["sample_entries_columns"];
    REQUIRE(cols[1] == "entry");
    REQUIRE(cols[2] == "entry_data");
    for (const auto& row : l->truth["sample_entries"]) {
      CHECK(name(row[1]) == "main.Entry");
      CHECK(L.type_source(s.find(addr(row[1]))) == TypeSource::kDwarf);
      CHECK(name(row[2]) == "[]uint8 backing array");
    }
  }
  if (auto l = load("ctxleak")) {
    const Snapshot& s = l->snapshot;
    const Labels L = compute_labels(s, &l->exe);
    auto name = [&](const json& a) { return L.type_name(s.find(addr(a))); };
    CHECK(name(l->truth["parent_children_map"]["hmap"]) == "hash<context.canceler,struct {}>");
    CHECK(name(l->truth["parent_children_map"]["buckets"]) ==
          "bucket<context.canceler,struct {}> array");
    CHECK(name(l->truth["parent_ctx"]) == "context.cancelCtx");
    const auto& cols = l->truth["leaked_children_columns"];
    REQUIRE(cols[4] == "payload");
    REQUIRE(cols[5] == "payload_data");
    uint64_t rows = 0;
    for (const auto& row : l->truth["leaked_children"]) {
      // Typed through child -> its children map -> grandchild -> valueCtx's
      // `val any` word: nothing in the dump alone names them.
      CHECK(name(row[4]) == "main.Payload");
      CHECK(L.type_source(s.find(addr(row[4]))) == TypeSource::kDwarf);
      CHECK(name(row[5]) == "[]uint8 backing array");
      ++rows;
    }
    CHECK(rows == 2000);
  }
  if (auto l = load("blockedgoroutines")) {
    // Each 64 KiB buffer has a finalizer on &buf[0] (a *uint8): that names
    // its first byte, not the buffer, so it stays untyped.
    const Labels L = compute_labels(l->snapshot, &l->exe);
    const auto& cols = l->truth["goroutines_columns"];
    REQUIRE(cols[4] == "buffer");
    uint64_t buffers = 0;
    for (const auto& row : l->truth["goroutines"]) {
      if (!row[4].is_string()) continue;
      ObjectId id = l->snapshot.find(addr(row[4]));
      if (id == kNoObject) continue;
      CHECK(L.type_name(id).empty());
      ++buffers;
    }
    CHECK(buffers >= 50);
  }
  if (auto l = load("garbage")) {
    const Labels L = compute_labels(l->snapshot, &l->exe);
    CHECK(L.type_name(l->snapshot.find(addr(l->truth["live_array"]))) ==
          "[]*main.Node backing array");
  }
}

TEST_CASE(
    "dwarf types: an executable without DWARF names from the symbol table only, with a warning",
    "[dwarf][samples][go]") {
  auto l = load("ctxleak");
  if (!l) return;
  if (std::system("command -v strip >/dev/null 2>&1") != 0) {
    WARN("skipped: no strip on PATH");
    return;
  }
  const std::string stripped = l->build->exe.string() + "-nodwarf";
  const std::string cmd =
      "strip --strip-debug -o '" + stripped + "' '" + l->build->exe.string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  ElfSymbols e = ElfSymbols::open(stripped);
  CHECK(e.dwarf() == nullptr);
  bool said = false;
  for (const std::string& w : e.warnings()) said |= w.find("no DWARF") != std::string::npos;
  CHECK(said);
  REQUIRE(match_binary(l->snapshot, e).layout_matches);
  const Labels L = compute_labels(l->snapshot, &e);
  CHECK(L.counts().by_dwarf == 0);
  // The interface-typed children keep their (ELF) names.
  CHECK(L.type_name(l->snapshot.find(addr(l->truth["parent_ctx"]))) == "context.cancelCtx");
}

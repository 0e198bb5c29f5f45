// The bundled samples (samples/go/*/) against their truth files: facts the Go
// program printed about itself (addresses as %p prints them, slot sizes,
// goroutine ids and states, allocation sites) and which tracked objects the
// real collector freed after the dump (samples/go/*/README.md explains every
// key). Checked: the reader (memstats vs object records, params, segments,
// goroutines, alloc samples), the snapshot builder (every printed address lies
// in an object of the printed size, globals lie in no object, map internals)
// and the mark pass (every tracked object's verdict equals the truth's).
//
// Every check that passes is counted as one "fact"; each test case prints its
// count to stdout, so a run shows how much of the truth was checked.
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "heapwalk/dump.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/snapshot.h"
#include "support/paths.h"

using namespace heapwalk;
using heapwalk::test::DumpCase;
using json = nlohmann::json;

namespace {

// A check that counts as one fact when it passes.
uint64_t g_facts = 0;
uint64_t g_failed = 0;
#define FACT(...)                                   \
  do {                                              \
    bool fact_ok_ = static_cast<bool>(__VA_ARGS__); \
    CHECK(__VA_ARGS__);                             \
    (fact_ok_ ? g_facts : g_failed)++;              \
  } while (0)

// Prints "<what>: N facts checked" to stdout once the test case ends.
struct FactReport {
  std::string what;
  uint64_t facts0 = g_facts, failed0 = g_failed;
  explicit FactReport(std::string w) : what(std::move(w)) {}
  ~FactReport() {
    std::cout << "samples truth: " << what << ": " << (g_facts - facts0) << " facts checked";
    if (g_failed != failed0) std::cout << ", " << (g_failed - failed0) << " FAILED";
    std::cout << " (this run so far: " << g_facts << ")\n";
  }
};

struct Sample {
  DumpCase dump;
  std::string name;  // "ctxleak"
  json truth;
  std::unique_ptr<Snapshot> snapshot;
  std::unique_ptr<MarkResult> marks;
};

// Loaded once per process: every test case here shares them.
std::vector<Sample>& samples() {
  static std::vector<Sample> all = [] {
    std::vector<Sample> out;
    for (const DumpCase& c : test::sample_dumps()) {
      Sample s;
      s.dump = c;
      s.name = c.name.substr(c.name.rfind('/') + 1);
      s.truth = json::parse(test::read_file(c.truth));
      s.snapshot = std::make_unique<Snapshot>(load_snapshot(c.dump.string()));
      s.marks = std::make_unique<MarkResult>(mark(*s.snapshot));
      out.push_back(std::move(s));
    }
    return out;
  }();
  return all;
}

const Sample& sample(const std::string& name) {
  for (const Sample& s : samples())
    if (s.name == name) return s;
  FAIL("no sample named " << name << " under samples/go");
  throw;  // unreachable
}

// "0xc000012345" -> its value; nullopt for anything else.
std::optional<uint64_t> parse_address(const std::string& text) {
  if (text.size() < 3 || text.size() > 18 || text[0] != '0' || text[1] != 'x') return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 2; i < text.size(); ++i) {
    char c = text[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

uint64_t address_of(const json& value) {
  auto a = parse_address(value.get<std::string>());
  REQUIRE(a);
  return *a;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// A table with a *_columns key: row values by column name.
struct Table {
  std::vector<std::string> columns;
  const json* rows;
  size_t col(const std::string& name) const {
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return i;
    FAIL("no column " << name);
    return 0;
  }
};
Table table(const json& truth, const std::string& key) {
  REQUIRE(truth.contains(key + "_columns"));
  return {truth[key + "_columns"].get<std::vector<std::string>>(), &truth[key]};
}

// The word at `address` of a data or bss segment, nullopt when in none.
std::optional<uint64_t> segment_word(const Snapshot& s, uint64_t address) {
  const DumpParams& p = s.facts().params;
  for (const SegmentRecord& seg : s.facts().segments) {
    if (address < seg.start || address + p.pointer_size > seg.start + seg.size) continue;
    const uint8_t* b = s.input().bytes().data() + seg.contents_offset + (address - seg.start);
    uint64_t v = 0;
    for (uint32_t i = 0; i < p.pointer_size; ++i)
      v |= static_cast<uint64_t>(b[p.big_endian ? p.pointer_size - 1 - i : i]) << (8 * i);
    return v;
  }
  return std::nullopt;
}

// The word at `address` inside an object (any offset), nullopt when in none.
std::optional<uint64_t> heap_word(const Snapshot& s, uint64_t address) {
  ObjectId id = s.find(address);
  if (id == kNoObject || address + 8 > s.address(id) + s.size(id)) return std::nullopt;
  return s.word(id, address - s.address(id));
}

// Every string of the truth that is an address, with the key (or column)
// naming it and the path to it ("leaked_children[3].payload").
struct PrintedAddress {
  std::string path;
  std::string key;
  bool global;
  uint64_t value;
};
void walk_addresses(const json& node, const std::string& path, const std::string& key,
                    bool under_globals, const json& root, std::vector<PrintedAddress>& out) {
  if (node.is_string()) {
    if (auto a = parse_address(node.get<std::string>()))
      out.push_back({path, key, under_globals, *a});
  } else if (node.is_object()) {
    for (const auto& [k, v] : node.items())
      walk_addresses(v, path.empty() ? k : path + "." + k, k,
                     under_globals || (path.empty() && k == "globals"), root, out);
  } else if (node.is_array()) {
    // A row of a table named by a *_columns key: name its cells by column.
    std::vector<std::string> columns;
    std::string table_key = path.substr(0, path.find('['));
    if (path.find('[') != std::string::npos && root.contains(table_key + "_columns"))
      columns = root[table_key + "_columns"].get<std::vector<std::string>>();
    for (size_t i = 0; i < node.size(); ++i) {
      bool named = !columns.empty() && node.size() == columns.size();
      walk_addresses(node[i],
                     named ? path + "." + columns[i] : path + "[" + std::to_string(i) + "]",
                     named ? columns[i] : key, under_globals, root, out);
    }
  }
}

bool in_segment(const Snapshot& s, uint64_t address) {
  for (const SegmentRecord& seg : s.facts().segments)
    if (address >= seg.start && address < seg.start + seg.size) return true;
  return false;
}

// Globals of the truth whose type holds no pointers: the linker puts them in
// noptrdata/noptrbss, which the dump does not write (the samples' README says
// every global is "in the data/bss segment records": not so for these).
bool pointer_free_global(const std::string& name) { return name == "main.mu"; }  // a sync.Mutex

// Heap addresses of the truth that are not the start of their slot: the only
// one is a pointer the program made into the middle of an object.
bool printed_interior(const std::string& path) { return path == "interior_pointer_value"; }

// Checks: `address` is the start of an object of `size` bytes.
void check_slot(const Sample& s, const std::string& what, uint64_t address, uint64_t size) {
  INFO(s.name << ": " << what << " " << hex(address));
  ObjectId id = s.snapshot->find(address);
  REQUIRE(id != kNoObject);
  FACT(s.snapshot->address(id) == address);
  FACT(s.snapshot->size(id) == size);
}

bool live(const Sample& s, uint64_t address) {
  ObjectId id = s.snapshot->find(address);
  REQUIRE(id != kNoObject);
  return s.marks->is_live(id);
}

void check_live(const Sample& s, const std::string& what, uint64_t address, bool expected) {
  INFO(s.name << ": " << what << " " << hex(address) << " expected "
              << (expected ? "live" : "unreachable"));
  FACT(live(s, address) == expected);
}

}  // namespace

TEST_CASE("samples truth: memstats, params and record counts", "[samples][truth]") {
  FactReport report("memstats/params");
  REQUIRE(samples().size() == 5);
  for (const Sample& s : samples()) {
    INFO(s.dump.name);
    const Snapshot& snap = *s.snapshot;
    const DumpFacts& f = snap.facts();
    REQUIRE(f.has_memstats);
    uint64_t bytes = 0;
    for (ObjectId id = 1; id <= snap.object_count(); ++id) bytes += snap.size(id);
    // Go 1.19: exactly the object records (no duplicates, no span bitmaps).
    FACT(f.record_counts[1] == snap.object_count());
    FACT(snap.stats().duplicate_objects == 0);
    FACT(snap.stats().overlapping_objects == 0);
    FACT(snap.phantom_count() == 0);
    FACT(f.memstats[kHeapObjects] == snap.object_count());
    FACT(f.memstats[kHeapAlloc] == bytes);
    // A few objects and ~1 KB more than the program's own read just before.
    const json& before = s.truth["memstats_before_dump"];
    FACT(f.memstats[kHeapObjects] >= before["HeapObjects"].get<uint64_t>());
    FACT(f.memstats[kHeapObjects] <= before["HeapObjects"].get<uint64_t>() + 64);
    FACT(f.memstats[kHeapAlloc] >= before["HeapAlloc"].get<uint64_t>());
    FACT(f.memstats[kHeapAlloc] <= before["HeapAlloc"].get<uint64_t>() + 64 * 1024);
    FACT(f.memstats[kNumGC] == before["NumGC"].get<uint64_t>());

    FACT(f.params.go_version == s.truth["go_version"].get<std::string>());
    FACT(f.params.arch == s.truth["goarch"].get<std::string>());
    FACT(f.params.pointer_size == 8);
    FACT(!f.params.big_endian);
    FACT(snap.input().bytes().size() == s.truth["dump_size"].get<uint64_t>());
    FACT(f.bytes_read == s.truth["dump_size"].get<uint64_t>());
    FACT(!f.truncated);

    // mem_profile_rate 0: no tag 16/17 at all; 1: a sample for every object.
    if (s.truth["mem_profile_rate"].get<int>() == 0) {
      FACT(f.record_counts[16] == 0);
      FACT(f.record_counts[17] == 0);
    } else {
      FACT(f.alloc_samples.size() > 0);
      FACT(f.buckets.size() > 0);
    }
  }
}

TEST_CASE("samples truth: every printed address, globals and slot sizes", "[samples][truth]") {
  FactReport report("addresses");
  for (const Sample& s : samples()) {
    const Snapshot& snap = *s.snapshot;
    std::vector<PrintedAddress> addresses;
    walk_addresses(s.truth, "", "", false, s.truth, addresses);
    uint64_t heap = 0, globals = 0;
    for (const PrintedAddress& a : addresses) {
      INFO(s.name << ": " << a.path << " = " << hex(a.value));
      if (a.value == 0) continue;  // nil (e.g. oldbuckets after growth)
      if (a.global) {
        ++globals;
        FACT(snap.find(a.value) == kNoObject);
        if (pointer_free_global(a.key)) {
          // noptrbss: the dump writes only the data and bss sections (the
          // ones with pointers); noptrbss follows bss in Go's layout.
          FACT(!in_segment(snap, a.value));
          uint64_t bss_end = 0;
          for (const SegmentRecord& seg : snap.facts().segments)
            if (seg.bss) bss_end = seg.start + seg.size;
          FACT(a.value >= bss_end);
        } else {
          FACT(in_segment(snap, a.value));
        }
        continue;
      }
      ++heap;
      ObjectId id = snap.find(a.value);
      FACT(id != kNoObject);
      if (id == kNoObject) continue;
      if (!printed_interior(a.path)) FACT(snap.address(id) == a.value);
    }
    WARN(s.name << ": " << heap << " heap addresses and " << globals << " globals in the truth");
    CHECK(heap > 0);
    CHECK(globals > 0);
  }

  // Slot sizes the truth gives.
  for (const Sample& s : samples()) {
    const json& t = s.truth;
    for (const json& row : t.value("tracked_objects", json::array())) {
      std::string what = row["class"].get<std::string>() + " " + row["role"].get<std::string>();
      check_slot(s, what, address_of(row["addr"]), row["slot_size"].get<uint64_t>());
      // Go 1.19 size classes: the slot is the smallest class >= the type size.
      FACT(row["slot_size"].get<uint64_t>() >= row["size"].get<uint64_t>());
      if (row.contains("marker_addr"))
        check_slot(s, what + " marker", address_of(row["marker_addr"]), 24);
    }
  }

  {
    const Sample& s = sample("blockedgoroutines");
    Table g = table(s.truth, "goroutines");
    for (const json& row : *g.rows) {
      uint64_t buffer = address_of(row[g.col("buffer")]);
      check_slot(s, "buffer of goroutine " + std::to_string(row[g.col("goid")].get<int>()), buffer,
                 row[g.col("buffer_slot_size")].get<uint64_t>());
      FACT(row[g.col("buffer_len")].get<uint64_t>() <=
           row[g.col("buffer_slot_size")].get<uint64_t>());
    }
    check_slot(s, "jobs hchan", address_of(s.truth["jobs_chan"]), 96);
    // The global holds the channel.
    FACT(segment_word(*s.snapshot, address_of(s.truth["globals"]["main.jobs"])) ==
         address_of(s.truth["jobs_chan"]));
  }
  {
    const Sample& s = sample("garbage");
    const json& t = s.truth;
    check_slot(s, "big_array", address_of(t["big_array"]["addr"]),
               t["big_array"]["slot_size"].get<uint64_t>());
    FACT(t["big_array"]["slot_size"].get<uint64_t>() % 8192 == 0);
    for (const json& head : t["garbage_chain_heads"])
      check_slot(s, "chain head", address_of(head), t["node_slot_size"].get<uint64_t>());
    // 100 pointers -> 800 bytes -> an 896-byte slot (README).
    check_slot(s, "live array", address_of(t["live_array"]), 896);
    // append growth: the last of 1, 2, 4, ..., 512 pointers.
    check_slot(s, "grown slice", address_of(t["grown_slice"]["final_array"]), 512 * 8);
    // main.live is a slice whose array is live_array, len 100.
    uint64_t g = address_of(t["globals"]["main.live"]);
    FACT(segment_word(*s.snapshot, g) == address_of(t["live_array"]));
    FACT(segment_word(*s.snapshot, g + 8) == t["live_nodes"].get<uint64_t>());
  }
  {
    const Sample& s = sample("growingmap");
    const json& t = s.truth;
    const json& m = t["registry_map"];
    check_slot(s, "registry hmap", address_of(m["hmap"]), 48);
    check_slot(s, "registry buckets", address_of(m["buckets"]),
               m["bucket_array_slot_size"].get<uint64_t>());
    uint64_t nb = (uint64_t{1} << m["B"].get<int>()) + (uint64_t{1} << (m["B"].get<int>() - 4));
    FACT(m["bucket_array_bytes"].get<uint64_t>() == nb * m["bucket_size"].get<uint64_t>());
    check_slot(s, "recent array", address_of(t["recent_slice"]["array"]),
               t["recent_slice"]["array_slot_size"].get<uint64_t>());
    check_slot(s, "config", address_of(t["config"]), t["config_size"].get<uint64_t>());
    Table e = table(t, "sample_entries");
    for (const json& row : *e.rows) {
      std::string key = row[e.col("key")].get<std::string>();
      check_slot(s, key + " entry", address_of(row[e.col("entry")]),
                 t["entry_slot_size"].get<uint64_t>());
      check_slot(s, key + " data", address_of(row[e.col("entry_data")]),
                 t["entry_data_slot_size"].get<uint64_t>());
      // Entry: key string (ptr, len), Data slice (ptr, len, cap), Cfg, ...
      uint64_t entry = address_of(row[e.col("entry")]);
      FACT(heap_word(*s.snapshot, entry + 8) == key.size());
      FACT(heap_word(*s.snapshot, entry + 16) == address_of(row[e.col("entry_data")]));
      FACT(heap_word(*s.snapshot, entry + 24) == t["entry_data_len"].get<uint64_t>());
      FACT(heap_word(*s.snapshot, entry + 40) == address_of(t["config"]));
    }
    // Globals hold what the program says: registry -> hmap, config, recent slice.
    const Snapshot& snap = *s.snapshot;
    FACT(segment_word(snap, address_of(t["globals"]["main.registry"])) == address_of(m["hmap"]));
    FACT(segment_word(snap, address_of(t["globals"]["main.config"])) == address_of(t["config"]));
    uint64_t recent = address_of(t["globals"]["main.recent"]);
    FACT(segment_word(snap, recent) == address_of(t["recent_slice"]["array"]));
    FACT(segment_word(snap, recent + 8) == t["recent_slice"]["len"].get<uint64_t>());
    FACT(segment_word(snap, recent + 16) == t["recent_slice"]["cap"].get<uint64_t>());
    // hmap: count, B, buckets, oldbuckets.
    uint64_t h = address_of(m["hmap"]);
    FACT(heap_word(snap, h) == m["count"].get<uint64_t>());
    FACT(((*heap_word(snap, h + 8) >> 8) & 0xff) == m["B"].get<uint64_t>());
    FACT(heap_word(snap, h + 16) == address_of(m["buckets"]));
    FACT(heap_word(snap, h + 24) == address_of(m["oldbuckets"]));
  }
  {
    const Sample& s = sample("finalizers");
    const json& t = s.truth;
    const Snapshot& snap = *s.snapshot;
    // main.interior = &node.Field: the global holds node + 16, which lies in
    // the tracked interior_pointer node's slot.
    uint64_t value = address_of(t["interior_pointer_value"]);
    FACT(segment_word(snap, address_of(t["globals"]["main.interior"])) == value);
    uint64_t node = 0;
    for (const json& row : t["tracked_objects"])
      if (row["class"] == "interior_pointer") node = address_of(row["addr"]);
    REQUIRE(node != 0);
    FACT(value == node + 16);
    FACT(snap.find(value) == snap.find(node));
    // liveHolder holds the reachable X.
    for (const json& row : t["tracked_objects"])
      if (row["class"] == "finalizer_referent_reachable" && row["role"] == "X_holder")
        FACT(segment_word(snap, address_of(t["globals"]["main.liveHolder"])) ==
             address_of(row["addr"]));
  }
}

TEST_CASE("samples truth: finalizer records", "[samples][truth]") {
  FactReport report("finalizer records");
  for (const Sample& s : samples()) {
    const Snapshot& snap = *s.snapshot;
    std::map<ObjectId, std::vector<const FinalizerRecord*>> by_object;
    for (const FinalizerRecord& fr : snap.facts().finalizers)
      by_object[snap.find(fr.object)].push_back(&fr);
    for (const json& row : s.truth.value("tracked_objects", json::array())) {
      INFO(s.name << ": " << row["class"].get<std::string>() << " "
                  << row["role"].get<std::string>());
      ObjectId id = snap.find(address_of(row["addr"]));
      bool has = by_object.count(id) != 0;
      // Markers have finalizers too; the tracked object itself has one iff the truth says so.
      FACT(has == row["has_finalizer"].get<bool>());
    }
  }
  const Sample& s = sample("finalizers");
  const json& q = s.truth["queued_finalizer_case"];
  REQUIRE(q["reliable"].get<bool>());
  std::set<uint64_t> queued;
  for (const FinalizerRecord& fr : s.snapshot->facts().finalizers)
    if (fr.queued) queued.insert(fr.object);
  FACT(s.snapshot->facts().record_counts[11] == 2);
  FACT(queued == std::set<uint64_t>{address_of(q["A_addr"]), address_of(q["B_addr"])});
}

TEST_CASE("samples truth: goroutines and their frames", "[samples][truth]") {
  FactReport report("goroutines");
  struct Expect {
    uint64_t goid;
    std::string state;  // as runtime.Stack printed it
  };
  // goroutine record by goid
  auto by_goid = [](const Sample& s) {
    std::map<uint64_t, const GoroutineRecord*> m;
    for (const GoroutineRecord& g : s.snapshot->facts().goroutines) m[g.goid] = &g;
    return m;
  };
  // goid -> stack-frame roots' targets of that goroutine
  auto frame_targets = [](const Sample& s) {
    std::map<uint64_t, std::set<ObjectId>> m;
    const DumpFacts& f = s.snapshot->facts();
    for (const Root& r : s.snapshot->roots())
      if (r.kind == RootKind::kStackFrame && r.target != kNoObject) {
        uint32_t g = f.frames.at(r.owner).goroutine;
        if (g != kNoGoroutine) m[f.goroutines.at(g).goid].insert(r.target);
      }
    return m;
  };

  {
    const Sample& s = sample("blockedgoroutines");
    auto gs = by_goid(s);
    auto frames = frame_targets(s);
    Table t = table(s.truth, "goroutines");
    uint64_t blocked = 0;
    for (const json& row : *t.rows) {
      uint64_t goid = row[t.col("goid")].get<uint64_t>();
      std::string state = row[t.col("state")].get<std::string>();
      INFO("goroutine " << goid << " [" << state << "]");
      if (state == "exited") {
        FACT(gs.count(goid) == 0);  // dead goroutines are not dumped
        continue;
      }
      ++blocked;
      REQUIRE(gs.count(goid) == 1);
      const GoroutineRecord& g = *gs[goid];
      FACT(g.status == 4);
      FACT(g.wait_reason == state);
      FACT(!g.system);
      FACT(goroutine_title(s.snapshot->facts(), g) ==
           "goroutine " + std::to_string(goid) + " [" + state + "]");
      // Its stack: the top function runtime.Stack printed is one of its
      // frames, and a frame of it holds the buffer.
      bool has_top = false;
      for (uint32_t i = g.first_frame; i < g.first_frame + g.frame_count; ++i)
        has_top |=
            s.snapshot->facts().frames[i].function == row[t.col("top_function")].get<std::string>();
      FACT(has_top);
      FACT(frames[goid].count(s.snapshot->find(address_of(row[t.col("buffer")]))) == 1);
    }
    FACT(blocked == 60);
    const json& holder = s.truth["mutex_holder"];
    REQUIRE(gs.count(holder["goid"].get<uint64_t>()) == 1);
    FACT(gs[holder["goid"].get<uint64_t>()]->wait_reason == holder["state"].get<std::string>());

    // Every goroutine runtime.Stack printed after the dump is in the dump, in
    // the state it printed, except the one that wrote the dump: it printed
    // "running" afterwards, and its record holds a stale wait reason (Go 1.19,
    // docs/go-heapdump.md).
    uint64_t user = 0;
    for (const json& g : s.truth["all_goroutines_after_dump"]) {
      uint64_t goid = g["goid"].get<uint64_t>();
      INFO("goroutine " << goid << " [" << g["state"].get<std::string>() << "]");
      REQUIRE(gs.count(goid) == 1);
      FACT(!gs[goid]->system);
      ++user;
      if (g["state"] == "running") {
        FACT(goid == 1);
        continue;  // checked below, for every sample
      }
      FACT(gs[goid]->wait_reason == g["state"].get<std::string>());
    }
    // The rest of the dump's goroutines are the runtime's own (system).
    uint64_t system = 0;
    for (const GoroutineRecord& g : s.snapshot->facts().goroutines) system += g.system;
    FACT(s.snapshot->facts().goroutines.size() == user + system);
  }
  // The goroutine that wrote the dump (main, goroutine 1): waiting, inside
  // WriteHeapDump's systemstack switch, with a STALE wait reason in Go 1.19
  // (the dumper sets "dumping heap" only from Go 1.20): whatever it last
  // waited for ("sleep", "wait for GC cycle"), never what it is doing.
  for (const Sample& s : samples()) {
    INFO(s.name);
    auto gs = by_goid(s);
    REQUIRE(gs.count(1) == 1);
    const GoroutineRecord& g = *gs[1];
    const DumpFacts& f = s.snapshot->facts();
    FACT(g.status == 4);
    FACT(!g.system);
    FACT(g.wait_reason != "dumping heap");
    REQUIRE(g.frame_count >= 2);
    FACT(f.frames[g.first_frame].function == "runtime.systemstack_switch");
    FACT(f.frames[g.first_frame + 1].function == "runtime/debug.WriteHeapDump");
  }
  {
    const Sample& s = sample("finalizers");
    auto gs = by_goid(s);
    // The finalizer goroutine is running A's finalizer (blocked in it), so it
    // is not a system goroutine then, and its frames hold A.
    const GoroutineRecord* fing = nullptr;
    const DumpFacts& f = s.snapshot->facts();
    for (const GoroutineRecord& g : f.goroutines)
      for (uint32_t i = g.first_frame; i < g.first_frame + g.frame_count; ++i)
        if (f.frames[i].function == "runtime.runfinq") fing = &g;
    REQUIRE(fing != nullptr);
    FACT(!fing->system);
    FACT(fing->wait_reason == "chan receive");
    FACT(frame_targets(s)[fing->goid].count(
             s.snapshot->find(address_of(s.truth["queued_finalizer_case"]["A_addr"]))) == 1);
    auto frames = frame_targets(s);
    const json& g = s.truth["stack_only_goroutine"];
    uint64_t goid = g["goid"].get<uint64_t>();
    REQUIRE(gs.count(goid) == 1);
    FACT(gs[goid]->wait_reason == g["state"].get<std::string>());
    FACT(gs[goid]->status == 4);
    for (const json& row : s.truth["tracked_objects"])
      if (row["class"] == "stack_only")
        FACT(frames[goid].count(s.snapshot->find(address_of(row["addr"]))) == 1);
  }
}

TEST_CASE("samples truth: ctxleak children map and allocation sites", "[samples][truth]") {
  FactReport report("ctxleak map and alloc sites");
  const Sample& s = sample("ctxleak");
  const Snapshot& snap = *s.snapshot;
  const json& t = s.truth;
  const json& m = t["parent_children_map"];
  uint64_t parent = address_of(t["parent_ctx"]), hmap = address_of(m["hmap"]),
           buckets = address_of(m["buckets"]);

  // The global main.parentCtx is a context.Context interface: (itab, parent).
  FACT(segment_word(snap, address_of(t["globals"]["main.parentCtx"]) + 8) == parent);
  check_slot(s, "parent cancelCtx", parent, t["cancelCtx_size"].get<uint64_t>());
  check_slot(s, "children hmap", hmap, 48);
  check_slot(s, "children buckets", buckets, m["bucket_array_slot_size"].get<uint64_t>());
  int B = m["B"].get<int>();
  uint64_t nbuckets = uint64_t{1} << B;
  const uint64_t kBucket = 144;  // 8 tophash + 8 x 16-byte interface keys + overflow
  FACT(m["bucket_array_bytes"].get<uint64_t>() == (nbuckets + (nbuckets >> 4)) * kBucket);
  FACT(heap_word(snap, parent + t["cancelCtx_children_field_offset"].get<uint64_t>()) == hmap);
  FACT(heap_word(snap, hmap) == m["count"].get<uint64_t>());
  FACT(((*heap_word(snap, hmap + 8) >> 8) & 0xff) == static_cast<uint64_t>(B));
  FACT(heap_word(snap, hmap + 16) == buckets);
  FACT(heap_word(snap, hmap + 24) == address_of(m["oldbuckets"]));

  // The map's keys are exactly the leaked children (following overflow chains).
  std::set<uint64_t> keys;
  uint64_t visited = 0;
  for (uint64_t b = 0; b < nbuckets; ++b) {
    for (uint64_t bucket = buckets + b * kBucket; bucket != 0;) {
      REQUIRE(++visited < 4 * nbuckets);
      uint64_t tophash = *heap_word(snap, bucket);
      for (int i = 0; i < 8; ++i)
        if (((tophash >> (8 * i)) & 0xff) >= 5)
          keys.insert(*heap_word(snap, bucket + 8 + 16 * i + 8));
      bucket = *heap_word(snap, bucket + 8 + 8 * 16);
    }
  }
  Table leaked = table(t, "leaked_children"), cancelled = table(t, "cancelled_children");
  std::set<uint64_t> leaked_children;
  for (const json& row : *leaked.rows)
    leaked_children.insert(address_of(row[leaked.col("child_cancelCtx")]));
  FACT(leaked_children.size() == t["leaked_count"].get<uint64_t>());
  FACT(cancelled.rows->size() == t["cancelled_count"].get<uint64_t>());
  FACT(keys == leaked_children);

  // Per row: object sizes and the links between them.
  struct Column {
    const char* name;
    uint64_t slot;
  };
  const Column columns[] = {{"child_cancelCtx", 64},      {"valueCtx", 48},
                            {"grandchild_cancelCtx", 64}, {"payload", 48},
                            {"payload_data", 1024},       {"child_children_map", 48}};
  for (const Table* tab : {&leaked, &cancelled})
    for (const json& row : *tab->rows)
      for (const Column& c : columns)
        check_slot(s, c.name, address_of(row[tab->col(c.name)]), c.slot);
  for (const json& row : *leaked.rows) {
    uint64_t child = address_of(row[leaked.col("child_cancelCtx")]);
    uint64_t value = address_of(row[leaked.col("valueCtx")]);
    uint64_t grand = address_of(row[leaked.col("grandchild_cancelCtx")]);
    // child.children -> its map; grandchild.Context = (itab, valueCtx); valueCtx.Context = (itab,
    // child)
    FACT(heap_word(snap, child + 40) == address_of(row[leaked.col("child_children_map")]));
    FACT(heap_word(snap, grand + 8) == value);
    FACT(heap_word(snap, value + 8) == child);
  }

  // Allocation sites: MemProfileRate = 1, so every object the program made
  // has a sample; the truth's runtime.Caller positions are on its stack.
  std::unordered_map<uint64_t, uint64_t> sample_bucket;
  for (const AllocSample& a : snap.facts().alloc_samples) sample_bucket[a.object] = a.bucket;
  std::unordered_map<uint64_t, const MemProfBucket*> bucket_by_address;
  for (const MemProfBucket& b : snap.facts().buckets) bucket_by_address[b.address] = &b;
  auto site_of = [&](uint64_t object) -> const MemProfBucket* {
    auto it = sample_bucket.find(object);
    if (it == sample_bucket.end()) return nullptr;
    auto b = bucket_by_address.find(it->second);
    return b == bucket_by_address.end() ? nullptr : b->second;
  };
  auto has_frame = [](const MemProfBucket* b, const json& site) {
    for (const StackEntry& e : b->stack)
      if (e.function == site["function"].get<std::string>() &&
          e.file == site["file"].get<std::string>() && e.line == site["line"].get<uint64_t>())
        return true;
    return false;
  };
  const json& sites = t["alloc_sites"];
  {
    INFO("parent " << hex(parent));
    const MemProfBucket* b = site_of(parent);
    FACT(b != nullptr);
    if (b) FACT(has_frame(b, sites["parent"]));
  }
  for (const Table* tab : {&leaked, &cancelled})
    for (const json& row : *tab->rows) {
      for (const Column& c : columns) {
        INFO(c.name << " " << row[tab->col(c.name)].get<std::string>());
        FACT(site_of(address_of(row[tab->col(c.name)])) != nullptr);
      }
      uint64_t child = address_of(row[tab->col("child_cancelCtx")]);
      const MemProfBucket* b = site_of(child);
      if (b) {
        INFO("child " << hex(child));
        FACT(has_frame(b, sites["child"]));
        FACT(b->stack.size() >= 2);
        FACT(b->size == 64);
      }
      for (const char* c : {"payload", "payload_data"}) {
        const MemProfBucket* pb = site_of(address_of(row[tab->col(c)]));
        if (!pb) continue;
        INFO(c << " " << row[tab->col(c)].get<std::string>());
        FACT(has_frame(pb, sites["payload"]));
        // innermost frame outside the runtime is main.newPayload itself
        FACT(pb->stack.at(0).function == sites["payload"]["function"].get<std::string>());
      }
    }
  // Every tracked object (and its marker) of the mem_profile_rate = 1 samples has a sample.
  for (const Sample& x : samples()) {
    if (x.truth["mem_profile_rate"].get<int>() != 1) continue;
    std::unordered_set<uint64_t> sampled;
    for (const AllocSample& a : x.snapshot->facts().alloc_samples) sampled.insert(a.object);
    for (const json& row : x.truth["tracked_objects"]) {
      INFO(x.name << ": " << row["class"].get<std::string>() << " "
                  << row["role"].get<std::string>());
      FACT(sampled.count(address_of(row["addr"])) == 1);
      if (row.contains("marker_addr")) FACT(sampled.count(address_of(row["marker_addr"])) == 1);
    }
  }
}

TEST_CASE("samples truth: mark verdicts equal the truth", "[samples][truth][mark]") {
  FactReport report("mark verdicts");
  for (const Sample& s : samples()) {
    for (const json& row : s.truth.value("tracked_objects", json::array())) {
      std::string what = row["class"].get<std::string>() + " " + row["role"].get<std::string>();
      bool expected = row["expected_live_at_dump"].get<bool>();
      check_live(s, what, address_of(row["addr"]), expected);
      // The truth's own consistency rule (README), where no note says otherwise.
      if (row["freed_in_cycle"].get<int>() == 0) CHECK(expected);
      // A marker is a leaf only its object points to: live when its object
      // is, or when its object's fields are roots (a registered finalizer).
      if (row.contains("marker_addr"))
        check_live(s, what + " marker", address_of(row["marker_addr"]),
                   expected || row["has_finalizer"].get<bool>());
    }
  }
  {
    const Sample& s = sample("blockedgoroutines");
    Table t = table(s.truth, "goroutines");
    for (const json& row : *t.rows) {
      uint64_t buffer = address_of(row[t.col("buffer")]);
      bool expected = row[t.col("buffer_expected_live_at_dump")].get<bool>();
      check_live(s, "buffer of goroutine " + std::to_string(row[t.col("goid")].get<int>()), buffer,
                 expected);
      // Live only through the goroutine's frame.
      if (expected)
        FACT(s.marks->first_root[s.snapshot->find(buffer)] ==
             static_cast<uint8_t>(RootKind::kStackFrame));
    }
    check_live(s, "jobs hchan", address_of(s.truth["jobs_chan"]), true);
    // README: live ONLY through the frames: without stack roots, none is.
    MarkResult no_frames =
        mark(*s.snapshot, ~(uint32_t{1} << static_cast<uint32_t>(RootKind::kStackFrame)));
    for (const json& row : *t.rows) {
      INFO("buffer of goroutine " << row[t.col("goid")].get<int>());
      FACT(!no_frames.is_live(s.snapshot->find(address_of(row[t.col("buffer")]))));
    }
  }
  {
    const Sample& s = sample("ctxleak");
    const json& t = s.truth;
    check_live(s, "parent", address_of(t["parent_ctx"]), true);
    check_live(s, "children hmap", address_of(t["parent_children_map"]["hmap"]), true);
    check_live(s, "children buckets", address_of(t["parent_children_map"]["buckets"]), true);
    // The leak hangs off the global main.parentCtx: data + bss roots alone
    // keep every leaked row (main's frame also points at the children map,
    // which is not what keeps them).
    MarkResult globals_only =
        mark(*s.snapshot, (uint32_t{1} << static_cast<uint32_t>(RootKind::kData)) |
                              (uint32_t{1} << static_cast<uint32_t>(RootKind::kBss)));
    Table leaked = table(t, "leaked_children");
    for (const json& row : *leaked.rows)
      for (size_t c = 1; c < leaked.columns.size(); ++c) {
        INFO("leaked " << row[0].get<int>() << " " << leaked.columns[c] << " from globals alone");
        FACT(globals_only.is_live(s.snapshot->find(address_of(row[c]))));
      }
    for (const auto& [key, expected] :
         {std::pair{"leaked_children", true}, std::pair{"cancelled_children", false}}) {
      Table tab = table(t, key);
      for (const json& row : *tab.rows)
        for (size_t c = 1; c < tab.columns.size(); ++c)
          check_live(
              s, std::string(key) + " " + std::to_string(row[0].get<int>()) + " " + tab.columns[c],
              address_of(row[c]), expected);
    }
  }
  {
    const Sample& s = sample("garbage");
    const json& t = s.truth;
    check_live(s, "live array", address_of(t["live_array"]), true);
    check_live(s, "big array", address_of(t["big_array"]["addr"]), false);
    check_live(s, "grown slice", address_of(t["grown_slice"]["final_array"]), false);
    for (const json& head : t["garbage_chain_heads"])
      check_live(s, "chain head", address_of(head), false);
    // The program's own garbage is a lower bound on what heapwalk finds.
    FACT(s.marks->unreachable_objects >= t["expected_garbage_at_least"]["objects"].get<uint64_t>());
    FACT(s.marks->unreachable_bytes >= t["expected_garbage_at_least"]["bytes"].get<uint64_t>());
  }
  {
    const Sample& s = sample("growingmap");
    const json& t = s.truth;
    check_live(s, "hmap", address_of(t["registry_map"]["hmap"]), true);
    check_live(s, "buckets", address_of(t["registry_map"]["buckets"]), true);
    check_live(s, "recent array", address_of(t["recent_slice"]["array"]), true);
    check_live(s, "config", address_of(t["config"]), true);
    Table e = table(t, "sample_entries");
    for (const json& row : *e.rows) {
      check_live(s, "entry", address_of(row[e.col("entry")]), true);
      check_live(s, "entry data", address_of(row[e.col("entry_data")]), true);
    }
  }
  // Live + unreachable = every object (Go 1.19: no span bitmap records).
  for (const Sample& s : samples()) {
    INFO(s.name);
    FACT(s.marks->live_objects + s.marks->unreachable_objects == s.snapshot->object_count());
  }
}

// Labels on real dumps, checked against what the programs printed about
// themselves (%T, runtime.Caller positions, addresses as %p).
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "support/paths.h"

using namespace heapwalk;
using json = nlohmann::json;

namespace {

uint64_t addr(const json& v) { return std::stoull(v.get<std::string>(), nullptr, 16); }

std::string base_name(const std::string& file) { return file.substr(file.rfind('/') + 1); }

std::string caller_text(const json& site) {
  return site["function"].get<std::string>() + " (" + base_name(site["file"].get<std::string>()) +
         ":" + std::to_string(site["line"].get<int>()) + ")";
}

const test::DumpCase* find_case(const std::vector<test::DumpCase>& cases, const std::string& name) {
  for (const auto& c : cases)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("labels on ctxleak: children typed through the parent's children map, payloads by site",
          "[labels][samples]") {
  auto samples = test::sample_dumps();
  const test::DumpCase* c = find_case(samples, "sample/ctxleak/ctxleak");
  REQUIRE(c);
  const json truth = json::parse(test::read_file(c->truth));
  const Snapshot s = load_snapshot(c->dump.string());
  const Labels L = compute_labels(s);

  // The dump truncates *context.cancelCtx to "context." (a pointer-sized
  // type record): without the executable, the object it points at is
  // "context.<pointee type>" (labels name the object, not the pointer).
  REQUIRE(truth["types"]["child"] == "*context.cancelCtx");
  const std::string child_site = "context.WithCancel (context.go:";
  const std::string child_caller = caller_text(truth["alloc_sites"]["child"]);
  const std::string payload_site = caller_text(truth["alloc_sites"]["payload"]);
  const auto& cols = truth["leaked_children_columns"];
  auto col = [&](const char* name) {
    for (size_t i = 0; i < cols.size(); ++i)
      if (cols[i] == name) return i;
    FAIL("no column " << name);
    return size_t{0};
  };
  size_t child = col("child_cancelCtx"), grand = col("grandchild_cancelCtx"),
         value = col("valueCtx"), payload = col("payload");
  uint64_t rows = 0;
  for (const auto& row : truth["leaked_children"]) {
    ObjectId ch = s.find(addr(row[child])), gr = s.find(addr(row[grand])),
             va = s.find(addr(row[value])), pl = s.find(addr(row[payload]));
    REQUIRE(ch != kNoObject);
    REQUIRE(pl != kNoObject);
    INFO("leaked row " << row[0]);
    CHECK(L.type_name(ch) == "context.<pointee type>");
    CHECK(L.type_source(ch) == TypeSource::kInterface);
    CHECK(L.type_name(gr) == "context.<pointee type>");
    CHECK(L.type_name(va) == "context.<pointee type>");
    REQUIRE(L.site(ch));
    CHECK(L.site(ch)->allocator.rfind(child_site, 0) == 0);
    CHECK(L.site(ch)->caller == child_caller);
    REQUIRE(L.site(pl));
    CHECK(L.site(pl)->label() == payload_site);
    CHECK(L.label(s, pl) == "[site] " + payload_site);
    ++rows;
  }
  CHECK(rows == 2000);
  CHECK(L.type_name(s.find(addr(truth["parent_ctx"]))) == "context.<pointee type>");
  CHECK(L.counts().samples_unresolved == 0);

  const MarkResult m = mark(s);
  const LabelCounts cov = label_coverage(s, L, m);
  CHECK(cov.sited_live_bytes * 2 > m.live_bytes);  // most live bytes named by site
  CHECK(cov.typed_live_bytes + cov.sited_live_bytes + cov.unnamed_live_bytes >= m.live_bytes);
}

TEST_CASE("labels on every sample: coverage figures and consistency", "[labels][samples]") {
  for (const auto& c : test::sample_dumps()) {
    INFO(c.name);
    const json truth = json::parse(test::read_file(c.truth));
    const Snapshot s = load_snapshot(c.dump.string());
    const Labels L = compute_labels(s);
    const MarkResult m = mark(s);
    const LabelCounts cov = label_coverage(s, L, m);
    uint64_t typed = 0, sited = 0, unnamed = 0;
    for (ObjectId id = 1; id <= s.object_count(); ++id) {
      if (!m.is_live(id)) continue;
      if (L.type_index(id)) typed += s.size(id);
      if (L.site_index(id)) sited += s.size(id);
      if (!L.type_index(id) && !L.site_index(id)) unnamed += s.size(id);
    }
    CHECK(cov.typed_live_bytes == typed);
    CHECK(cov.sited_live_bytes == sited);
    CHECK(cov.unnamed_live_bytes == unnamed);
    // Every alloc sample of a Go 1.19 sample lands on an object's start.
    CHECK(L.counts().samples_unresolved == 0);
    if (truth["mem_profile_rate"] == 0) CHECK(cov.sited_live_bytes == 0);
    std::printf("coverage %-26s live %9llu B: typed %5.1f%%, sited %5.1f%%, unnamed %5.1f%%\n",
                c.name.c_str(), static_cast<unsigned long long>(m.live_bytes),
                100.0 * cov.typed_live_bytes / m.live_bytes,
                100.0 * cov.sited_live_bytes / m.live_bytes,
                100.0 * cov.unnamed_live_bytes / m.live_bytes);
  }
}

TEST_CASE("labels on the corpus: sessioncache stats are main.sessionStats (headers from Go 1.22)",
          "[labels][corpus]") {
  auto corpus = test::corpus_dumps();
  if (corpus.empty()) {
    WARN("corpus not found: skipped");
    return;
  }
  for (const char* name : {"go1.19/sessioncache", "go1.21/sessioncache", "go1.23/sessioncache",
                           "go1.25/sessioncache"}) {
    const test::DumpCase* c = find_case(corpus, name);
    if (!c) continue;
    INFO(name);
    const json truth = json::parse(test::read_file(c->truth));
    const Snapshot s = load_snapshot(c->dump.string());
    const Labels L = compute_labels(s);
    const bool headers = s.go_version().at_least(1, 22);
    const uint64_t type_addr = addr(truth["sessionStats_type_addr"]);
    bool record = false;
    for (const TypeRecord& t : s.facts().types)
      record |= t.address == type_addr && t.name == "main.sessionStats";
    CHECK(record);
    uint64_t named = 0, by_header = 0;
    // The truth's "stats" is %p of the value: slot + 8 behind a header.
    size_t stats_col = 0;
    const auto& cols = truth["sessions_columns"];
    for (size_t i = 0; i < cols.size(); ++i)
      if (cols[i] == "stats") stats_col = i;
    REQUIRE(cols[stats_col] == "stats");
    for (const auto& row : truth["sessions"]) {
      uint64_t value = addr(row[stats_col]);
      ObjectId id = s.find(value);
      REQUIRE(id != kNoObject);
      CHECK(value - s.address(id) == (headers ? 8u : 0u));
      named += L.type_name(id) == "main.sessionStats";
      by_header += L.type_source(id) == TypeSource::kMallocHeader;
    }
    CHECK(named == truth["sessions"].size());
    CHECK(by_header == (headers ? truth["sessions"].size() : 0));
    CHECK(L.counts().conflicts == 0);
  }
}

TEST_CASE("labels on the corpus: coverage figures", "[labels][corpus]") {
  for (const auto& c : test::corpus_dumps()) {
    const Snapshot s = load_snapshot(c.dump.string());
    const Labels L = compute_labels(s);
    const MarkResult m = mark(s);
    const LabelCounts cov = label_coverage(s, L, m);
    INFO(c.name);
    CHECK(L.counts().samples_unresolved == 0);
    std::printf(
        "coverage %-26s live %9llu B: typed %5.1f%%, sited %5.1f%%, unnamed %5.1f%% "
        "(header %llu, iface %llu, conflicts %llu, interior %llu)\n",
        c.name.c_str(), static_cast<unsigned long long>(m.live_bytes),
        100.0 * cov.typed_live_bytes / m.live_bytes, 100.0 * cov.sited_live_bytes / m.live_bytes,
        100.0 * cov.unnamed_live_bytes / m.live_bytes,
        static_cast<unsigned long long>(L.counts().by_header),
        static_cast<unsigned long long>(L.counts().by_interface),
        static_cast<unsigned long long>(L.counts().conflicts),
        static_cast<unsigned long long>(L.counts().interior_skipped));
  }
}

// The persistent analysis cache (issue 9): a snapshot, labels and dominator
// tree restored from it equal the computed ones on every real dump; damaged,
// stale and foreign cache files are detected and rebuilt; the CLI gives the
// same bytes cold, warm and with --no-cache.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "heapwalk/cache/analysis_cache.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/snapshot.h"
#include "heapwalk/symbols/elf_symbols.h"
#include "support/cli.h"
#include "support/paths.h"
#include "support/sample_build.h"

using namespace heapwalk;
using namespace heapwalk::test;
namespace fs = std::filesystem;

namespace {

// A fresh, empty cache directory per use.
struct TempCacheDir {
  fs::path path;
  TempCacheDir() {
    static int serial = 0;
    path = fs::temp_directory_path() /
           ("heapwalk_cache_test_" + std::to_string(::getpid()) + "_" + std::to_string(++serial));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempCacheDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
};

LoadOptions cached(const fs::path& dir) {
  LoadOptions o;
  o.cache.enabled = true;
  o.cache.directory = dir.string();
  return o;
}

std::vector<DumpCase> all_dumps() {
  std::vector<DumpCase> out = sample_dumps();
  for (const DumpCase& c : corpus_dumps()) out.push_back(c);
  return out;
}

// Every member a pass can see, compared.
void require_same_snapshot(const Snapshot& a, const Snapshot& b) {
  REQUIRE(a.vertex_count() == b.vertex_count());
  REQUIRE(a.view().edge_count() == b.view().edge_count());
  for (ObjectId v = 0; v < a.vertex_count(); ++v) {
    REQUIRE(a.address(v) == b.address(v));
    REQUIRE(a.size(v) == b.size(v));
    REQUIRE(a.is_phantom(v) == b.is_phantom(v));
    auto ca = a.contents(v), cb = b.contents(v);
    REQUIRE(std::equal(ca.begin(), ca.end(), cb.begin(), cb.end()));
    auto sa = a.successors(v), sb = b.successors(v);
    REQUIRE(std::equal(sa.begin(), sa.end(), sb.begin(), sb.end()));
    for (uint32_t e = a.first_edge(v); e < a.first_edge(v) + sa.size(); ++e)
      REQUIRE(a.edge_offset(e) == b.edge_offset(e));
    if (v > 0) REQUIRE(b.find(a.address(v) + a.size(v) / 2) == v);
  }
  REQUIRE(a.roots().size() == b.roots().size());
  for (size_t i = 0; i < a.roots().size(); ++i) {
    const Root &x = a.roots()[i], &y = b.roots()[i];
    REQUIRE((x.value == y.value && x.offset == y.offset && x.owner == y.owner && x.kind == y.kind &&
             x.role == y.role && x.target == y.target));
    REQUIRE(a.root_name(x) == b.root_name(y));
  }
  REQUIRE(std::memcmp(&a.stats(), &b.stats(), sizeof(PointerStats)) == 0);
  REQUIRE(a.phantom_count() == b.phantom_count());
  REQUIRE(a.phantom_bytes() == b.phantom_bytes());
  const DumpFacts &f = a.facts(), &g = b.facts();
  REQUIRE(f.params.go_version == g.params.go_version);
  REQUIRE(f.params.arch == g.params.arch);
  REQUIRE(f.record_counts == g.record_counts);
  REQUIRE(f.memstats == g.memstats);
  REQUIRE(f.goroutines.size() == g.goroutines.size());
  for (size_t i = 0; i < f.goroutines.size(); ++i) {
    REQUIRE(goroutine_title(f, f.goroutines[i]) == goroutine_title(g, g.goroutines[i]));
    REQUIRE(f.goroutines[i].first_frame == g.goroutines[i].first_frame);
    REQUIRE(f.goroutines[i].frame_count == g.goroutines[i].frame_count);
  }
  REQUIRE(f.frames.size() == g.frames.size());
  for (size_t i = 0; i < f.frames.size(); ++i) {
    REQUIRE(f.frames[i].function == g.frames[i].function);
    REQUIRE(f.frames[i].contents_offset == g.frames[i].contents_offset);
  }
  REQUIRE(f.types.size() == g.types.size());
  for (size_t i = 0; i < f.types.size(); ++i) REQUIRE(f.types[i].name == g.types[i].name);
  REQUIRE(f.finalizers.size() == g.finalizers.size());
  REQUIRE(f.buckets.size() == g.buckets.size());
  for (size_t i = 0; i < f.buckets.size(); ++i)
    REQUIRE(f.buckets[i].stack.size() == g.buckets[i].stack.size());
  REQUIRE(f.alloc_samples.size() == g.alloc_samples.size());
  REQUIRE(f.segments.size() == g.segments.size());
  REQUIRE(f.itabs.size() == g.itabs.size());
}

void require_same_labels(const Snapshot& s, const Labels& a, const Labels& b) {
  REQUIRE(a.type_names() == b.type_names());
  REQUIRE(a.sites().size() == b.sites().size());
  for (ObjectId v = 0; v < s.vertex_count(); ++v) {
    REQUIRE(a.type_index(v) == b.type_index(v));
    REQUIRE(a.site_index(v) == b.site_index(v));
    REQUIRE(a.type_source(v) == b.type_source(v));
    if (v > 0) REQUIRE(a.label(s, v) == b.label(s, v));
  }
  REQUIRE(std::memcmp(&a.counts(), &b.counts(), sizeof(LabelCounts)) == 0);
}

void require_same_tree(const DominatorTree& a, const DominatorTree& b) {
  REQUIRE(a.idom == b.idom);
  REQUIRE(a.retained == b.retained);
  REQUIRE(a.preorder == b.preorder);
}

void flip_byte(const fs::path& file, uint64_t offset, uint8_t mask) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ mask));
}

}  // namespace

TEST_CASE("cache: snapshot, labels and dominators restore equal to computed on every real dump",
          "[cache]") {
  for (const DumpCase& c : all_dumps()) {
    INFO(c.name);
    TempCacheDir dir;
    const Snapshot fresh = load_snapshot(c.dump.string());
    const Labels fresh_labels = compute_labels(fresh);
    const DominatorTree fresh_tree = heap_dominators(fresh);  // no cache: computes
    {
      const Snapshot first = load_snapshot(c.dump.string(), cached(dir.path));
      REQUIRE(first.cache() != nullptr);
      CHECK(first.cache()->last_outcome() == AnalysisCache::Outcome::kMissing);
      require_same_labels(first, fresh_labels, labels_of(first, nullptr));
      require_same_tree(fresh_tree, heap_dominators(first));
    }  // the background writer is joined here
    REQUIRE(dir.files().size() == 3);
    const Snapshot second = load_snapshot(c.dump.string(), cached(dir.path));
    REQUIRE(second.cache()->last_outcome() == AnalysisCache::Outcome::kHit);
    require_same_snapshot(fresh, second);
    const Labels restored_labels = labels_of(second, nullptr);
    REQUIRE(second.cache()->last_outcome() == AnalysisCache::Outcome::kHit);
    require_same_labels(second, fresh_labels, restored_labels);
    const DominatorTree restored_tree = heap_dominators(second);
    REQUIRE(second.cache()->last_outcome() == AnalysisCache::Outcome::kHit);
    require_same_tree(fresh_tree, restored_tree);
  }
}

TEST_CASE("cache: labels made with an executable are kept apart and restore equal",
          "[cache][dwarf]") {
  const SampleBuild& b = sample_build("ctxleak");
  if (b.exe.empty()) {
    WARN("skipped: " << b.why_not);
    return;
  }
  TempCacheDir dir;
  ElfSymbols exe = ElfSymbols::open(b.exe.string());
  const Snapshot fresh = load_snapshot(b.dump.string());
  REQUIRE(match_binary(fresh, exe).layout_matches);
  const Labels with_exe = compute_labels(fresh, &exe), without = compute_labels(fresh);
  REQUIRE(with_exe.counts().by_dwarf > 0);  // the executable makes a difference
  {
    const Snapshot first = load_snapshot(b.dump.string(), cached(dir.path));
    require_same_labels(first, with_exe, labels_of(first, &exe));
    CHECK(first.cache()->last_outcome() == AnalysisCache::Outcome::kMissing);
    require_same_labels(first, without, labels_of(first, nullptr));
    CHECK(first.cache()->last_outcome() == AnalysisCache::Outcome::kMissing);
  }
  CHECK(dir.files().size() == 3);  // snapshot, labels, labels-<executable>
  const Snapshot second = load_snapshot(b.dump.string(), cached(dir.path));
  require_same_labels(second, with_exe, labels_of(second, &exe));
  CHECK(second.cache()->last_outcome() == AnalysisCache::Outcome::kHit);
  require_same_labels(second, without, labels_of(second, nullptr));
  CHECK(second.cache()->last_outcome() == AnalysisCache::Outcome::kHit);
  // Another executable (here: the same one's bytes changed) is another entry.
  const fs::path other = dir.path / "other-exe";
  fs::copy_file(b.exe, other);
  { std::ofstream(other, std::ios::binary | std::ios::app) << "x"; }
  ElfSymbols exe2 = ElfSymbols::open(other.string());
  REQUIRE(match_binary(second, exe2).layout_matches);
  require_same_labels(second, with_exe, labels_of(second, &exe2));
  CHECK(second.cache()->last_outcome() == AnalysisCache::Outcome::kMissing);
}

TEST_CASE("cache: every damaged byte of a cache file is detected and the result recomputed",
          "[cache]") {
  const DumpCase c = sample_dumps().front();
  const Snapshot fresh = load_snapshot(c.dump.string());
  const Labels fresh_labels = compute_labels(fresh);
  const DominatorTree fresh_tree = heap_dominators(fresh);
  TempCacheDir dir;
  { load_snapshot(c.dump.string(), cached(dir.path)); }
  {
    const Snapshot s = load_snapshot(c.dump.string(), cached(dir.path));
    labels_of(s, nullptr);
    heap_dominators(s);
  }
  // Loads the dump through the cache, uses the section `file` holds, checks
  // the result equals the computed one, and says what the cache found.
  auto load_and_compare = [&](const fs::path& file) {
    const Snapshot s = load_snapshot(c.dump.string(), cached(dir.path));
    const std::string name = file.filename().string();
    if (name.find(".snapshot.") != std::string::npos) {
      require_same_snapshot(fresh, s);
    } else if (name.find(".labels.") != std::string::npos) {
      require_same_labels(s, fresh_labels, labels_of(s, nullptr));
    } else {
      require_same_tree(fresh_tree, heap_dominators(s));
    }
    return s.cache()->last_outcome();
  };
  std::mt19937_64 rng(9);
  for (const fs::path& file : dir.files()) {
    const std::string pristine = read_file(file);
    const uint64_t size = pristine.size();
    INFO(file.filename().string() << ", " << size << " bytes");
    // Every byte of the header and of the start of the frame, then random
    // bytes (and bits) across the whole file, then truncations.
    std::vector<std::pair<uint64_t, uint8_t>> damage;
    for (uint64_t at = 0; at < std::min<uint64_t>(size, 96); ++at) damage.push_back({at, 0xff});
    for (int i = 0; i < 150; ++i)
      damage.push_back({rng() % size, static_cast<uint8_t>(1u << (rng() % 8))});
    size_t rebuilt = 0, stale = 0, hits = 0;
    for (auto [at, mask] : damage) {
      { std::ofstream(file, std::ios::binary | std::ios::trunc) << pristine; }
      flip_byte(file, at, mask);
      INFO("byte " << at << " ^ " << int(mask));
      const AnalysisCache::Outcome outcome = load_and_compare(file);
      rebuilt += outcome == AnalysisCache::Outcome::kCorrupt;
      stale += outcome == AnalysisCache::Outcome::kStale;
      // A hit despite the damage means the decoded payload is still exactly
      // right (zstd's checksum over it verified, and it was compared above):
      // bits zstd ignores, such as the frame's window size or a bitstream's
      // padding. They must be rare.
      hits += outcome == AnalysisCache::Outcome::kHit;
    }
    CHECK(hits * 20 < damage.size());
    CHECK(rebuilt > 100);
    CHECK(stale >= 36);  // format, section and the four key words

    for (uint64_t keep : {uint64_t{0}, uint64_t{10}, uint64_t{64}, size / 2, size - 1}) {
      std::ofstream(file, std::ios::binary | std::ios::trunc) << pristine.substr(0, keep);
      INFO("kept " << keep << " bytes");
      REQUIRE(load_and_compare(file) != AnalysisCache::Outcome::kHit);
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << pristine;
  }
}

TEST_CASE("cache: a different dump with the same size, or a changed tail, is a miss", "[cache]") {
  const DumpCase c = sample_dumps().front();
  TempCacheDir dir;
  const fs::path copy = dir.path / "copy.heapdump.zst";
  fs::copy_file(c.dump, copy);
  const auto before = cache_key_of(copy.string());
  REQUIRE(before);
  // Same size, one byte changed at the very end (the zstd frame's checksum):
  // the key changes, so nothing cached for the original is used.
  flip_byte(copy, fs::file_size(copy) - 1, 0x01);
  const auto after = cache_key_of(copy.string());
  REQUIRE(after);
  CHECK(after->dump_size == before->dump_size);
  CHECK_FALSE(*after == *before);
  CHECK_FALSE(cache_key_of((dir.path / "missing").string()));
  CHECK_FALSE(cache_key_of(dir.path.string()));  // a directory, not a dump
}

TEST_CASE("cache: the CLI prints the same bytes cold, warm and with --no-cache", "[cache][cli]") {
  TempCacheDir dir;
  const std::string env = "HEAPWALK_CACHE_DIR=" + shell_quote(dir.path.string()) + " ";
  for (const DumpCase& c : sample_dumps()) {
    const std::string dump = relative_dump(c);
    for (std::string verb : {"summary", "top", "paths", "histogram", "cycles", "dominators"}) {
      INFO(verb << " " << dump);
      CliRun none = run_heapwalk(verb + " --no-cache " + dump);
      CliRun cold =
          run_heapwalk(verb + " --cache-dir " + shell_quote(dir.path.string()) + " " + dump);
      CliRun warm =
          run_heapwalk(verb + " --cache-dir " + shell_quote(dir.path.string()) + " " + dump);
      REQUIRE(none.status == 0);
      CHECK(cold.status == 0);
      CHECK(warm.status == 0);
      CHECK(cold.out == none.out);
      CHECK(warm.out == none.out);
      CHECK(warm.err == none.err);
    }
  }
  CHECK(dir.files().size() == 3 * sample_dumps().size());
}

TEST_CASE("cache: --no-cache and HEAPWALK_NO_CACHE write nothing, a damaged file gets a note",
          "[cache][cli]") {
  TempCacheDir dir;
  const std::string dump = relative_dump(sample_dumps().front());
  const std::string at = " --cache-dir " + shell_quote(dir.path.string()) + " ";
  REQUIRE(run_heapwalk("summary --no-cache" + at + dump).status == 0);
  CHECK(dir.files().empty());
  ::setenv("HEAPWALK_NO_CACHE", "1", 1);
  CliRun env_off = run_heapwalk("summary" + at + dump);
  ::unsetenv("HEAPWALK_NO_CACHE");
  REQUIRE(env_off.status == 0);
  CHECK(dir.files().empty());

  CliRun first = run_heapwalk("summary" + at + dump);
  REQUIRE(first.status == 0);
  CHECK(first.out == env_off.out);
  REQUIRE(dir.files().size() == 2);  // labels and snapshot
  for (const fs::path& f : dir.files())
    CHECK((fs::status(f).permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
          fs::perms::none);
  const fs::path snapshot_file = dir.files()[1];
  REQUIRE(snapshot_file.string().find(".snapshot.") != std::string::npos);
  flip_byte(snapshot_file, fs::file_size(snapshot_file) / 2, 0x10);
  CliRun damaged = run_heapwalk("summary" + at + dump);
  CHECK(damaged.status == 0);
  CHECK(damaged.out == first.out);
  CHECK(damaged.err.find("heapwalk: note: cache file ") != std::string::npos);
  CHECK(damaged.err.find("rebuilding it") != std::string::npos);
  CliRun again = run_heapwalk("summary" + at + dump);  // rebuilt: quiet again
  CHECK(again.err.empty());
  CHECK(again.out == first.out);
}

TEST_CASE("cache: a cache directory that cannot be made is skipped, not an error", "[cache][cli]") {
  TempCacheDir dir;
  const fs::path blocker = dir.path / "file";  // (root may write anywhere: a file blocks it)
  std::ofstream(blocker) << "x";
  const std::string dump = relative_dump(sample_dumps().front());
  CliRun r =
      run_heapwalk("summary --cache-dir " + shell_quote((blocker / "sub").string()) + " " + dump);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out == run_heapwalk("summary --no-cache " + dump).out);
}

TEST_CASE("cache: least recently used files of other dumps go beyond HEAPWALK_CACHE_MAX",
          "[cache][cli]") {
  TempCacheDir dir;
  const std::string at = " --cache-dir " + shell_quote(dir.path.string()) + " ";
  std::vector<DumpCase> samples = sample_dumps();
  REQUIRE(samples.size() >= 3);
  REQUIRE(run_heapwalk("summary" + at + relative_dump(samples[0])).status == 0);
  REQUIRE(run_heapwalk("summary" + at + relative_dump(samples[1])).status == 0);
  REQUIRE(dir.files().size() == 4);
  REQUIRE(run_heapwalk("summary" + at + relative_dump(samples[2])).status == 0);
  REQUIRE(dir.files().size() == 6);  // the default budget (8 GiB) keeps all
  // A budget of one byte: writing evicts every other dump's files.
  ::setenv("HEAPWALK_CACHE_MAX", "1", 1);
  REQUIRE(run_heapwalk("top" + at + relative_dump(samples[2])).status == 0);  // writes dominators
  ::unsetenv("HEAPWALK_CACHE_MAX");
  // Only the dump just written keeps files: its snapshot, labels, dominators.
  const auto left = dir.files();
  CHECK(left.size() == 3);
  for (const fs::path& f : left) CHECK(f.filename().string().find(".hwc") != std::string::npos);
}

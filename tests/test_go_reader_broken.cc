// Robustness of the input layer, the Go reader and the snapshot builder on
// broken real dumps: every kind of truncation, seeded random corruption, and
// what the CLI prints and returns for bad input.
//
// Sources: the go1.19 corpus dumps (../shared/corpus, absent in a user's
// clone) and the samples under samples/go/ (may be absent too). With neither,
// a small synthetic dump written here stands in, so these tests never skip
// entirely.
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "heapwalk/dump.h"
#include "heapwalk/error.h"
#include "heapwalk/input.h"
#include "heapwalk/reader.h"
#include "heapwalk/snapshot.h"
#include "support/paths.h"

using namespace heapwalk;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

// ---------------------------------------------------------------------------
// An independent record walker: where each record of a well-formed dump starts
// and which tag it has. Written from ../shared/docs/go-heapdump.md, not from
// the reader, so that the reader's offsets are checked against it.

struct RecordSpan {
  uint64_t start;
  uint64_t end;
  uint64_t tag;
};

class Walker {
 public:
  explicit Walker(const Bytes& b) : b_(b) {}

  std::vector<RecordSpan> walk() {
    std::vector<RecordSpan> out;
    pos_ = 16;
    for (;;) {
      uint64_t start = pos_;
      uint64_t tag = uv();
      switch (tag) {
        case 0: break;
        case 1:
          uv();
          str();
          fields();
          break;
        case 2:
          str();
          uv();
          break;
        case 3:
          uv();
          uv();
          str();
          uv();
          break;
        case 4:
          for (int i = 0; i < 8; ++i) uv();
          str();
          for (int i = 0; i < 4; ++i) uv();
          break;
        case 5:
          uv();
          uv();
          uv();
          str();
          uv();
          uv();
          uv();
          str();
          fields();
          break;
        case 6:
          uv();
          uv();
          uv();
          uv();
          str();
          str();
          uv();
          break;
        case 7:
        case 11:
          for (int i = 0; i < 5; ++i) uv();
          break;
        case 8:
        case 17:
          uv();
          uv();
          break;
        case 9:
          uv();
          uv();
          uv();
          break;
        case 10:
          for (int i = 0; i < kMemStatsWords; ++i) uv();
          break;
        case 12:
        case 13:
          uv();
          str();
          fields();
          break;
        case 14:
          for (int i = 0; i < 7; ++i) uv();
          break;
        case 15:
          for (int i = 0; i < 6; ++i) uv();
          break;
        case 16: {
          uv();
          uv();
          uint64_t n = uv();
          for (uint64_t i = 0; i < n; ++i) {
            str();
            str();
            uv();
          }
          uv();
          uv();
          break;
        }
        default: FAIL("walker: unknown tag " << tag << " at " << start); break;
      }
      out.push_back({start, pos_, tag});
      if (tag == 0) return out;
    }
  }

 private:
  uint64_t uv() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      if (pos_ >= b_.size()) FAIL("walker: input ends inside a record");
      uint8_t c = b_[pos_++];
      v |= uint64_t{c & 0x7fu} << shift;
      if (c < 0x80) return v;
    }
  }
  void str() {
    uint64_t n = uv();
    if (n > b_.size() - pos_) FAIL("walker: a string runs past the end at " << pos_);
    pos_ += n;
  }
  void fields() {
    while (uv() != 0) uv();
  }
  const Bytes& b_;
  uint64_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// A small synthetic dump, for when neither the corpus nor samples exist.

void put_uv(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}
void put_str(Bytes& out, const std::string& s) {
  put_uv(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}
void put_word(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Bytes synthetic_dump() {
  const uint64_t heap = 0xc000000000;
  const int objects = 400;
  Bytes d;
  const std::string header = "go1.7 heap dump\n";
  d.insert(d.end(), header.begin(), header.end());
  put_uv(d, 6);
  put_uv(d, 0);
  put_uv(d, 8);
  put_uv(d, heap);
  put_uv(d, heap + 0x400000);
  put_str(d, "amd64");
  put_str(d, "go1.19.8");
  put_uv(d, 2);
  put_uv(d, 3);
  put_uv(d, 0x4e0000);
  put_uv(d, 48);
  put_str(d, "main.T");
  put_uv(d, 0);
  put_uv(d, 8);
  put_uv(d, 0x520000);
  put_uv(d, 0x4e0000);
  for (int i = 0; i < objects; ++i) {  // 48-byte objects, two pointers each
    put_uv(d, 1);
    put_uv(d, heap + 48 * i);
    put_uv(d, 48);
    put_word(d, heap + 48 * ((i * 7 + 1) % objects));
    put_word(d, 0);
    put_word(d, heap + 48 * ((i + 3) % objects) + 8);
    put_word(d, 0x1234);
    put_word(d, 0);
    put_word(d, 0);
    put_uv(d, 1);
    put_uv(d, 0);
    put_uv(d, 1);
    put_uv(d, 16);
    put_uv(d, 0);
  }
  put_uv(d, 4);  // goroutine 1 and two frames
  for (uint64_t v : {heap + 0x300000, heap + 0x200f00, uint64_t{1}, uint64_t{0x401000}, uint64_t{4},
                     uint64_t{0}, uint64_t{0}, uint64_t{0}})
    put_uv(d, v);
  put_str(d, "chan receive");
  put_uv(d, heap + 96);
  put_uv(d, 0);
  put_uv(d, 0);
  put_uv(d, 0);
  for (int depth = 0; depth < 2; ++depth) {
    put_uv(d, 5);
    put_uv(d, heap + 0x200f00 + 64 * depth);
    put_uv(d, depth);
    put_uv(d, 0);
    put_uv(d, 32);
    put_word(d, heap + 48 * (depth + 5));
    put_word(d, 0);
    put_word(d, 0);
    put_word(d, 7);
    put_uv(d, 0x401000);
    put_uv(d, 0x401010);
    put_uv(d, 0x401010);
    put_str(d, depth == 0 ? "runtime.gopark" : "main.main");
    put_uv(d, 1);
    put_uv(d, 0);
    put_uv(d, 0);
  }
  put_uv(d, 9);
  put_uv(d, 0x5a0000);
  put_uv(d, 0);
  put_uv(d, 4242);
  for (int bss = 0; bss < 2; ++bss) {
    put_uv(d, 12 + bss);
    put_uv(d, 0x5b0000 + 0x1000 * bss);
    put_uv(d, 16);
    put_word(d, heap + 48 * (10 + bss));
    put_word(d, 0);
    put_uv(d, 1);
    put_uv(d, 0);
    put_uv(d, 0);
  }
  for (int i = 0; i < 20; ++i) {
    put_uv(d, 7);
    put_uv(d, heap + 48 * (20 + i));
    put_uv(d, 0x540000);
    put_uv(d, 0x402000);
    put_uv(d, 0x4e0000);
    put_uv(d, 0x4e0000);
  }
  put_uv(d, 10);
  for (int i = 0; i < kMemStatsWords; ++i)
    put_uv(d, i == kHeapObjects ? objects : i == kHeapAlloc ? 48 * objects : i * 1000);
  put_uv(d, 16);
  put_uv(d, 0x600000);
  put_uv(d, 48);
  put_uv(d, 2);
  put_str(d, "main.alloc");
  put_str(d, "main.go");
  put_uv(d, 10);
  put_str(d, "main.main");
  put_str(d, "main.go");
  put_uv(d, 20);
  put_uv(d, objects);
  put_uv(d, 0);
  for (int i = 0; i < objects; ++i) {
    put_uv(d, 17);
    put_uv(d, heap + 48 * i);
    put_uv(d, 0x600000);
  }
  put_uv(d, 0);
  return d;
}

// ---------------------------------------------------------------------------
// Inputs.

struct Source {
  std::string name;
  Bytes bytes;   // decompressed
  fs::path zst;  // the compressed original, empty for the synthetic dump
};

Bytes decompressed(const fs::path& path) {
  InputBuffer in = InputBuffer::open(path.string());
  return Bytes(in.bytes().begin(), in.bytes().end());
}

std::vector<heapwalk::test::DumpCase> go119_corpus() {
  std::vector<heapwalk::test::DumpCase> out;
  for (auto& c : heapwalk::test::corpus_dumps())
    if (c.name.rfind("go1.19/", 0) == 0) out.push_back(c);
  return out;
}

// The smallest real dump there is (go1.19 corpus first, then samples), or
// the synthetic one.
Source smallest_source() {
  std::vector<heapwalk::test::DumpCase> cases = go119_corpus();
  if (cases.empty()) cases = heapwalk::test::sample_dumps();
  Source best;
  for (auto& c : cases) {
    Bytes b = decompressed(c.dump);
    if (best.bytes.empty() || b.size() < best.bytes.size()) best = {c.name, std::move(b), c.dump};
  }
  if (best.bytes.empty()) {
    WARN("no corpus and no samples: using a synthetic dump");
    best = {"synthetic", synthetic_dump(), {}};
  }
  return best;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("heapwalk-broken-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const void* data, size_t size) const {
    fs::path p = path / name;
    std::ofstream out(p, std::ios::binary);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    REQUIRE(out.good());
    return p;
  }
  fs::path write(const std::string& name, const Bytes& b) const {
    return write(name, b.data(), b.size());
  }
};

Bytes zstd_compress(const Bytes& b) {
  Bytes out(ZSTD_compressBound(b.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), b.data(), b.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// The whole pipeline on bytes in memory: what load_snapshot does on a file.
Snapshot load_bytes(const std::string& name, const uint8_t* data, size_t size,
                    bool allow_truncated) {
  InputBuffer input = InputBuffer::from_bytes(name, std::span<const uint8_t>(data, size));
  ReadOptions options;
  options.allow_truncated = allow_truncated;
  DumpFacts facts = read_dump(input, options);
  return build_snapshot(std::move(input), std::move(facts));
}

// Uses what a snapshot offers, so that a corrupt snapshot shows under ASan.
uint64_t touch(const Snapshot& s) {
  uint64_t sum = s.view().edge_count();
  for (ObjectId id = 1; id <= s.object_count(); id += 1 + s.object_count() / 64) {
    sum += s.find(s.address(id)) + s.find(s.address(id) + s.size(id) / 2) + s.word(id, 0);
    sum += s.contents(id).size() + s.successors(id).size();
  }
  for (const Root& r : s.roots()) sum += r.target;
  return sum;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr int kSanitizerDivisor = 4;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int kSanitizerDivisor = 4;
#else
constexpr int kSanitizerDivisor = 1;
#endif
#else
constexpr int kSanitizerDivisor = 1;
#endif

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// "truncated at offset N ..." -> N.
uint64_t truncated_offset(const std::string& message) {
  const std::string key = "truncated at offset ";
  size_t at = message.find(key);
  if (at == std::string::npos) return ~uint64_t{0};
  at += key.size();
  if (at >= message.size() || message[at] < '0' || message[at] > '9') return ~uint64_t{0};
  return std::stoull(message.substr(at));
}

constexpr uint64_t kEdge = 64 * 1024;

// The same dump with what precedes record `keep_from` made small: object
// records there are dropped but the first 32, finalizer, memprof bucket and
// alloc sample records but the first 8 of each tag, and data and bss segments
// lose their contents and pointer fields. Records are independent, so this is a
// valid dump, and from record `keep_from` on it is byte for byte the
// original. Cutting it inside those records tests the same thing as cutting
// the original, at a fraction of the cost (each cut copies and re-reads the
// whole prefix, and a segment's thousands of pointer fields dominate that).
struct Slim {
  Bytes bytes;
  std::vector<RecordSpan> records;  // in `bytes`
  uint64_t shift = 0;               // original offset - slim offset, from keep_from on
};

Slim slim_dump(const Bytes& d, const std::vector<RecordSpan>& records, size_t keep_from) {
  Slim out;
  out.bytes.assign(d.begin(), d.begin() + 16);
  std::array<uint64_t, kRecordTagCount> kept{};
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordSpan& r = records[i];
    const uint64_t start = out.bytes.size();
    if (i < keep_from && r.tag < kRecordTagCount) {
      const uint64_t n = ++kept[r.tag];
      if (r.tag == 1 && n > 32) continue;
      if ((r.tag == 7 || r.tag == 11 || r.tag == 16 || r.tag == 17) && n > 8) continue;
    }
    if (i < keep_from && (r.tag == 12 || r.tag == 13)) {
      uint64_t address = 0;  // the segment's start address
      for (uint64_t p = r.start + 1, shift = 0;; ++p, shift += 7) {
        address |= uint64_t{d[p] & 0x7fu} << shift;
        if (d[p] < 0x80) break;
      }
      put_uv(out.bytes, r.tag);
      put_uv(out.bytes, address);
      put_uv(out.bytes, 0);  // no contents
      put_uv(out.bytes, 0);  // no fields
    } else {
      if (i == keep_from) out.shift = r.start - start;
      out.bytes.insert(out.bytes.end(), d.begin() + static_cast<std::ptrdiff_t>(r.start),
                       d.begin() + static_cast<std::ptrdiff_t>(r.end));
    }
    out.records.push_back({start, out.bytes.size(), r.tag});
  }
  return out;
}

}  // namespace

TEST_CASE("broken: the synthetic stand-in dump is well formed", "[go][broken]") {
  Bytes d = synthetic_dump();
  std::vector<RecordSpan> records = Walker(d).walk();
  CHECK(records.back().end == d.size());
  Snapshot s = load_bytes("synthetic", d.data(), d.size(), false);
  CHECK(s.object_count() == 400);
  CHECK(s.facts().goroutines.size() == 1);
  CHECK(s.facts().frames.size() == 2);
  CHECK(s.facts().alloc_samples.size() == 400);
  CHECK(s.view().edge_count() > 800);
}

namespace {

struct CutStats {
  uint64_t cuts = 0, checked = 0, allowed = 0;
};

// Cuts `d` at `cut` and checks what the reader says: InputError "truncated at
// offset N" with N the start of the record the cut falls in (cut exactly at a
// boundary: the record that is missing), the same N as the error's offset;
// with allow_truncated (when `allowed`), a snapshot of the complete records
// only, each counted once in record_counts.
void check_cut(const std::string& name, const Bytes& d, const std::vector<RecordSpan>& records,
               const std::vector<uint64_t>& starts, const Snapshot& whole, uint64_t cut,
               bool allowed, CutStats& stats) {
  ++stats.cuts;
  auto first_cut = std::upper_bound(records.begin(), records.end(), cut,
                                    [](uint64_t c, const RecordSpan& r) { return c < r.end; });
  if (first_cut == records.end()) FAIL("cut at " << cut << " is past the dump");
  const uint64_t cut_record = first_cut->start;
  std::string message;
  uint64_t error_offset = 0;
  try {
    Snapshot s = load_bytes(name, d.data(), cut, false);
    FAIL("cut at " << cut << " loaded without error");
  } catch (const InputError& e) {
    message = e.what();
    error_offset = e.offset();
    if (e.file() != name) FAIL_CHECK("cut at " << cut << ": error names " << e.file());
  } catch (const std::exception& e) {
    FAIL("cut at " << cut << ": " << typeid(e).name() << ": " << e.what());
  }
  if (cut < 16) return;  // not even a whole header: "not a heap dump" is fine
  const uint64_t reported = truncated_offset(message);
  if (reported == ~uint64_t{0}) {
    FAIL_CHECK("cut at " << cut << " (in a tag " << first_cut->tag << " record): " << message);
    return;
  }
  ++stats.checked;
  if (!std::binary_search(starts.begin(), starts.end(), reported) || reported > cut ||
      error_offset != reported)
    FAIL_CHECK("cut at " << cut << ": reported offset " << reported << " (error offset "
                         << error_offset << ") is not a record start <= cut: " << message);
  if (reported != cut_record)
    FAIL_CHECK("cut at " << cut << ": reported offset " << reported << ", the cut record starts at "
                         << cut_record);
  if (!allowed) return;

  try {
    Snapshot s = load_bytes(name, d.data(), cut, true);
    ++stats.allowed;
    const DumpFacts& f = s.facts();
    if (!f.truncated || f.truncated_at != reported || f.bytes_read != reported)
      FAIL_CHECK("cut at " << cut << ": truncated " << f.truncated << ", truncated_at "
                           << f.truncated_at << ", bytes_read " << f.bytes_read << ", expected "
                           << reported);
    // The snapshot holds the object records that end before the cut, never
    // a partial one, and no more than the whole dump.
    std::array<uint64_t, kRecordTagCount> complete{};
    for (auto r = records.begin(); r != first_cut; ++r) ++complete[r->tag];
    const uint64_t complete_objects = complete[1];
    if (f.record_counts != complete)
      FAIL_CHECK("cut at " << cut << ": record_counts count a partial record");
    if (s.object_count() != complete_objects)
      FAIL_CHECK("cut at " << cut << ": " << s.object_count() << " objects, " << complete_objects
                           << " complete object records");
    if (s.object_count() > whole.object_count() ||
        f.goroutines.size() > whole.facts().goroutines.size() ||
        s.roots().size() > whole.roots().size())
      FAIL_CHECK("cut at " << cut << ": more than the whole dump holds");
    touch(s);
  } catch (const std::exception& e) {
    FAIL_CHECK("cut at " << cut << " with allow_truncated: " << e.what());
  }
}

std::vector<uint64_t> record_starts(const std::vector<RecordSpan>& records) {
  std::vector<uint64_t> starts{0};  // the header's 0 too (a cut inside the first record)
  for (const RecordSpan& r : records) starts.push_back(r.start);
  return starts;
}

}  // namespace

// Every offset in the first 64 KiB and the last 64 KiB, and 5,000 evenly
// spaced and random offsets in between. The last 64 KiB are cut on slim
// copies of the dump (the same records from the cut one on, far fewer bytes to
// copy and re-read per cut); the original itself is cut at every 127th offset
// there.
TEST_CASE("broken: a dump cut at any offset is refused as truncated, or kept when allowed",
          "[go][broken][truncation]") {
  Source src = smallest_source();
  const Bytes& d = src.bytes;
  INFO(src.name << " (" << d.size() << " bytes)");
  const std::vector<RecordSpan> records = Walker(d).walk();
  REQUIRE(records.back().end == d.size());
  const std::vector<uint64_t> starts = record_starts(records);
  const Snapshot whole = load_bytes(src.name, d.data(), d.size(), false);
  CHECK_FALSE(whole.facts().truncated);
  CutStats stats;

  // The head, and samples of the tail, of the original.
  const uint64_t tail = d.size() > kEdge ? d.size() - kEdge : 0;
  for (uint64_t cut = 0; cut < std::min(d.size(), kEdge); ++cut)
    check_cut(src.name, d, records, starts, whole, cut, cut % 7 == 0, stats);
  for (uint64_t cut = std::max(tail, kEdge); cut < d.size(); cut += cut + 127 < d.size() ? 127 : 1)
    check_cut(src.name, d, records, starts, whole, cut, true, stats);
  // The middle: 2,500 evenly spaced and 2,500 random offsets.
  if (tail > kEdge) {
    std::mt19937_64 rng(0x5eed);
    const uint64_t middle = tail - kEdge;
    for (int i = 0; i < 5000; ++i) {
      uint64_t cut = kEdge + (i % 2 ? rng() % middle : middle * (i / 2) / 2500);
      check_cut(src.name, d, records, starts, whole, cut, i % 5 == 0, stats);
    }
  }

  // Every offset of the last 64 KiB, each on a slim copy whose prefix up to
  // the record the cut falls in is made small.
  auto first_tail = std::upper_bound(records.begin(), records.end(), tail,
                                     [](uint64_t c, const RecordSpan& r) { return c < r.end; });
  uint64_t slim_cuts = 0;
  for (auto r = first_tail; r != records.end(); ++r) {
    const size_t index = static_cast<size_t>(r - records.begin());
    Slim slim = slim_dump(d, records, index);
    REQUIRE(slim.records.back().end == slim.bytes.size());
    REQUIRE(slim.bytes.size() + slim.shift == d.size());
    const std::vector<uint64_t> slim_starts = record_starts(slim.records);
    for (uint64_t cut = std::max(r->start, tail); cut < r->end; ++cut, ++slim_cuts)
      check_cut(src.name, slim.bytes, slim.records, slim_starts, whole, cut - slim.shift,
                cut % 7 == 0, stats);
  }
  CHECK(slim_cuts == d.size() - std::max(tail, records.front().start));

  INFO(stats.cuts << " cuts, " << stats.checked << " truncation messages checked, " << stats.allowed
                  << " loaded with allow_truncated");
  CHECK(stats.checked > 0);
  CHECK(stats.allowed > 0);
}

namespace {

// Appends record `r` of `d` to a slim prefix (see slim_dump): object records
// past the first 32, and type, goroutine, frame, finalizer, memprof bucket and
// alloc sample records past the first 8 of their tag are left out; data and
// bss segments lose their contents and pointer fields.
void append_slim(Bytes& out, std::vector<RecordSpan>& out_records, const Bytes& d,
                 const RecordSpan& r, std::array<uint64_t, kRecordTagCount>& kept) {
  const uint64_t start = out.size();
  if (r.tag < kRecordTagCount) {
    const uint64_t n = ++kept[r.tag];
    if (r.tag == 1 && n > 32) return;
    if ((r.tag == 3 || r.tag == 4 || r.tag == 5 || r.tag == 7 || r.tag == 11 || r.tag == 16 ||
         r.tag == 17) &&
        n > 8)
      return;
  }
  if (r.tag == 12 || r.tag == 13) {
    uint64_t address = 0;
    for (uint64_t p = r.start + 1, shift = 0;; ++p, shift += 7) {
      address |= uint64_t{d[p] & 0x7fu} << shift;
      if (d[p] < 0x80) break;
    }
    put_uv(out, r.tag);
    put_uv(out, address);
    put_uv(out, 0);
    put_uv(out, 0);
  } else {
    out.insert(out.end(), d.begin() + static_cast<std::ptrdiff_t>(r.start),
               d.begin() + static_cast<std::ptrdiff_t>(r.end));
  }
  out_records.push_back({start, out.size(), r.tag});
}

}  // namespace

// Every offset of the smallest dump, none skipped (issue 10). A cut inside
// record i is made on a slim copy: the slim prefix of records 0..i-1 followed
// by record i byte for byte, so each cut re-reads a few KiB, not the whole
// prefix. Every 7th cut is also loaded with allow_truncated and checked.
// Under AddressSanitizer every 4th offset (and every record boundary).
TEST_CASE("broken: a dump cut at every single offset is refused as truncated, or kept when allowed",
          "[go][broken][truncation][every_offset]") {
  Source src = smallest_source();
  const Bytes& d = src.bytes;
  INFO(src.name << " (" << d.size() << " bytes)");
  const std::vector<RecordSpan> records = Walker(d).walk();
  REQUIRE(records.back().end == d.size());
  const Snapshot whole = load_bytes(src.name, d.data(), d.size(), false);
  CutStats stats;
  {
    const std::vector<uint64_t> starts = record_starts(records);
    for (uint64_t cut = 0; cut < records.front().start; ++cut)  // inside the header
      check_cut(src.name, d, records, starts, whole, cut, true, stats);
  }
  Bytes prefix(d.begin(), d.begin() + 16);
  std::vector<RecordSpan> prefix_records;
  std::array<uint64_t, kRecordTagCount> kept{};
  uint64_t covered = 0;
  for (const RecordSpan& r : records) {
    Bytes bytes = prefix;
    std::vector<RecordSpan> recs = prefix_records;
    bytes.insert(bytes.end(), d.begin() + static_cast<std::ptrdiff_t>(r.start),
                 d.begin() + static_cast<std::ptrdiff_t>(r.end));
    recs.push_back({prefix.size(), bytes.size(), r.tag});
    const std::vector<uint64_t> starts = record_starts(recs);
    const uint64_t shift = r.start - prefix.size();
    for (uint64_t cut = r.start; cut < r.end; ++cut, ++covered)
      if (kSanitizerDivisor == 1 || cut == r.start || cut % kSanitizerDivisor == 0)
        check_cut(src.name, bytes, recs, starts, whole, cut - shift, cut % 7 == 0, stats);
    append_slim(prefix, prefix_records, d, r, kept);
  }
  CHECK(covered == d.size() - records.front().start);
  INFO(stats.cuts << " cuts, " << stats.checked << " truncation messages checked, " << stats.allowed
                  << " loaded with allow_truncated");
  if (kSanitizerDivisor == 1) CHECK(stats.cuts == d.size());
  CHECK(stats.allowed > 0);
}

// Regressions: a dump cut exactly at a record boundary used to be reported at
// the record BEFORE the cut (complete, and kept), and allow_truncated then
// dropped the roots that record had added (a frame's or segment's pointer
// fields); the tag of a partial last record was counted in record_counts; a
// cut inside a memprof bucket's stack was refused as "allocation stack ...
// longer than the rest of the file", not as truncation, so allow_truncated
// could not keep such a dump.
TEST_CASE(
    "broken: a cut at a record boundary names the missing record and keeps the last whole one",
    "[go][broken][truncation]") {
  Source src = smallest_source();
  const Bytes& d = src.bytes;
  INFO(src.name);
  std::vector<RecordSpan> records = Walker(d).walk();
  Snapshot whole = load_bytes(src.name, d.data(), d.size(), false);
  // Cut right after the last frame record, and right after the bss record:
  // both add roots while their fieldlist is read.
  for (uint64_t tag : {uint64_t{5}, uint64_t{13}}) {
    auto it = std::find_if(records.rbegin(), records.rend(),
                           [&](const RecordSpan& r) { return r.tag == tag; });
    REQUIRE(it != records.rend());
    const uint64_t cut = it->end;
    INFO("tag " << tag << ", cut at " << cut);
    try {
      load_bytes(src.name, d.data(), cut, false);
      FAIL("loaded");
    } catch (const InputError& e) {
      CHECK(truncated_offset(e.what()) == cut);
      CHECK(e.offset() == cut);
    }
    Snapshot s = load_bytes(src.name, d.data(), cut, true);
    CHECK(s.facts().truncated_at == cut);
    // Every root the whole dump has from records before the cut is kept.
    size_t whole_roots = 0;
    for (const Root& r : whole.roots())
      if (r.kind == RootKind::kStackFrame || r.kind == RootKind::kData ||
          r.kind == RootKind::kBss || r.kind == RootKind::kGoroutineContext)
        ++whole_roots;
    size_t kept_roots = 0;
    for (const Root& r : s.roots())
      if (r.kind == RootKind::kStackFrame || r.kind == RootKind::kData ||
          r.kind == RootKind::kBss || r.kind == RootKind::kGoroutineContext)
        ++kept_roots;
    if (tag == 13) CHECK(kept_roots == whole_roots);  // everything up to bss is in
  }
  // A cut inside a memprof bucket's allocation stack is a truncation too
  // (go_reader.cc's bucket(): a depth larger than the rest of the file / 3 is
  // refused as too long even when the file just ends there).
  auto bucket = std::find_if(records.begin(), records.end(), [](const RecordSpan& r) {
    return r.tag == 16 && r.end - r.start > 64;
  });
  if (bucket != records.end()) {
    const uint64_t cut = bucket->start + 16;
    INFO("bucket record at " << bucket->start << ", cut at " << cut);
    try {
      load_bytes(src.name, d.data(), cut, false);
      FAIL("loaded");
    } catch (const InputError& e) {
      CHECK(truncated_offset(e.what()) == bucket->start);
    }
    CHECK_NOTHROW(load_bytes(src.name, d.data(), cut, true));
  }
  // A cut inside a record: the partial record is not counted.
  auto obj =
      std::find_if(records.begin(), records.end(), [](const RecordSpan& r) { return r.tag == 17; });
  if (obj != records.end()) {
    Snapshot s = load_bytes(src.name, d.data(), obj->start + 1, true);
    uint64_t samples = 0;
    for (const RecordSpan& r : records) samples += r.tag == 17 && r.end <= obj->start + 1;
    CHECK(s.facts().record_counts[17] == samples);
    CHECK(s.facts().alloc_samples.size() == samples);
  }
}

TEST_CASE("broken: seeded random corruption gives a snapshot or an InputError, never worse",
          "[go][broken][fuzz]") {
  std::vector<Source> sources;
  for (auto& c : go119_corpus()) sources.push_back({c.name, decompressed(c.dump), c.dump});
  for (auto& c : heapwalk::test::sample_dumps())
    sources.push_back({c.name, decompressed(c.dump), c.dump});
  if (sources.empty()) {
    WARN("no corpus and no samples: fuzzing the synthetic dump only");
    sources.push_back({"synthetic", synthetic_dump(), {}});
  }
  using Clock = std::chrono::steady_clock;
  double slowest = 0;
  for (const Source& src : sources) {
    const Bytes& d = src.bytes;
    std::vector<RecordSpan> records = Walker(d).walk();
    // Iterations by size: thousands for the small dumps, fewer for the
    // 14 MB one (each case copies, reads and builds the whole dump); a
    // quarter of that under AddressSanitizer, where each case costs 5-10x.
    const bool corpus = src.name.rfind("go1.19/", 0) == 0;
    const int iterations = (d.size() > 8'000'000 ? 200 : corpus ? 2000 : 300) / kSanitizerDivisor;
    uint64_t ok = 0, refused = 0;
    // One working copy: in-place corruptions are undone after each case
    // (copying a 14 MB dump per case would dominate), inserts and deletes
    // get a fresh copy.
    Bytes m = d;
    for (int i = 0; i < iterations; ++i) {
      const uint64_t seed = fnv1a(src.name) ^ (0x9e3779b97f4a7c15ull * (i + 1));
      std::mt19937_64 rng(seed);
      std::vector<std::pair<uint64_t, uint64_t>> touched;  // in-place changes: (at, length)
      bool resized = false;
      // Where: half the time right at a record's first bytes (tags, lengths,
      // counts), else anywhere past the header.
      auto where = [&]() -> uint64_t {
        if (rng() % 2) {
          const RecordSpan& r = records[rng() % records.size()];
          return std::min<uint64_t>(r.start + rng() % 12, m.size() - 1);
        }
        return 16 + rng() % (m.size() - 16);
      };
      const int kind = static_cast<int>(rng() % 5);
      std::string what;
      switch (kind) {
        case 0: {  // flip 1..8 random bytes
          int n = 1 + static_cast<int>(rng() % 8);
          for (int k = 0; k < n; ++k) {
            uint64_t at = where();
            touched.push_back({at, 1});
            m[at] ^= static_cast<uint8_t>(1 + rng() % 255);
          }
          what = "flip " + std::to_string(n);
          break;
        }
        case 1: {  // overwrite a run with one value or random bytes
          uint64_t at = where();
          uint64_t len = std::min<uint64_t>(1 + rng() % 64, m.size() - at);
          bool random = rng() % 2;
          uint8_t v = rng() % 3 == 0 ? 0xff : rng() % 2 ? 0x80 : 0x00;
          touched.push_back({at, len});
          for (uint64_t k = 0; k < len; ++k) m[at + k] = random ? static_cast<uint8_t>(rng()) : v;
          what = "overwrite " + std::to_string(len) + " at " + std::to_string(at);
          break;
        }
        case 2: {  // insert bytes
          uint64_t at = where();
          uint64_t len = 1 + rng() % 16;
          Bytes ins(len);
          for (auto& b : ins) b = static_cast<uint8_t>(rng());
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
          resized = true;
          what = "insert " + std::to_string(len) + " at " + std::to_string(at);
          break;
        }
        case 3: {  // delete bytes
          uint64_t at = where();
          uint64_t len = std::min<uint64_t>(1 + rng() % 16, m.size() - at);
          m.erase(m.begin() + static_cast<std::ptrdiff_t>(at),
                  m.begin() + static_cast<std::ptrdiff_t>(at + len));
          resized = true;
          what = "delete " + std::to_string(len) + " at " + std::to_string(at);
          break;
        }
        case 4: {  // a huge uvarint where a record starts (lengths, counts, addresses)
          uint64_t at = where();
          Bytes big;
          put_uv(big, rng() % 2 ? ~uint64_t{0} >> (rng() % 40) : uint64_t{1} << (20 + rng() % 44));
          touched.push_back({at, std::min<uint64_t>(big.size(), m.size() - at)});
          for (uint64_t k = 0; k < big.size() && at + k < m.size(); ++k) m[at + k] = big[k];
          what = "uvarint at " + std::to_string(at);
          break;
        }
      }
      const bool allow_truncated = rng() % 4 == 0;
      auto t0 = Clock::now();
      try {
        Snapshot s = load_bytes(src.name, m.data(), m.size(), allow_truncated);
        touch(s);
        ++ok;
      } catch (const InputError& e) {
        ++refused;
        if (e.file() != src.name) FAIL_CHECK("seed " << seed << ": error names " << e.file());
        if (std::string(e.what()).empty()) FAIL_CHECK("seed " << seed << ": empty message");
      } catch (const std::exception& e) {
        FAIL_CHECK(src.name << " seed " << seed << " (" << what << "): " << typeid(e).name() << ": "
                            << e.what());
      } catch (...) {
        FAIL_CHECK(src.name << " seed " << seed << " (" << what << "): non-standard exception");
      }
      double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      slowest = std::max(slowest, seconds);
      if (seconds > 10)
        FAIL_CHECK(src.name << " seed " << seed << " (" << what << ") took " << seconds << " s");
      if (resized) {
        m = d;
      } else {
        for (auto [at, len] : touched)
          std::copy(d.begin() + static_cast<std::ptrdiff_t>(at),
                    d.begin() + static_cast<std::ptrdiff_t>(at + len),
                    m.begin() + static_cast<std::ptrdiff_t>(at));
      }
    }
    CHECK(m == d);  // every in-place corruption was undone
    INFO(src.name << ": " << ok << " loaded, " << refused << " refused");
    CHECK(ok + refused == static_cast<uint64_t>(iterations));
    CHECK(refused > 0);
  }
  CHECK(slowest < 10);
}

// ---------------------------------------------------------------------------
// The CLI: exit codes and the one stderr line.

namespace {

struct Run {
  int code;
  std::string err;
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Run run_cli(const TempDir& tmp, const std::string& args) {
  fs::path err = tmp.path / "stderr.txt";
  std::string command = quote(heapwalk::test::heapwalk_binary().string()) + " " + args +
                        " >/dev/null 2>" + quote(err.string()) + " </dev/null";
  int status = std::system(command.c_str());
  Run r;
  r.code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.err = heapwalk::test::read_file(err);
  return r;
}

// Exit 2 and exactly one stderr line:
// `heapwalk: FILE: offset 0x1f (31): message` or `heapwalk: FILE: message`.
void check_bad_input(const TempDir& tmp, const std::string& args, const std::string& file,
                     const std::string& must_contain) {
  INFO("heapwalk " << args);
  Run r = run_cli(tmp, args);
  INFO("stderr: " << r.err);
  CHECK(r.code == 2);
  REQUIRE(!r.err.empty());
  CHECK(r.err.back() == '\n');
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  std::string line = r.err.substr(0, r.err.find('\n'));
  std::string prefix = "heapwalk: " + file + ": ";
  REQUIRE(line.rfind(prefix, 0) == 0);
  std::string rest = line.substr(prefix.size());
  // "offset 0x1f (31): " is optional; when there, hex and decimal agree.
  if (rest.rfind("offset 0x", 0) == 0) {
    size_t hex_end = rest.find(' ', 9);
    REQUIRE(hex_end != std::string::npos);
    std::string hex = rest.substr(9, hex_end - 9);
    REQUIRE(rest.compare(hex_end, 2, " (") == 0);
    size_t dec_end = rest.find("): ", hex_end + 2);
    REQUIRE(dec_end != std::string::npos);
    std::string dec = rest.substr(hex_end + 2, dec_end - hex_end - 2);
    CHECK(!hex.empty());
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(!dec.empty());
    CHECK(dec.find_first_not_of("0123456789") == std::string::npos);
    if (!hex.empty() && !dec.empty()) CHECK(std::stoull(hex, nullptr, 16) == std::stoull(dec));
    rest = rest.substr(dec_end + 3);
  }
  CHECK_FALSE(rest.empty());
  CHECK(rest.find(must_contain) != std::string::npos);
}

}  // namespace

TEST_CASE("broken: the CLI exits 2 with one line naming the file for bad input",
          "[go][broken][cli]") {
  TempDir tmp;
  Source src = smallest_source();
  const Bytes& plain = src.bytes;
  Bytes zst = src.zst.empty() ? zstd_compress(plain) : Bytes();
  if (!src.zst.empty()) {
    std::string z = heapwalk::test::read_file(src.zst);
    zst.assign(z.begin(), z.end());
  }
  REQUIRE(is_zstd(zst));

  // Sanity: the intact files exit 0.
  fs::path good = tmp.write("good.heapdump", plain);
  CHECK(run_cli(tmp, "summary " + quote(good.string())).code == 0);

  fs::path cut_zst = tmp.write("cut.heapdump.zst", zst.data(), zst.size() / 2);
  check_bad_input(tmp, "summary " + quote(cut_zst.string()), cut_zst.string(), "zstd");

  fs::path cut_plain = tmp.write("cut.heapdump", plain.data(), plain.size() / 2);
  check_bad_input(tmp, "summary " + quote(cut_plain.string()), cut_plain.string(),
                  "truncated at offset");

  Bytes noise(4096);
  std::mt19937_64 rng(42);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  noise[0] = 'X';  // not the zstd magic by chance
  fs::path random = tmp.write("random.bin", noise);
  check_bad_input(tmp, "summary " + quote(random.string()), random.string(), "not a heap dump");

  fs::path empty = tmp.write("empty.heapdump", Bytes{});
  check_bad_input(tmp, "summary " + quote(empty.string()), empty.string(), "empty");

  fs::path dir = tmp.path / "a-directory";
  fs::create_directories(dir);
  check_bad_input(tmp, "summary " + quote(dir.string()), dir.string(), "directory");

  fs::path missing = tmp.path / "no-such-file.heapdump";
  check_bad_input(tmp, "summary " + quote(missing.string()), missing.string(), "No such file");

  std::string old_header = "go1.5 heap dump\n";
  Bytes old(old_header.begin(), old_header.end());
  for (int i = 0; i < 200; ++i) old.push_back(static_cast<uint8_t>(rng()));
  fs::path go15 = tmp.write("old.heapdump", old);
  check_bad_input(tmp, "summary " + quote(go15.string()), go15.string(), "go1.5");

  // A zstd frame header announcing 2^50 bytes (single segment, 8-byte size).
  Bytes huge = {0x28, 0xB5, 0x2F, 0xFD, 0xE0};
  put_word(huge, uint64_t{1} << 50);
  for (int i = 0; i < 64; ++i) huge.push_back(0);
  fs::path bomb = tmp.write("bomb.bin", huge);
  check_bad_input(tmp, "summary " + quote(bomb.string()), bomb.string(), "limit");

  fs::path real = tmp.write("real.heapdump.zst", zst);
  check_bad_input(tmp, "summary --max-decompressed 1KiB " + quote(real.string()), real.string(),
                  "limit");

  // Usage errors exit 1.
  CHECK(run_cli(tmp, "no-such-verb " + quote(good.string())).code == 1);
  CHECK(run_cli(tmp, "summary --no-such-option " + quote(good.string())).code == 1);
  CHECK(run_cli(tmp, "summary --max-decompressed lots " + quote(good.string())).code == 1);
  CHECK(run_cli(tmp, "").code == 1);
}

TEST_CASE("broken: zstd input is recognised by its magic, not its name", "[go][broken][cli]") {
  TempDir tmp;
  Source src = smallest_source();
  Bytes zst = zstd_compress(src.bytes);
  fs::path plain_named_zst = tmp.write("plain.heapdump.zst", src.bytes);
  fs::path zst_named_bin = tmp.write("compressed.bin", zst);

  Snapshot a = load_snapshot(plain_named_zst.string());
  Snapshot b = load_snapshot(zst_named_bin.string());
  CHECK_FALSE(a.input().was_compressed());
  CHECK(b.input().was_compressed());
  CHECK(b.input().compressed_size() == zst.size());
  CHECK(a.input().bytes().size() == src.bytes.size());
  CHECK(b.input().bytes().size() == src.bytes.size());
  CHECK(a.object_count() == b.object_count());
  CHECK(a.view().edge_count() == b.view().edge_count());
  CHECK(a.roots().size() == b.roots().size());

  CHECK(run_cli(tmp, "summary " + quote(plain_named_zst.string())).code == 0);
  CHECK(run_cli(tmp, "summary " + quote(zst_named_bin.string())).code == 0);
}

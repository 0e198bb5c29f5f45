// One file of the persistent analysis cache: a small plain header that says
// which dump and which heapwalk build it belongs to, then one zstd frame
// (content checksum on) holding a payload of typed fields.
//
// Both ends stream: CacheFileWriter compresses straight from the caller's
// arrays and CacheFileReader decompresses straight into the caller's vectors,
// so neither holds a second copy of a section (sections are hundreds of MB on
// big dumps).
//
// Trust: a cache file is only ever used when its header matches (magic,
// format, section, key, build) AND its frame decodes to exactly the payload
// size the header states AND zstd's checksum over that payload verifies; the
// callers then check structural invariants before using what they read. Any
// failure throws CacheCorrupt and the caller rebuilds. Every count read is
// checked against the bytes left in the payload before anything is allocated.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

struct ZSTD_CCtx_s;  // <zstd.h>, kept out of this header
struct ZSTD_DCtx_s;

namespace heapwalk {

// Which dump (and which build of heapwalk) a cache file describes.
struct CacheKey {
  uint64_t dump_size = 0;
  uint64_t head_hash = 0;   // of the first MiB of the file as stored (compressed or not)
  uint64_t tail_hash = 0;   // of the last MiB
  uint64_t build_hash = 0;  // of this executable's GNU build id: a rebuild invalidates
  bool operator==(const CacheKey&) const = default;
};

class CacheCorrupt : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CacheFileWriter {
 public:
  // Creates `path` + a unique temporary suffix; nothing is visible at `path`
  // until commit(). Throws std::runtime_error when it cannot be created.
  // `variant` tells apart results of one section that depend on more than
  // the dump (labels made with an executable: a hash of it); 0 = none.
  CacheFileWriter(const std::string& path, uint32_t section, const CacheKey& key,
                  uint64_t variant = 0);
  ~CacheFileWriter();  // without commit(): removes the temporary file
  CacheFileWriter(const CacheFileWriter&) = delete;
  CacheFileWriter& operator=(const CacheFileWriter&) = delete;

  void bytes(const void* data, size_t n);
  void u64(uint64_t v) { bytes(&v, sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  // A vector of trivially copyable values (no bools inside: see the reader).
  template <class T>
  void array(std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    u64(values.size());
    bytes(values.data(), values.size() * sizeof(T));
  }
  template <class T>
  void array(const std::vector<T>& values) {
    array(std::span<const T>(values));
  }

  // Ends the frame, writes the payload size into the header and renames the
  // file into place (atomic: readers see the old file or the new one).
  void commit();

 private:
  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  ::ZSTD_CCtx_s* cctx_ = nullptr;
  std::vector<uint8_t> out_;
  uint32_t section_;
  CacheKey key_;
  uint64_t variant_;
  uint64_t payload_bytes_ = 0;
  bool committed_ = false;
};

class CacheFileReader {
 public:
  // Opens `path` for the section and key. Returns false (no throw) when the
  // file does not exist or belongs to another dump, build or format: stale,
  // not corrupt. Throws CacheCorrupt when the header is damaged.
  bool open(const std::string& path, uint32_t section, const CacheKey& key, uint64_t variant = 0);
  ~CacheFileReader();

  void bytes(void* data, size_t n);
  uint64_t u64() {
    uint64_t v;
    bytes(&v, sizeof v);
    return v;
  }
  // A count of elements of `element_size` bytes that must still fit in the
  // payload: what makes a corrupt count fail before it allocates.
  uint64_t count(size_t element_size);
  std::string str() {
    std::string s(count(1), '\0');
    bytes(s.data(), s.size());
    return s;
  }
  // Trivially copyable T only, and no bools (an arbitrary byte in a bool is
  // undefined behaviour): callers with bool fields read them one by one.
  template <class T>
  std::vector<T> array() {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<T> out(count(sizeof(T)));
    bytes(out.data(), out.size() * sizeof(T));
    return out;
  }
  bool boolean() {
    uint8_t b;
    bytes(&b, 1);
    if (b > 1) throw CacheCorrupt("bad boolean byte");
    return b == 1;
  }
  // The payload must be used up exactly and the frame must end with a good
  // checksum. Call before trusting anything read.
  void finish();

 private:
  std::FILE* file_ = nullptr;
  ::ZSTD_DCtx_s* dctx_ = nullptr;
  std::vector<uint8_t> in_;
  size_t in_pos_ = 0, in_size_ = 0;
  uint64_t remaining_ = 0;
  bool frame_done_ = false;
};

}  // namespace heapwalk

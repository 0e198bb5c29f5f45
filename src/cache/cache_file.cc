#include "heapwalk/cache/cache_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdlib>

namespace heapwalk {

namespace {

constexpr char kMagic[8] = {'H', 'W', 'C', 'A', 'C', 'H', 'E', '1'};
// Bump when any section's payload layout or meaning changes. (The build hash
// already separates builds; this keeps a format change honest on its own.)
constexpr uint32_t kFormat = 1;

struct Header {
  char magic[8];
  uint32_t format;
  uint32_t section;
  uint64_t dump_size, head_hash, tail_hash, build_hash;
  uint64_t payload_bytes;
  uint64_t variant;
};
static_assert(sizeof(Header) == 64);

Header header_for(uint32_t section, const CacheKey& key, uint64_t variant, uint64_t payload_bytes) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.format = kFormat;
  h.section = section;
  h.dump_size = key.dump_size;
  h.head_hash = key.head_hash;
  h.tail_hash = key.tail_hash;
  h.build_hash = key.build_hash;
  h.payload_bytes = payload_bytes;
  h.variant = variant;
  return h;
}

// zstd's fast level -5: the cache is written on the first run, beside the
// verb's own work, and must cost that run nothing. Measured on the 3.5M-
// object benchmark dump (summary, first run; snapshot file): level 3 0.75 s,
// 35 MB; level 1 0.74 s, 35 MB; level -3 0.59 s, 62 MB; level -5 0.50 s
// (= no cache), 72 MB, a third of the dump. Restoring is as fast at each.
// Single-threaded: the big section is written on a thread of its own.
constexpr int kLevel = -5;

}  // namespace

CacheFileWriter::CacheFileWriter(const std::string& path, uint32_t section, const CacheKey& key,
                                 uint64_t variant)
    : path_(path), out_(ZSTD_CStreamOutSize()), section_(section), key_(key), variant_(variant) {
  std::string pattern = path + ".XXXXXX";
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) throw std::runtime_error("cannot create a cache file beside " + path);
  temp_path_ = pattern;
  ::fchmod(fd, 0600);  // dump metadata: addresses, names; the user's alone
  file_ = ::fdopen(fd, "wb");
  if (!file_) {
    ::close(fd);
    ::unlink(temp_path_.c_str());
    throw std::runtime_error("cannot open cache file " + temp_path_);
  }
  Header h = header_for(section, key, variant, 0);
  std::fwrite(&h, sizeof h, 1, file_);
  cctx_ = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, kLevel);
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
}

CacheFileWriter::~CacheFileWriter() {
  if (cctx_) ZSTD_freeCCtx(cctx_);
  if (file_) std::fclose(file_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void CacheFileWriter::bytes(const void* data, size_t n) {
  payload_bytes_ += n;
  ZSTD_inBuffer in{data, n, 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t r = ZSTD_compressStream2(cctx_, &out, &in, ZSTD_e_continue);
    if (ZSTD_isError(r)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(r));
    if (out.pos && std::fwrite(out_.data(), 1, out.pos, file_) != out.pos)
      throw std::runtime_error("cannot write cache file " + temp_path_);
  }
}

void CacheFileWriter::commit() {
  for (;;) {
    ZSTD_inBuffer in{nullptr, 0, 0};
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t left = ZSTD_compressStream2(cctx_, &out, &in, ZSTD_e_end);
    if (ZSTD_isError(left))
      throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(left));
    if (out.pos && std::fwrite(out_.data(), 1, out.pos, file_) != out.pos)
      throw std::runtime_error("cannot write cache file " + temp_path_);
    if (left == 0) break;
  }
  Header h = header_for(section_, key_, variant_, payload_bytes_);
  if (std::fseek(file_, 0, SEEK_SET) != 0 || std::fwrite(&h, sizeof h, 1, file_) != 1 ||
      std::fclose(file_) != 0) {
    file_ = nullptr;
    throw std::runtime_error("cannot write cache file " + temp_path_);
  }
  file_ = nullptr;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw std::runtime_error("cannot rename cache file into " + path_);
  committed_ = true;
}

bool CacheFileReader::open(const std::string& path, uint32_t section, const CacheKey& key,
                           uint64_t variant) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) return false;
  Header h;
  if (std::fread(&h, sizeof h, 1, file_) != 1) throw CacheCorrupt("shorter than its header");
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) throw CacheCorrupt("bad magic");
  // Another format, section, dump or build: stale, not damaged.
  if (h.format != kFormat || h.section != section || h.variant != variant) return false;
  if (h.dump_size != key.dump_size || h.head_hash != key.head_hash ||
      h.tail_hash != key.tail_hash || h.build_hash != key.build_hash)
    return false;
  // What any section can hold: a few dozen bytes per object and per edge,
  // and both are far fewer than the dump's bytes. A damaged size beyond
  // that must not become an allocation.
  const uint64_t bound = (key.dump_size + (uint64_t{1} << 20)) * 64;
  if (h.payload_bytes > bound) throw CacheCorrupt("payload size out of bounds");
  remaining_ = h.payload_bytes;
  dctx_ = ZSTD_createDCtx();
  in_.resize(ZSTD_DStreamInSize());
  return true;
}

CacheFileReader::~CacheFileReader() {
  if (dctx_) ZSTD_freeDCtx(dctx_);
  if (file_) std::fclose(file_);
}

uint64_t CacheFileReader::count(size_t element_size) {
  uint64_t n = u64();
  if (element_size != 0 && n > remaining_ / element_size)
    throw CacheCorrupt("a count of " + std::to_string(n) + " overruns the payload");
  return n;
}

void CacheFileReader::bytes(void* data, size_t n) {
  if (n > remaining_) throw CacheCorrupt("payload shorter than its contents");
  ZSTD_outBuffer out{data, n, 0};
  while (out.pos < out.size) {
    if (frame_done_) throw CacheCorrupt("frame ends before the payload");
    if (in_pos_ == in_size_) {
      in_size_ = std::fread(in_.data(), 1, in_.size(), file_);
      in_pos_ = 0;
      if (in_size_ == 0) throw CacheCorrupt("file ends inside the payload");
    }
    ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
    size_t r = ZSTD_decompressStream(dctx_, &out, &in);
    in_pos_ = in.pos;
    if (ZSTD_isError(r)) throw CacheCorrupt(std::string("zstd: ") + ZSTD_getErrorName(r));
    if (r == 0) frame_done_ = true;
  }
  remaining_ -= n;
}

void CacheFileReader::finish() {
  if (remaining_ != 0) throw CacheCorrupt("payload longer than what was read");
  // Drive the frame to its end: zstd checks the content checksum there.
  uint8_t extra;
  while (!frame_done_) {
    if (in_pos_ == in_size_) {
      in_size_ = std::fread(in_.data(), 1, in_.size(), file_);
      in_pos_ = 0;
      if (in_size_ == 0) throw CacheCorrupt("file ends before the frame's checksum");
    }
    ZSTD_outBuffer out{&extra, 1, 0};
    ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
    size_t r = ZSTD_decompressStream(dctx_, &out, &in);
    in_pos_ = in.pos;
    if (ZSTD_isError(r)) throw CacheCorrupt(std::string("zstd: ") + ZSTD_getErrorName(r));
    if (out.pos != 0) throw CacheCorrupt("payload longer than its header says");
    if (r == 0) frame_done_ = true;
  }
  if (in_pos_ != in_size_ || std::fgetc(file_) != EOF) throw CacheCorrupt("bytes after the frame");
}

}  // namespace heapwalk

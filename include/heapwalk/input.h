// The input layer: a whole dump as one contiguous, read-only byte range.
//
// Plain files are memory-mapped (read() into memory when mmap is not possible,
// e.g. a pipe). zstd input is recognised by its magic bytes 28 B5 2F FD, never
// by its extension, and decompressed into memory with a hard bound on the
// output size; the caller sniffs the result again for its format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace heapwalk {

struct InputOptions {
  // Upper bound on the decompressed size of zstd input, in bytes. Input that
  // would decompress to more is refused with an InputError, before the memory
  // is used. 0 means "physical memory of this machine".
  uint64_t max_decompressed_bytes = 0;
  // Told how far decompression has come (phase "decompress"); may be null.
  class ProgressMeter* progress = nullptr;
};

class InputBuffer {
 public:
  // Opens `path`. Throws InputError (file named, offset where known) when the
  // file cannot be read or zstd data is corrupt, truncated or over the bound.
  static InputBuffer open(const std::string& path, const InputOptions& options = {});

  // Wraps bytes already in memory (tests, fuzzers). Decompresses zstd too.
  static InputBuffer from_bytes(std::string name, std::span<const uint8_t> bytes,
                                const InputOptions& options = {});

  InputBuffer();  // empty: no bytes
  InputBuffer(InputBuffer&&) noexcept;
  InputBuffer& operator=(InputBuffer&&) noexcept;
  ~InputBuffer();

  std::span<const uint8_t> bytes() const { return bytes_; }
  const std::string& name() const { return name_; }
  bool was_compressed() const { return compressed_size_ != 0; }
  uint64_t compressed_size() const { return compressed_size_; }  // 0 when not zstd

  // For a mapped file: hands its resident pages back to the kernel's page
  // cache (they stay cached, clean and shared, and bytes() still reads them,
  // faulting them in again). For a pass that reads no contents and needs
  // the memory itself, e.g. dominators. A no-op for bytes held in memory
  // (zstd input, pipes).
  void release_resident_pages() const;

 private:
  struct Storage;
  std::string name_;
  std::unique_ptr<Storage> storage_;
  std::span<const uint8_t> bytes_;
  uint64_t compressed_size_ = 0;
};

// True when `bytes` start with the zstd frame magic.
bool is_zstd(std::span<const uint8_t> bytes);

}  // namespace heapwalk

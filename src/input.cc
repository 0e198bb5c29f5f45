#include "heapwalk/input.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "heapwalk/error.h"
#include "heapwalk/progress.h"

namespace heapwalk {

// Owns whatever backs the bytes: a mapping, or a heap buffer (read fallback or
// decompressed zstd). Only one of the two is used.
struct InputBuffer::Storage {
  void* map = nullptr;
  size_t map_size = 0;
  std::vector<uint8_t> heap;
  ~Storage() {
    if (map) munmap(map, map_size);
  }
};

InputBuffer::InputBuffer() = default;
InputBuffer::InputBuffer(InputBuffer&&) noexcept = default;
InputBuffer& InputBuffer::operator=(InputBuffer&&) noexcept = default;
InputBuffer::~InputBuffer() = default;

bool is_zstd(std::span<const uint8_t> bytes) {
  return bytes.size() >= 4 && bytes[0] == 0x28 && bytes[1] == 0xB5 && bytes[2] == 0x2F &&
         bytes[3] == 0xFD;
}

namespace {

uint64_t physical_memory() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return uint64_t{1} << 36;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

std::string size_text(uint64_t n) { return std::to_string(n) + " bytes"; }

// Streams every zstd frame of `in` into `out`, never growing `out` past
// `limit`. Frame headers that announce their size let us allocate once.
void decompress(const std::string& name, std::span<const uint8_t> in, uint64_t limit,
                ProgressMeter* progress, std::vector<uint8_t>& out) {
  unsigned long long announced = ZSTD_getFrameContentSize(in.data(), in.size());
  if (announced == ZSTD_CONTENTSIZE_ERROR)
    throw InputError(name, 0, "zstd: not a valid zstd frame header");
  if (announced != ZSTD_CONTENTSIZE_UNKNOWN && announced > limit)
    throw InputError(name, 0,
                     "zstd: frame decompresses to " + size_text(announced) +
                         ", over the limit of " + size_text(limit) +
                         " (raise it with --max-decompressed or --max-memory)");
  // The announced size is only a claim: a 20-byte frame header may announce
  // gigabytes. Allocate what real dumps need at most for their compressed
  // size (they compress 20-50x) and grow by doubling as output really comes,
  // so that memory follows the bytes actually produced.
  uint64_t guess = std::max<uint64_t>(uint64_t{in.size()} * 64, 64 << 10);
  if (announced != ZSTD_CONTENTSIZE_UNKNOWN) guess = std::min<uint64_t>(guess, announced + 1);
  out.resize(static_cast<size_t>(std::min<uint64_t>(guess, limit + 1)));

  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (!ctx) throw InputError(name, InputError::kNoOffset, "zstd: out of memory");
  struct Free {
    ZSTD_DCtx* c;
    ~Free() { ZSTD_freeDCtx(c); }
  } guard{ctx};
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  size_t produced = 0;
  size_t last = 0;
  if (progress) progress->phase("decompress", in.size());
  while (src.pos < src.size) {
    if (progress) progress->advance_to(src.pos);
    if (produced == out.size()) {
      if (produced > limit)
        throw InputError(name, src.pos,
                         "zstd: decompresses to more than the limit of " + size_text(limit) +
                             " (raise it with --max-decompressed or --max-memory)");
      out.resize(std::min<uint64_t>(limit + 1, uint64_t{out.size()} * 2));
    }
    ZSTD_outBuffer dst{out.data(), out.size(), produced};
    last = ZSTD_decompressStream(ctx, &dst, &src);
    produced = dst.pos;
    if (ZSTD_isError(last))
      throw InputError(name, src.pos,
                       std::string("zstd: corrupt input: ") + ZSTD_getErrorName(last));
    if (produced > limit)
      throw InputError(name, src.pos,
                       "zstd: decompresses to more than the limit of " + size_text(limit) +
                           " (raise it with --max-decompressed or --max-memory)");
    if (last != 0 && src.pos == src.size && dst.pos < dst.size) break;  // input ran out mid-frame
  }
  if (last != 0)
    throw InputError(
        name, in.size(),
        "zstd: compressed data ends in the middle of a frame (file truncated?) after " +
            size_text(produced) + " of output");
  out.resize(produced);
  out.shrink_to_fit();
}

uint64_t limit_of(const InputOptions& options) {
  return options.max_decompressed_bytes ? options.max_decompressed_bytes : physical_memory();
}

}  // namespace

InputBuffer InputBuffer::from_bytes(std::string name, std::span<const uint8_t> bytes,
                                    const InputOptions& options) {
  InputBuffer buffer;
  buffer.name_ = std::move(name);
  buffer.storage_ = std::make_unique<Storage>();
  if (is_zstd(bytes)) {
    decompress(buffer.name_, bytes, limit_of(options), options.progress, buffer.storage_->heap);
    buffer.compressed_size_ = bytes.size();
  } else {
    buffer.storage_->heap.assign(bytes.begin(), bytes.end());
  }
  buffer.bytes_ = buffer.storage_->heap;
  return buffer;
}

void InputBuffer::release_resident_pages() const {
  if (storage_ && storage_->map) madvise(storage_->map, storage_->map_size, MADV_DONTNEED);
}

InputBuffer InputBuffer::open(const std::string& path, const InputOptions& options) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path, InputError::kNoOffset, std::strerror(errno));
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) throw InputError(path, InputError::kNoOffset, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(path, InputError::kNoOffset, "is a directory");

  InputBuffer buffer;
  buffer.name_ = path;
  buffer.storage_ = std::make_unique<Storage>();
  std::span<const uint8_t> raw;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      // Readers walk the dump front to back once.
      madvise(map, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      buffer.storage_->map = map;
      buffer.storage_->map_size = static_cast<size_t>(st.st_size);
      raw = {static_cast<const uint8_t*>(map), static_cast<size_t>(st.st_size)};
    }
  }
  if (raw.empty()) {  // a pipe, a special file, or mmap refused: read it
    std::vector<uint8_t>& heap = buffer.storage_->heap;
    uint64_t limit = limit_of(options);
    size_t used = 0;
    heap.resize(1 << 20);
    for (;;) {
      if (used == heap.size()) {
        if (used > limit)
          throw InputError(path, used, "input larger than the limit of " + size_text(limit));
        heap.resize(heap.size() * 2);
      }
      ssize_t n = ::read(fd, heap.data() + used, heap.size() - used);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw InputError(path, used, std::strerror(errno));
      }
      if (n == 0) break;
      used += static_cast<size_t>(n);
    }
    heap.resize(used);
    raw = heap;
  }
  if (raw.empty()) throw InputError(path, 0, "empty file");

  if (is_zstd(raw)) {
    std::vector<uint8_t> out;
    decompress(path, raw, limit_of(options), options.progress, out);
    buffer.compressed_size_ = raw.size();
    // Release the compressed copy first: only the decompressed bytes stay.
    auto fresh = std::make_unique<Storage>();
    fresh->heap = std::move(out);
    buffer.storage_ = std::move(fresh);
    buffer.bytes_ = buffer.storage_->heap;
  } else {
    buffer.bytes_ = raw;
  }
  return buffer;
}

}  // namespace heapwalk

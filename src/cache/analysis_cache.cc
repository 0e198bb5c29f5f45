#include "heapwalk/cache/analysis_cache.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "heapwalk/report/format.h"

namespace heapwalk {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kHashedBytes = uint64_t{1} << 20;  // head and tail
constexpr uint64_t kDefaultMaxBytes = uint64_t{8} << 30;

uint64_t hash_bytes(std::string_view bytes) { return std::hash<std::string_view>{}(bytes); }

// The main program's GNU build id (the linker's hash of its contents), read
// from its own loaded note segments; falls back to hashing the executable.
uint64_t build_hash() {
  static const uint64_t value = [] {
    std::string id;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* out) -> int {
          auto& found = *static_cast<std::string*>(out);
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr)& ph = info->dlpi_phdr[i];
            if (ph.p_type != PT_NOTE) continue;
            const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
            const char* end = p + ph.p_memsz;
            while (p + sizeof(ElfW(Nhdr)) <= end) {
              const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
              const char* name = p + sizeof(ElfW(Nhdr));
              const char* desc = name + ((note->n_namesz + 3) & ~3u);
              if (desc + note->n_descsz > end) break;
              if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                  std::memcmp(name, "GNU", 4) == 0) {
                found.assign(desc, note->n_descsz);
                return 1;
              }
              p = desc + ((note->n_descsz + 3) & ~3u);
            }
          }
          return 1;  // only the first object: the main program
        },
        &id);
    if (id.empty()) {
      std::FILE* f = std::fopen("/proc/self/exe", "rb");
      if (f) {
        char buf[1 << 16];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) id.append(buf, n);
        std::fclose(f);
      }
    }
    return hash_bytes(id) ^ hash_bytes(HEAPWALK_VERSION);
  }();
  return value;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* section_name(CacheSection s) {
  switch (s) {
    case CacheSection::kSnapshot: return "snapshot";
    case CacheSection::kLabels: return "labels";
    case CacheSection::kDominators: return "dominators";
  }
  return "unknown";
}

uint64_t max_cache_bytes() {
  const char* env = std::getenv("HEAPWALK_CACHE_MAX");
  if (env && *env) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(env, &end, 10);
    if (end && *end == '\0') return v;
  }
  return kDefaultMaxBytes;
}

}  // namespace

std::optional<CacheKey> cache_key_of(const std::string& dump_path) {
  int fd = ::open(dump_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  auto read_at = [&](uint64_t offset, uint64_t n) {
    std::string buf(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    buf.resize(got);
    return buf;
  };
  CacheKey key;
  key.dump_size = size;
  key.head_hash = hash_bytes(read_at(0, std::min(size, kHashedBytes)));
  const uint64_t tail = std::min(size, kHashedBytes);
  key.tail_hash = hash_bytes(read_at(size - tail, tail));
  key.build_hash = build_hash();
  ::close(fd);
  return key;
}

std::string AnalysisCache::default_directory() {
  if (const char* d = std::getenv("HEAPWALK_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/heapwalk";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/heapwalk";
  return "";
}

std::shared_ptr<AnalysisCache> AnalysisCache::open(const std::string& dump_path,
                                                   const CacheOptions& options) {
  if (!options.enabled) return nullptr;
  if (const char* off = std::getenv("HEAPWALK_NO_CACHE"); off && *off && std::string(off) != "0")
    return nullptr;
  std::string dir = options.directory.empty() ? default_directory() : options.directory;
  if (dir.empty()) return nullptr;
  std::optional<CacheKey> key = cache_key_of(dump_path);
  if (!key) return nullptr;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec) || ::access(dir.c_str(), W_OK | X_OK) != 0) return nullptr;
  std::string stem = hex(key->dump_size) + "-" + hex(key->head_hash) + "-" + hex(key->tail_hash);
  return std::shared_ptr<AnalysisCache>(new AnalysisCache(dir, stem, *key));
}

std::string AnalysisCache::path(CacheSection section, uint64_t variant) const {
  return directory_ + "/" + stem_ + "." + section_name(section) +
         (variant ? "-" + hex(variant) : std::string()) + ".hwc";
}

bool AnalysisCache::load(CacheSection section, const std::function<void(CacheFileReader&)>& read,
                         uint64_t variant) {
  const std::string file = path(section, variant);
  try {
    CacheFileReader reader;
    if (!reader.open(file, static_cast<uint32_t>(section), key_, variant)) {
      last_ = ::access(file.c_str(), F_OK) == 0 ? Outcome::kStale : Outcome::kMissing;
      return false;
    }
    read(reader);
    last_ = Outcome::kHit;
    ::utime(file.c_str(), nullptr);  // recently used: evicted last
    return true;
  } catch (const CacheCorrupt& e) {
    return damaged(file, e.what());
  } catch (const std::bad_alloc&) {  // a damaged count still within bounds
    return damaged(file, "a count too large for memory");
  } catch (const std::length_error&) {
    return damaged(file, "a count too large for memory");
  }
}

bool AnalysisCache::damaged(const std::string& file, const std::string& why) {
  last_ = Outcome::kCorrupt;
  std::fprintf(stderr, "heapwalk: note: cache file %s is damaged (%s); rebuilding it\n",
               report::safe_text(file).c_str(), report::safe_text(why).c_str());
  ::unlink(file.c_str());
  return false;
}

void AnalysisCache::store(CacheSection section, const std::function<void(CacheFileWriter&)>& write,
                          uint64_t variant) {
  try {
    CacheFileWriter writer(path(section, variant), static_cast<uint32_t>(section), key_, variant);
    write(writer);
    writer.commit();
  } catch (const std::exception&) {
    return;  // disk full, directory gone: the next run recomputes
  }
  evict_beyond_budget();
}

void AnalysisCache::store_in_background(CacheSection section,
                                        std::function<void(CacheFileWriter&)> write) {
  try {
    writers_.emplace_back([this, section, write = std::move(write)] { store(section, write); });
  } catch (const std::system_error&) {
    store(section, write);  // no threads left: write it now
  }
}

AnalysisCache::~AnalysisCache() {
  for (std::thread& t : writers_) t.join();
}

void AnalysisCache::evict_beyond_budget() const {
  struct Entry {
    fs::path path;
    uint64_t bytes;
    fs::file_time_type used;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".hwc") != 0) continue;
    if (name.rfind(stem_, 0) == 0) continue;  // this dump's own files stay
    std::error_code e1, e2;
    uint64_t bytes = e.file_size(e1);
    auto used = e.last_write_time(e2);
    if (e1 || e2) continue;
    entries.push_back({e.path(), bytes, used});
    total += bytes;
  }
  const uint64_t budget = max_cache_bytes();
  if (total <= budget) return;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const Entry& e : entries) {
    if (total <= budget) break;
    fs::remove(e.path, ec);
    total -= e.bytes;
  }
}

}  // namespace heapwalk

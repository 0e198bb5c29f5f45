// The persistent analysis cache: what the first verb on a dump worked out
// (the snapshot, labels, dominator tree), kept so that the next verbs on the
// same dump skip the work. A typical CI job runs summary, top, paths and
// check on one dump: only the first pays for parsing and resolving.
//
// Where: one directory, $HEAPWALK_CACHE_DIR, else $XDG_CACHE_HOME/heapwalk,
// else $HOME/.cache/heapwalk (or --cache-dir). Each dump has one file per
// section there, "<key>.<section>.hwc" (cache_file.h), mode 0600: they hold
// the dump's metadata (addresses, sizes, type and function names) but never
// object contents, which stay in the dump.
//
// Key: the dump file's size and hashes of its first and last MiB (what the
// issue asks: cheap on a many-GB file, and a dump is written once; a file
// rewritten in place with the same size, head and tail would go undetected),
// plus this executable's build id, so a rebuilt heapwalk never reads what an
// older build wrote.
//
// Failure policy: the cache is an optimisation and never changes an answer
// or an exit code. A missing or stale file is rebuilt silently; a corrupt one
// (bad checksum, broken structure) gets one "heapwalk: note:" line on stderr
// and is rebuilt; a cache directory that cannot be written is skipped.
// Size: after each write, least recently used files go until the directory
// holds at most $HEAPWALK_CACHE_MAX (bytes, default 8 GiB) besides the
// files just written.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "heapwalk/cache/cache_file.h"

namespace heapwalk {

struct CacheOptions {
  bool enabled = false;   // the CLI turns it on unless --no-cache / HEAPWALK_NO_CACHE=1
  std::string directory;  // "" = the default above
};

enum class CacheSection : uint32_t { kSnapshot = 1, kLabels = 2, kDominators = 3 };

class AnalysisCache {
 public:
  // The cache of the dump file at `dump_path`, or nullptr when caching is off,
  // the path is not a regular file (a pipe), or the directory is unusable.
  static std::shared_ptr<AnalysisCache> open(const std::string& dump_path,
                                             const CacheOptions& options);

  // Calls `read` on the section's file if there is a valid one. Returns false
  // when there is none, it is stale, or `read` (or the reader) threw
  // CacheCorrupt: then the file is removed (with a note when corrupt) and the
  // caller computes afresh. `read` must call CacheFileReader::finish() before
  // it lets anything it read escape.
  // `variant`: see CacheFileWriter (0 = the section depends on the dump only).
  bool load(CacheSection section, const std::function<void(CacheFileReader&)>& read,
            uint64_t variant = 0);
  // Writes the section (atomically); failures are ignored: a cache that
  // cannot be written only means the next run does the work again.
  void store(CacheSection section, const std::function<void(CacheFileWriter&)>& write,
             uint64_t variant = 0);
  // store() on a thread of its own, so that the first run's verb goes on
  // while its snapshot is written (on two cores the write costs the user
  // nothing). `write` must only touch data that outlives this cache object:
  // the destructor waits for every such write.
  void store_in_background(CacheSection section, std::function<void(CacheFileWriter&)> write);
  ~AnalysisCache();
  AnalysisCache(const AnalysisCache&) = delete;
  AnalysisCache& operator=(const AnalysisCache&) = delete;

  const CacheKey& key() const { return key_; }
  std::string path(CacheSection section, uint64_t variant = 0) const;
  // What the last load() found: for tests and the bench.
  enum class Outcome { kNone, kHit, kMissing, kStale, kCorrupt };
  Outcome last_outcome() const { return last_; }

  // The default directory (see above), "" when there is no HOME either.
  static std::string default_directory();

 private:
  AnalysisCache(std::string directory, std::string stem, CacheKey key)
      : directory_(std::move(directory)), stem_(std::move(stem)), key_(key) {}
  void evict_beyond_budget() const;
  bool damaged(const std::string& file, const std::string& why);  // note, remove; false
  std::string directory_, stem_;
  CacheKey key_;
  Outcome last_ = Outcome::kNone;
  std::vector<std::thread> writers_;
};

// The key of a dump file; nullopt when it is not a regular, readable file.
std::optional<CacheKey> cache_key_of(const std::string& dump_path);

}  // namespace heapwalk

#include <algorithm>
#include <optional>

#include "heapwalk/cache/snapshot_archive.h"
#include "heapwalk/memory_budget.h"
#include "heapwalk/progress.h"
#include "heapwalk/report/format.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

namespace {

std::string budget_what(uint64_t size, uint64_t objects, uint64_t pointer_fields) {
  return report::bytes_human(size) + " of dump, " + report::count(objects) + " objects, " +
         report::count(pointer_fields) + " pointer fields";
}

}  // namespace

Snapshot load_snapshot(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<ProgressMeter> meter;
  if (options.show_progress) meter = ProgressMeter::for_terminal(stderr);
  InputOptions input_options = options.input;
  ReadOptions read_options = options.read;
  input_options.progress = read_options.progress = meter.get();
  if (options.max_memory != 0) {
    // Decompressed zstd input is held in memory: it alone must fit.
    uint64_t& bound = input_options.max_decompressed_bytes;
    bound = bound == 0 ? options.max_memory : std::min(bound, options.max_memory);
  }
  std::shared_ptr<AnalysisCache> cache = AnalysisCache::open(path, options.cache);
  InputBuffer input = InputBuffer::open(path, input_options);
  // The reader's tables grow with the input: refuse a dump whose bytes alone
  // are over the budget before reading it.
  check_memory_budget(path, input.bytes().size(), options.max_memory,
                      report::bytes_human(input.bytes().size()) + " of dump");
  const uint64_t size = input.bytes().size();

  if (cache) {
    std::optional<Snapshot> restored;
    cache->load(CacheSection::kSnapshot,
                [&](CacheFileReader& in) { restored.emplace(restore_snapshot(in, input)); });
    if (restored) {
      // The same refusal as a fresh load would give (a cached snapshot needs
      // less than that, but --max-memory must not depend on the cache).
      const uint64_t records = restored->object_count() + restored->stats().duplicate_objects;
      check_memory_budget(path, estimate_peak_memory(restored->facts(), size, records),
                          options.max_memory,
                          budget_what(size, records, restored->facts().pointer_fields));
      restored->set_cache(std::move(cache));
      return std::move(*restored);
    }
  }

  DumpFacts facts = read_dump(input, read_options);
  check_memory_budget(path, estimate_peak_memory(facts, size), options.max_memory,
                      budget_what(size, facts.objects.size(), facts.pointer_fields));
  Snapshot snapshot = build_snapshot(std::move(input), std::move(facts), meter.get());
  if (cache && !snapshot.facts().truncated) {
    // Written while the verb goes on; the snapshot's cache joins the writer.
    AnalysisCache& c = *cache;
    snapshot.set_cache(std::move(cache));
    c.store_in_background(CacheSection::kSnapshot, snapshot_writer(snapshot));
  }
  return snapshot;
}

}  // namespace heapwalk

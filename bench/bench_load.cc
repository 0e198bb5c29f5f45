// heapwalk_bench DUMP [--repeat N]: time each phase of loading and analysing
// a dump, the way every verb does it, and print one table.
//
// Phases: input (open, map or decompress), parse (read every record),
// build (sort slots, page index, resolve every pointer, CSR), mark, then the
// analyses the verbs run on top: labels (types and sites), finalizers,
// root paths (the BFS every path comes from), dominators (semi-NCA over the
// live graph from the super-root), dominator children (top, dominators) and
// strongly connected components (Tarjan over the whole graph, as cycles).
// Each later phase's RSS column is the process peak so far.
// Throughput is over the decompressed dump size; RSS is the process peak.
// Memory comes in transparent huge pages where the kernel allows, as in the
// CLI (src/cli/huge_pages.h); HEAPWALK_NO_HUGE_PAGES=1 for small pages.
//
// Then the persistent analysis cache (cache/analysis_cache.h), in a fresh
// directory under $TMPDIR: "cache cold" is load + mark + labels + dominators
// the way a first verb does it (computing, and writing the cache on the side),
// "cache warm" the same for a later verb (restoring), and the cache's size.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "heapwalk/cache/analysis_cache.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/passes/root_paths.h"
#include "heapwalk/passes/strong_components.h"
#include "heapwalk/reader.h"
#include "heapwalk/snapshot.h"
#include "src/cli/huge_pages.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

struct Row {
  const char* phase;
  double seconds;
  double rss_mib;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: heapwalk_bench DUMP [--repeat N]\n");
    return 1;
  }
  std::string path = argv[1];
  heapwalk::cli::remember_argv(argv);  // huge pages as the CLI decides them
  heapwalk::cli::use_huge_pages_for({path});
  int repeat = 1;
  if (argc >= 4 && std::strcmp(argv[2], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[3]));
  try {
    for (int run = 0; run < repeat; ++run) {
      std::vector<Row> rows;
      auto total_start = Clock::now();
      auto t = Clock::now();
      heapwalk::InputBuffer input = heapwalk::InputBuffer::open(path);
      // Touch every page so that "input" includes reading the file, as md5sum does.
      uint64_t checksum = 0;
      for (size_t i = 0; i < input.bytes().size(); i += 4096) checksum += input.bytes()[i];
      rows.push_back({"input", seconds_since(t), peak_rss_mib()});
      const double mb = static_cast<double>(input.bytes().size()) / 1e6;

      t = Clock::now();
      heapwalk::DumpFacts facts = heapwalk::read_dump(input);
      rows.push_back({"parse", seconds_since(t), peak_rss_mib()});
      const uint64_t records = facts.objects.size();
      const uint64_t fields = facts.pointer_fields;

      t = Clock::now();
      heapwalk::Snapshot snapshot = heapwalk::build_snapshot(std::move(input), std::move(facts));
      rows.push_back({"build", seconds_since(t), peak_rss_mib()});

      t = Clock::now();
      heapwalk::MarkResult marks = heapwalk::mark(snapshot);
      rows.push_back({"mark", seconds_since(t), peak_rss_mib()});
      const double load_total = seconds_since(total_start);

      t = Clock::now();
      const heapwalk::Labels labels = heapwalk::compute_labels(snapshot);
      rows.push_back({"labels", seconds_since(t), peak_rss_mib()});

      t = Clock::now();
      const heapwalk::FinalizerAnalysis finalizers = heapwalk::analyze_finalizers(snapshot);
      rows.push_back({"finalizers", seconds_since(t), peak_rss_mib()});

      t = Clock::now();
      const heapwalk::RootPaths root_paths = heapwalk::compute_root_paths(snapshot);
      rows.push_back({"rootpaths", seconds_since(t), peak_rss_mib()});

      t = Clock::now();
      std::vector<uint64_t> weight(snapshot.vertex_count(), 0);
      for (heapwalk::ObjectId v = 1; v < snapshot.vertex_count(); ++v) weight[v] = snapshot.size(v);
      const heapwalk::DominatorTree tree =
          heapwalk::compute_dominators(snapshot.view(), heapwalk::kSuperRoot, weight);
      rows.push_back({"dominators", seconds_since(t), peak_rss_mib()});

      t = Clock::now();
      const heapwalk::DominatorChildren children = heapwalk::dominator_children(tree);
      rows.push_back({"domchildren", seconds_since(t), peak_rss_mib()});

      t = Clock::now();
      const heapwalk::GraphView g = snapshot.view();
      const heapwalk::StrongComponents components = heapwalk::strong_components(
          {g.rowstart, size_t{g.vertex_count} + 1}, {g.targets, g.edge_count()});
      rows.push_back({"components", seconds_since(t), peak_rss_mib()});
      const double total = seconds_since(total_start);

      std::printf(
          "%s: %.1f MB, %llu objects, %llu pointer fields, %u edges, %llu live (sum %llu)\n",
          path.c_str(), mb, static_cast<unsigned long long>(records),
          static_cast<unsigned long long>(fields), snapshot.view().edge_count(),
          static_cast<unsigned long long>(marks.live_objects),
          static_cast<unsigned long long>(checksum & 0xff));
      std::printf("%-12s %9s %10s %14s %12s\n", "phase", "seconds", "MB/s", "objects/s",
                  "peak RSS");
      for (const Row& r : rows)
        std::printf("%-12s %9.3f %10.0f %14.0f %8.0f MiB\n", r.phase, r.seconds, mb / r.seconds,
                    static_cast<double>(records) / r.seconds, r.rss_mib);
      std::printf("%-12s %9.3f %10.0f %14.0f\n", "load+mark", load_total, mb / load_total,
                  static_cast<double>(records) / load_total);
      std::printf("%-12s %9.3f %10.0f %14.0f %8.0f MiB\n", "total", total, mb / total,
                  static_cast<double>(records) / total, peak_rss_mib());
      std::printf(
          "live %llu objects; root retains %llu B; %llu labelled types; %llu pending "
          "finalizers; %zu dominator-tree children; %llu reached by root paths; %u components\n",
          static_cast<unsigned long long>(marks.live_objects),
          static_cast<unsigned long long>(tree.retained[heapwalk::kSuperRoot]),
          static_cast<unsigned long long>(labels.counts().by_interface),
          static_cast<unsigned long long>(finalizers.pending.objects), children.children.size(),
          static_cast<unsigned long long>(
              std::count_if(root_paths.parent.begin(), root_paths.parent.end(),
                            [](heapwalk::ObjectId p) { return p != heapwalk::kNoObject; })),
          components.count());
      std::printf("RSS budget (file + 48 B/object + 8 B/edge): %.0f MiB\n",
                  (mb * 1e6 + 48.0 * records + 8.0 * snapshot.view().edge_count()) / 1048576.0);

      namespace fs = std::filesystem;
      const fs::path dir =
          fs::temp_directory_path() / ("heapwalk_bench_cache_" + std::to_string(::getpid()));
      fs::remove_all(dir);
      heapwalk::LoadOptions cached;
      cached.cache.enabled = true;
      cached.cache.directory = dir.string();
      auto as_a_verb = [&] {
        heapwalk::Snapshot s = heapwalk::load_snapshot(path, cached);
        heapwalk::MarkResult m = heapwalk::mark(s);
        heapwalk::Labels l = heapwalk::labels_of(s, nullptr);
        heapwalk::DominatorTree d = heapwalk::heap_dominators(s);
        return m.live_objects + d.retained[0] + l.type_names().size();
      };
      t = Clock::now();
      const uint64_t cold = as_a_verb();  // returns after the background write is joined
      const double cold_seconds = seconds_since(t);
      t = Clock::now();
      const uint64_t warm = as_a_verb();
      const double warm_seconds = seconds_since(t);
      uint64_t cache_bytes = 0;
      for (const auto& e : fs::directory_iterator(dir)) cache_bytes += e.file_size();
      fs::remove_all(dir);
      std::printf("%-12s %9.3f   (load, mark, labels, dominators; writes the cache)\n",
                  "cache cold", cold_seconds);
      std::printf("%-12s %9.3f   (the same restored: %.0f%% of cold; %s)\n", "cache warm",
                  warm_seconds, 100.0 * warm_seconds / cold_seconds,
                  cold == warm ? "same results" : "RESULTS DIFFER");
      std::printf("cache files: %.1f MB (%.0f%% of the dump)\n", cache_bytes / 1e6,
                  100.0 * cache_bytes / (mb * 1e6));
    }
  } catch (const heapwalk::InputError& e) {
    std::fprintf(stderr, "heapwalk_bench: %s\n", e.describe().c_str());
    return 2;
  }
  return 0;
}

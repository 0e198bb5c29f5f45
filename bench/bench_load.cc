// heapwalk_bench DUMP [--repeat N]: time each phase of loading and analysing
// a dump, the way every verb does it, and print one table.
//
// Phases: input (open, map or decompress), parse (read every record),
// build (sort slots, page index, resolve every pointer, CSR), mark, then the
// analyses the verbs run on top: labels (types and sites), finalizers,
// root paths (the BFS every path comes from), dominators (semi-NCA over the
// live graph from the super-root) and dominator children (top, dominators).
// Each later phase's RSS column is the process peak so far.
// Throughput is over the decompressed dump size; RSS is the process peak.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "heapwalk/error.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/passes/root_paths.h"
#include "heapwalk/reader.h"
#include "heapwalk/snapshot.h"

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
          "finalizers; %zu dominator-tree children; %llu reached by root paths\n",
          static_cast<unsigned long long>(marks.live_objects),
          static_cast<unsigned long long>(tree.retained[heapwalk::kSuperRoot]),
          static_cast<unsigned long long>(labels.counts().by_interface),
          static_cast<unsigned long long>(finalizers.pending.objects), children.children.size(),
          static_cast<unsigned long long>(
              std::count_if(root_paths.parent.begin(), root_paths.parent.end(),
                            [](heapwalk::ObjectId p) { return p != heapwalk::kNoObject; })));
      std::printf("RSS budget (file + 48 B/object + 8 B/edge): %.0f MiB\n",
                  (mb * 1e6 + 48.0 * records + 8.0 * snapshot.view().edge_count()) / 1048576.0);
    }
  } catch (const heapwalk::InputError& e) {
    std::fprintf(stderr, "heapwalk_bench: %s\n", e.describe().c_str());
    return 2;
  }
  return 0;
}

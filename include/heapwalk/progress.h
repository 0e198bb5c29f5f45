// A progress line for long loads: "heapwalk: parse 45% 320 MB/s", rewritten
// in place on stderr, for people waiting on a multi-GB dump.
//
// Contract:
// - Shown only when the stream is a terminal (scripts and CI logs never see
//   it) and only once the load has taken more than a second (small dumps
//   stay silent); HEAPWALK_NO_PROGRESS=1 turns it off.
// - Workers call advance_to() from their hot loops: one relaxed atomic store,
//   no locking, no I/O. A background thread draws the line every 200 ms.
// - The line is erased when the meter is destroyed, so the verb's own output
//   starts on a clean line.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace heapwalk {

class ProgressMeter {
 public:
  // A meter drawing on `stream`, or null when it should stay silent (stream
  // not a terminal, or HEAPWALK_NO_PROGRESS set).
  static std::unique_ptr<ProgressMeter> for_terminal(std::FILE* stream = stderr);

  explicit ProgressMeter(std::FILE* stream);
  ~ProgressMeter();
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // Starts a phase: `total` units of which `bytes_per_unit` bytes each go by
  // (1 for phases counted in bytes, 0 when a rate in MB/s means nothing).
  void phase(const char* name, uint64_t total, double bytes_per_unit = 1.0);
  void advance_to(uint64_t done) { done_.store(done, std::memory_order_relaxed); }

  // The line as it would be drawn now (for tests): "parse 45% 320 MB/s".
  std::string line() const;

 private:
  void draw_loop();

  std::FILE* stream_;
  std::atomic<uint64_t> done_{0};
  mutable std::mutex mutex_;  // guards the phase fields and stopping_
  std::condition_variable wake_;
  const char* phase_name_ = "";
  uint64_t total_ = 0;
  double bytes_per_unit_ = 1.0;
  std::chrono::steady_clock::time_point load_start_, phase_start_;
  bool stopping_ = false;
  bool drawn_ = false;
  std::thread drawer_;
};

}  // namespace heapwalk

#include "heapwalk/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace heapwalk {

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kQuietFor = std::chrono::seconds(1);
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);
}  // namespace

std::unique_ptr<ProgressMeter> ProgressMeter::for_terminal(std::FILE* stream) {
  const char* off = std::getenv("HEAPWALK_NO_PROGRESS");
  if (off != nullptr && *off != '\0' && std::string(off) != "0") return nullptr;
  if (!isatty(fileno(stream))) return nullptr;
  return std::make_unique<ProgressMeter>(stream);
}

ProgressMeter::ProgressMeter(std::FILE* stream)
    : stream_(stream), load_start_(Clock::now()), phase_start_(load_start_) {
  drawer_ = std::thread([this] { draw_loop(); });
}

ProgressMeter::~ProgressMeter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  drawer_.join();
  if (drawn_) {
    std::fputs("\r\033[K", stream_);  // erase the line
    std::fflush(stream_);
  }
}

void ProgressMeter::phase(const char* name, uint64_t total, double bytes_per_unit) {
  std::lock_guard lock(mutex_);
  phase_name_ = name;
  total_ = total;
  bytes_per_unit_ = bytes_per_unit;
  phase_start_ = Clock::now();
  done_.store(0, std::memory_order_relaxed);
}

std::string ProgressMeter::line() const {
  std::lock_guard lock(mutex_);
  const uint64_t done = done_.load(std::memory_order_relaxed);
  std::string out = phase_name_;
  if (total_ > 0) {
    const uint64_t capped = done < total_ ? done : total_;
    out += " " + std::to_string(capped * 100 / total_) + "%";
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - phase_start_).count();
  if (bytes_per_unit_ > 0 && seconds > 0.05 && done > 0) {
    const double mb_per_s = static_cast<double>(done) * bytes_per_unit_ / 1e6 / seconds;
    out += " " + std::to_string(static_cast<uint64_t>(mb_per_s)) + " MB/s";
  }
  return out;
}

void ProgressMeter::draw_loop() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, kRedrawEvery, [this] { return stopping_; })) {
    if (Clock::now() - load_start_ < kQuietFor) continue;
    lock.unlock();
    const std::string text = line();
    std::fprintf(stream_, "\rheapwalk: %s\033[K", text.c_str());
    std::fflush(stream_);
    lock.lock();
    drawn_ = true;
  }
}

}  // namespace heapwalk

// Names of the enums in dump.h and snapshot.h: they appear in JSON keys and
// text output, so they are part of the interface. Never rename.
#include <cstdlib>
#include <string>

#include "heapwalk/dump.h"
#include "heapwalk/snapshot.h"

namespace heapwalk {

const char* root_kind_name(RootKind kind) {
  switch (kind) {
    case RootKind::kData: return "data";
    case RootKind::kBss: return "bss";
    case RootKind::kStackFrame: return "stack_frame";
    case RootKind::kGoroutineContext: return "goroutine_context";
    case RootKind::kDefer: return "defer";
    case RootKind::kPanic: return "panic";
    case RootKind::kFinalizer: return "finalizer";
    case RootKind::kQueuedFinalizer: return "queued_finalizer";
    case RootKind::kOther: return "other";
  }
  return "unknown";
}

const char* record_tag_name(int tag) {
  static const char* const kNames[kRecordTagCount] = {
      "eof",    "object",    "other_root", "type",      "goroutine", "stack_frame",
      "params", "finalizer", "itab",       "os_thread", "memstats",  "queued_finalizer",
      "data",   "bss",       "defer",      "panic",     "memprof",   "alloc_sample"};
  return tag >= 0 && tag < kRecordTagCount ? kNames[tag] : "unknown";
}

const char* mem_stat_name(int index) {
  static const char* const kNames[] = {
      "Alloc",       "TotalAlloc", "Sys",        "Lookups",   "Mallocs",      "Frees",
      "HeapAlloc",   "HeapSys",    "HeapIdle",   "HeapInuse", "HeapReleased", "HeapObjects",
      "StackInuse",  "StackSys",   "MSpanInuse", "MSpanSys",  "MCacheInuse",  "MCacheSys",
      "BuckHashSys", "GCSys",      "OtherSys",   "NextGC",    "LastGC",       "PauseTotalNs"};
  if (index >= 0 && index < kPauseNs0) return kNames[index];
  if (index >= kPauseNs0 && index < kNumGC) return "PauseNs";
  if (index == kNumGC) return "NumGC";
  return "unknown";
}

GoVersion parse_go_version(const std::string& text) {
  GoVersion v;
  if (text.rfind("go", 0) != 0) return v;
  const char* p = text.c_str() + 2;
  char* end = nullptr;
  v.major = static_cast<int>(std::strtol(p, &end, 10));
  if (*end == '.') v.minor = static_cast<int>(std::strtol(end + 1, &end, 10));
  if (*end == '.') v.patch = static_cast<int>(std::strtol(end + 1, &end, 10));
  v.greentea_gc = text.find("greenteagc") != std::string::npos &&
                  text.find("nogreenteagc") == std::string::npos;
  // Go 1.26 made the Green Tea collector the default.
  if (v.at_least(1, 26) && text.find("nogreenteagc") == std::string::npos) v.greentea_gc = true;
  return v;
}

}  // namespace heapwalk

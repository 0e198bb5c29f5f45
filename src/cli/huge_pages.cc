#include "huge_pages.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace heapwalk::cli {

namespace {

constexpr const char* kTunable = "glibc.malloc.hugetlb=1";

bool thp_only_when_advised() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(in, modes);
  return modes.find("[madvise]") != std::string::npos;
}

}  // namespace

void reexec_with_huge_pages(char** argv) {
  const char* off = std::getenv("HEAPWALK_NO_HUGE_PAGES");
  if (off && *off && std::string(off) != "0") return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  std::string tunables = current ? current : "";
  // Already set (by us after the exec, or by the user either way): keep it.
  if (tunables.find("glibc.malloc.hugetlb=") != std::string::npos) return;
  if (!thp_only_when_advised()) return;
  tunables = tunables.empty() ? kTunable : tunables + ":" + kTunable;
  if (::setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): carry on with small pages, and do not pass
  // the tunable on to anything this process might start.
  if (current)
    ::setenv("GLIBC_TUNABLES", current, 1);
  else
    ::unsetenv("GLIBC_TUNABLES");
}

}  // namespace heapwalk::cli

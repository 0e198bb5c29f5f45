#include "huge_pages.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace heapwalk::cli {

namespace {

constexpr const char* kTunable = "glibc.malloc.hugetlb=1";
char** saved_argv = nullptr;

bool thp_only_when_advised() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(in, modes);
  return modes.find("[madvise]") != std::string::npos;
}

}  // namespace

void remember_argv(char** argv) { saved_argv = argv; }

void use_huge_pages_for(const std::vector<std::string>& files) {
  if (!saved_argv) return;
  const char* off = std::getenv("HEAPWALK_NO_HUGE_PAGES");
  if (off && *off && std::string(off) != "0") return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  std::string tunables = current ? current : "";
  // Already set (by us before the exec, or by the user either way): keep it.
  if (tunables.find("glibc.malloc.hugetlb=") != std::string::npos) return;
  uint64_t bytes = 0;
  for (const std::string& f : files) {
    struct stat st;
    if (::stat(f.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;  // a pipe: unknown size
    bytes += static_cast<uint64_t>(st.st_size);
  }
  if (bytes == 0 || bytes > kHugePagesUpTo) return;
  if (!thp_only_when_advised()) return;
  tunables = tunables.empty() ? kTunable : tunables + ":" + kTunable;
  if (::setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", saved_argv);
  // exec failed (no /proc, say): carry on with small pages, and do not pass
  // the tunable on to anything this process might start.
  if (current)
    ::setenv("GLIBC_TUNABLES", current, 1);
  else
    ::unsetenv("GLIBC_TUNABLES");
}

}  // namespace heapwalk::cli

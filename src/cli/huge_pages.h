// Transparent huge pages for heapwalk's big arrays, where they pay.
//
// Loading a dump allocates and first-touches large arrays (object table,
// CSR graph, labels, dominator arrays); with 4 KiB pages the kernel takes one
// page fault per 4 KiB. Debian 12's kernel default is THP "madvise": huge
// pages only where asked. glibc (2.35+) asks for every chunk it maps when
// started with the tunable glibc.malloc.hugetlb=1, and reads tunables only
// at start-up; so heapwalk re-executes itself once with the tunable added to
// GLIBC_TUNABLES (about a millisecond) when that helps.
//
// Measured (`heapwalk summary --no-cache`, idle 2-core machine): on the
// 3.5M-object, 198 MB benchmark dump huge pages cut page faults from 83,500
// to 7,300 and the time from 0.66 s to 0.49 s; on the 50M-object, 2.9 GB dump
// they cost 2-3 s more system time (12-14 s against 9.4-11 s). So only dumps
// up to kHugePagesUpTo bytes (their files, compressed or not) get them.
//
// Nothing happens when THP is "always" (nothing to gain) or "never" (no use),
// when HEAPWALK_NO_HUGE_PAGES=1, when GLIBC_TUNABLES already sets hugetlb,
// or when /proc/self/exe cannot be executed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace heapwalk::cli {

inline constexpr uint64_t kHugePagesUpTo = uint64_t{1} << 30;

// main() hands over its argv, for the re-execution.
void remember_argv(char** argv);

// Called once the verb knows its input files, before reading them: returns
// only when not re-executing (or when exec failed).
void use_huge_pages_for(const std::vector<std::string>& files);

}  // namespace heapwalk::cli

// Transparent huge pages for heapwalk's big arrays.
//
// A big dump means gigabytes of freshly allocated arrays (object table, CSR
// graph, dominator arrays), and with 4 KiB pages the kernel takes one page
// fault per 4 KiB on first touch: on the 50M-object benchmark dump that was
// 6-9 s of system time, more than the analysis itself. Debian 12's kernel
// default is THP "madvise": huge pages only where asked. glibc (2.35+) asks
// for every chunk it maps when started with the tunable
// glibc.malloc.hugetlb=1, and reads tunables only at start-up. So when THP
// is "madvise" and the tunable is not set, main() re-executes heapwalk once
// with it added to GLIBC_TUNABLES (about a millisecond). On the 3.5M-object
// dump: page faults 83,500 -> 7,300, summary 0.69 s -> 0.53 s.
//
// Not done when THP is "always" (nothing to gain) or "never" (no use), when
// HEAPWALK_NO_HUGE_PAGES=1, or when /proc/self/exe cannot be executed: then
// heapwalk simply runs with small pages.
#pragma once

namespace heapwalk::cli {

// Returns only when not re-executing (or when exec failed).
void reexec_with_huge_pages(char** argv);

}  // namespace heapwalk::cli

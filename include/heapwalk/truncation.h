// What a dump that was cut short (DumpFacts::truncated, read with
// --allow-truncated) holds, what it lacks, and which questions it can still
// answer.
//
// The Go runtime writes its records in a fixed order (formats/go/README.md):
// params, itabs and types, objects, goroutines with their frames, defers and
// panics, threads, data, bss, finalizers, queued finalizers, memstats, memory
// profile buckets, allocation samples, EOF. A cut therefore loses a suffix of
// that list: the part the last complete record belongs to may be incomplete,
// every later part is missing entirely. Liveness (Go's mark, retained sizes,
// paths, dominators) needs every root: the goroutine stacks, data, bss and
// finalizer records. Object sizes and histograms of what was read need none.
#pragma once

#include <string>
#include <vector>

#include "heapwalk/dump.h"

namespace heapwalk {

struct TruncationReport {
  bool truncated = false;
  uint64_t offset = 0;               // where the first missing record starts
  uint64_t objects = 0;              // object records read whole
  std::string last_part;             // the part the cut fell in or after ("objects", ...)
  std::vector<std::string> missing;  // parts after the cut, in file order (some dumps lack some)
  bool roots_complete = true;        // every root record was read: liveness is answerable
  // One line for people: "cut at offset X after N objects, in the objects;
  // missing: goroutines and stacks, ...; liveness cannot be computed ...".
  std::string describe() const;
};

TruncationReport truncation_report(const DumpFacts& facts);

// Verbs that need liveness call this first: throws InputError (exit 2) naming
// the file, the cut and what is missing when the dump lacks roots; `fallback`
// says what the verb can still do ("use --all for sizes only"), may be empty.
void require_roots(const DumpFacts& facts, const std::string& file, const std::string& verb,
                   const std::string& fallback = "");

}  // namespace heapwalk

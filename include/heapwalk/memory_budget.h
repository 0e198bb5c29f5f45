// --max-memory: refuse a dump, politely and early, whose analysis would need
// more memory than the user allows.
//
// Memory is proportional to the input: the dump's bytes (decompressed zstd
// input is held in memory; a plain file is mapped, and its pages count in the
// process's resident memory as they are read), the reader's tables, and per object and per pointer
// field the snapshot and the heaviest pass (dominators). The estimate is checked twice: before
// decompressing (the decompressed size alone must fit) and after the reader has counted objects and
// pointer fields, before the snapshot and the passes allocate. It errs high: the per-object and
// per-field costs were calibrated on peak RSS of `heapwalk top` (src/memory_budget.cc).
#pragma once

#include <cstdint>
#include <string>

#include "heapwalk/dump.h"

namespace heapwalk {

// Bytes of memory an analysis of `facts` needs at its peak, beyond the
// program itself; `input_bytes` is the size of the (decompressed) dump.
uint64_t estimate_peak_memory(const DumpFacts& facts, uint64_t input_bytes);
// The same for facts whose object table is gone (a snapshot restored from the
// analysis cache): `object_records` is the number the reader had.
uint64_t estimate_peak_memory(const DumpFacts& facts, uint64_t input_bytes,
                              uint64_t object_records);

// Throws InputError naming `file` when `estimate` exceeds `max_memory`
// (0 = no limit): "needs about X of memory (what), over --max-memory Y".
void check_memory_budget(const std::string& file, uint64_t estimate, uint64_t max_memory,
                         const std::string& what);

}  // namespace heapwalk

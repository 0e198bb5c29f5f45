// Reader for Go heap dumps as written by runtime/debug.WriteHeapDump
// (header "go1.7 heap dump\n", Go 1.7 to at least 1.25). The record layout is
// in formats/go/README.md and ../shared/docs/go-heapdump.md.
//
// Contract:
// - Every length and count is checked against the bytes that remain before it
//   is used, so no input can make the reader allocate more than a small
//   multiple of the input's size or read outside it.
// - Headers go1.3 .. go1.6 are refused naming the version.
// - A dump that ends before its EOF record throws InputError "truncated at
//   offset X after N objects ..." unless ReadOptions::allow_truncated.
// - Linear in the input; one pass; no object contents are copied.
#pragma once

#include <span>

#include "heapwalk/dump.h"
#include "heapwalk/input.h"
#include "heapwalk/reader.h"

namespace heapwalk::go {

bool sniff(std::span<const uint8_t> bytes);
DumpFacts read(const InputBuffer& input, const ReadOptions& options);

// Go 1.22+ writes the heap bitmap kept in the last bytes of small pointerful
// spans as object records (formats/go/README.md). Returns the indices into
// `sorted` (object records in address order, index 0 unused) of those records.
std::vector<uint32_t> span_bitmap_records(const DumpFacts& facts,
                                          std::span<const ObjectRecord> sorted,
                                          std::span<const uint8_t> bytes);

}  // namespace heapwalk::go

// Format readers and the one explicit list of them.
//
// A reader recognises its format by magic bytes and turns the input into
// DumpFacts. `read_dump` sniffs the (already decompressed) input against every
// registered reader; input no reader claims is refused with a message that
// lists the formats heapwalk reads.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "heapwalk/dump.h"
#include "heapwalk/input.h"

namespace heapwalk {

struct ReadOptions {
  // Keep what was read from a dump that ends before its EOF record instead of
  // throwing. DumpFacts::truncated and truncated_at then say so.
  bool allow_truncated = false;
  // Told how far the read has come (phase "parse", in bytes); may be null.
  class ProgressMeter* progress = nullptr;
};

struct FormatReader {
  const char* name;         // "go"
  const char* description;  // for the "formats heapwalk reads" list
  bool (*sniff)(std::span<const uint8_t> bytes);
  DumpFacts (*read)(const InputBuffer& input, const ReadOptions& options);
  // Optional: given the object records sorted by address (index 0 unused),
  // returns the ascending indices of records that are not objects of the
  // program at all (e.g. Go 1.22+ span heap bitmaps). May be null.
  std::vector<uint32_t> (*non_object_records)(const DumpFacts& facts,
                                              std::span<const ObjectRecord> sorted,
                                              std::span<const uint8_t> bytes);
};

// The reader that produced `facts` (by DumpFacts::format), or null.
const FormatReader* format_reader(const std::string& name);

// Every format heapwalk reads, in sniffing order.
std::span<const FormatReader> format_readers();

// Sniffs and reads. Throws InputError naming the file, offset and problem.
DumpFacts read_dump(const InputBuffer& input, const ReadOptions& options = {});

}  // namespace heapwalk

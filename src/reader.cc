#include "heapwalk/reader.h"

#include "formats/go/go_reader.h"
#include "heapwalk/error.h"

namespace heapwalk {

std::span<const FormatReader> format_readers() {
  // The one explicit list of formats. Add a reader here and in formats/.
  static const FormatReader kReaders[] = {
      {"go", "Go heap dump (runtime/debug.WriteHeapDump, header \"go1.7 heap dump\", Go 1.7+)",
       go::sniff, go::read, go::span_bitmap_records},
  };
  return kReaders;
}

const FormatReader* format_reader(const std::string& name) {
  for (const FormatReader& reader : format_readers())
    if (name == reader.name) return &reader;
  return nullptr;
}

DumpFacts read_dump(const InputBuffer& input, const ReadOptions& options) {
  for (const FormatReader& reader : format_readers())
    if (reader.sniff(input.bytes())) return reader.read(input, options);
  // One line: scripts read errors line by line.
  std::string message = "not a heap dump heapwalk can read; it reads (plain or zstd-compressed):";
  const char* separator = " ";
  for (const FormatReader& reader : format_readers()) {
    message += separator;
    message += reader.description;
    separator = "; ";
  }
  throw InputError(input.name(), 0, message);
}

}  // namespace heapwalk

// What each fuzz target runs on one input, shared with the regression test
// (tests/test_fuzz_regressions.cc) so that a committed crash input is replayed
// through exactly the code that found it.
//
// Contract of every pipeline: for ANY bytes, return normally or throw
// heapwalk::InputError. Anything else (another exception, a crash, a
// sanitizer report, a leak, unbounded time or memory) is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "heapwalk/error.h"
#include "heapwalk/input.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/reader.h"
#include "heapwalk/snapshot.h"
#if __has_include("heapwalk/rules/rules.h")
#include <string>
#include <string_view>

#include "heapwalk/rules/rules.h"
#endif

namespace heapwalk::fuzz {

// Decompression bound of the input pipeline: keeps every run far below
// libFuzzer's -rss_limit_mb, so that a decompression bomb is refused, not run.
inline constexpr uint64_t kMaxDecompressed = 4u << 20;

// The input layer: zstd sniff, bounded decompression, then the format sniff.
inline void input_pipeline(std::span<const uint8_t> bytes) {
  InputOptions options;
  options.max_decompressed_bytes = kMaxDecompressed;
  InputBuffer input = InputBuffer::from_bytes("fuzz", bytes, options);
  if (input.bytes().size() > kMaxDecompressed) __builtin_trap();  // the bound was not kept
  for (const FormatReader& reader : format_readers()) (void)reader.sniff(input.bytes());
}

// The Go reader, the snapshot builder and the passes every verb starts with.
// The first byte is an option byte (bit 0: allow_truncated); the dump follows.
inline void go_reader_pipeline(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  ReadOptions read;
  read.allow_truncated = (bytes[0] & 1) != 0;
  InputBuffer input = InputBuffer::from_bytes("fuzz", bytes.subspan(1));
  DumpFacts facts = read_dump(input, read);
  Snapshot snapshot = build_snapshot(std::move(input), std::move(facts));
  MarkResult marked = mark(snapshot);
  FinalizerAnalysis finalizers =
      analyze_finalizers(snapshot, marked, mark(snapshot, kMaskWithoutFinalizers));
  Labels labels = compute_labels(snapshot);
  std::vector<uint64_t> weight(snapshot.vertex_count(), 0);
  for (ObjectId id = 1; id < snapshot.vertex_count(); ++id) weight[id] = snapshot.size(id);
  DominatorTree tree = compute_dominators(snapshot.view(), kSuperRoot, weight);
  (void)finalizers;
  (void)labels;
  (void)tree;
}

#if __has_include("heapwalk/rules/rules.h")
#define HEAPWALK_FUZZ_HAVE_RULES 1
// The rules parser of `heapwalk check`: text in, rules or a ParseError out.
// Every parsed rule's canonical form (describe) must parse back to the same
// rule. Throws rules::ParseError for bad text (the only exception allowed).
inline void rules_pipeline(std::span<const uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  for (const rules::Rule& rule : rules::parse_rules(text, "fuzz.rules")) {
    const std::string canonical = rules::describe(rule);
    (void)rules::measure_name(rule);
    std::vector<rules::Rule> again = rules::parse_rules(canonical, "canonical");
    if (again.size() != 1 || again[0].measure != rule.measure ||
        again[0].selector != rule.selector || again[0].value != rule.value ||
        again[0].limit != rule.limit)
      __builtin_trap();  // describe() wrote something parse_rules reads differently
  }
}
#endif

}  // namespace heapwalk::fuzz

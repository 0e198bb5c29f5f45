// One retention path (passes/root_paths.h) as JSON and as text: shared by
// `heapwalk paths`, `heapwalk cycles` and by `heapwalk check`, whose failing rules show one path
// so that a CI log explains what holds the memory.
//
// JSON: {"target":{"address","size","label","retained"?}, "rank",
//        "root":{"kind","name","address"?,"note"?},
//        "hops":[{"address","size","label","offset"}]}; hops run from the
// first object after the root to the target inclusive; a hop's offset is the
// byte offset of the pointer field in the previous object, for the first hop
// the root word's offset in its owner, null for roots that are not fields.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/report/json.h"
#include "heapwalk/snapshot.h"
#include "heapwalk/symbols/elf_symbols.h"

namespace heapwalk::cli {

struct PathContext {
  const Snapshot& s;
  const Labels& labels;
  const ElfSymbols* binary;
  const DominatorTree* tree;  // nullptr unless computed: then targets carry "retained"
};

// The root a path (RootPaths::path_to, non-empty) starts at.
const Root& root_of_path(const Snapshot& s, const std::vector<uint32_t>& path);

report::Json root_json(const PathContext& c, const Root& r);

// One path to v: `edges` as RootPaths::path_to gives them; `rank` 1 for the
// shortest, 2.. for the alternatives through other referrers.
report::Json path_json(const PathContext& c, ObjectId v, const std::vector<uint32_t>& edges,
                       size_t rank);

std::string offset_text(const report::Json& offset);  // "+0x28", "" for null
std::string root_text(const report::Json& root);      // "bss main.registry"

// The path as `heapwalk paths` prints it: a title line (for rank 1), the root,
// then one line per hop; the hex dumps of any "contents" (--show-contents)
// under their hop and after the path for the target. `live` is the live heap, for the retained
// share.
void render_path(const report::Json& p, uint64_t live, std::ostream& out);
// Just the hop lines of a path ("    +0x28 -> 0xc000012000  64 B  label"),
// offsets and sizes aligned.
void render_hops(const report::Json& hops, std::ostream& out);

// DOT string literal contents: quotes, backslashes and line breaks escaped,
// control characters neutralised (report::safe_text).
std::string dot_escape(const std::string& text);

}  // namespace heapwalk::cli

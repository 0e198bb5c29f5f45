// Shortest retention paths (passes/root_paths.h) as JSON, text and DOT
// pieces, shared by the verbs that show why an object is alive (paths,
// cycles), so that a path reads the same everywhere.
//
// A path's JSON: {"target":{"address","size","label","retained"?},
// "root":{"kind","name","address"?}, "hops":[{"address","size","label","offset"}]}:
// hops run from the first object after the root to the target inclusive; a
// hop's offset is the field offset in the previous object, for the first hop
// the root word's offset in its owner, null for roots that are not fields.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/root_paths.h"
#include "heapwalk/report/json.h"
#include "heapwalk/snapshot.h"
#include "heapwalk/symbols/elf_symbols.h"

namespace heapwalk::cli {

struct RetentionContext {
  const Snapshot& s;
  const Labels& labels;
  const RootPaths& paths;
  const ElfSymbols* binary;
  const DominatorTree* tree;  // nullptr unless computed
};

// The root entry a non-empty path starts at.
const Root& root_of_path(const RetentionContext& c, const std::vector<uint32_t>& path);
// {"kind","name","address"?} of a root entry.
report::Json root_json(const RetentionContext& c, const Root& r);
// The path JSON above for a live object v.
report::Json path_json(const RetentionContext& c, ObjectId v);

// "+0x10", or "" for a null offset.
std::string offset_text(const report::Json& offset);
// "data main.parentCtx" (kind and escaped name).
std::string root_text(const report::Json& root);
// A path as an indented block: the target line, the root, one line per hop.
void render_path(const report::Json& p, uint64_t live, std::ostream& out);
// DOT string literal contents: quotes, backslashes and line breaks escaped.
std::string dot_escape(const std::string& text);

}  // namespace heapwalk::cli

// An object's contents, for --show-contents (contents_option.h) only: the
// first bytes of the object as JSON, and that JSON as a hex dump.
//
// JSON: {"offset": 0, "hex": "48656c6c6f...", "shown": N, "size": S,
//        "pointers": [{"offset", "address", "label"}]}
// "offset" is where the shown bytes start in the object (always 0), "hex"
// the shown bytes as lowercase hex (never raw: bytes from the dump are
// attacker-controlled), "shown" how many, "size" the object's slot size.
// "pointers" are the object's pointer fields within the shown bytes that
// resolve to an object (the Snapshot's out-edges: offset is the field's byte
// offset, address the object it points into, label that object's label).
//
// Text: 16 bytes a line, "  0000  48 65 6c 6c 6f 00 ...  |Hello.|": offset,
// hex, and an ASCII column in which every byte outside 0x20..0x7e is '.', so
// no control character or escape sequence from the dump reaches a terminal.
// Each pointer field is noted under the line it starts in, and a last line
// says how many bytes of the object are not shown.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "heapwalk/passes/labels.h"
#include "heapwalk/report/json.h"
#include "heapwalk/snapshot.h"

namespace heapwalk::cli {

// The first min(max_bytes, size) bytes of object v (v != kSuperRoot).
report::Json contents_json(const Snapshot& s, const Labels& labels, ObjectId v, uint64_t max_bytes);

// The hex dump of `contents` (contents_json's shape), each line prefixed
// with `indent`; its title names `address` when given ("contents of 0x...").
void render_contents(const report::Json& contents, const std::string& indent, std::ostream& out,
                     const std::string& address = "");

}  // namespace heapwalk::cli

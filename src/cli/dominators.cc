// heapwalk dominators FILE [--address A] [--depth D] [--min-bytes B] [--format text|json] [--binary
// EXE]
//
// The dominator subtree under one object (any address inside its slot) or,
// without --address, under the super-root (all live objects), as an indented
// tree: children largest retained first, each with retained size, share of
// live bytes, own size, label and address; objects directly below the
// super-root also name the root entry that points at them. Children whose
// retained size is below --min-bytes (default: 1% of the subtree's retained
// size) are summarised in one line per parent, as are the children of nodes
// at --depth (default 4). Iterative (an explicit stack), never recursive.
//
// JSON is FLAT with parent ids, so that deep trees need no nesting:
//   {"schema":1, "file", "live_bytes", "min_bytes", "depth",
//    "nodes":[{"id", "parent" (-1 for the first node), "depth", "address"
//              (absent for the super-root), "size", "retained", "share"
//              (fraction of live bytes), "label", "root"?, "contents"? }],
//    "omitted":[{"parent", "count", "retained", "reason": "small"|"depth"}]}
// Nodes are in the order the text shows them (preorder, largest first).
// --show-contents[=N] (cli/contents_option.h): each object node also carries
// "contents" (cli/object_contents.h), and the JSON "sensitive": true.
#include "heapwalk/passes/dominators.h"

#include <algorithm>
#include <iostream>
#include <unordered_map>

#include "common_options.h"
#include "contents_option.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/symbols/root_name.h"
#include "heapwalk/truncation.h"
#include "object_contents.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;

namespace {

uint64_t parse_address(const std::string& text) {
  try {
    size_t used = 0;
    uint64_t a = std::stoull(text, &used, 0);
    if (used == text.size()) return a;
  } catch (const std::exception&) {
  }
  throw UsageError("dominators: bad --address '" + text + "' (use 0x... hex or decimal)");
}

double share(uint64_t part, uint64_t whole) {
  return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

Json build(const Snapshot& s, const std::string& file, const Labels& labels,
           const DominatorTree& tree, ObjectId top, uint64_t max_depth, uint64_t min_bytes,
           const ElfSymbols* binary, uint64_t contents_bytes) {
  const DominatorChildren children = dominator_children(tree);
  const uint64_t live = tree.retained[kSuperRoot];
  std::unordered_map<ObjectId, size_t> root_of;  // first root entry per object
  auto roots = s.roots();
  for (size_t i = 0; i < roots.size(); ++i)
    if (roots[i].target != kNoObject) root_of.try_emplace(roots[i].target, i);

  Json nodes = Json::array(), omitted = Json::array();
  struct Item {
    ObjectId v;
    int64_t parent;
    uint64_t depth;
  };
  std::vector<Item> stack{{top, -1, 0}};
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    const auto id = static_cast<int64_t>(nodes.size());
    Json node = {{"id", id}, {"parent", it.parent}, {"depth", it.depth}};
    if (it.v != kSuperRoot) node["address"] = report::hex(s.address(it.v));
    node["size"] = it.v == kSuperRoot ? 0 : s.size(it.v);
    node["retained"] = tree.retained[it.v];
    node["share"] = share(tree.retained[it.v], live);
    node["label"] =
        it.v == kSuperRoot ? std::string("all live objects (the roots)") : labels.label(s, it.v);
    if (it.v != kSuperRoot && tree.idom[it.v] == kSuperRoot) {
      auto r = root_of.find(it.v);
      if (r != root_of.end()) node["root"] = root_name(s, roots[r->second], binary);
    }
    if (contents_bytes && it.v != kSuperRoot)
      node["contents"] = contents_json(s, labels, it.v, contents_bytes);
    nodes.push_back(std::move(node));

    auto kids = children.of(it.v);
    size_t shown = 0;
    if (it.depth < max_depth)
      while (shown < kids.size() && tree.retained[kids[shown]] >= min_bytes) ++shown;
    if (shown < kids.size()) {
      uint64_t rest = 0;
      for (size_t i = shown; i < kids.size(); ++i) rest += tree.retained[kids[i]];
      omitted.push_back({{"parent", id},
                         {"count", kids.size() - shown},
                         {"retained", rest},
                         {"reason", it.depth < max_depth ? "small" : "depth"}});
    }
    // Pushed smallest first so that the largest is shown first.
    for (size_t i = shown; i-- > 0;) stack.push_back({kids[i], id, it.depth + 1});
  }
  Json j;
  j["schema"] = report::kJsonSchema;
  j["file"] = file;
  j["live_bytes"] = live;
  j["min_bytes"] = min_bytes;
  j["depth"] = max_depth;
  j["nodes"] = std::move(nodes);
  j["omitted"] = std::move(omitted);
  if (contents_bytes) mark_sensitive(j);
  return j;
}

void render_text(const Json& j, std::ostream& out) {
  using report::bytes_human;
  const uint64_t live = j["live_bytes"].get<uint64_t>();
  out << report::safe_text(j["file"].get<std::string>()) << ": dominator tree (live "
      << bytes_human(live) << "; children under " << bytes_human(j["min_bytes"].get<uint64_t>())
      << " and below depth " << j["depth"].get<uint64_t>() << " summarised)\n\n";
  // Omitted lines go right after the parent's last shown descendant: collect
  // them by parent and emit when the next node is not deeper than the parent.
  std::unordered_map<int64_t, const Json*> omitted_of;
  for (const Json& o : j["omitted"]) omitted_of[o["parent"].get<int64_t>()] = &o;
  auto indent = [](uint64_t depth) { return std::string(2 + 2 * depth, ' '); };
  auto omitted_line = [&](const Json& o, uint64_t parent_depth) {
    uint64_t n = o["count"].get<uint64_t>();
    out << indent(parent_depth + 1) << "... " << report::count(n)
        << (o["reason"] == "small" ? " smaller" : " deeper")
        << (n == 1 ? " child, " : " children, ") << bytes_human(o["retained"].get<uint64_t>())
        << "\n";
  };
  std::vector<std::pair<int64_t, uint64_t>> open;  // (node id, depth) awaiting their omitted line
  const Json& nodes = j["nodes"];
  for (const Json& n : nodes) {
    uint64_t depth = n["depth"].get<uint64_t>();
    while (!open.empty() && open.back().second >= depth) {
      auto o = omitted_of.find(open.back().first);
      if (o != omitted_of.end()) omitted_line(*o->second, open.back().second);
      open.pop_back();
    }
    out << indent(depth) << bytes_human(n["retained"].get<uint64_t>()) << "  "
        << report::percent(n["retained"].get<uint64_t>(), live) << "  "
        << report::safe_text(n["label"].get<std::string>());
    if (n.contains("address"))
      out << " " << n["address"].get<std::string>() << " ("
          << bytes_human(n["size"].get<uint64_t>()) << ")";
    if (n.contains("root")) out << "  <- " << report::safe_text(n["root"].get<std::string>());
    out << "\n";
    if (n.contains("contents")) render_contents(n["contents"], indent(depth + 1), out);
    open.emplace_back(n["id"].get<int64_t>(), depth);
  }
  while (!open.empty()) {
    auto o = omitted_of.find(open.back().first);
    if (o != omitted_of.end()) omitted_line(*o->second, open.back().second);
    open.pop_back();
  }
}

}  // namespace

int run_dominators(const std::vector<std::string>& args) {
  VerbParser parser("dominators",
                    "[--address A] [--depth D] [--min-bytes B] [options] FILE\n"
                    "The dominator tree under an object (or all roots), largest retained first.");
  std::string address_text, min_bytes_text;
  uint64_t depth = 4;
  parser.options().add_options()("address", boost::program_options::value(&address_text),
                                 "the object containing this address (default: the roots)")(
      "depth", boost::program_options::value<uint64_t>(&depth)->default_value(4),
      "levels shown below the top")(
      "min-bytes", boost::program_options::value(&min_bytes_text),
      "summarise children retaining less (default: 1% of the top's retained size)");
  const ShowContentsOption show_contents(parser, "each object in the tree");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  const uint64_t contents_bytes = show_contents.bytes("dominators");
  const Snapshot s = load_snapshot(options.files.front(), options.load);
  require_roots(s.facts(), options.files.front(), "dominators", "histogram --all gives sizes");
  std::unique_ptr<ElfSymbols> binary = open_binary(options, s, std::cerr);
  const DominatorTree tree = heap_dominators(s);

  ObjectId top = kSuperRoot;
  if (!address_text.empty()) {
    uint64_t a = parse_address(address_text);
    top = s.find(a);
    if (top == kNoObject) throw UsageError("dominators: no object contains " + report::hex(a));
    if (!tree.reachable(top))
      throw UsageError("dominators: the object at " + report::hex(s.address(top)) +
                       " is unreachable (garbage): it has no dominator tree");
  }
  uint64_t min_bytes = min_bytes_text.empty() ? std::max<uint64_t>(1, tree.retained[top] / 100)
                                              : parse_size(min_bytes_text);
  const Labels labels = labels_of(s, binary.get());
  const Json j = build(s, options.files.front(), labels, tree, top, depth, min_bytes, binary.get(),
                       contents_bytes);
  return print_result(options.format, j, render_text);
}

}  // namespace heapwalk::cli

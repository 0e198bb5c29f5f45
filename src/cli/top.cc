// heapwalk top FILE [-n N] [--by object|type|site] [--format text|json] [--binary EXE]
//
// What would free the most memory if it went away: retained sizes from the
// dominator tree (passes/dominators.h) over live objects (the super-root's
// reachable set is exactly Go's mark).
//
// --by object (default): the N objects with the largest retained sizes,
// nested ones included (an object and its dominator may both appear), each
// with its dominator chain: the immediate dominator first, up to the object
// directly below the super-root, and the root entry that points at that
// object ("root": root_name, with --binary a global's symbol; the first in
// roots() order). An object directly below the super-root is reached along
// several independent paths: "other_referrers" counts the references to it
// (root entries and live objects) besides the named root.
//
// --by type|site: retained bytes per label, each object counted only where
// no dominator-tree ancestor has the same label (so a linked list of 1M
// nodes counts once, at its head). One iterative DFS over the dominator tree
// with enter/exit events and an active counter per label: O(V). Labels are
// histogram's: type = the display label (type, else "[site] ...", else
// "[N-byte object]"); site = the allocation site, else the display label.
//
// JSON: {"schema":1, "file", "by", "live_bytes", "top":[...]}; "share" is
// retained / live_bytes as a fraction (0..1). Object rows: address, size,
// retained, share, label, type?, site?, dominators [{address, label}] (the
// immediate dominator first), root, other_referrers, contents (only with
// --show-contents: cli/object_contents.h; the JSON is then marked
// "sensitive"). Label rows: label, retained, share,
// objects (objects counted, i.e. outermost ones), type?, site?.
#include <algorithm>
#include <iostream>
#include <unordered_map>

#include "common_options.h"
#include "contents_option.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/retained_by_group.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/symbols/root_name.h"
#include "heapwalk/truncation.h"
#include "object_contents.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;

namespace {

// Dense label ids for every object, strings computed once per distinct
// (type, site, size) key rather than once per object.
struct LabelIds {
  std::vector<uint32_t> of;        // by vertex; 0 for the super-root / unreachable
  std::vector<std::string> names;  // [0] = ""
  std::vector<ObjectId> example;   // an object carrying the label
};

LabelIds label_ids(const Snapshot& s, const Labels& labels, const DominatorTree& tree,
                   bool by_site) {
  LabelIds out;
  out.of.assign(s.vertex_count(), 0);
  out.names.push_back("");
  out.example.push_back(kSuperRoot);
  std::unordered_map<uint64_t, uint32_t> by_key;  // raw key -> label id
  std::unordered_map<std::string, uint32_t> by_name;
  for (ObjectId v = 1; v < s.vertex_count(); ++v) {
    if (!tree.reachable(v)) continue;
    uint64_t key;
    if (by_site && labels.site_index(v))
      key = (uint64_t{1} << 62) | labels.site_index(v);
    else if (labels.type_index(v))
      key = (uint64_t{2} << 62) | labels.type_index(v);
    else if (labels.site_index(v))
      key = (uint64_t{1} << 62) | labels.site_index(v);
    else
      key = s.size(v) & ((uint64_t{1} << 62) - 1);
    auto [it, fresh] = by_key.try_emplace(key, 0);
    if (fresh) {
      std::string name = by_site && labels.site(v) ? labels.site(v)->label() : labels.label(s, v);
      auto [nit, new_name] = by_name.try_emplace(name, static_cast<uint32_t>(out.names.size()));
      if (new_name) {
        out.names.push_back(name);
        out.example.push_back(v);
      }
      it->second = nit->second;
    }
    out.of[v] = it->second;
  }
  return out;
}

// The root entry (first in roots() order) pointing at each object that
// hangs directly off the super-root.
std::unordered_map<ObjectId, size_t> first_roots(const Snapshot& s) {
  std::unordered_map<ObjectId, size_t> out;
  auto roots = s.roots();
  for (size_t i = 0; i < roots.size(); ++i)
    if (roots[i].target != kNoObject) out.try_emplace(roots[i].target, i);
  return out;
}

double share(uint64_t part, uint64_t whole) {
  return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

Json by_object(const Snapshot& s, const Labels& labels, const DominatorTree& tree, uint64_t limit,
               const ElfSymbols* binary, uint64_t contents_bytes) {
  std::vector<ObjectId> ids;
  for (ObjectId v = 1; v < s.vertex_count(); ++v)
    if (tree.reachable(v)) ids.push_back(v);
  auto larger = [&](ObjectId a, ObjectId b) {
    return tree.retained[a] != tree.retained[b] ? tree.retained[a] > tree.retained[b] : a < b;
  };
  size_t shown = limit == 0 ? ids.size() : std::min<size_t>(limit, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + shown, ids.end(), larger);
  ids.resize(shown);

  auto roots = first_roots(s);
  const uint64_t live = tree.retained[kSuperRoot];
  // The top of each chain hangs off the super-root: usually because several
  // roots (or a root and some object) reach it. Count its live referrers
  // (root entries and objects) so the text can say the named root is one of
  // several. One pass over the edges.
  std::unordered_map<ObjectId, uint64_t> referrers;
  for (ObjectId v : ids) {
    ObjectId top = v;
    while (tree.idom[top] != kSuperRoot) top = tree.idom[top];
    referrers.emplace(top, 0);
  }
  const GraphView view = s.view();
  for (uint32_t u = 0; u < view.vertex_count; ++u) {
    if (!tree.reachable(u)) continue;
    for (uint32_t t : view.successors(u)) {
      auto it = referrers.find(t);
      if (it != referrers.end() && t != u) ++it->second;
    }
  }
  Json list = Json::array();
  for (ObjectId v : ids) {
    Json row = {{"address", report::hex(s.address(v))},
                {"size", s.size(v)},
                {"retained", tree.retained[v]},
                {"share", share(tree.retained[v], live)},
                {"label", labels.label(s, v)}};
    if (!labels.type_name(v).empty()) row["type"] = labels.type_name(v);
    if (labels.site(v)) row["site"] = labels.site(v)->label();
    Json chain = Json::array();
    ObjectId top = v;
    for (ObjectId d = tree.idom[v]; d != kSuperRoot; d = tree.idom[d]) {
      chain.push_back({{"address", report::hex(s.address(d))}, {"label", labels.label(s, d)}});
      top = d;
    }
    row["dominators"] = std::move(chain);
    auto r = roots.find(top);
    row["root"] =
        r == roots.end() ? std::string("root") : root_name(s, s.roots()[r->second], binary);
    // References to the chain's top other than the named root entry.
    row["other_referrers"] = referrers[top] > 0 ? referrers[top] - 1 : 0;
    if (contents_bytes) row["contents"] = contents_json(s, labels, v, contents_bytes);
    list.push_back(std::move(row));
  }
  return list;
}

Json by_label(const Snapshot& s, const Labels& labels, const DominatorTree& tree, bool by_site,
              uint64_t limit) {
  const LabelIds ids = label_ids(s, labels, tree, by_site);
  // Label 0 is "no label": outside every group.
  std::vector<uint32_t> group_of(ids.of.begin(), ids.of.end());
  for (uint32_t& g : group_of)
    if (g == 0) g = kNoGroup;
  const GroupRetained groups = retained_by_group(tree, dominator_children(tree), kSuperRoot,
                                                 group_of, static_cast<uint32_t>(ids.names.size()));
  const std::vector<uint64_t>& retained = groups.bytes;
  const std::vector<uint64_t>& objects = groups.outermost;
  std::vector<uint32_t> order;
  for (uint32_t k = 1; k < ids.names.size(); ++k) order.push_back(k);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return retained[a] != retained[b] ? retained[a] > retained[b] : ids.names[a] < ids.names[b];
  });
  if (limit && order.size() > limit) order.resize(limit);
  const uint64_t live = tree.retained[kSuperRoot];
  Json list = Json::array();
  for (uint32_t k : order) {
    Json row = {{"label", ids.names[k]},
                {"retained", retained[k]},
                {"share", share(retained[k], live)},
                {"objects", objects[k]}};
    ObjectId x = ids.example[k];
    if (!by_site && labels.type_index(x)) row["type"] = labels.type_name(x);
    if (by_site && labels.site(x)) row["site"] = labels.site(x)->label();
    list.push_back(std::move(row));
  }
  return list;
}

std::string pad_left(const std::string& s, size_t w) {
  return std::string(w > s.size() ? w - s.size() : 0, ' ') + s;
}

// "a <- b <- ... <- y <- z": at most four hops, the nearest two and the
// farthest two.
std::string chain_text(const Json& row) {
  std::vector<std::string> hops;
  for (const Json& d : row["dominators"])
    hops.push_back(report::safe_text(d["label"].get<std::string>()) + " " +
                   d["address"].get<std::string>());
  std::string root = report::safe_text(row["root"].get<std::string>());
  if (uint64_t n = row["other_referrers"].get<uint64_t>())
    root += " (and " + std::to_string(n) + (n == 1 ? " other reference)" : " other references)");
  hops.push_back(root);
  std::string out;
  const size_t n = hops.size();
  for (size_t i = 0; i < n; ++i) {
    if (n > 5 && i == 2) {
      out += " <- ... (" + std::to_string(n - 4) + " more)";
      i = n - 3;
      continue;
    }
    out += (out.empty() ? "" : " <- ") + hops[i];
  }
  return out;
}

void render_text(const Json& j, std::ostream& out) {
  using report::bytes_human;
  const uint64_t live = j["live_bytes"].get<uint64_t>();
  const std::string by = j["by"].get<std::string>();
  out << report::safe_text(j["file"].get<std::string>()) << ": largest retained sizes by " << by
      << " (live " << bytes_human(live) << ")\n\n";
  if (by == "object") {
    std::vector<std::string> retained, sizes, shares;
    size_t wr = 8, ws = 4, wp = 5;
    for (const Json& r : j["top"]) {
      retained.push_back(bytes_human(r["retained"].get<uint64_t>()));
      sizes.push_back(bytes_human(r["size"].get<uint64_t>()));
      shares.push_back(report::percent(r["retained"].get<uint64_t>(), live));
      wr = std::max(wr, retained.back().size());
      ws = std::max(ws, sizes.back().size());
      wp = std::max(wp, shares.back().size());
    }
    out << "  " << pad_left("retained", wr) << "  " << pad_left("share", wp) << "  "
        << pad_left("size", ws) << "  object\n";
    size_t i = 0;
    for (const Json& r : j["top"]) {
      out << "  " << pad_left(retained[i], wr) << "  " << pad_left(shares[i], wp) << "  "
          << pad_left(sizes[i], ws) << "  " << report::safe_text(r["label"].get<std::string>())
          << " " << r["address"].get<std::string>() << "\n"
          << "  " << std::string(wr + wp + ws + 6, ' ') << "held by " << chain_text(r) << "\n";
      if (r.contains("contents"))
        render_contents(r["contents"], std::string(wr + wp + ws + 8, ' '), out);
      ++i;
    }
    return;
  }
  std::vector<std::string> retained, shares, counts;
  size_t wr = 8, wp = 5, wc = 7;
  for (const Json& r : j["top"]) {
    retained.push_back(bytes_human(r["retained"].get<uint64_t>()));
    shares.push_back(report::percent(r["retained"].get<uint64_t>(), live));
    counts.push_back(report::count(r["objects"].get<uint64_t>()));
    wr = std::max(wr, retained.back().size());
    wp = std::max(wp, shares.back().size());
    wc = std::max(wc, counts.back().size());
  }
  out << "  " << pad_left("retained", wr) << "  " << pad_left("share", wp) << "  "
      << pad_left("objects", wc) << "  " << by << "\n";
  size_t i = 0;
  for (const Json& r : j["top"]) {
    out << "  " << pad_left(retained[i], wr) << "  " << pad_left(shares[i], wp) << "  "
        << pad_left(counts[i], wc) << "  " << report::safe_text(r["label"].get<std::string>())
        << "\n";
    ++i;
  }
  out << "\n  (objects: outermost objects of the label; nested ones are counted inside them)\n";
}

}  // namespace

int run_top(const std::vector<std::string>& args) {
  VerbParser parser(
      "top",
      "[-n N] [--by object|type|site] [options] FILE\n"
      "The objects (or labels) with the largest retained sizes: what going away would free.");
  std::string by = "object";
  uint64_t limit = 20;
  parser.options().add_options()("by", boost::program_options::value(&by)->default_value("object"),
                                 "rank objects, or labels by type or site")(
      "limit,n", boost::program_options::value<uint64_t>(&limit)->default_value(20),
      "show N rows (0: all)");
  const ShowContentsOption show_contents(parser, "each object (--by object only)");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  if (by != "object" && by != "type" && by != "site")
    throw UsageError("top: unknown --by '" + by + "' (object, type or site)");
  const uint64_t contents_bytes = show_contents.bytes("top");
  if (contents_bytes && by != "object")
    throw UsageError("top: --show-contents shows objects: use it with --by object");
  const Snapshot s = load_snapshot(options.files.front(), options.load);
  require_roots(s.facts(), options.files.front(), "top", "histogram --all gives sizes");
  std::unique_ptr<ElfSymbols> binary = open_binary(options, s, std::cerr);
  const Labels labels = labels_of(s, binary.get());
  const DominatorTree tree = heap_dominators(s);

  Json j;
  j["schema"] = report::kJsonSchema;
  j["file"] = options.files.front();
  j["by"] = by;
  j["live_bytes"] = tree.retained[kSuperRoot];
  j["top"] = by == "object" ? by_object(s, labels, tree, limit, binary.get(), contents_bytes)
                            : by_label(s, labels, tree, by == "site", limit);
  if (contents_bytes) mark_sensitive(j);
  return print_result(options.format, j, render_text);
}

}  // namespace heapwalk::cli

// heapwalk paths FILE [--address A | --type NAME | --site PATTERN | --largest N] [-k 1] [--limit N]
//                     [--format text|json|dot] [--binary EXE]
//
// Why is this still alive? The shortest retention path from the GC roots to
// each target (passes/root_paths.h: breadth-first from the super-root, one
// root kind at a time, so a path starts at a global when a global keeps the
// object alive at all; within that kind it is shortest in hops).
//
// Targets: --address (the object containing A), --type (exact label type
// name), --site (substring of the allocation site label), --largest N (the N
// objects with the largest retained sizes, nested ones included). With no
// selector: the biggest retainers (largest retained first, skipping objects
// dominated by one already listed; at most 3, and after the first only those
// retaining >= 1% of the live heap).
//
// Only live targets have paths; unreachable ones are counted and pointed at
// `heapwalk unreachable`.
//
// Group targets (everything but --address) are also merged: targets whose
// paths have the same root (kind and name) and the same label sequence form
// one row with their count and bytes (the targets' own slot sizes), largest
// bytes first. For --type and --site, "paths" holds one example per merged row
// (its first target in address order), up to --limit; for --largest and the
// default, one path per target in retained order.
//
// JSON: {"schema":1, "file", "selector":{"kind","value"}, "live_bytes",
// "targets":{"count","bytes"}, "unreachable":{"count","bytes"},
// "paths":[{"target":{"address","size","label","retained"?}, "rank",
//           "referrers"?, "root":{"kind","name","address"?,"note"?},
//           "hops":[{"address","size","label","offset"}]}],
// "merged":[{"count","bytes","root":{"kind","name"},"labels":[...]}]}.
// hops run from the first object after the root to the target inclusive;
// a hop's offset is the byte offset of the pointer field in the previous
// object; for the first hop the root word's offset in its owner (segment,
// frame, finalizer's object), null for roots that are not fields.
// A root's "address" (data/bss only) is the runtime address of its word; its
// "note" (finalizer roots only) says how the finalizer holds the path.
// -k K: up to K paths per target (passes/referrer_paths.h): "rank" 1 is the
// shortest path, ranks 2.. come through the target's other referrers; with
// K > 1 the rank-1 path also carries "referrers", how many there are in all,
// and "referrers_through_target", referrers reached only through the target
// itself (a child context's back pointer), which give no path of their own.
// "retained" appears when dominators were computed (--largest, default).
// DOT: a digraph of the listed paths, nodes shared by address.
// --show-contents[=N] (cli/contents_option.h): each path's target carries
// "contents" (cli/object_contents.h), with --hop-contents every other hop too
// (the last hop is the target: its contents are the target's), and the JSON
// "sensitive": true. Not with DOT, which never holds contents (a usage error).
#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <span>
#include <unordered_set>

#include "common_options.h"
#include "contents_option.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/referrer_paths.h"
#include "heapwalk/passes/root_paths.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/truncation.h"
#include "object_contents.h"
#include "retention_path.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;

namespace {

// The shared path context (retention_path.h) plus the BFS tree.
struct Context : PathContext {
  const RootPaths& paths;
};

// What --show-contents asked for: bytes per object (0: nothing), and whether
// hops other than the target show theirs too.
struct ContentsRequest {
  uint64_t bytes = 0;
  bool hops = false;
};

// Adds "contents" to a path's target (and hops, --hop-contents).
void add_contents(const Context& c, ObjectId target, const std::vector<uint32_t>& edges,
                  const ContentsRequest& want, Json& p) {
  p["target"]["contents"] = contents_json(c.s, c.labels, target, want.bytes);
  if (!want.hops) return;
  const GraphView g = c.s.view();
  Json& hops = p["hops"];
  for (size_t h = 0; h + 1 < edges.size(); ++h)
    hops[h]["contents"] = contents_json(c.s, c.labels, g.targets[edges[h]], want.bytes);
}

// The paths of each target, -k per target (rank 1 first), as JSON.
void append_paths(const Context& c, std::span<const ObjectId> targets, uint32_t k,
                  const ContentsRequest& want, Json& list) {
  const std::vector<ReferrerPaths> all = referrer_paths(c.s, c.paths, targets, k);
  for (size_t i = 0; i < targets.size(); ++i) {
    for (size_t r = 0; r < all[i].paths.size(); ++r) {
      Json p = path_json(c, targets[i], all[i].paths[r], r + 1);
      if (want.bytes) add_contents(c, targets[i], all[i].paths[r], want, p);
      if (r == 0 && k > 1) {
        p["referrers"] = all[i].referrers;
        p["referrers_through_target"] = all[i].held_back;
      }
      list.push_back(std::move(p));
    }
  }
}

struct MergedRow {
  uint64_t count = 0, bytes = 0;
  ObjectId example = kNoObject;
  Json root;
  std::vector<std::string> labels;
};

// Merges the paths of live `targets` (any order) by root and label sequence.
std::vector<MergedRow> merge(const Context& c, std::vector<ObjectId> targets) {
  std::sort(targets.begin(),
            targets.end());  // ids are address order: examples are lowest addresses
  std::map<std::string, size_t> index;
  std::vector<MergedRow> rows;
  const GraphView g = c.s.view();
  for (ObjectId v : targets) {
    const std::vector<uint32_t> edges = c.paths.path_to(v);
    const Root& root = root_of_path(c.s, edges);
    MergedRow row;
    row.root = root_json(c, root);
    std::string key =
        row.root["kind"].get<std::string>() + '\x1f' + row.root["name"].get<std::string>();
    for (uint32_t e : edges) {
      row.labels.push_back(c.labels.label(c.s, g.targets[e]));
      key += '\x1f' + row.labels.back();
    }
    auto [it, fresh] = index.try_emplace(key, rows.size());
    if (fresh) {
      row.example = v;
      rows.push_back(std::move(row));
    }
    rows[it->second].count += 1;
    rows[it->second].bytes += c.s.size(v);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const MergedRow& a, const MergedRow& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.count > b.count;
  });
  return rows;
}

// ---- rendering ------------------------------------------------------------

std::string merged_text(const Json& m) {
  std::string out = root_text(m["root"]);
  const Json& labels = m["labels"];
  for (const Json& l : labels) out += " -> " + report::safe_text(l.get<std::string>());
  out += " x" + std::to_string(m["count"].get<uint64_t>()) + " (" +
         report::bytes_human(m["bytes"].get<uint64_t>()) + ")";
  return out;
}

std::string selector_text(const Json& sel) {
  const std::string kind = sel["kind"].get<std::string>();
  if (kind == "default") return "the largest retainers";
  if (kind == "largest")
    return "the " + sel["value"].get<std::string>() + " objects retaining the most";
  return kind + " " + report::safe_text(sel["value"].get<std::string>());
}

void render_text(const Json& j, std::ostream& out) {
  const uint64_t live = j["live_bytes"].get<uint64_t>();
  const std::string kind = j["selector"]["kind"].get<std::string>();
  const Json& targets = j["targets"];
  const Json& unreachable = j["unreachable"];
  out << report::safe_text(j["file"].get<std::string>()) << ": retention paths of "
      << selector_text(j["selector"]) << " (live " << report::bytes_human(live) << ")\n";
  const bool group = kind == "type" || kind == "site";
  if (group)
    out << report::count(targets["count"].get<uint64_t>()) << " live objects match, "
        << report::bytes_human(targets["bytes"].get<uint64_t>()) << "\n";
  const uint64_t dead = unreachable["count"].get<uint64_t>();
  if (dead) {
    out << (kind == "address"
                ? std::string("the object is unreachable: no root keeps it alive and the next "
                              "collection frees it")
                : report::count(dead) + " matching objects (" +
                      report::bytes_human(unreachable["bytes"].get<uint64_t>()) +
                      ") are unreachable: no root keeps them alive")
        << "; see `heapwalk unreachable " << report::safe_text(j["file"].get<std::string>())
        << "`\n";
  }
  if (j["paths"].empty() && !dead) out << "no live object matches\n";
  if (group && !j["merged"].empty()) {
    out << "\nmerged paths, largest first:\n";
    for (const Json& m : j["merged"]) out << "  " << merged_text(m) << "\n";
    if (j["merged_total"].get<uint64_t>() > j["merged"].size())
      out << "  ... " << report::count(j["merged_total"].get<uint64_t>() - j["merged"].size())
          << " more (--limit 0 shows all)\n";
    out << "\none example path per merged path:\n";
  }
  for (const Json& p : j["paths"]) render_path(p, live, out);
}

void render_dot(const Json& j, std::ostream& out) {
  // Top to bottom: retention chains are long and narrow, and read like a
  // stack from the root down to the target.
  out << "digraph heapwalk_paths {\n"
      << "  rankdir=TB;\n"
      << "  node [shape=box, fontname=\"monospace\"];\n"
      << "  edge [fontname=\"monospace\"];\n";
  std::map<std::string, std::string> nodes;  // key -> node id
  std::set<std::string> edges;
  // `label` is already escaped (parts joined by the DOT line break "\n").
  auto node = [&](const std::string& key, const std::string& label, bool root, bool target) {
    auto [it, fresh] = nodes.try_emplace(key, (root ? "r" : "o") + std::to_string(nodes.size()));
    if (fresh) {
      out << "  " << it->second << " [label=\"" << label << "\"" << (root ? ", shape=ellipse" : "")
          << (target ? ", style=bold" : "") << "];\n";
    }
    return it->second;
  };
  for (const Json& p : j["paths"]) {
    const std::string target = p["target"]["address"].get<std::string>();
    std::string prev = node(
        "root " + p["root"]["kind"].get<std::string>() + " " + p["root"]["name"].get<std::string>(),
        dot_escape(p["root"]["kind"].get<std::string>() + " " +
                   p["root"]["name"].get<std::string>()),
        true, false);
    for (const Json& h : p["hops"]) {
      const std::string address = h["address"].get<std::string>();
      const std::string id = node(
          address,
          dot_escape(h["label"].get<std::string>()) + "\\n" +
              dot_escape(address + " (" + report::bytes_human(h["size"].get<uint64_t>()) + ")"),
          false, address == target);
      const std::string label = offset_text(h["offset"]);
      if (edges.insert(prev + " " + id + " " + label).second)
        out << "  " << prev << " -> " << id
            << (label.empty() ? "" : " [label=\"" + dot_escape(label) + "\"]") << ";\n";
      prev = id;
    }
  }
  out << "}\n";
}

uint64_t parse_address(const std::string& text) {
  size_t used = 0;
  uint64_t value = 0;
  try {
    value = std::stoull(text, &used, 0);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw UsageError("paths: not an address: '" + text + "' (e.g. 0xc000012000)");
  return value;
}

}  // namespace

int run_paths(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  VerbParser parser(
      "paths",
      "[--address A | --type NAME | --site PATTERN | --largest N] [-k 1] [--limit N] [options] "
      "FILE\n"
      "The shortest retention paths from the GC roots: why an object is still alive.\n"
      "Without a selector: the paths of whatever retains the most.",
      {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kDot});
  std::string address_text, type, site;
  uint64_t largest = 0, k = 1, limit = 10;
  parser.options().add_options()("address", po::value(&address_text),
                                 "the object containing address A")(
      "type", po::value(&type), "every live object whose type name is exactly NAME")(
      "site", po::value(&site), "every live object whose allocation site contains PATTERN")(
      "largest", po::value<uint64_t>(&largest), "the N objects with the largest retained sizes")(
      "k,k", po::value<uint64_t>(&k)->default_value(1),
      "paths per target: the shortest, then one through each other referrer")(
      "limit", po::value<uint64_t>(&limit)->default_value(10),
      "show at most N paths and merged rows (0: all)");
  const ShowContentsOption show_contents(parser,
                                         "the target of each path (not with --format dot: DOT "
                                         "output never holds contents)");
  parser.options().add_options()("hop-contents",
                                 "with --show-contents: every object on the path, not only the "
                                 "target");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  const auto& vm = parser.values();
  const ContentsRequest want{show_contents.bytes("paths"), vm.count("hop-contents") > 0};
  if (want.hops && !want.bytes) throw UsageError("paths: --hop-contents needs --show-contents");
  if (want.bytes && options.format == OutputFormat::kDot)
    throw UsageError(
        "paths: --show-contents does not apply to --format dot (DOT output never holds object "
        "contents)");
  const int selectors = int(vm.count("address")) + int(vm.count("type")) + int(vm.count("site")) +
                        int(vm.count("largest"));
  if (selectors > 1)
    throw UsageError("paths: give at most one of --address, --type, --site, --largest");
  if (k == 0) throw UsageError("paths: -k must be at least 1");
  if (k > 1000) throw UsageError("paths: -k must be at most 1000");
  if (vm.count("largest") && largest == 0) throw UsageError("paths: --largest must be at least 1");
  if (vm.count("type") && type.empty()) throw UsageError("paths: --type needs a type name");
  if (vm.count("site") && site.empty()) throw UsageError("paths: --site needs a pattern");
  uint64_t address = vm.count("address") ? parse_address(address_text) : 0;

  const Snapshot s = load_snapshot(options.files.front(), options.load);
  require_roots(s.facts(), options.files.front(), "paths");
  std::unique_ptr<ElfSymbols> binary = open_binary(options, s, std::cerr);
  const Labels labels = labels_of(s, binary.get());
  const RootPaths paths = compute_root_paths(s);

  std::string kind = vm.count("address")   ? "address"
                     : vm.count("type")    ? "type"
                     : vm.count("site")    ? "site"
                     : vm.count("largest") ? "largest"
                                           : "default";
  const bool need_tree = kind == "largest" || kind == "default";
  DominatorTree tree;
  uint64_t live = 0;
  if (need_tree) {
    tree = heap_dominators(s);
    live = tree.retained[kSuperRoot];
  } else {
    for (ObjectId v = 1; v < s.vertex_count(); ++v)
      if (paths.reached(v)) live += s.size(v);
  }
  const Context c{{s, labels, binary.get(), need_tree ? &tree : nullptr}, paths};

  std::vector<ObjectId> targets;  // live ones, in display order
  uint64_t dead_count = 0, dead_bytes = 0;
  auto consider = [&](ObjectId v) {
    if (paths.reached(v))
      targets.push_back(v);
    else if (!s.is_phantom(v)) {
      ++dead_count;
      dead_bytes += s.size(v);
    }
  };
  Json selector_value;
  if (kind == "address") {
    const ObjectId v = s.find(address);
    if (v == kNoObject) throw UsageError("paths: no object contains " + report::hex(address));
    consider(v);
    selector_value = report::hex(address);
  } else if (kind == "type") {
    for (ObjectId v = 1; v < s.vertex_count(); ++v)
      if (type_name_matches(labels.type_name(v), type)) consider(v);
    selector_value = type;
  } else if (kind == "site") {
    // One string per distinct site, then a lookup per object.
    std::vector<char> hit(labels.sites().size(), 0);
    for (size_t i = 1; i < hit.size(); ++i)
      hit[i] = labels.sites()[i].label().find(site) != std::string::npos;
    for (ObjectId v = 1; v < s.vertex_count(); ++v)
      if (labels.site_index(v) && hit[labels.site_index(v)]) consider(v);
    selector_value = site;
  } else {
    std::vector<ObjectId> ids;
    for (ObjectId v = 1; v < s.vertex_count(); ++v)
      if (tree.reachable(v)) ids.push_back(v);
    auto larger = [&](ObjectId a, ObjectId b) {
      return tree.retained[a] != tree.retained[b] ? tree.retained[a] > tree.retained[b] : a < b;
    };
    if (kind == "largest") {
      const size_t n = std::min<size_t>(largest, ids.size());
      std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), larger);
      targets.assign(ids.begin(), ids.begin() + n);
      selector_value = std::to_string(largest);
    } else {
      const size_t n = std::min<size_t>(64, ids.size());
      std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), larger);
      std::unordered_set<ObjectId> picked;
      for (size_t i = 0; i < n && targets.size() < 3; ++i) {
        const ObjectId v = ids[i];
        if (!targets.empty() && tree.retained[v] * 100 < live) break;
        bool nested = false;
        for (ObjectId d = tree.idom[v]; d != kSuperRoot && !nested; d = tree.idom[d])
          nested = picked.count(d) > 0;
        if (nested) continue;
        picked.insert(v);
        targets.push_back(v);
      }
      selector_value = nullptr;
    }
  }

  Json j;
  j["schema"] = report::kJsonSchema;
  j["file"] = options.files.front();
  j["selector"] = {{"kind", kind}, {"value", selector_value}};
  j["live_bytes"] = live;
  uint64_t target_bytes = 0;
  for (ObjectId v : targets) target_bytes += s.size(v);
  j["targets"] = {{"count", targets.size()}, {"bytes", target_bytes}};
  j["unreachable"] = {{"count", dead_count}, {"bytes", dead_bytes}};

  const std::vector<MergedRow> rows =
      kind == "address" ? std::vector<MergedRow>{} : merge(c, targets);
  const size_t shown_rows = limit == 0 ? rows.size() : std::min<size_t>(limit, rows.size());
  std::vector<ObjectId> shown;
  if (kind == "type" || kind == "site") {
    for (size_t i = 0; i < shown_rows; ++i) shown.push_back(rows[i].example);
  } else {
    const size_t n = limit == 0 ? targets.size() : std::min<size_t>(limit, targets.size());
    shown.assign(targets.begin(), targets.begin() + n);
  }
  Json list = Json::array();
  append_paths(c, shown, static_cast<uint32_t>(k), want, list);
  j["paths"] = std::move(list);
  Json merged = Json::array();
  for (size_t i = 0; i < shown_rows; ++i)
    merged.push_back({{"count", rows[i].count},
                      {"bytes", rows[i].bytes},
                      {"root", rows[i].root},
                      {"labels", rows[i].labels}});
  j["merged"] = std::move(merged);
  j["merged_total"] = rows.size();
  if (want.bytes) mark_sensitive(j);

  if (options.format == OutputFormat::kDot) {
    render_dot(j, std::cout);
    return kExitOk;
  }
  return print_result(options.format, j, render_text);
}

}  // namespace heapwalk::cli

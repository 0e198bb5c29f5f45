// heapwalk cycles FILE [--all] [--min-bytes B] [--limit N] [--cycle N] [--members-limit M]
//                      [--format text|json|dot] [--binary EXE]
//
// Reference cycles of two or more objects (passes/cycles.h) and what holds
// them: largest retained first, each with its size, the bytes the cycle as a
// whole keeps alive, the labels inside it, the entry (the member nearest a
// root) with its shortest root path, the edge that closes a shortest ring
// through the entry, and the verdicts: a finalizer cycle Go never frees, a
// context tree whose children were never cancelled.
//
// --all: unreachable cycles too. --min-bytes: only cycles retaining at least
// B. --limit: at most N cycles (0: all; default 10). --cycle N: only the Nth
// cycle of the full list (1 = largest). --format dot draws one cycle (the
// --cycle, else the first): the shortest ring through the entry and the path
// into it.
//
// JSON: {"schema":1, "file", "objects": "live"|"all", "live_bytes",
// "total": {"cycles","objects","bytes"}, "shown", "cycles": [{"index",
// "objects", "bytes", "retained", "entry": {"address","label","path"},
// "closing_edge": {"from","offset","to"}, "labels": {"<label>": count},
// "finalizer_cycle", "members": [...], "members_truncated", "live",
// "context_children", "ring": [{"address","label","offset"}], "verdicts":
// [...]}]}. entry.path is a retention path without its target ({"root",
// "hops"}, cli/retention_path.h), null for unreachable cycles; closing_edge
// and ring offsets are field offsets, null for a finalizer's closure; ring
// runs from the entry round to the member whose edge closes it; members are
// addresses in address order, at most --members-limit (default 1000).
// --show-contents[=N] (cli/contents_option.h): each ring object also carries
// "contents" (cli/object_contents.h), the text lists the ring with their hex
// dumps, and the JSON is marked "sensitive": true. Not with DOT (a usage
// error: DOT output never holds contents).
#include "heapwalk/passes/cycles.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "common_options.h"
#include "contents_option.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/symbols/root_name.h"
#include "object_contents.h"
#include "retention_path.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;

namespace {

Json offset_json(const Snapshot& s, const CycleEdge& e) {
  return e.finalizer_closure() ? Json(nullptr) : Json(s.edge_offset(e.edge));
}

Json cycle_json(const PathContext& c, const Cycle& cycle, size_t index, uint64_t members_limit,
                uint64_t contents_bytes) {
  const Snapshot& s = c.s;
  Json j;
  j["index"] = index;
  j["objects"] = cycle.members.size();
  j["bytes"] = cycle.bytes;
  j["retained"] = cycle.retained;
  Json path = nullptr;
  if (!cycle.entry_path.empty()) {
    Json p = path_json(c, cycle.entry, cycle.entry_path, 1);
    path = {{"root", p["root"]}, {"hops", p["hops"]}};
  }
  j["entry"] = {{"address", report::hex(s.address(cycle.entry))},
                {"label", c.labels.label(s, cycle.entry)},
                {"path", path}};
  const CycleEdge& close = cycle.closing_edge();
  j["closing_edge"] = {{"from", report::hex(s.address(close.from))},
                       {"offset", offset_json(s, close)},
                       {"to", report::hex(s.address(close.to))}};
  Json labels = Json::object();
  for (const CycleLabel& l : cycle.labels) labels[l.label] = l.objects;
  j["labels"] = std::move(labels);
  j["finalizer_cycle"] = cycle.finalizer_cycle;
  Json members = Json::array();
  const size_t shown = members_limit == 0 ? cycle.members.size()
                                          : std::min<size_t>(members_limit, cycle.members.size());
  for (size_t i = 0; i < shown; ++i) members.push_back(report::hex(s.address(cycle.members[i])));
  j["members"] = std::move(members);
  j["members_truncated"] = shown < cycle.members.size();
  j["live"] = cycle.live;
  j["context_children"] = cycle.context_children;
  Json ring = Json::array();
  for (size_t i = 0; i < cycle.ring.size(); ++i) {
    const CycleEdge& e = cycle.ring[i];
    Json hop = {{"address", report::hex(s.address(e.from))},
                {"label", c.labels.label(s, e.from)},
                {"size", s.size(e.from)}};
    // offset of the field in this object that leads to the next one
    hop["offset"] = offset_json(s, e);
    if (contents_bytes) hop["contents"] = contents_json(s, c.labels, e.from, contents_bytes);
    ring.push_back(std::move(hop));
  }
  j["ring"] = std::move(ring);
  Json verdicts = Json::array();
  const std::string held_by = path.is_null() ? std::string("nothing") : root_text(path["root"]);
  if (cycle.finalizer_cycle)
    verdicts.push_back(
        "never freed by Go: finalizer cycle (an object on it has a finalizer, and only the "
        "ring and finalizers keep it: no finalizer on it ever runs)");
  if (cycle.context_children > 0)
    verdicts.push_back("context tree: " + report::count(cycle.context_children) +
                       (cycle.context_children == 1 ? " child" : " children") +
                       " never cancelled under the parent reached from " + held_by);
  if (!cycle.live) verdicts.push_back("unreachable: the next collection frees it");
  j["verdicts"] = std::move(verdicts);
  return j;
}

std::string label_list(const Json& labels, size_t max) {
  std::string out;
  size_t i = 0;
  for (const auto& [label, count] : labels.items()) {
    if (i == max) {
      out += ", ... " + report::count(labels.size() - max) + " more labels";
      break;
    }
    if (i++) out += ", ";
    out += report::count(count.get<uint64_t>()) + " " + report::safe_text(label);
  }
  return out;
}

std::string hop_text(const Json& address, const Json& label) {
  return report::safe_text(label.get<std::string>()) + " " + address.get<std::string>();
}

void render_text(const Json& j, std::ostream& out) {
  const uint64_t live = j["live_bytes"].get<uint64_t>();
  const Json& total = j["total"];
  const uint64_t n = total["cycles"].get<uint64_t>();
  out << report::safe_text(j["file"].get<std::string>()) << ": " << report::count(n)
      << " reference cycle" << (n == 1 ? "" : "s") << " of two or more "
      << (j["objects"] == "all" ? "objects (live and unreachable)" : "live objects");
  if (n)
    out << ", " << report::count(total["objects"].get<uint64_t>()) << " objects and "
        << report::bytes_human(total["bytes"].get<uint64_t>()) << " in all";
  out << " (live heap " << report::bytes_human(live) << ")\n";
  if (n == 0) return;
  out << "A tracing collector frees a cycle once nothing holds it: each cycle below comes with "
         "what holds it.\n";
  for (const Json& c : j["cycles"]) {
    const Json& entry = c["entry"];
    out << "\ncycle " << c["index"].get<uint64_t>() << ": "
        << report::count(c["objects"].get<uint64_t>()) << " objects ("
        << report::bytes_human(c["bytes"].get<uint64_t>()) << ") that retain "
        << report::bytes_human(c["retained"].get<uint64_t>());
    if (c["live"].get<bool>())
      out << " = " << report::percent(c["retained"].get<uint64_t>(), live) << " of the live heap";
    out << ".\n  Inside: " << label_list(c["labels"], 6) << ".\n";
    if (entry["path"].is_null()) {
      out << "  Nothing reaches it: entered at " << hop_text(entry["address"], entry["label"])
          << ".\n";
    } else {
      const Json& p = entry["path"];
      out << "  Held from " << root_text(p["root"]) << ", entered at "
          << hop_text(entry["address"], entry["label"]) << " along\n";
      render_hops(p["hops"], out);
    }
    const Json& ring = c["ring"];
    const Json& last = ring.back();
    out << "  The ring closes with " << hop_text(last["address"], last["label"]) << " "
        << (last["offset"].is_null() ? std::string("(its finalizer's closure)")
                                     : offset_text(last["offset"]))
        << " -> " << hop_text(entry["address"], entry["label"]) << ": a shortest ring through "
        << "the entry has " << report::count(ring.size()) << " objects.\n";
    if (ring.front().contains("contents")) {
      out << "  The ring, from the entry:\n";
      for (const Json& hop : ring) {
        out << "    " << hop_text(hop["address"], hop["label"]) << " ("
            << report::bytes_human(hop["size"].get<uint64_t>()) << ")\n";
        render_contents(hop["contents"], "      ", out);
      }
    }
    for (const Json& v : c["verdicts"])
      out << "  Verdict: " << report::safe_text(v.get<std::string>()) << ".\n";
  }
  const uint64_t shown = j["shown"].get<uint64_t>();
  if (shown < n)
    out << "\n... " << report::count(n - shown) << " more cycle" << (n - shown == 1 ? "" : "s")
        << " not shown (--limit 0 shows all)\n";
}

void render_dot(const Json& j, std::ostream& out) {
  out << "digraph heapwalk_cycle {\n"
      << "  rankdir=LR;\n"
      << "  node [shape=box, fontname=\"monospace\"];\n"
      << "  edge [fontname=\"monospace\"];\n";
  if (j["cycles"].empty()) {
    out << "}\n";
    return;
  }
  const Json& c = j["cycles"].front();
  auto node = [&](const std::string& id, const Json& address, const Json& label, uint64_t size,
                  bool entry) {
    out << "  " << id << " [label=\"" << dot_escape(label.get<std::string>()) << "\\n"
        << dot_escape(address.get<std::string>() + " (" + report::bytes_human(size) + ")") << "\""
        << (entry ? ", style=bold" : "") << "];\n";
  };
  // A null offset: a root word that is not a field (path), or a finalizer's
  // closure (ring).
  auto edge = [&](const std::string& from, const std::string& to, const Json& offset,
                  const char* null_label, bool closing) {
    const std::string label = offset.is_null() ? std::string(null_label) : offset_text(offset);
    out << "  " << from << " -> " << to;
    if (!label.empty() || closing) {
      out << " [label=\"" << dot_escape(label) << "\"" << (closing ? ", color=red, penwidth=2" : "")
          << "]";
    }
    out << ";\n";
  };
  const Json& ring = c["ring"];
  const Json& path = c["entry"]["path"];
  if (!path.is_null()) {
    const Json& root = path["root"];
    out << "  r [label=\""
        << dot_escape(root["kind"].get<std::string>() + " " + root["name"].get<std::string>())
        << "\", shape=ellipse];\n";
    const Json& hops = path["hops"];
    std::string prev = "r";
    for (size_t i = 0; i + 1 < hops.size(); ++i) {
      const std::string id = "p" + std::to_string(i);
      node(id, hops[i]["address"], hops[i]["label"], hops[i]["size"].get<uint64_t>(), false);
      edge(prev, id, hops[i]["offset"], "", false);
      prev = id;
    }
    edge(prev, "c0", hops.back()["offset"], "", false);
  }
  for (size_t i = 0; i < ring.size(); ++i)
    node("c" + std::to_string(i), ring[i]["address"], ring[i]["label"],
         ring[i]["size"].get<uint64_t>(), i == 0);
  for (size_t i = 0; i < ring.size(); ++i) {
    const bool closing = i + 1 == ring.size();
    edge("c" + std::to_string(i), closing ? "c0" : "c" + std::to_string(i + 1), ring[i]["offset"],
         "finalizer closure", closing);
  }
  out << "}\n";
}

}  // namespace

int run_cycles(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  VerbParser parser(
      "cycles",
      "[--all] [--min-bytes B] [--limit N] [--cycle N] [--members-limit M] [options] FILE\n"
      "Reference cycles of two or more objects, largest retained first, with what holds each\n"
      "one, the edge that closes it, and whether Go can ever free it.",
      {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kDot});
  bool all = false;
  std::string min_bytes_text = "0";
  uint64_t limit = 10, cycle_number = 0, members_limit = 1000;
  parser.options().add_options()("all", po::bool_switch(&all), "unreachable cycles too")(
      "min-bytes", po::value(&min_bytes_text), "only cycles retaining at least B (e.g. 1MiB)")(
      "limit", po::value<uint64_t>(&limit)->default_value(10), "show at most N cycles (0: all)")(
      "cycle", po::value<uint64_t>(&cycle_number),
      "only the Nth cycle (1 = the largest); with --format dot, the one drawn")(
      "members-limit", po::value<uint64_t>(&members_limit)->default_value(1000),
      "list at most M member addresses per cycle in JSON (0: all)");
  const ShowContentsOption show_contents(
      parser, "each object of the ring (not with --format dot: DOT output never holds contents)");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  const uint64_t contents_bytes = show_contents.bytes("cycles");
  if (contents_bytes && options.format == OutputFormat::kDot)
    throw UsageError(
        "cycles: --show-contents does not apply to --format dot (DOT output never holds object "
        "contents)");
  if (parser.values().count("cycle") && cycle_number == 0)
    throw UsageError("cycles: --cycle counts from 1");
  const uint64_t min_bytes = parse_size(min_bytes_text);

  const Snapshot s = load_snapshot(options.files.front(), options.load);
  if (s.facts().truncated) throw UsageError("cycles: the dump was cut short: liveness is unknown");
  std::unique_ptr<ElfSymbols> binary = open_binary(options, s, std::cerr);
  const Labels labels = labels_of(s, binary.get());
  const MarkResult full = mark(s);
  const FinalizerAnalysis finalizers = analyze_finalizers(s, full, mark(s, kMaskWithoutFinalizers));
  const RootPaths paths = compute_root_paths(s);
  // Components and their dominators read no contents and are this verb's
  // peak: the dump's mapped pages go back to the page cache first.
  s.input().release_resident_pages();
  const CycleAnalysis analysis =
      find_cycles(s, full, finalizers, paths, &labels, CycleOptions{.all_objects = all});
  const PathContext c{s, labels, binary.get(), nullptr};

  Json j;
  j["schema"] = report::kJsonSchema;
  j["file"] = options.files.front();
  j["objects"] = all ? "all" : "live";
  j["live_bytes"] = full.live_bytes;
  j["total"] = {
      {"cycles", analysis.cycles.size()}, {"objects", analysis.objects}, {"bytes", analysis.bytes}};
  if (cycle_number > analysis.cycles.size())
    throw UsageError("cycles: --cycle " + std::to_string(cycle_number) + ": there are only " +
                     std::to_string(analysis.cycles.size()) + " cycles");
  Json list = Json::array();
  const bool dot = options.format == OutputFormat::kDot;
  for (size_t i = 0; i < analysis.cycles.size(); ++i) {
    if (cycle_number && i + 1 != cycle_number) continue;
    const Cycle& cycle = analysis.cycles[i];
    if (cycle.retained < min_bytes) continue;
    if ((limit && list.size() >= limit) || (dot && !list.empty())) break;
    list.push_back(cycle_json(c, cycle, i + 1, members_limit, contents_bytes));
  }
  j["shown"] = list.size();
  j["cycles"] = std::move(list);
  if (contents_bytes) mark_sensitive(j);
  if (dot) {
    render_dot(j, std::cout);
    return kExitOk;
  }
  return print_result(options.format, j, render_text);
}

}  // namespace heapwalk::cli

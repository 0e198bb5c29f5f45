#include "retention_path.h"

#include <algorithm>
#include <ostream>

#include "heapwalk/report/format.h"
#include "heapwalk/symbols/root_name.h"
#include "object_contents.h"

namespace heapwalk::cli {

using report::Json;

const Root& root_of_path(const Snapshot& s, const std::vector<uint32_t>& path) {
  return s.roots()[s.edge_offset(path.front())];
}

namespace {

// Why a finalizer root holds what it holds, in the runtime's terms
// (passes/finalizers.h); "" for other roots.
std::string finalizer_note(const Snapshot& s, const Root& r) {
  if (r.kind != RootKind::kFinalizer && r.kind != RootKind::kQueuedFinalizer) return "";
  const std::string of = r.owner < s.facts().finalizers.size()
                             ? report::hex(s.facts().finalizers[r.owner].object)
                             : std::string("its object");
  if (r.kind == RootKind::kQueuedFinalizer)
    return "held by a finalizer queued to run for " + of + ": freed once it has run";
  if (r.role == RootRole::kFuncval)
    return "held by the finalizer function registered for " + of +
           ": alive while the finalizer stays registered";
  return "held only through " + of + ", which has a finalizer: the runtime keeps what " + of +
         " points at until that finalizer has run";
}

}  // namespace

Json root_json(const PathContext& c, const Root& r) {
  Json j = {{"kind", root_kind_name(r.kind)}, {"name", root_name(c.s, r, c.binary)}};
  if (uint64_t a = root_address(c.s, r))
    j["address"] = report::hex(a);  // data/bss: the word's address
  if (std::string note = finalizer_note(c.s, r); !note.empty()) j["note"] = std::move(note);
  return j;
}

// One path to v: `edges` as RootPaths::path_to gives them; `rank` 1 for the
// shortest, 2.. for the alternatives through other referrers (-k).
Json path_json(const PathContext& c, ObjectId v, const std::vector<uint32_t>& edges, size_t rank) {
  Json target = {{"address", report::hex(c.s.address(v))},
                 {"size", c.s.size(v)},
                 {"label", c.labels.label(c.s, v)}};
  if (c.tree) target["retained"] = c.tree->retained[v];
  const Root& root = root_of_path(c.s, edges);
  Json hops = Json::array();
  const GraphView g = c.s.view();
  for (size_t i = 0; i < edges.size(); ++i) {
    const ObjectId h = g.targets[edges[i]];
    Json hop = {{"address", report::hex(c.s.address(h))},
                {"size", c.s.size(h)},
                {"label", c.labels.label(c.s, h)}};
    if (i > 0)
      hop["offset"] = c.s.edge_offset(edges[i]);
    else if (root.role == RootRole::kField)
      hop["offset"] = root.offset;
    else
      hop["offset"] = nullptr;
    hops.push_back(std::move(hop));
  }
  return {{"target", std::move(target)},
          {"rank", rank},
          {"root", root_json(c, root)},
          {"hops", std::move(hops)}};
}

std::string offset_text(const Json& offset) {
  return offset.is_null() ? std::string() : "+" + report::hex(offset.get<uint64_t>());
}

std::string root_text(const Json& root) {
  return root["kind"].get<std::string>() + " " + report::safe_text(root["name"].get<std::string>());
}

void render_path(const Json& p, uint64_t live, std::ostream& out) {
  const Json& t = p["target"];
  if (p["rank"].get<uint64_t>() == 1) {
    out << "\n"
        << report::safe_text(t["label"].get<std::string>()) << " "
        << t["address"].get<std::string>() << " ("
        << report::bytes_human(t["size"].get<uint64_t>());
    if (t.contains("retained"))
      out << ", retains " << report::bytes_human(t["retained"].get<uint64_t>()) << " = "
          << report::percent(t["retained"].get<uint64_t>(), live) << " of live";
    out << ")";
    if (p.contains("referrers"))
      out << ", " << report::count(p["referrers"].get<uint64_t>())
          << (p["referrers"].get<uint64_t>() == 1 ? " referrer" : " referrers");
    if (p.value("referrers_through_target", uint64_t{0}) > 0)
      out << " (and " << report::count(p["referrers_through_target"].get<uint64_t>())
          << " reached only through it)";
    out << "\n";
  } else {
    out << "  also held through another referrer (path " << p["rank"].get<uint64_t>() << "):\n";
  }
  out << "  " << root_text(p["root"]) << "\n";
  if (p["root"].contains("note"))
    out << "  (" << report::safe_text(p["root"]["note"].get<std::string>()) << ")\n";
  render_hops(p["hops"], out);
  if (t.contains("contents"))
    render_contents(t["contents"], "  ", out, t["address"].get<std::string>());
}

void render_hops(const Json& hops, std::ostream& out) {
  size_t w = 0;
  std::vector<std::string> offsets, sizes;
  size_t ws = 0;
  for (const Json& h : hops) {
    offsets.push_back(offset_text(h["offset"]));
    sizes.push_back(report::bytes_human(h["size"].get<uint64_t>()));
    w = std::max(w, offsets.back().size());
    ws = std::max(ws, sizes.back().size());
  }
  size_t i = 0;
  for (const Json& h : hops) {
    out << "    " << offsets[i] << std::string(w - offsets[i].size(), ' ') << " -> "
        << h["address"].get<std::string>() << "  " << std::string(ws - sizes[i].size(), ' ')
        << sizes[i] << "  " << report::safe_text(h["label"].get<std::string>()) << "\n";
    if (h.contains("contents")) render_contents(h["contents"], "      ", out);
    ++i;
  }
}

std::string dot_escape(const std::string& text) {
  std::string out;
  for (char ch : report::safe_text(text)) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += ch;
    }
  }
  return out;
}

}  // namespace heapwalk::cli

// Shortest retention paths as JSON, text and DOT pieces, shared by the verbs
// that show why an object is alive (paths, cycles).
#include "retention_path.h"

#include <algorithm>

#include "heapwalk/report/format.h"
#include "heapwalk/symbols/root_name.h"

namespace heapwalk::cli {

using report::Json;

const Root& root_of_path(const RetentionContext& c, const std::vector<uint32_t>& path) {
  return c.s.roots()[c.s.edge_offset(path.front())];
}

Json root_json(const RetentionContext& c, const Root& r) {
  Json j = {{"kind", root_kind_name(r.kind)}, {"name", root_name(c.s, r, c.binary)}};
  if (uint64_t a = root_address(c.s, r))
    j["address"] = report::hex(a);  // data/bss: the word's address
  return j;
}

Json path_json(const RetentionContext& c, ObjectId v) {
  const std::vector<uint32_t> edges = c.paths.path_to(v);
  Json target = {{"address", report::hex(c.s.address(v))},
                 {"size", c.s.size(v)},
                 {"label", c.labels.label(c.s, v)}};
  if (c.tree) target["retained"] = c.tree->retained[v];
  const Root& root = root_of_path(c, edges);
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
  return {{"target", std::move(target)}, {"root", root_json(c, root)}, {"hops", std::move(hops)}};
}

std::string offset_text(const Json& offset) {
  return offset.is_null() ? std::string() : "+" + report::hex(offset.get<uint64_t>());
}

std::string root_text(const Json& root) {
  return root["kind"].get<std::string>() + " " + report::safe_text(root["name"].get<std::string>());
}

void render_path(const Json& p, uint64_t live, std::ostream& out) {
  const Json& t = p["target"];
  out << report::safe_text(t["label"].get<std::string>()) << " " << t["address"].get<std::string>()
      << " (" << report::bytes_human(t["size"].get<uint64_t>());
  if (t.contains("retained"))
    out << ", retains " << report::bytes_human(t["retained"].get<uint64_t>()) << " = "
        << report::percent(t["retained"].get<uint64_t>(), live) << " of live";
  out << ")\n  " << root_text(p["root"]) << "\n";
  size_t w = 0;
  std::vector<std::string> offsets, sizes;
  size_t ws = 0;
  for (const Json& h : p["hops"]) {
    offsets.push_back(offset_text(h["offset"]));
    sizes.push_back(report::bytes_human(h["size"].get<uint64_t>()));
    w = std::max(w, offsets.back().size());
    ws = std::max(ws, sizes.back().size());
  }
  size_t i = 0;
  for (const Json& h : p["hops"]) {
    out << "    " << offsets[i] << std::string(w - offsets[i].size(), ' ') << " -> "
        << h["address"].get<std::string>() << "  " << std::string(ws - sizes[i].size(), ' ')
        << sizes[i] << "  " << report::safe_text(h["label"].get<std::string>()) << "\n";
    ++i;
  }
}

// DOT string literal contents: quotes, backslashes and line breaks escaped.
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

// heapwalk histogram FILE [--by type|site|size] [--all] [-n N] [--format text|json] [--binary EXE]
//
// Count and bytes per label, largest bytes first (ties by label), over live
// objects (Go's mark), or over every object with --all. Phantom records (Go
// 1.22+ span bitmaps) are not objects and are never counted.
//
// Grouping (passes/labels.h):
// - type (default): the one display label: type, else "[site] ...", else
//   "[N-byte object]".
// - site: the allocation site; objects without one fall back to their
//   display label, so that no bytes disappear from the table.
// - size: the slot size ("[N-byte object]").
// A row carries "type" / "site" in JSON when every object in it has the same
// one. Over live objects each row also has "retained": the bytes that would
// go if every object of the row went, each nested member counted once
// (passes/retained_by_group.h). The JSON is built first and the text
// rendered from it.
#include <algorithm>
#include <iostream>
#include <unordered_map>

#include "common_options.h"
#include "heapwalk/cache/cached_analyses.h"
#include "heapwalk/error.h"
#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/labels.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/passes/retained_by_group.h"
#include "heapwalk/report/format.h"
#include "heapwalk/report/json.h"
#include "heapwalk/truncation.h"
#include "verb.h"

namespace heapwalk::cli {

using report::Json;

namespace {

constexpr uint32_t kMixed = ~uint32_t{0};

struct Row {
  std::string label;
  uint64_t count = 0, bytes = 0, retained = 0;
  uint32_t type = 0, site = 0;  // common type/site index, kMixed when they differ
};

void merge(uint32_t& common, uint32_t value, bool first) {
  if (first)
    common = value;
  else if (common != value)
    common = kMixed;
}

Json build(const Snapshot& s, const Labels& labels, const MarkResult* live, const std::string& by,
           uint64_t limit, const std::string& file) {
  std::unordered_map<std::string, size_t> index;
  std::vector<Row> rows;
  std::vector<uint32_t> group_of(live ? s.vertex_count() : 0, kNoGroup);
  uint64_t total_count = 0, total_bytes = 0;
  for (ObjectId id = 1; id < s.vertex_count(); ++id) {
    if (s.is_phantom(id) || (live && !live->is_live(id))) continue;
    std::string key;
    if (by == "size")
      key = "[" + std::to_string(s.size(id)) + "-byte object]";
    else if (by == "site" && labels.site(id))
      key = labels.site(id)->label();
    else
      key = labels.label(s, id);
    auto [it, fresh] = index.try_emplace(key, rows.size());
    if (fresh) rows.push_back(Row{key});
    Row& r = rows[it->second];
    if (live) group_of[id] = static_cast<uint32_t>(it->second);
    merge(r.type, labels.type_index(id), r.count == 0);
    merge(r.site, labels.site_index(id), r.count == 0);
    ++r.count;
    r.bytes += s.size(id);
    ++total_count;
    total_bytes += s.size(id);
  }
  if (live) {
    const DominatorTree tree = heap_dominators(s);
    const GroupRetained retained = retained_by_group(tree, dominator_children(tree), kSuperRoot,
                                                     group_of, static_cast<uint32_t>(rows.size()));
    for (size_t i = 0; i < rows.size(); ++i) rows[i].retained = retained.bytes[i];
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.label < b.label;
  });

  Json j;
  j["schema"] = report::kJsonSchema;
  j["file"] = file;
  j["by"] = by;
  j["objects"] = live ? "live" : "all";
  Json out = Json::array();
  uint64_t shown = 0;
  for (const Row& r : rows) {
    if (limit && shown == limit) break;
    ++shown;
    Json row = {{"label", r.label}, {"count", r.count}, {"bytes", r.bytes}};
    if (live) row["retained"] = r.retained;
    if (r.type != kMixed && r.type != 0) row["type"] = labels.type_names()[r.type];
    if (r.site != kMixed && r.site != 0) row["site"] = labels.sites()[r.site].label();
    out.push_back(std::move(row));
  }
  j["rows"] = std::move(out);
  uint64_t rest_count = total_count, rest_bytes = total_bytes;
  for (const Json& r : j["rows"]) {
    rest_count -= r["count"].get<uint64_t>();
    rest_bytes -= r["bytes"].get<uint64_t>();
  }
  j["total"] = {{"count", total_count}, {"bytes", total_bytes}, {"labels", rows.size()}};
  j["not_shown"] = {{"labels", rows.size() - shown}, {"count", rest_count}, {"bytes", rest_bytes}};
  return j;
}

void render_text(const Json& j, std::ostream& out) {
  using report::bytes_human;
  using report::count;
  const Json& t = j["total"];
  out << report::safe_text(j["file"].get<std::string>()) << ": " << j["objects"].get<std::string>()
      << " objects by " << j["by"].get<std::string>() << ": " << count(t["count"].get<uint64_t>())
      << " objects, " << bytes_human(t["bytes"].get<uint64_t>()) << ", "
      << count(t["labels"].get<uint64_t>()) << " labels\n\n";
  std::vector<std::string> counts, sizes, shares, retained;
  size_t wc = 5, ws = 5, wp = 5, wr = 8;
  const bool has_retained = !j["rows"].empty() && j["rows"][0].contains("retained");
  for (const Json& r : j["rows"]) {
    counts.push_back(count(r["count"].get<uint64_t>()));
    sizes.push_back(bytes_human(r["bytes"].get<uint64_t>()));
    retained.push_back(has_retained ? bytes_human(r["retained"].get<uint64_t>()) : "");
    wr = std::max(wr, retained.back().size());
    shares.push_back(report::percent(r["bytes"].get<uint64_t>(), t["bytes"].get<uint64_t>()));
    wc = std::max(wc, counts.back().size());
    ws = std::max(ws, sizes.back().size());
    wp = std::max(wp, shares.back().size());
  }
  auto pad = [](const std::string& s, size_t w) {
    return std::string(w > s.size() ? w - s.size() : 0, ' ') + s;
  };
  out << "  " << pad("count", wc) << "  " << pad("bytes", ws) << "  " << pad("share", wp)
      << (has_retained ? "  " + pad("retained", wr) : "") << "  label\n";
  size_t i = 0;
  for (const Json& r : j["rows"]) {
    out << "  " << pad(counts[i], wc) << "  " << pad(sizes[i], ws) << "  " << pad(shares[i], wp)
        << (has_retained ? "  " + pad(retained[i], wr) : "") << "  "
        << report::safe_text(r["label"].get<std::string>()) << "\n";
    ++i;
  }
  const Json& rest = j["not_shown"];
  if (rest["labels"].get<uint64_t>())
    out << "  ... " << count(rest["labels"].get<uint64_t>())
        << " more labels: " << count(rest["count"].get<uint64_t>()) << " objects, "
        << bytes_human(rest["bytes"].get<uint64_t>()) << " (-n 0 shows all)\n";
}

}  // namespace

int run_histogram(const std::vector<std::string>& args) {
  VerbParser parser(
      "histogram",
      "[--by type|site|size] [--all] [-n N] [options] FILE\n"
      "Count and bytes per label (type, else allocation site, else size), live objects only\n"
      "unless --all, largest first.");
  std::string by = "type";
  uint64_t limit = 20;
  parser.options().add_options()("by", boost::program_options::value(&by)->default_value("type"),
                                 "group by type, site or size")(
      "all", "count every object, not only live ones")(
      "limit,n", boost::program_options::value<uint64_t>(&limit)->default_value(20),
      "show N rows (0: all)");
  CommonOptions options;
  if (!parser.parse(args, options)) return kExitOk;
  if (by != "type" && by != "site" && by != "size")
    throw UsageError("histogram: unknown --by '" + by + "' (type, site or size)");
  const Snapshot snapshot = load_snapshot(options.files.front(), options.load);
  std::unique_ptr<ElfSymbols> binary = open_binary(options, snapshot, std::cerr);
  const bool all = parser.values().count("all") > 0;
  if (!all)
    require_roots(snapshot.facts(), options.files.front(), "histogram",
                  "--all counts every object read, live or not");
  const Labels labels = labels_of(snapshot, binary.get());
  MarkResult live;
  if (!all) live = mark(snapshot);
  Json j = build(snapshot, labels, all ? nullptr : &live, by, limit, options.files.front());
  return print_result(options.format, j, render_text);
}

}  // namespace heapwalk::cli

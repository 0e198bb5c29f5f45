#include "heapwalk/cache/cached_analyses.h"

#include <optional>
#include <string_view>

#include "heapwalk/cache/analysis_cache.h"
#include "heapwalk/symbols/elf_symbols.h"

namespace heapwalk {

void save_labels(const Labels& l, CacheFileWriter& w) {
  w.array(l.type_of_);
  static_assert(sizeof(TypeSource) == 1);
  w.array(l.source_);
  w.array(l.site_of_);
  w.u64(l.type_names_.size());
  for (const std::string& name : l.type_names_) w.str(name);
  w.u64(l.sites_.size());
  for (const AllocSite& site : l.sites_) {
    w.str(site.allocator);
    w.str(site.caller);
  }
  static_assert(std::is_trivially_copyable_v<LabelCounts>);
  w.bytes(&l.counts_, sizeof l.counts_);
}

Labels restore_labels(CacheFileReader& r, const Snapshot& s) {
  Labels l;
  l.type_of_ = r.array<uint32_t>();
  l.source_ = r.array<TypeSource>();
  l.site_of_ = r.array<uint32_t>();
  l.type_names_.resize(r.count(8));
  for (std::string& name : l.type_names_) name = r.str();
  l.sites_.resize(r.count(16));
  for (AllocSite& site : l.sites_) {
    site.allocator = r.str();
    site.caller = r.str();
  }
  r.bytes(&l.counts_, sizeof l.counts_);
  r.finish();
  const size_t V = s.vertex_count();
  if (l.type_of_.size() != V || l.source_.size() != V || l.site_of_.size() != V)
    throw CacheCorrupt("labels for another number of objects");
  if (l.type_names_.empty() || l.sites_.empty()) throw CacheCorrupt("empty label tables");
  for (size_t v = 0; v < V; ++v) {
    if (l.type_of_[v] >= l.type_names_.size() || l.site_of_[v] >= l.sites_.size())
      throw CacheCorrupt("label index out of range");
    if (static_cast<uint8_t>(l.source_[v]) > static_cast<uint8_t>(TypeSource::kDwarf))
      throw CacheCorrupt("bad type source");
  }
  return l;
}

namespace {

// Labels made with an executable depend on all of it (symbols, DWARF) and on
// the load bias matched to the dump: they are kept apart by this hash.
uint64_t executable_variant(const ElfSymbols& binary) {
  const std::span<const uint8_t> bytes = binary.bytes();
  uint64_t h = std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  h ^= static_cast<uint64_t>(binary.load_bias()) * 0x9e3779b97f4a7c15ull;
  return h | 1;  // never 0, which means "no executable"
}

}  // namespace

Labels labels_of(const Snapshot& s, const ElfSymbols* binary) {
  AnalysisCache* cache = s.cache();
  const uint64_t variant = binary ? executable_variant(*binary) : 0;
  if (cache) {
    std::optional<Labels> restored;
    if (cache->load(
            CacheSection::kLabels,
            [&](CacheFileReader& in) { restored.emplace(restore_labels(in, s)); }, variant))
      return std::move(*restored);
  }
  Labels labels = compute_labels(s, binary);
  if (cache)
    cache->store(
        CacheSection::kLabels, [&](CacheFileWriter& out) { save_labels(labels, out); }, variant);
  return labels;
}

std::vector<uint64_t> object_weights(const Snapshot& s) {
  std::vector<uint64_t> weight(s.vertex_count(), 0);
  for (ObjectId v = 1; v < s.vertex_count(); ++v) weight[v] = s.size(v);
  return weight;
}

namespace {

DominatorTree restore_dominators(CacheFileReader& r, const Snapshot& s) {
  DominatorTree tree;
  tree.idom = r.array<uint32_t>();
  tree.preorder = r.array<uint32_t>();
  r.finish();
  const uint32_t V = s.vertex_count();
  if (tree.idom.size() != V || tree.preorder.empty() || tree.preorder.size() > V ||
      tree.preorder.front() != kSuperRoot || tree.idom[kSuperRoot] != kSuperRoot)
    throw CacheCorrupt("dominator tree of another shape");
  std::vector<uint32_t> position(V, kNoDominator);
  for (uint32_t i = 0; i < tree.preorder.size(); ++i) {
    const uint32_t v = tree.preorder[i];
    if (v >= V || position[v] != kNoDominator) throw CacheCorrupt("bad dominator preorder");
    position[v] = i;
  }
  for (uint32_t v = 0; v < V; ++v) {
    const uint32_t d = tree.idom[v];
    if ((d == kNoDominator) != (position[v] == kNoDominator))
      throw CacheCorrupt("dominator tree and preorder disagree");
    if (d != kNoDominator && v != kSuperRoot && (d >= V || position[d] >= position[v]))
      throw CacheCorrupt("immediate dominator after its vertex");
  }
  // Children come after their dominator in preorder: reverse preorder sums
  // each subtree before its root is added to its own dominator.
  tree.retained.assign(V, 0);
  for (uint32_t v : tree.preorder) tree.retained[v] = v == kSuperRoot ? 0 : s.size(v);
  for (size_t i = tree.preorder.size(); i-- > 1;) {
    const uint32_t v = tree.preorder[i];
    tree.retained[tree.idom[v]] += tree.retained[v];
  }
  return tree;
}

}  // namespace

DominatorTree heap_dominators(const Snapshot& s) {
  AnalysisCache* cache = s.cache();
  if (cache) {
    std::optional<DominatorTree> restored;
    if (cache->load(CacheSection::kDominators,
                    [&](CacheFileReader& in) { restored.emplace(restore_dominators(in, s)); }))
      return std::move(*restored);
  }
  // The dominators read no contents, and their arrays are the peak of every
  // verb that needs them: the dump's mapped pages go back to the page cache
  // first (on the 3.5M-object dump, top's peak RSS 541 -> 396 MiB).
  s.input().release_resident_pages();
  DominatorTree tree = compute_dominators(s.view(), kSuperRoot, object_weights(s));
  if (cache) {
    cache->store(CacheSection::kDominators, [&](CacheFileWriter& out) {
      out.array(tree.idom);
      out.array(tree.preorder);
    });
  }
  return tree;
}

}  // namespace heapwalk

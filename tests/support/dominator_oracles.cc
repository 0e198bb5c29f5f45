#include "support/dominator_oracles.h"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dominator_tree.hpp>
#include <boost/property_map/property_map.hpp>
#include <limits>

namespace heapwalk::test {

CsrGraph CsrGraph::from_edges(uint32_t vertex_count,
                              const std::vector<std::pair<uint32_t, uint32_t>>& edges) {
  CsrGraph g;
  g.rowstart.assign(size_t{vertex_count} + 1, 0);
  for (const auto& [from, to] : edges) ++g.rowstart[from + 1];
  for (uint32_t v = 0; v < vertex_count; ++v) g.rowstart[v + 1] += g.rowstart[v];
  g.targets.resize(edges.size());
  std::vector<uint32_t> cursor(g.rowstart.begin(), g.rowstart.end() - 1);
  for (const auto& [from, to] : edges) g.targets[cursor[from]++] = to;
  return g;
}

namespace {

// Vertices reachable from root without passing through `removed` (which may
// be kNoDominator: remove nothing). An explicit stack, like everything else.
std::vector<bool> reach(const CsrGraph& g, uint32_t root, uint32_t removed) {
  std::vector<bool> seen(g.vertex_count(), false);
  if (root == removed) return seen;
  std::vector<uint32_t> stack{root};
  seen[root] = true;
  while (!stack.empty()) {
    const uint32_t v = stack.back();
    stack.pop_back();
    for (uint32_t w : g.view().successors(v)) {
      if (w == removed || seen[w]) continue;
      seen[w] = true;
      stack.push_back(w);
    }
  }
  return seen;
}

}  // namespace

OracleDominators naive_dominators(const CsrGraph& g, uint32_t root,
                                  const std::vector<uint64_t>& weight) {
  const uint32_t n = g.vertex_count();
  const std::vector<bool> live = reach(g, root, kNoDominator);
  // dom[d][v]: d dominates v (reflexive, for reachable d and v).
  std::vector<std::vector<bool>> dom(n, std::vector<bool>(n, false));
  for (uint32_t d = 0; d < n; ++d) {
    if (!live[d]) continue;
    const std::vector<bool> without = reach(g, root, d);
    for (uint32_t v = 0; v < n; ++v) dom[d][v] = live[v] && !without[v];
  }

  OracleDominators r;
  r.idom.assign(n, kNoDominator);
  r.retained.assign(n, 0);
  for (uint32_t v = 0; v < n; ++v) {
    if (!live[v]) continue;
    for (uint32_t w = 0; w < n; ++w) {
      if (dom[v][w]) r.retained[v] += weight[w];
    }
    if (v == root) {
      r.idom[v] = root;
      continue;
    }
    for (uint32_t d = 0; d < n; ++d) {
      if (d == v || !dom[d][v]) continue;
      bool dominated_by_all_others = true;
      for (uint32_t e = 0; e < n && dominated_by_all_others; ++e) {
        if (e != v && e != d && dom[e][v] && !dom[e][d]) dominated_by_all_others = false;
      }
      if (dominated_by_all_others) {
        r.idom[v] = d;  // unique: two such vertices would dominate each other
        break;
      }
    }
  }
  return r;
}

std::vector<uint32_t> boost_idoms(const CsrGraph& g, uint32_t root) {
  using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;
  using Vertex = boost::graph_traits<BoostGraph>::vertex_descriptor;
  using Size = boost::graph_traits<BoostGraph>::vertices_size_type;

  const uint32_t n = g.vertex_count();
  const std::vector<bool> live = reach(g, root, kNoDominator);
  // Dense ids for the reachable part only: unreachable vertices and their
  // edges never enter Boost's graph.
  std::vector<uint32_t> to_sub(n, kNoDominator), to_full;
  for (uint32_t v = 0; v < n; ++v) {
    if (live[v]) {
      to_sub[v] = static_cast<uint32_t>(to_full.size());
      to_full.push_back(v);
    }
  }
  const Size m = to_full.size();
  BoostGraph sub(m);
  for (uint32_t v = 0; v < n; ++v) {
    if (!live[v]) continue;
    for (uint32_t w : g.view().successors(v)) boost::add_edge(to_sub[v], to_sub[w], sub);
  }

  // The full overload's preconditions: every map sized to the vertex count,
  // unvisited vertices marked max() in the time map and null_vertex() in the
  // predecessor map (here everything is reachable, so the DFS overwrites them).
  const auto index = boost::get(boost::vertex_index, sub);
  std::vector<Size> dfnum(m, std::numeric_limits<Size>::max());
  std::vector<Vertex> dfs_parent(m, boost::graph_traits<BoostGraph>::null_vertex());
  std::vector<Vertex> preorder(m, boost::graph_traits<BoostGraph>::null_vertex());
  std::vector<Vertex> dom_parent(m, boost::graph_traits<BoostGraph>::null_vertex());
  boost::lengauer_tarjan_dominator_tree(
      sub, static_cast<Vertex>(to_sub[root]), index,
      boost::make_iterator_property_map(dfnum.begin(), index),
      boost::make_iterator_property_map(dfs_parent.begin(), index), preorder,
      boost::make_iterator_property_map(dom_parent.begin(), index));

  std::vector<uint32_t> idom(n, kNoDominator);
  for (Size s = 0; s < m; ++s) {
    const Vertex d = dom_parent[s];
    idom[to_full[s]] = d == boost::graph_traits<BoostGraph>::null_vertex()
                           ? to_full[s]  // only the entry has none
                           : to_full[d];
  }
  return idom;
}

}  // namespace heapwalk::test

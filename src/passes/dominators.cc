// Semi-NCA dominators over the snapshot's CSR arrays (see the header for the
// contract and the papers). Everything after the first DFS works in DFS-number
// space: vertex 0 is the root, and a vertex's DFS-tree ancestors, its
// semidominator and its idom all have smaller numbers than it. That is what
// makes every later phase a plain loop over 0..n-1 or n-1..0.
#include "heapwalk/passes/dominators.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

namespace heapwalk {

namespace {

constexpr uint32_t kUnreached = ~uint32_t{0};
// How far ahead the loops below ask for cache lines. Random heaps make every
// phase a string of cache misses (hundreds of ns each on a busy VM); a small
// look-ahead lets several be in flight at once.
constexpr uint32_t kPrefetchEdges = 4;
constexpr uint32_t kPrefetchPreds = 16;

// One frame of the iterative DFS: the vertex's remaining out-edges and where
// its numbered copies go in `out`.
struct Frame {
  uint32_t edge;  // next edge of the vertex to look at
  uint32_t end;   // one past its last edge
  uint32_t out;   // slot in `out` for the number of the target of `edge`
  uint32_t self;  // the vertex's DFS number
};

// Per-vertex state of the semidominator phase, packed so that eval() touches
// one cache line per vertex on its path.
struct SemiInfo {
  uint32_t ancestor;  // link-eval forest (compressed); DFS parent until compressed
  uint32_t label;     // vertex of minimum semi on the compressed path
  uint32_t semi;      // semidominator (a DFS number)
};

}  // namespace

DominatorTree compute_dominators(const GraphView& graph, uint32_t root,
                                 std::span<const uint64_t> weight) {
  const uint32_t V = graph.vertex_count;
  if (root >= V) {
    throw std::invalid_argument("compute_dominators: root " + std::to_string(root) +
                                " is not a vertex (vertex_count " + std::to_string(V) + ")");
  }
  if (weight.size() != V) {
    throw std::invalid_argument("compute_dominators: " + std::to_string(weight.size()) +
                                " weights for " + std::to_string(V) + " vertices");
  }
  const uint32_t* const rowstart = graph.rowstart;
  const uint32_t* const targets = graph.targets;

  // --- 1. Depth-first search from the root, with an explicit stack. ---------
  // It must be a true DFS (one edge at a time, not "push all successors"):
  // semidominators rely on every edge v->w with num(v) < num(w) coming from
  // an ancestor of w. While scanning, each edge's target number is written
  // into `out`, a CSR of the reached subgraph in number space laid out in
  // preorder (a vertex's row start is known when it is discovered: the sum of
  // the degrees of the vertices discovered before it). That makes building
  // the predecessor lists a sequential read instead of a second pass of random
  // lookups into `num`, which on big heaps is the cost that matters.
  std::vector<uint32_t> num(V, kUnreached);
  std::vector<uint32_t> order(V);  // number -> vertex; trimmed to n below
  auto parent = std::make_unique_for_overwrite<uint32_t[]>(V);
  auto in_degree = std::make_unique<uint32_t[]>(size_t{V} + 1);  // zeroed
  auto out = std::make_unique_for_overwrite<uint32_t[]>(graph.edge_count());
  uint32_t n = 0;
  uint32_t out_end = 0;
  std::vector<Frame> stack;

  auto discover = [&](uint32_t v, uint32_t parent_number) {
    const uint32_t i = n++;
    num[v] = i;
    order[i] = v;
    parent[i] = parent_number;
    const uint32_t begin = rowstart[v], end = rowstart[v + 1];
    // The search is one long chain of dependent cache misses (number of the
    // target -> its row start -> its edges -> ...). Asking for the first
    // few targets' numbers and row starts now overlaps those misses.
    for (uint32_t e = begin; e < end && e < begin + kPrefetchEdges; ++e) {
      __builtin_prefetch(&num[targets[e]]);
      __builtin_prefetch(&rowstart[targets[e]]);
    }
    stack.push_back({begin, end, out_end, i});
    out_end += end - begin;
  };

  discover(root, 0);
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.edge == f.end) {
      stack.pop_back();
      continue;
    }
    if (f.edge + kPrefetchEdges < f.end) {
      const uint32_t ahead = targets[f.edge + kPrefetchEdges];
      __builtin_prefetch(&num[ahead]);
      __builtin_prefetch(&rowstart[ahead]);
    }
    const uint32_t w = targets[f.edge++];
    uint32_t j = num[w];
    const bool fresh = j == kUnreached;
    if (fresh) j = n;
    out[f.out++] = j;
    ++in_degree[j];
    if (fresh) discover(w, f.self);  // invalidates f
  }
  std::vector<Frame>().swap(stack);
  order.resize(n);

  // --- 2. Predecessor lists in number space (reverse CSR). ------------------
  // Only reached vertices ever wrote to `out`, so garbage pointing into the
  // live graph is already gone: this is the condition Boost gets wrong.
  // Filled back to front, so pred_start ends as row starts.
  auto pred_start = std::move(in_degree);
  for (uint32_t i = 1; i <= n; ++i) pred_start[i] += pred_start[i - 1];  // row ends; [n] = total
  auto pred = std::make_unique_for_overwrite<uint32_t[]>(out_end);
  {
    uint32_t row_end = out_end;
    for (uint32_t i = n; i-- > 0;) {
      const uint32_t v = order[i];
      const uint32_t row_begin = row_end - (rowstart[v + 1] - rowstart[v]);
      for (uint32_t k = row_end; k-- > row_begin;) pred[--pred_start[out[k]]] = i;
      row_end = row_begin;
    }
  }
  out.reset();

  // --- 3. Semidominators, in reverse preorder, with link-eval. --------------
  // Vertices numbered above w are linked into the forest (ancestor = their
  // DFS parent, compressed over time); those at or below are not, so
  // eval(v) for v <= w is v itself with semi(v) = v. eval walks up to the
  // first unlinked ancestor on an explicit stack, then compresses the path on
  // the way back down (Tarjan's simple path compression, no recursion).
  auto info = std::make_unique_for_overwrite<SemiInfo[]>(n);
  for (uint32_t i = 0; i < n; ++i) info[i] = {parent[i], i, i};
  std::vector<uint32_t> path;

  auto eval = [&](uint32_t v, uint32_t last_linked) -> uint32_t {
    if (info[v].ancestor < last_linked) return info[v].label;
    // Collect v's ancestors up to (excluding) the forest root's child's parent.
    uint32_t x = v;
    do {
      path.push_back(x);
      x = info[x].ancestor;
    } while (info[x].ancestor >= last_linked);
    // x is the topmost linked vertex on the path; its ancestor is the root of
    // the forest tree and its label is already correct. Walk back down.
    uint32_t p = x;
    uint32_t p_label_semi = info[info[p].label].semi;
    do {
      const uint32_t y = path.back();
      path.pop_back();
      info[y].ancestor = info[p].ancestor;
      const uint32_t y_label_semi = info[info[y].label].semi;
      if (p_label_semi < y_label_semi) {
        info[y].label = info[p].label;
      } else {
        p_label_semi = y_label_semi;
      }
      p = y;
    } while (!path.empty());
    return info[v].label;
  };

  for (uint32_t w = n; w-- > 1;) {
    // semi(w) starts at the DFS parent (a predecessor with a smaller number).
    uint32_t semi = parent[w];
    // Rows are visited from the last to the first and each row backwards, so
    // the predecessor array is read strictly backwards: look ahead that way.
    for (uint32_t k = pred_start[w + 1], begin = pred_start[w]; k-- > begin;) {
      const uint32_t v = pred[k];
      // A predecessor numbered at most w is not linked yet: eval(v) is v and
      // semi(v) is still v, so the answer needs no look at info[] (a cache
      // miss on big heaps, for about half of all edges).
      if (v <= w) {
        semi = std::min(semi, v);
        continue;
      }
      if (k >= kPrefetchPreds && pred[k - kPrefetchPreds] > w)
        __builtin_prefetch(&info[pred[k - kPrefetchPreds]]);
      const uint32_t u = eval(v, w + 1);
      semi = std::min(semi, info[u].semi);
    }
    info[w].semi = semi;
    // Linking w under its parent is implicit: info[w].ancestor already holds
    // parent[w], and numbers above w count as linked from the next round on.
  }
  pred.reset();
  pred_start.reset();

  // --- 4. Immediate dominators by nearest common ancestor. ------------------
  // idom(w) is the nearest ancestor of parent(w) in the dominator tree whose
  // number is at most semi(w); in preorder every idom above w is final.
  uint32_t* const idom = parent.get();  // overwritten in place, ascending
  idom[0] = 0;
  for (uint32_t w = 1; w < n; ++w) {
    const uint32_t semi = info[w].semi;
    uint32_t d = idom[w];
    while (d > semi) d = idom[d];
    idom[w] = d;
  }
  info.reset();

  // --- 5. Retained sizes: children before parents = reverse preorder. -------
  auto retained = std::make_unique_for_overwrite<uint64_t[]>(n);
  for (uint32_t i = 0; i < n; ++i) retained[i] = weight[order[i]];
  for (uint32_t i = n; i-- > 1;) retained[idom[i]] += retained[i];

  // --- 6. Back to vertex ids. ------------------------------------------------
  DominatorTree tree;
  tree.idom.assign(V, kNoDominator);
  tree.retained.assign(V, 0);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t v = order[i];
    tree.idom[v] = order[idom[i]];
    tree.retained[v] = retained[i];
  }
  tree.preorder = std::move(order);
  return tree;
}

DominatorChildren dominator_children(const DominatorTree& tree) {
  const size_t V = tree.idom.size();
  DominatorChildren c;
  c.rowstart.assign(V + 1, 0);
  if (tree.preorder.empty()) return c;
  const uint32_t root = tree.preorder.front();

  for (uint32_t v : tree.preorder) {
    if (v != root) ++c.rowstart[tree.idom[v] + 1];
  }
  for (size_t v = 0; v < V; ++v) c.rowstart[v + 1] += c.rowstart[v];
  c.children.resize(c.rowstart[V]);
  {
    std::vector<uint32_t> cursor(c.rowstart.begin(), c.rowstart.end() - 1);
    for (size_t v = 0; v < V; ++v) {
      const uint32_t d = tree.idom[v];
      if (d != kNoDominator && v != root) c.children[cursor[d]++] = static_cast<uint32_t>(v);
    }
  }
  // Largest retained first; ties by ascending id, so the output is a function
  // of the graph alone. Rows are sorted on local (retained, id) copies: a
  // comparator that looked retained up by id would miss the cache on every
  // comparison of a wide row (the super-root's has one entry per root).
  struct Keyed {
    uint64_t retained;
    uint32_t id;
  };
  std::vector<Keyed> row;
  for (size_t v = 0; v < V; ++v) {
    const uint32_t first = c.rowstart[v], last = c.rowstart[v + 1];
    if (last - first < 2) continue;
    row.clear();
    for (uint32_t k = first; k < last; ++k) {
      row.push_back({tree.retained[c.children[k]], c.children[k]});
    }
    std::sort(row.begin(), row.end(), [](const Keyed& a, const Keyed& b) {
      return a.retained != b.retained ? a.retained > b.retained : a.id < b.id;
    });
    for (uint32_t k = first; k < last; ++k) c.children[k] = row[k - first].id;
  }
  return c;
}

}  // namespace heapwalk

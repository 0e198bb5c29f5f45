// compute_dominators and dominator_children: the Lengauer-Tarjan paper's
// figure, tiny hand-drawn heaps with their expected tables, thousands of
// seeded random graphs against two oracles (the definition, and Boost's
// Lengauer-Tarjan on the reachable part), million-long shapes under the
// default stack, and real Go dumps whose programs printed the retained sizes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "heapwalk/passes/dominators.h"
#include "heapwalk/passes/mark.h"
#include "heapwalk/snapshot.h"
#include "support/dominator_oracles.h"
#include "support/paths.h"

using namespace heapwalk;
using namespace heapwalk::test;

namespace {

using Edges = std::vector<std::pair<uint32_t, uint32_t>>;

// A hand-drawn graph whose vertices are named by one letter each: vertex i is
// names[i]; the root is names[0].
struct Drawn {
  std::string names;
  CsrGraph graph;
  std::vector<uint64_t> weight;

  Drawn(std::string vertex_names, const std::vector<std::string>& edges,
        std::vector<uint64_t> weights = {})
      : names(std::move(vertex_names)), weight(std::move(weights)) {
    Edges list;
    for (const std::string& e : edges) list.push_back({id(e.at(0)), id(e.at(1))});
    graph = CsrGraph::from_edges(static_cast<uint32_t>(names.size()), list);
    if (weight.empty()) weight.assign(names.size(), 1);
  }
  uint32_t id(char name) const {
    const size_t i = names.find(name);
    if (i == std::string::npos) throw std::logic_error(std::string("no vertex ") + name);
    return static_cast<uint32_t>(i);
  }
  DominatorTree dominators() const { return compute_dominators(graph.view(), 0, weight); }
};

struct Row {
  char vertex;
  char idom;  // '-' for unreachable
  uint64_t retained;
};

void check_table(const Drawn& d, const DominatorTree& t, const std::vector<Row>& rows) {
  REQUIRE(rows.size() == d.names.size());
  for (const Row& row : rows) {
    INFO("vertex " << row.vertex);
    const uint32_t v = d.id(row.vertex);
    if (row.idom == '-') {
      CHECK_FALSE(t.reachable(v));
      CHECK(t.idom[v] == kNoDominator);
    } else {
      CHECK(t.reachable(v));
      CHECK(t.idom[v] == d.id(row.idom));
    }
    CHECK(t.retained[v] == row.retained);
  }
}

// The contract's invariants that no oracle states directly: preorder is the
// reachable set, root first, every idom before its children; children lists
// are exactly the inverse of idom, largest retained first, ties by id.
void check_structure(const DominatorTree& t, uint32_t root) {
  const size_t n = t.idom.size();
  REQUIRE(t.retained.size() == n);
  REQUIRE(!t.preorder.empty());
  REQUIRE(t.preorder.front() == root);
  REQUIRE(t.idom[root] == root);
  std::vector<uint32_t> position(n, kNoDominator);
  for (uint32_t i = 0; i < t.preorder.size(); ++i) {
    const uint32_t v = t.preorder[i];
    REQUIRE(v < n);
    REQUIRE(position[v] == kNoDominator);  // no repeats
    position[v] = i;
  }
  size_t reachable = 0;
  for (uint32_t v = 0; v < n; ++v) {
    REQUIRE(t.reachable(v) == (position[v] != kNoDominator));
    if (!t.reachable(v)) {
      REQUIRE(t.retained[v] == 0);
      continue;
    }
    ++reachable;
    if (v != root) REQUIRE(position[t.idom[v]] < position[v]);
  }
  REQUIRE(reachable == t.preorder.size());

  const DominatorChildren c = dominator_children(t);
  REQUIRE(c.rowstart.size() == n + 1);
  REQUIRE(c.children.size() == reachable - 1);
  for (uint32_t v = 0; v < n; ++v) {
    std::vector<uint32_t> expected;
    for (uint32_t w = 0; w < n; ++w) {
      if (w != root && t.idom[w] == v) expected.push_back(w);
    }
    std::stable_sort(expected.begin(), expected.end(),
                     [&](uint32_t a, uint32_t b) { return t.retained[a] > t.retained[b]; });
    const auto got = c.of(v);
    REQUIRE(std::vector<uint32_t>(got.begin(), got.end()) == expected);
  }
}

}  // namespace

// Lengauer & Tarjan 1979, Figure 1: the flowgraph and its dominator tree.
//
//                 R
//           .----'|'----.
//           v     v     v
//           A <-- B     C
//           |    / \   / \            plus: D -> L, L -> H, H -> E,
//           v   v   v v   v                 E -> H, H -> K, I -> K,
//           D<-'    E F   G                 G -> I, G -> J, J -> I,
//           |       | |   |\                K -> I, K -> R (back to the
//           v       v v   v v               root)
//           L       H I   J I
//
// Edges: R->A R->B R->C A->D B->A B->D B->E C->F C->G D->L E->H F->I G->I
//        G->J H->E H->K I->K J->I K->I K->R L->H
//
// Dominator tree (the paper's Figure 2):  R -> A B C D E H I K;  C -> F G;
//                                         G -> J;  D -> L
TEST_CASE("dominators: Lengauer and Tarjan's figure", "[dominators]") {
  const Drawn d("RABCDEFGHIJKL", {"RA", "RB", "RC", "AD", "BA", "BD", "BE", "CF", "CG", "DL", "EH",
                                  "FI", "GI", "GJ", "HE", "HK", "IK", "JI", "KI", "KR", "LH"});
  const DominatorTree t = d.dominators();
  //  vertex idom retained (every weight 1)
  check_table(d, t,
              {{'R', 'R', 13},
               {'A', 'R', 1},
               {'B', 'R', 1},
               {'C', 'R', 4},
               {'D', 'R', 2},
               {'E', 'R', 1},
               {'F', 'C', 1},
               {'G', 'C', 2},
               {'H', 'R', 1},
               {'I', 'R', 1},
               {'J', 'G', 1},
               {'K', 'R', 1},
               {'L', 'D', 1}});
  check_structure(t, 0);

  // Children of R: C (4) and D (2) first, then the single vertices by id.
  const DominatorChildren children = dominator_children(t);
  std::string order;
  for (uint32_t v : children.of(d.id('R'))) order += d.names[v];
  CHECK(order == "CDABEHIK");

  // Both oracles agree with the paper too.
  const OracleDominators naive = naive_dominators(d.graph, 0, d.weight);
  CHECK(naive.idom == t.idom);
  CHECK(naive.retained == t.retained);
  CHECK(boost_idoms(d.graph, 0) == t.idom);
}

// S is the super-root; weights in brackets.
//
//        S
//        |
//        A[10]
//       / \            D is reachable two ways, so only A dominates it.
//   B[20]  C[30]
//       \ /
//        D[40]
TEST_CASE("dominators: diamond", "[dominators]") {
  const Drawn d("SABCD", {"SA", "AB", "AC", "BD", "CD"}, {0, 10, 20, 30, 40});
  const DominatorTree t = d.dominators();
  check_table(d, t,
              {{'S', 'S', 100}, {'A', 'S', 100}, {'B', 'A', 20}, {'C', 'A', 30}, {'D', 'A', 40}});
  check_structure(t, 0);
  const DominatorChildren children = dominator_children(t);
  std::string order;
  for (uint32_t v : children.of(d.id('A'))) order += d.names[v];
  CHECK(order == "DCB");  // by retained: 40, 30, 20
}

// A doubly linked list: S -> A <-> B <-> C. The back pointers change nothing.
TEST_CASE("dominators: chain with back pointers", "[dominators]") {
  const Drawn d("SABC", {"SA", "AB", "BA", "BC", "CB"}, {0, 1, 2, 4});
  const DominatorTree t = d.dominators();
  check_table(d, t, {{'S', 'S', 7}, {'A', 'S', 7}, {'B', 'A', 6}, {'C', 'B', 4}});
  check_structure(t, 0);
}

//  S -> A -> B -> C -> D -> A  (a ring entered at A)
//  then a second root also entering it at C: S -> C.
TEST_CASE("dominators: ring, entered once and twice", "[dominators]") {
  {
    const Drawn d("SABCD", {"SA", "AB", "BC", "CD", "DA"}, {0, 1, 2, 4, 8});
    const DominatorTree t = d.dominators();
    check_table(d, t,
                {{'S', 'S', 15}, {'A', 'S', 15}, {'B', 'A', 14}, {'C', 'B', 12}, {'D', 'C', 8}});
    check_structure(t, 0);
  }
  {
    const Drawn d("SABCD", {"SA", "SC", "AB", "BC", "CD", "DA"}, {0, 1, 2, 4, 8});
    const DominatorTree t = d.dominators();
    // A can be reached from S directly or around the ring from C, and C from
    // S directly or from B: only S dominates either.
    check_table(d, t,
                {{'S', 'S', 15}, {'A', 'S', 3}, {'B', 'A', 2}, {'C', 'S', 12}, {'D', 'C', 8}});
    check_structure(t, 0);
  }
}

//        S              (the super-root, an edge to each root)
//       / \_
//     R1   R2           two roots ('1' and '2' below)
//     | \  /
//     Y  X              X is shared: only S dominates it
//        |
//        Z
TEST_CASE("dominators: two roots under the super-root", "[dominators]") {
  const Drawn d("S12XYZ", {"S1", "S2", "1X", "2X", "1Y", "XZ"}, {0, 1, 2, 4, 8, 16});
  const DominatorTree t = d.dominators();
  check_table(d, t,
              {{'S', 'S', 31},
               {'1', 'S', 9},
               {'2', 'S', 2},
               {'X', 'S', 20},
               {'Y', '1', 8},
               {'Z', 'X', 16}});
  check_structure(t, 0);
}

//  S -> A -> B -> C          live
//            ^    ^
//  H -> G ---'----'          garbage: G -> B, G -> C; H -> G, H -> A
//  '-------> A
//
// The garbage's edges must not count: C stays dominated by B, B by A. (Boost's
// short overload gives every vertex with a garbage predecessor the root as
// idom here, since its unvisited vertices share the root's DFS number 0.)
TEST_CASE("dominators: garbage pointing into the live graph", "[dominators]") {
  const Drawn d("SABCGH", {"SA", "AB", "BC", "GB", "GC", "HG", "HA"}, {0, 1, 2, 4, 8, 16});
  const DominatorTree t = d.dominators();
  check_table(
      d, t,
      {{'S', 'S', 7}, {'A', 'S', 7}, {'B', 'A', 6}, {'C', 'B', 4}, {'G', '-', 0}, {'H', '-', 0}});
  check_structure(t, 0);
  CHECK(t.preorder.size() == 4);
  const DominatorChildren children = dominator_children(t);
  CHECK(children.of(d.id('G')).empty());
}

TEST_CASE("dominators: degenerate graphs and bad arguments", "[dominators]") {
  {
    const Drawn d("S", {});
    const DominatorTree t = d.dominators();
    check_table(d, t, {{'S', 'S', 1}});
    check_structure(t, 0);
  }
  {
    // Self loops on the root and elsewhere, a repeated edge, a cycle through
    // the root.
    const Drawn d("SAB", {"SS", "SA", "SA", "AA", "AB", "BS"});
    const DominatorTree t = d.dominators();
    check_table(d, t, {{'S', 'S', 3}, {'A', 'S', 2}, {'B', 'A', 1}});
    check_structure(t, 0);
  }
  {
    // A root other than vertex 0; vertex 0 is then garbage.
    const Drawn d("XSA", {"XS", "SA"});
    const DominatorTree t = compute_dominators(d.graph.view(), d.id('S'), d.weight);
    check_table(d, t, {{'X', '-', 0}, {'S', 'S', 2}, {'A', 'S', 1}});
    check_structure(t, d.id('S'));
  }
  const Drawn d("SA", {"SA"});
  CHECK_THROWS_AS(compute_dominators(d.graph.view(), 2, d.weight), std::invalid_argument);
  const std::vector<uint64_t> short_weights{1};
  CHECK_THROWS_AS(compute_dominators(d.graph.view(), 0, short_weights), std::invalid_argument);
}

namespace {

struct RandomCase {
  CsrGraph graph;
  uint32_t root = 0;
  std::vector<uint64_t> weight;
  bool garbage_points_in = false;  // some unreachable vertex has an edge to a reachable one
  bool self_loop = false, multi_edge = false;
};

// A seeded random graph of 1..60 vertices. Half of the cases set some
// vertices apart as garbage: nothing live points at them, but they point
// anywhere, live vertices included. Densities vary from a sparse forest-like
// graph to a dense tangle; self loops and repeated edges are added on
// purpose; the root is vertex 0 most of the time.
RandomCase random_case(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto below = [&](uint64_t n) { return static_cast<uint32_t>(rng() % n); };
  RandomCase c;
  const uint32_t n = 1 + below(60);
  c.root = below(4) == 0 ? below(n) : 0;

  std::vector<bool> garbage(n, false);
  if (below(2) == 0) {
    for (uint32_t k = below(n / 2 + 1); k > 0; --k) garbage[below(n)] = true;
    garbage[c.root] = false;
  }
  std::vector<uint32_t> live_vertices;
  for (uint32_t v = 0; v < n; ++v) {
    if (!garbage[v]) live_vertices.push_back(v);
  }

  static constexpr double kDensity[] = {0.3, 0.8, 1.0, 1.5, 2.0, 3.0, 6.0};
  const double density = kDensity[below(std::size(kDensity))];
  const auto edge_count = static_cast<uint32_t>(density * n + below(3));
  Edges edges;
  for (uint32_t k = 0; k < edge_count; ++k) {
    const uint32_t from = below(n);
    uint32_t to = below(n);
    // Live vertices may not point at garbage (it would not be garbage then).
    if (!garbage[from] && garbage[to]) to = live_vertices[below(live_vertices.size())];
    edges.push_back({from, to});
  }
  // Sparse graphs would leave most vertices unreachable: give the root a few
  // more ways in, most of the time.
  if (below(4) != 0) {
    for (uint32_t k = 1 + below(3); k > 0; --k) {
      edges.push_back({c.root, live_vertices[below(live_vertices.size())]});
    }
  }
  if (n > 1 && below(3) == 0) {
    for (uint32_t k = 1 + below(3); k > 0; --k) {
      const uint32_t v = below(n);
      edges.push_back({v, v});
    }
  }
  if (!edges.empty() && below(3) == 0) {
    for (uint32_t k = 1 + below(4); k > 0; --k) edges.push_back(edges[below(edges.size())]);
  }
  std::shuffle(edges.begin(), edges.end(), rng);

  c.graph = CsrGraph::from_edges(n, edges);
  c.weight.resize(n);
  for (uint64_t& w : c.weight) w = below(5) == 0 ? 0 : 8 * (1 + below(64));
  for (const auto& [from, to] : edges) {
    if (from == to) c.self_loop = true;
  }
  for (size_t i = 0; i < edges.size() && !c.multi_edge; ++i) {
    for (size_t j = i + 1; j < edges.size(); ++j) {
      if (edges[i] == edges[j]) {
        c.multi_edge = true;
        break;
      }
    }
  }
  return c;
}

}  // namespace

TEST_CASE("dominators agree with both oracles on 4000 random graphs", "[dominators][random]") {
  uint64_t graphs = 0, vertices = 0, unreachable = 0, with_garbage_in = 0, with_self = 0,
           with_multi = 0;
  for (uint64_t seed = 1; seed <= 4000; ++seed) {
    const RandomCase c = random_case(seed);
    INFO("seed " << seed << ": " << c.graph.vertex_count() << " vertices, "
                 << c.graph.targets.size() << " edges, root " << c.root);
    const DominatorTree t = compute_dominators(c.graph.view(), c.root, c.weight);
    const OracleDominators naive = naive_dominators(c.graph, c.root, c.weight);
    for (uint32_t v = 0; v < c.graph.vertex_count(); ++v) {
      INFO("vertex " << v);
      REQUIRE(t.idom[v] == naive.idom[v]);
      REQUIRE(t.retained[v] == naive.retained[v]);
    }
    REQUIRE(boost_idoms(c.graph, c.root) == t.idom);
    check_structure(t, c.root);

    ++graphs;
    vertices += c.graph.vertex_count();
    bool garbage_in = false;
    for (uint32_t v = 0; v < c.graph.vertex_count(); ++v) {
      if (t.reachable(v)) continue;
      ++unreachable;
      for (uint32_t w : c.graph.view().successors(v)) garbage_in |= t.reachable(w);
    }
    with_garbage_in += garbage_in;
    with_self += c.self_loop;
    with_multi += c.multi_edge;
  }
  // The generator really makes the cases that matter.
  CHECK(with_garbage_in > 1000);
  CHECK(with_self > 500);
  CHECK(with_multi > 500);
  WARN("dominators vs oracles: " << graphs << " graphs, " << vertices << " vertices ("
                                 << unreachable << " unreachable); " << with_garbage_in
                                 << " with garbage pointing in, " << with_self
                                 << " with self loops, " << with_multi << " with repeated edges");
}

namespace {

constexpr uint32_t kMillion = 1'000'000;

void check_million(const CsrGraph& g, const std::vector<uint32_t>& idom,
                   const std::vector<uint64_t>& retained) {
  const std::vector<uint64_t> weight(g.vertex_count(), 8);
  const DominatorTree t = compute_dominators(g.view(), 0, weight);
  REQUIRE(t.preorder.size() == g.vertex_count());
  REQUIRE(t.retained[0] == 8ull * g.vertex_count());
  // One REQUIRE per vector: a million Catch assertions would dominate the run.
  REQUIRE(t.idom == idom);
  REQUIRE(t.retained == retained);
  const DominatorChildren c = dominator_children(t);
  REQUIRE(c.children.size() == g.vertex_count() - 1);
}

}  // namespace

// Each of these recurses a million deep in a recursive implementation
// (Boost's path compression, or a recursive DFS); they run under the default
// 8 MiB stack.
TEST_CASE("dominators: million-long chain, ring and broom", "[dominators][big]") {
  const uint32_t n = kMillion;
  std::vector<uint32_t> idom(n);
  std::vector<uint64_t> retained(n);

  SECTION("chain with back pointers: 0 <-> 1 <-> ... <-> n-1") {
    Edges e;
    for (uint32_t v = 0; v + 1 < n; ++v) e.insert(e.end(), {{v, v + 1}, {v + 1, v}});
    for (uint32_t v = 0; v < n; ++v) {
      idom[v] = v == 0 ? 0 : v - 1;
      retained[v] = 8ull * (n - v);
    }
    check_million(CsrGraph::from_edges(n, e), idom, retained);
  }
  SECTION("ring: 0 -> 1 -> ... -> n-1 -> 0") {
    Edges e;
    for (uint32_t v = 0; v < n; ++v) e.push_back({v, (v + 1) % n});
    for (uint32_t v = 0; v < n; ++v) {
      idom[v] = v == 0 ? 0 : v - 1;
      retained[v] = 8ull * (n - v);
    }
    check_million(CsrGraph::from_edges(n, e), idom, retained);
  }
  SECTION("broom: a handle, bristles in a chain, the last bristle back to mid-handle") {
    // Handle 0 -> 1 -> ... -> h-1; h-1 -> every bristle h..n-1; each bristle
    // -> the next one; the last bristle -> h/2. The DFS runs down the whole
    // broom in one path, and the back edge makes semidominator evaluation
    // walk (and compress) a path of ~n/2 + h/2 vertices in one go.
    const uint32_t h = n / 2;
    Edges e;
    for (uint32_t v = 0; v + 1 < h; ++v) e.push_back({v, v + 1});
    for (uint32_t b = h; b < n; ++b) e.push_back({h - 1, b});
    for (uint32_t b = h; b + 1 < n; ++b) e.push_back({b, b + 1});
    e.push_back({n - 1, h / 2});
    for (uint32_t v = 0; v < h; ++v) {
      idom[v] = v == 0 ? 0 : v - 1;
      retained[v] = 8ull * (n - v);
    }
    for (uint32_t b = h; b < n; ++b) {
      idom[b] = h - 1;
      retained[b] = 8;
    }
    check_million(CsrGraph::from_edges(n, e), idom, retained);
  }
}

namespace {

std::vector<uint64_t> object_weights(const Snapshot& s) {
  std::vector<uint64_t> w(s.vertex_count(), 0);  // the super-root weighs nothing
  for (ObjectId v = 1; v < s.vertex_count(); ++v) w[v] = s.size(v);
  return w;
}

uint64_t parse_address(const std::string& hex) { return std::stoull(hex, nullptr, 16); }

}  // namespace

// orderindex (../shared/corpus/programs/orderindex): a 200,000-node balanced
// tree with parent pointers behind one global, and discarded staging nodes
// whose parent pointers point into it. The program printed the tree's retained
// sizes; the staging garbage must not change them.
TEST_CASE("dominators: orderindex retained sizes in every corpus release", "[dominators][corpus]") {
  int checked = 0;
  for (const DumpCase& c : corpus_dumps()) {
    if (c.dump.filename().string().rfind("orderindex.", 0) != 0) continue;
    INFO(c.name);
    const nlohmann::json truth = nlohmann::json::parse(read_file(c.truth));
    const Snapshot s = load_snapshot(c.dump.string());
    const std::vector<uint64_t> weight = object_weights(s);
    const DominatorTree t = compute_dominators(s.view(), kSuperRoot, weight);

    const auto& expected = truth.at("expected_retained_bytes");
    CHECK(expected.at("root").get<uint64_t>() == 9'600'000);
    for (const char* key : {"root", "root_left", "root_right"}) {
      INFO(key << " at " << truth.at(key).get<std::string>());
      const ObjectId id = s.find(parse_address(truth.at(key).get<std::string>()));
      REQUIRE(id != kNoObject);
      CHECK(t.retained[id] == expected.at(key).get<uint64_t>());
    }
    CHECK(t.retained[s.find(parse_address(truth.at("root")))] == 9'600'000);
    CHECK(t.retained[s.find(parse_address(truth.at("root_left")))] == 4'800'000);
    CHECK(t.retained[s.find(parse_address(truth.at("root_right")))] == 4'799'952);
    // Parent pointers make every tree edge a 2-cycle, yet the left subtree's
    // root hangs off the tree's root alone.
    CHECK(t.idom[s.find(parse_address(truth.at("root_left")))] ==
          s.find(parse_address(truth.at("root"))));
    for (const auto& node : truth.at("staging_first_nodes")) {
      const ObjectId id = s.find(parse_address(node.get<std::string>()));
      if (id != kNoObject) CHECK_FALSE(t.reachable(id));
    }
    ++checked;
  }
  if (checked == 0) WARN("SKIP: no corpus (../shared/corpus) or no orderindex dumps");
}

// The super-root retains exactly what Go's mark keeps alive, on every dump.
TEST_CASE("dominators: the super-root retains the live bytes", "[dominators][corpus]") {
  std::vector<DumpCase> cases = corpus_dumps();
  if (cases.empty()) WARN("no corpus (../shared/corpus): samples only");
  for (const DumpCase& c : sample_dumps()) cases.push_back(c);
  REQUIRE(!cases.empty());
  for (const DumpCase& c : cases) {
    INFO(c.name);
    const Snapshot s = load_snapshot(c.dump.string());
    const DominatorTree t = compute_dominators(s.view(), kSuperRoot, object_weights(s));
    const MarkResult m = mark(s);
    CHECK(t.retained[kSuperRoot] == m.live_bytes);
    CHECK(t.preorder.size() == m.live_objects + 1);  // + the super-root
    for (ObjectId v = 0; v < s.vertex_count(); ++v) {
      if (t.reachable(v) != m.is_live(v)) {
        FAIL_CHECK("object " << v << ": reachable " << t.reachable(v) << ", live " << m.is_live(v));
        break;
      }
    }
  }
}

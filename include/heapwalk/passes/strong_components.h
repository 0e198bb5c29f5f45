// Strongly connected components of a graph given as CSR arrays.
//
// Algorithm: Tarjan, "Depth-First Search and Linear Graph Algorithms", SIAM
// J. Computing 1(2), 1972, made iterative: an explicit frame stack (vertex,
// next edge) replaces the recursion, so a million-long chain or ring needs no
// call stack.
//
// Numbering: components are numbered in the order Tarjan completes them,
// which is a reverse topological order of the condensation: if component A
// reaches component B (A != B), then B's number is smaller than A's.
// Self loops and repeated edges are allowed (a self loop does not make a
// one-vertex component a "cycle": callers decide what a cycle is).
//
// Cost: O(V + E) time; 4 words per vertex (index, low, component, frame)
// plus the vertex stack.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace heapwalk {

struct StrongComponents {
  std::vector<uint32_t> component;  // by vertex: its component's number
  std::vector<uint32_t> size;       // by component: how many vertices it has
  uint32_t count() const { return static_cast<uint32_t>(size.size()); }
};

// Out-edges of v are targets[rowstart[v] .. rowstart[v + 1]); rowstart has
// vertex count + 1 entries. Throws std::invalid_argument on a target out of
// range.
StrongComponents strong_components(std::span<const uint32_t> rowstart,
                                   std::span<const uint32_t> targets);

}  // namespace heapwalk

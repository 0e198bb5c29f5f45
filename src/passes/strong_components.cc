#include "heapwalk/passes/strong_components.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

namespace heapwalk {

StrongComponents strong_components(std::span<const uint32_t> rowstart,
                                   std::span<const uint32_t> targets) {
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  StrongComponents out;
  if (rowstart.empty()) return out;
  const uint32_t n = static_cast<uint32_t>(rowstart.size() - 1);
  for (uint32_t t : targets.first(rowstart[n]))
    if (t >= n) throw std::invalid_argument("strong_components: edge target out of range");
  // index doubles as "visited". Once a vertex's component is known its low
  // link is never read again (only on-stack vertices' values are), so `low`
  // becomes the component number.
  std::vector<uint32_t> index(n, kNone), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<uint32_t> stack;                        // Tarjan's vertex stack
  std::vector<std::pair<uint32_t, uint32_t>> frames;  // (vertex, next edge)
  uint32_t next_index = 0;

  for (uint32_t start = 0; start < n; ++start) {
    if (index[start] != kNone) continue;
    frames.push_back({start, rowstart[start]});
    index[start] = low[start] = next_index++;
    stack.push_back(start);
    on_stack[start] = true;
    while (!frames.empty()) {
      auto& [v, e] = frames.back();
      if (e < rowstart[v + 1]) {
        const uint32_t w = targets[e++];
        if (index[w] == kNone) {
          index[w] = low[w] = next_index++;
          stack.push_back(w);
          on_stack[w] = true;
          frames.push_back({w, rowstart[w]});  // invalidates v and e: loop around
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      const uint32_t done = v;
      frames.pop_back();
      if (!frames.empty()) {
        const uint32_t parent = frames.back().first;
        low[parent] = std::min(low[parent], low[done]);
      }
      if (low[done] == index[done]) {
        // `done` is the root of a component: everything above it on the
        // vertex stack belongs to it.
        const auto component = static_cast<uint32_t>(out.size.size());
        uint32_t members = 0;
        for (;;) {
          const uint32_t m = stack.back();
          stack.pop_back();
          on_stack[m] = false;
          low[m] = component;
          ++members;
          if (m == done) break;
        }
        out.size.push_back(members);
      }
    }
  }
  out.component = std::move(low);
  return out;
}

}  // namespace heapwalk

#include "heapwalk/passes/live_cycles.h"

#include <boost/graph/strong_components.hpp>

namespace heapwalk {

LiveCycles find_live_cycles(const Snapshot& s, const MarkResult& live) {
  const uint32_t n = s.vertex_count();
  std::vector<uint32_t> component(n, 0);
  const uint32_t count = static_cast<uint32_t>(boost::strong_components(
      s.graph(), boost::make_iterator_property_map(component.begin(),
                                                   boost::get(boost::vertex_index, s.graph()))));
  std::vector<uint32_t> members(count, 0);
  for (uint32_t v = 0; v < n; ++v) ++members[component[v]];
  LiveCycles out;
  std::vector<char> counted(count, 0);
  for (ObjectId v = 1; v < n; ++v) {
    if (members[component[v]] < 2 || !live.is_live(v)) continue;
    out.objects.push_back(v);
    out.bytes += s.size(v);
    if (!counted[component[v]]) {
      counted[component[v]] = 1;
      ++out.components;
    }
  }
  return out;
}

}  // namespace heapwalk

#include "support/mark_oracle.h"

#include <algorithm>
#include <deque>

namespace heapwalk::test {

MarkOracle::MarkOracle(const DumpDescription& d) : objects_(d.objects) {
  std::sort(objects_.begin(), objects_.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
  // Sizes grow to cover fields exactly as the writer does.
  for (auto& o : objects_) {
    for (const auto& f : o.fields) o.size = std::max(o.size, f.offset + 8);
    o.size = std::max<uint64_t>(o.size, o.contents.size());
  }
  out_.resize(objects_.size());
  for (size_t i = 0; i < objects_.size(); ++i) {
    for (const auto& f : objects_[i].fields) {
      const int t = resolve(f.value);
      if (t != kNone) out_[i].push_back(t);
    }
  }
  auto root = [&](RootKind kind, uint64_t value) { roots_.push_back({kind, resolve(value)}); };
  for (bool bss : {false, true}) {
    for (const auto& s : d.segments) {
      if (s.bss != bss) continue;
      for (const auto& f : s.fields) root(bss ? RootKind::kBss : RootKind::kData, f.value);
    }
  }
  for (const auto& g : d.goroutines) {
    for (const auto& fr : g.frames) {
      for (const auto& f : fr.fields) root(RootKind::kStackFrame, f.value);
    }
  }
  for (const auto& g : d.goroutines) root(RootKind::kGoroutineContext, g.ctxt);
  for (const auto& r : d.defers) {
    root(RootKind::kDefer, r.address);
    root(RootKind::kDefer, r.funcval);
    root(RootKind::kDefer, r.link);
  }
  for (const auto& p : d.panics) {
    root(RootKind::kPanic, p.address);
    root(RootKind::kPanic, p.arg_data);
  }
  for (const auto& f : d.finalizers) {
    finalizers_.push_back({resolve(f.object), resolve(f.funcval), f.queued});
    if (f.queued) {
      root(RootKind::kQueuedFinalizer, f.object);
      root(RootKind::kQueuedFinalizer, f.funcval);
    }
  }
  for (const auto& r : d.other_roots) root(RootKind::kOther, r.pointer);
}

int MarkOracle::resolve(uint64_t value) const {
  if (value == 0) return kNone;
  auto it = std::upper_bound(objects_.begin(), objects_.end(), value,
                             [](uint64_t v, const DumpObjectSpec& o) { return v < o.address; });
  if (it == objects_.begin()) return kNone;
  --it;
  if (value >= it->address + it->size) return kNone;
  return static_cast<int>(it - objects_.begin());
}

std::vector<bool> MarkOracle::mark_from(const std::vector<int>& roots) const {
  std::vector<bool> live(objects_.size(), false);
  std::vector<int> stack;
  for (int r : roots) {
    if (r != kNone && !live[r]) {
      live[r] = true;
      stack.push_back(r);
    }
  }
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    for (int w : out_[v]) {
      if (!live[w]) {
        live[w] = true;
        stack.push_back(w);
      }
    }
  }
  return live;
}

std::vector<bool> MarkOracle::mark(uint32_t mask) const {
  std::vector<int> roots;
  for (const auto& r : roots_) {
    if ((mask >> static_cast<int>(r.kind)) & 1) roots.push_back(r.target);
  }
  if ((mask >> static_cast<int>(RootKind::kFinalizer)) & 1) {
    for (const auto& f : finalizers_) {
      if (f.queued) continue;
      roots.push_back(f.funcval);
      if (f.object == kNone) continue;
      for (int t : out_[f.object]) {
        if (t != f.object) roots.push_back(t);  // a pointer into itself is no root
      }
    }
  }
  return mark_from(roots);
}

std::vector<uint8_t> MarkOracle::first_root(uint32_t mask) const {
  // Per root kind, hop distances from that kind's roots; the first kind in
  // RootKind order that reaches an object at all is its first root.
  const size_t n = objects_.size();
  constexpr int kInf = 1 << 30;
  std::vector<std::vector<int>> dist(kRootKindCount, std::vector<int>(n, kInf));
  for (int k = 0; k < kRootKindCount; ++k) {
    if (!((mask >> k) & 1)) continue;
    std::vector<int> sources;
    if (k == static_cast<int>(RootKind::kFinalizer)) {
      for (const auto& f : finalizers_) {
        if (f.queued) continue;
        sources.push_back(f.funcval);
        if (f.object == kNone) continue;
        for (int t : out_[f.object]) {
          if (t != f.object) sources.push_back(t);
        }
      }
    } else {
      for (const auto& r : roots_) {
        if (static_cast<int>(r.kind) == k) sources.push_back(r.target);
      }
    }
    std::deque<int> queue;
    for (int s : sources) {
      if (s != kNone && dist[k][s] == kInf) {
        dist[k][s] = 0;
        queue.push_back(s);
      }
    }
    while (!queue.empty()) {
      const int v = queue.front();
      queue.pop_front();
      for (int w : out_[v]) {
        if (dist[k][w] == kInf) {
          dist[k][w] = dist[k][v] + 1;
          queue.push_back(w);
        }
      }
    }
  }
  std::vector<uint8_t> result(n, 0xff);
  for (size_t v = 0; v < n; ++v) {
    for (int k = 0; k < kRootKindCount; ++k) {
      if (dist[k][v] < kInf) {
        result[v] = static_cast<uint8_t>(k);
        break;
      }
    }
  }
  return result;
}

MarkOracle::Simulation MarkOracle::simulate() const {
  const size_t n = objects_.size();
  Simulation sim;
  sim.finalizer_cycle.assign(n, 0);
  sim.has_finalizer.assign(n, false);
  std::vector<int> normal_roots;
  for (const auto& r : roots_) {
    if (r.kind != RootKind::kQueuedFinalizer) normal_roots.push_back(r.target);
  }
  std::vector<Finalizer> registered;
  for (const auto& f : finalizers_) {
    if (f.queued) continue;
    if (f.object == kNone) {
      // No object to find unmarked: the special, and its funcval root, stay.
      normal_roots.push_back(f.funcval);
      continue;
    }
    registered.push_back(f);
    sim.has_finalizer[f.object] = true;
  }
  std::vector<bool> live;
  for (int cycle = 1;; ++cycle) {
    std::vector<int> roots = normal_roots;
    if (cycle == 1) {
      for (const auto& r : roots_) {
        if (r.kind == RootKind::kQueuedFinalizer) roots.push_back(r.target);
      }
    }
    for (const auto& f : registered) {
      roots.push_back(f.funcval);
      for (int t : out_[f.object]) {
        if (t != f.object) roots.push_back(t);
      }
    }
    live = mark_from(roots);
    std::vector<Finalizer> still;
    for (const auto& f : registered) {
      if (live[f.object]) {
        still.push_back(f);
      } else {
        sim.finalizer_cycle[f.object] = cycle;
      }
    }
    const bool changed = still.size() != registered.size();
    registered = std::move(still);
    if (!changed && cycle >= 2) break;
  }
  sim.never_freed = live;
  return sim;
}

}  // namespace heapwalk::test

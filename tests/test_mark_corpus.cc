// Go's mark on the real corpus dumps (../shared/corpus), against what each
// program recorded: reqctx and sessioncache through finalizers the real
// collector ran (or did not run) after the dump; workerpool and orderindex
// through expected_reachable_at_dump. SKIPs without the corpus.
//
// Rule used throughout (see tests/test_finalizers_corpus.cc for why): the
// collector was off and the program idle between the dump and the first
// collection after it, so an object with a finalizer had it run in cycle 1
// exactly when it is unreachable in mark(snapshot); 0 (never) means live.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "heapwalk/passes/finalizers.h"
#include "heapwalk/passes/mark.h"
#include "support/paths.h"
#include "support/verdicts.h"

using namespace heapwalk;
using namespace heapwalk::test;
using nlohmann::json;

namespace {

std::map<std::string, int> columns(const json& names) {
  std::map<std::string, int> col;
  for (size_t i = 0; i < names.size(); ++i) col[names[i].get<std::string>()] = int(i);
  return col;
}

template <typename Check>
void for_each_dump(const char* program, Check check) {
  bool any = false;
  uint64_t total = 0;
  for (const DumpCase& c : corpus_dumps()) {
    if (c.name.find(std::string("/") + program) == std::string::npos) continue;
    any = true;
    const json truth = json::parse(read_file(c.truth));
    const Snapshot s = load_snapshot(c.dump.string());
    const MarkResult full = mark(s);
    const MarkResult normal = mark(s, kMaskWithoutFinalizers);
    Verdicts v(c.name);
    check(truth, s, full, normal, v);
    WARN(v.report());
    CHECK(v.disagreements() == 0);
    total += v.objects();
  }
  if (!any) {
    WARN("SKIP: no corpus (../shared/corpus) or no " << program << " dumps");
    return;
  }
  WARN(program << ": " << total << " tracked objects checked in all releases");
}

ObjectId find(const Snapshot& s, Verdicts& v, const json& address, const std::string& what) {
  const ObjectId id = s.find(parse_address(address.get<std::string>()));
  v.object();
  v.expect(id != kNoObject, what + " " + address.get<std::string>() + ": no object record");
  return id;
}

}  // namespace

TEST_CASE("reqctx: state and audit-record verdicts match the real collector", "[mark][corpus]") {
  for_each_dump("reqctx", [](const json& truth, const Snapshot& s, const MarkResult& full,
                             const MarkResult& normal, Verdicts& v) {
    auto col = columns(truth["requests_columns"]);
    for (const auto& row : truth["requests"]) {
      const std::string kind = row[col["kind"]];
      const std::string tag = "request " + std::to_string(row[col["i"]].get<int>()) + " " + kind;
      // state and audit record carry finalizers: cycle 1 <=> unreachable.
      for (const auto& [object, cycle_column] :
           {std::pair<std::string, std::string>{"state", "state_finalized_in_cycle"},
            {"audit_record", "audit_finalized_in_cycle"}}) {
        const ObjectId id = find(s, v, row[col[object]], tag + " " + object);
        if (id == kNoObject) continue;
        const int cycle = row[col[cycle_column]];
        v.expect(full.is_live(id) == (cycle != 1), tag + " " + object + ": finalized in cycle " +
                                                       std::to_string(cycle) + ", heapwalk live " +
                                                       std::to_string(full.is_live(id)));
      }
      // The body hangs off the state alone: live with it, and kept by the
      // state's finalizer when the state is garbage.
      const ObjectId state = s.find(parse_address(row[col["state"]].get<std::string>()));
      const ObjectId body = find(s, v, row[col["state_body"]], tag + " state_body");
      if (body != kNoObject && state != kNoObject) {
        v.expect(full.is_live(body), tag + " body: kept by its state's finalizer");
        v.expect(normal.is_live(body) == normal.is_live(state), tag + " body: follows state");
      }
      if (kind == "nothing_cancelled") {
        for (const char* object :
             {"req_timerCtx", "req_timer", "valueCtx", "db_cancelCtx", "state", "state_body"}) {
          const ObjectId id = find(s, v, row[col[object]], tag + " " + object);
          if (id != kNoObject) {
            v.expect(normal.is_live(id), tag + " " + object + ": reachable from roots");
          }
        }
      }
    }
  });
}

TEST_CASE("sessioncache: session and idle-timer verdicts match the real collector",
          "[mark][corpus]") {
  for_each_dump("sessioncache", [](const json& truth, const Snapshot& s, const MarkResult& full,
                                   const MarkResult& normal, Verdicts& v) {
    auto col = columns(truth["sessions_columns"]);
    for (const auto& row : truth["sessions"]) {
      const std::string kind = row[col["kind"]];
      const std::string tag = "session " + std::to_string(row[col["i"]].get<int>()) + " " + kind;
      // The marker's finalizer ran in cycle 1 <=> the marker was unmarked <=>
      // the session was (only the session points to the marker, and the
      // session has no finalizer of its own).
      const int cycle = row[col["session_unreachable_in_cycle"]];
      const ObjectId session = find(s, v, row[col["session"]], tag + " session");
      const ObjectId marker = find(s, v, row[col["marker"]], tag + " marker");
      if (session != kNoObject && marker != kNoObject) {
        v.expect(full.is_live(session) == (cycle != 1),
                 tag + ": unreachable in cycle " + std::to_string(cycle) + ", heapwalk live " +
                     std::to_string(full.is_live(session)));
        v.expect(full.is_live(marker) == full.is_live(session), tag + ": marker follows session");
      }
      if (kind == "active" || kind == "logout_timers_left" || kind == "logout_mutex_waiter") {
        if (session != kNoObject) v.expect(normal.is_live(session), tag + ": reachable");
      }
      // Idle timer: a finalizer (1.19, 1.21) or a weak pointer (1.25) on it.
      const int idle = row[col["idle_timer_freed_in_cycle"]];
      if (idle >= 0) {
        const ObjectId timer = find(s, v, row[col["idle_timer"]], tag + " idle_timer");
        if (timer != kNoObject) {
          v.expect(full.is_live(timer) == (idle != 1),
                   tag + ": idle timer freed in cycle " + std::to_string(idle));
        }
      }
    }
  });
}

TEST_CASE("workerpool: what the wedged goroutines hold is reachable", "[mark][corpus]") {
  for_each_dump("workerpool", [](const json& truth, const Snapshot& s, const MarkResult& full,
                                 const MarkResult& normal, Verdicts& v) {
    auto live = [&](ObjectId id, const std::string& what) {
      if (id == kNoObject) return;
      v.expect(full.is_live(id) && normal.is_live(id), what + ": reachable");
    };
    live(find(s, v, truth["pool"], "pool"), "pool");
    live(find(s, v, truth["pool_results_chan"], "results chan"), "results chan");
    for (const auto& w : truth["workers"]) {
      const std::string tag = "worker " + std::to_string(w["worker"].get<int>());
      const ObjectId scratch = find(s, v, w["scratch"], tag + " scratch");
      live(scratch, tag + " scratch");
      if (scratch != kNoObject) {
        v.expect(full.first_root[scratch] == uint8_t(RootKind::kStackFrame),
                 tag + " scratch: only its goroutine's stack holds it");
      }
      live(find(s, v, w["hist_map"], tag + " hist_map"), tag + " hist_map");
    }
    // The backlog array and, through its 500 pointer fields, every job and payload.
    const ObjectId backlog = find(s, v, truth["backlog_array"], "backlog array");
    if (backlog == kNoObject) return;
    live(backlog, "backlog array");
    const auto jobs = s.successors(backlog);
    v.expect(jobs.size() == truth["backlog_jobs"].get<size_t>(),
             "backlog array has " + std::to_string(jobs.size()) + " job pointers");
    for (ObjectId job : jobs) {
      v.object();
      live(job, "backlog job");
      for (ObjectId payload : s.successors(job)) {
        v.object();
        live(payload, "backlog job payload");
      }
    }
  });
}

TEST_CASE("orderindex: the 200,000-node tree is live, the staging subtree is not",
          "[mark][corpus]") {
  for_each_dump("orderindex", [](const json& truth, const Snapshot& s, const MarkResult& full,
                                 const MarkResult& normal, Verdicts& v) {
    const ObjectId root = find(s, v, truth["root"], "root");
    if (root == kNoObject) return;
    // Every node reachable from the root node (nodes point only to nodes) must
    // be live, and there must be exactly live_nodes of them.
    std::vector<bool> seen(s.vertex_count(), false);
    std::vector<ObjectId> stack{root};
    seen[root] = true;
    uint64_t tree = 0;
    while (!stack.empty()) {
      const ObjectId n = stack.back();
      stack.pop_back();
      ++tree;
      v.expect(full.is_live(n) && normal.is_live(n), "tree node live");
      for (ObjectId m : s.successors(n)) {
        if (!seen[m]) {
          seen[m] = true;
          stack.push_back(m);
        }
      }
    }
    v.expect(tree == truth["live_nodes"].get<uint64_t>(),
             "tree nodes reached from the root: " + std::to_string(tree));
    for (const char* name : {"root_left", "root_right"}) {
      const ObjectId id = find(s, v, truth[name], name);
      if (id != kNoObject) v.expect(seen[id], std::string(name) + " in the tree");
    }
    for (const auto& sample : truth["samples"]) {
      const ObjectId node = find(s, v, sample["node"], "sample");
      if (node != kNoObject) v.expect(seen[node], "sample node in the tree");
    }
    // The staging subtree: garbage, though its nodes point into the live tree.
    std::vector<ObjectId> garbage;
    for (const auto& address : truth["staging_first_nodes"]) {
      const ObjectId id = find(s, v, address, "staging node");
      if (id != kNoObject && !seen[id]) {
        seen[id] = true;
        garbage.push_back(id);
      }
    }
    uint64_t staging = 0;
    while (!garbage.empty()) {
      const ObjectId n = garbage.back();
      garbage.pop_back();
      ++staging;
      v.expect(!full.is_live(n), "staging node unreachable");
      for (ObjectId m : s.successors(n)) {
        if (!seen[m] && !full.is_live(m)) {
          seen[m] = true;
          garbage.push_back(m);
        }
      }
    }
    v.expect(staging == truth["staging_nodes_garbage"].get<uint64_t>(),
             "staging nodes reached: " + std::to_string(staging));
    // The tree and staging nodes were checked one by one: count them.
    for (uint64_t i = 0; i < tree + staging; ++i) v.object();
  });
}

// finalizers is the collector-evidence sample for heapwalk's mark phase:
// tracked objects in every situation the mark rules distinguish, each with
// the real collector's verdict after the dump (see README.md for the table).
//
// Usage: finalizers OUTPREFIX
package main

import (
	"runtime"
	"runtime/debug"
	"time"
	"unsafe"

	"heapwalk/samples/internal/dumpkit"
)

// Node is a chain link / generic object (48 bytes).
type Node struct {
	ID    int64
	Next  *Node
	Field int64 // interior pointers point here (offset 16)
	M     *dumpkit.Marker
	Pad   [2]int64
}

// Holder has a finalizer and points to its Target (32 bytes).
type Holder struct {
	Name   string
	Target *Node
	M      *dumpkit.Marker
}

// Self points to itself (48 bytes).
type Self struct {
	Self *Self
	M    *dumpkit.Marker
	Data [4]int64
}

// Blocker is the object of the queued-finalizer case (40 bytes, slot 48).
type Blocker struct {
	ID int64
	M  *dumpkit.Marker
	P  [3]int64
}

const cycles = 5

var (
	tab dumpkit.Table

	interior   *int64  // &node.Field: the only reference to that node
	liveHolder *Holder // X with a finalizer, reachable from this global
	release    = make(chan struct{})
	blockerIn  = make(chan struct{}, 1)
	queuedRan  = make(chan struct{}, 1)
	parked     = make(chan struct{})
	forever    = make(chan struct{})
	sink       int64

	queued    = map[string]any{}
	stackGoid int64
)

func mk(id int64) (*Node, *dumpkit.Marker) {
	m := &dumpkit.Marker{ID: id}
	return &Node{ID: id, M: m}, m
}

// queuedSetup makes A, whose finalizer blocks the finalizer goroutine, then
// B, whose finalizer therefore stays queued. It runs before anything else is
// built: the collections it needs must not see the other cases.
//
//go:noinline
func queuedSetup() {
	ma := &dumpkit.Marker{ID: 1}
	a := &Blocker{ID: 1, M: ma}
	dumpkit.Marked(&tab, "queued_finalizer", "A_running", a, ma, true, true,
		"its finalizer was started by a collection before the dump and blocks on a channel: listed as queued (tag 11) while it runs, and the finalizer goroutine's frame holds it; released right after the dump")
	queued["A_addr"] = dumpkit.P(unsafe.Pointer(a))
	runtime.SetFinalizer(a, func(x *Blocker) {
		blockerIn <- struct{}{}
		<-release
		sink += x.ID
	})
	a = nil
	runtime.GC()
	select {
	case <-blockerIn:
		queued["A_finalizer_started_before_dump"] = true
	case <-time.After(5 * time.Second):
		queued["A_finalizer_started_before_dump"] = false
	}

	mb := &dumpkit.Marker{ID: 2}
	b := &Blocker{ID: 2, M: mb}
	dumpkit.Marked(&tab, "queued_finalizer", "B_queued", b, mb, true, true,
		"found unreachable by a collection before the dump, finalizer queued but not run (the finalizer goroutine is stuck in A's): a tag 11 record, so B and what it points to are roots; its finalizer ran right after the dump when A was released, so B was freed by cycle 1")
	queued["B_addr"] = dumpkit.P(unsafe.Pointer(b))
	runtime.SetFinalizer(b, func(x *Blocker) {
		sink += x.ID
		queuedRan <- struct{}{}
	})
	b = nil
	runtime.GC()
	runtime.GC()
}

//go:noinline
func build() {
	// garbage chains: 3 chains of 100 nodes, markers on head, middle and tail
	for c := int64(0); c < 3; c++ {
		var head, prev *Node
		for i := int64(0); i < 100; i++ {
			n := &Node{ID: c*1000 + i}
			if prev == nil {
				head = n
			} else {
				prev.Next = n
			}
			prev = n
			if i == 0 || i == 50 || i == 99 {
				n.M = &dumpkit.Marker{ID: n.ID}
				role := map[int64]string{0: "head", 50: "middle", 99: "tail"}[i]
				dumpkit.Marked(&tab, "garbage_chain", role, n, n.M, false, false, "100-node chain, dropped")
			}
		}
		_ = head
	}

	// only an interior pointer (&n.Field, offset 16) in a global
	n, m := mk(10)
	interior = &n.Field
	dumpkit.Marked(&tab, "interior_pointer", "node", n, m, false, true,
		"only reference: the global interior = &node.Field (node start + 16)")

	// only a goroutine's stack frame
	go func() {
		n, m := mk(20)
		dumpkit.Marked(&tab, "stack_only", "node", n, m, false, true,
			"only reference: a local of a goroutine blocked forever on a channel receive, used after it")
		stackGoid = dumpkit.GoID()
		parked <- struct{}{}
		<-forever
		sink += n.ID
	}()
	<-parked

	// finalizer referent rule, X reachable from a global
	y, ym := mk(30)
	liveHolder = &Holder{Name: "live", Target: y}
	dumpkit.Own(&tab, "finalizer_referent_reachable", "X_holder", liveHolder, true, "X has a finalizer and is in the global liveHolder")
	dumpkit.Marked(&tab, "finalizer_referent_reachable", "Y_target", y, ym, false, true, "only X points to it")

	// finalizer referent rule, X unreachable
	y2, ym2 := mk(31)
	x2 := &Holder{Name: "dropped", Target: y2}
	dumpkit.Own(&tab, "finalizer_referent_unreachable", "X_holder", x2, false,
		"X has a finalizer and nothing reaches it: not marked, its finalizer is queued by cycle 1")
	dumpkit.Marked(&tab, "finalizer_referent_unreachable", "Y_target", y2, ym2, false, true,
		"only X points to it: live at the dump because a registered finalizer's object's fields are roots; X's finalizer runs after cycle 1, so Y is unreachable in cycle 2")

	// two-object cycle, finalizer on one end
	p, q := &Node{ID: 40}, &Node{ID: 41}
	q.M = &dumpkit.Marker{ID: 41}
	p.Next, q.Next = q, p
	dumpkit.Own(&tab, "cycle_one_finalizer", "P_with_finalizer", p, true, "P <-> Q, nothing else reaches them; P's fields are roots -> Q -> P")
	dumpkit.Marked(&tab, "cycle_one_finalizer", "Q_plain", q, q.M, false, true, "P <-> Q")

	// two-object cycle, finalizers on both ends
	p2, q2 := &Node{ID: 42}, &Node{ID: 43}
	p2.Next, q2.Next = q2, p2
	dumpkit.Own(&tab, "cycle_both_finalizers", "P", p2, true, "P <-> Q, both with finalizers: never collected")
	dumpkit.Own(&tab, "cycle_both_finalizers", "Q", q2, true, "P <-> Q")

	// self-pointing object with a finalizer
	s := &Self{M: &dumpkit.Marker{ID: 50}}
	s.Self = s
	dumpkit.Own(&tab, "self_pointing", "self", s, false, "s.Self == s: the pointer to itself is ignored, so it is collectable")
	dumpkit.Own(&tab, "self_pointing", "marker_of_self", s.M, true,
		"24-byte leaf only s points to: live at the dump through s's finalizer (s's fields are roots), unreachable once s's finalizer has run")

	// finalizer closure capturing its own object
	c, cm := mk(60)
	dumpkit.Marked(&tab, "closure_captures_self", "node", c, cm, true, true,
		"its finalizer is a closure capturing the node: the funcval (a root) keeps it alive, the finalizer never runs")
	runtime.SetFinalizer(c, func(*Node) { sink += c.ID })

	// chain a -> b -> c, each with its own finalizer
	ca, cb, cc := &Node{ID: 70}, &Node{ID: 71}, &Node{ID: 72}
	ca.Next, cb.Next = cb, cc
	dumpkit.Own(&tab, "finalizer_chain", "a", ca, false, "a -> b -> c, a finalizer on each, nothing reaches a")
	dumpkit.Own(&tab, "finalizer_chain", "b", cb, true, "live at the dump: a's fields are roots")
	dumpkit.Own(&tab, "finalizer_chain", "c", cc, true, "live at the dump: b's fields are roots")
}

func main() {
	runtime.MemProfileRate = 1
	runtime.GC()
	debug.SetGCPercent(-1)
	prefix := dumpkit.Usage("finalizers")

	queuedSetup()
	build()
	time.Sleep(20 * time.Millisecond)

	before := dumpkit.Mem()
	size := dumpkit.WriteDump(prefix + ".heapdump")
	gs := dumpkit.Goroutines()

	close(release)
	select {
	case <-queuedRan:
		queued["B_finalizer_ran_after_release_before_cycle_1"] = true
	case <-time.After(5 * time.Second):
		queued["B_finalizer_ran_after_release_before_cycle_1"] = false
	}
	rows := tab.TR.Cycles(cycles)

	t := dumpkit.Header("finalizers", "mark-phase evidence: finalizer referent rule, cycles through finalizers, self pointers, interior pointers, stack-only and queued-finalizer roots")
	t["dump_size"] = size
	t["memstats_before_dump"] = before
	t["gc_cycles_after_dump"] = rows
	objs, sum := tab.Finish()
	t["tracked_objects"] = objs
	t["observed_summary"] = sum
	t["semantics"] = dumpkit.ObjSemantics
	t["globals"] = map[string]string{
		"main.interior":   dumpkit.P(unsafe.Pointer(&interior)),
		"main.liveHolder": dumpkit.P(unsafe.Pointer(&liveHolder)),
	}
	t["interior_pointer_value"] = dumpkit.P(unsafe.Pointer(interior))
	g := gs[stackGoid]
	t["stack_only_goroutine"] = g
	queued["expect_tag11_records"] = "A (its finalizer is running: still counted in its finalizer block) and B (queued behind it)"
	queued["reliable"] = queued["A_finalizer_started_before_dump"] == true
	t["queued_finalizer_case"] = queued
	dumpkit.WriteJSON(prefix+".truth.json", t)
	runtime.KeepAlive(liveHolder)
}

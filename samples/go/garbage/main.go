// garbage models a service that churns: it builds and drops linked chains
// (10 chains of 1,000 nodes, 10,000 nodes in all), a 100 KB array and a
// slice of pointers grown by append, while keeping a small live set (100
// nodes in a global slice). The collector is off, so the dump holds all the
// garbage; the collections after the dump free every tracked garbage object
// in cycle 1.
//
// Usage: garbage OUTPREFIX
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"unsafe"

	"heapwalk/samples/internal/dumpkit"
)

const (
	chainsN  = 10
	chainLen = 1000
	liveN    = 100
	bigLen   = 100 * 1024
)

// Node is a chain link (32 bytes).
type Node struct {
	ID   int64
	Next *Node
	M    *dumpkit.Marker
	Val  int64
}

var (
	live []*Node
	tab  dumpkit.Table
	sink int64

	chainHeads [chainsN]uintptr
	bigAddr    uintptr
	grownAddr  uintptr
)

//go:noinline
func churn(c int) int64 {
	var head, prev *Node
	for i := 0; i < chainLen; i++ {
		n := &Node{ID: int64(c*chainLen + i), Val: int64(i)}
		if prev == nil {
			head = n
		} else {
			prev.Next = n
		}
		prev = n
		if i == 0 || i == chainLen-1 {
			n.M = &dumpkit.Marker{ID: n.ID}
			role := map[bool]string{true: "head", false: "tail"}[i == 0]
			dumpkit.Marked(&tab, "garbage_chain", role, n, n.M, false, false, "1,000-node chain, dropped")
		}
	}
	chainHeads[c] = dumpkit.Addr(head)
	var s int64
	for n := head; n != nil; n = n.Next {
		s += n.Val
	}
	return s
}

//go:noinline
func bigArray() {
	a := new([bigLen]byte)
	a[0] = 1
	bigAddr = dumpkit.Addr(a)
	dumpkit.Own(&tab, "garbage_big_array", "array", a, false, "100 KB pointer-free array (a large object: whole pages), dropped")
	sink += int64(a[0])
}

//go:noinline
func grownSlice() {
	var ps []*Node
	for i := 0; i < 300; i++ {
		ps = append(ps, &Node{ID: int64(-i)})
	}
	grownAddr = dumpkit.Addr(&ps[0])
	sink += ps[299].ID
}

func main() {
	runtime.GC()
	debug.SetGCPercent(-1)
	prefix := dumpkit.Usage("garbage")

	live = make([]*Node, 0, liveN)
	for i := 0; i < liveN; i++ {
		n := &Node{ID: int64(1000000 + i)}
		if i < 5 {
			n.M = &dumpkit.Marker{ID: n.ID}
			dumpkit.Marked(&tab, "live", "node", n, n.M, false, true, "in the global live slice")
		}
		live = append(live, n)
	}
	for c := 0; c < chainsN; c++ {
		sink += churn(c)
	}
	bigArray()
	grownSlice()

	before := dumpkit.Mem()
	size := dumpkit.WriteDump(prefix + ".heapdump")
	cyc := tab.TR.Cycles(3)

	t := dumpkit.Header("garbage", "churn: 10,000 dropped chain nodes, a dropped 100 KB array and append-grown slices, a live set of 100 nodes")
	t["dump_size"] = size
	t["memstats_before_dump"] = before
	t["gc_cycles_after_dump"] = cyc
	t["globals"] = map[string]string{"main.live": dumpkit.P(unsafe.Pointer(&live))}
	t["live_array"] = dumpkit.P(unsafe.Pointer(&live[0]))
	t["live_nodes"] = len(live)
	t["node_size"] = unsafe.Sizeof(Node{})
	t["node_slot_size"] = dumpkit.SlotSize(unsafe.Sizeof(Node{}))
	t["garbage_chains"] = chainsN
	t["garbage_chain_len"] = chainLen
	t["garbage_nodes"] = chainsN * chainLen
	heads := []string{}
	for _, h := range chainHeads {
		heads = append(heads, dumpkit.U(h))
	}
	t["garbage_chain_heads"] = heads
	t["big_array"] = map[string]any{"addr": dumpkit.U(bigAddr), "size": bigLen, "slot_size": dumpkit.SlotSize(bigLen)}
	t["grown_slice"] = map[string]any{"final_array": dumpkit.U(grownAddr), "len": 300, "nodes": 300,
		"note": "append grew the backing array to 1, 2, 4, ..., 512 pointers: 10 arrays and 300 nodes, all garbage"}
	t["expected_garbage_at_least"] = map[string]any{
		"objects": chainsN*chainLen + 20 + 1 + 300 + 10,
		"bytes":   uintptr(chainsN*chainLen)*dumpkit.SlotSize(unsafe.Sizeof(Node{})) + dumpkit.SlotSize(bigLen) + 300*dumpkit.SlotSize(unsafe.Sizeof(Node{})),
		"note":    "chain nodes + their 20 markers + big array + grown-slice nodes + its 10 arrays (1..512 pointers); bytes counts only nodes and the big array",
	}
	objs, sum := tab.Finish()
	t["tracked_objects"] = objs
	t["observed_summary"] = sum
	t["semantics"] = dumpkit.ObjSemantics
	dumpkit.WriteJSON(prefix+".truth.json", t)
	fmt.Printf("garbage: %d garbage nodes, %d live, dump %d bytes\n", chainsN*chainLen, len(live), size)
	runtime.KeepAlive(live)
}

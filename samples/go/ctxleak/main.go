// ctxleak models a context leak: a long-lived parent context whose children
// are never cancelled. Each child carries a value context holding a 1 KiB
// payload, and a grandchild derived from the value context: the child's
// children map holds the grandchild, the grandchild points to the value
// context, the value context to the payload. So everything a request hung on
// its context stays reachable from the global parent through
//
//	main.parentCtx -> *context.cancelCtx (parent) -> children map -> child *context.cancelCtx
//	  -> children map -> grandchild *context.cancelCtx -> *context.valueCtx -> *main.Payload -> []byte
//
// 2,000 leaked children; 500 more are cancelled properly (garbage in the
// dump). runtime.MemProfileRate = 1: every object has an allocation site.
//
// Usage: ctxleak OUTPREFIX
package main

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"unsafe"

	"heapwalk/samples/internal/dumpkit"
)

const (
	leakedN    = 2000
	cancelledN = 500
	payloadLen = 1024
)

type payloadKey struct{}

// Payload is what a request hangs on its context.
type Payload struct {
	ID     int64
	Marker *dumpkit.Marker
	Data   []byte
}

var (
	parentCtx    context.Context
	parentCancel context.CancelFunc // never called

	tab   dumpkit.Table
	rows  = make([]row, 0, leakedN)
	crows = make([]row, 0, cancelledN)
	sites = map[string]dumpkit.Site{}
	types = map[string]string{}
)

func iface(c *context.Context) string { return dumpkit.U(dumpkit.IfaceData(unsafe.Pointer(c))) }

// children returns the address of the hmap in a *context.cancelCtx's
// children field (0 if nil) and its field offset.
func children(c context.Context) (unsafe.Pointer, uintptr) {
	f, ok := reflect.TypeOf(c).Elem().FieldByName("children")
	if !ok {
		panic("no children field")
	}
	obj := (*[2]unsafe.Pointer)(unsafe.Pointer(&c))[1]
	return *(*unsafe.Pointer)(unsafe.Add(obj, f.Offset)), f.Offset
}

//go:noinline
func newPayload(i int) *Payload {
	p := &Payload{ID: int64(i), Marker: &dumpkit.Marker{ID: int64(i)}, Data: make([]byte, payloadLen)}
	if i == 0 {
		sites["payload"] = dumpkit.Here()
		sites["payload"] = dumpkit.Site{Function: sites["payload"].Function, File: sites["payload"].File, Line: sites["payload"].Line - 2} // the allocation line
	}
	strconv.AppendInt(append(p.Data[:0], "payload "...), int64(i), 10)
	return p
}

// row is one request's addresses (kept as numbers: formatting them now would
// add thousands of strings to the dump).
type row [7]uintptr

//go:noinline
func request(i int, cancelIt bool) {
	child, cancel := context.WithCancel(parentCtx)
	if i == 0 {
		site := dumpkit.Here()
		site.Line -= 2 // keep the WithCancel call two lines above this one
		sites["child"] = site
	}
	p := newPayload(i)
	val := context.WithValue(child, payloadKey{}, p)
	grand, gcancel := context.WithCancel(val)
	if i == 0 {
		types["child"] = fmt.Sprintf("%T", child)
		types["value"] = fmt.Sprintf("%T", val)
		types["grandchild"] = fmt.Sprintf("%T", grand)
		types["payload"] = fmt.Sprintf("%T", p)
	}
	cm, _ := children(child)
	r := row{uintptr(i), dumpkit.IfaceData(unsafe.Pointer(&child)), dumpkit.IfaceData(unsafe.Pointer(&val)),
		dumpkit.IfaceData(unsafe.Pointer(&grand)), dumpkit.Addr(p), dumpkit.Addr(&p.Data[0]), uintptr(cm)}
	if cancelIt {
		gcancel()
		cancel()
		if len(crows) < 20 {
			dumpkit.Marked(&tab, "cancelled", "payload", p, p.Marker, false, false,
				"child cancelled: removed from the parent's children map; child, value, grandchild and payload are garbage")
		}
		crows = append(crows, r)
		return
	}
	if i < 4 || i%500 == 0 {
		dumpkit.Marked(&tab, "leaked", "payload", p, p.Marker, false, true,
			"reachable only via parent children map -> child -> children map -> grandchild -> value context")
	}
	rows = append(rows, r)
}

func format(rs []row) [][]any {
	out := make([][]any, len(rs))
	for k, r := range rs {
		out[k] = []any{int(r[0])}
		for _, a := range r[1:] {
			out[k] = append(out[k], dumpkit.U(a))
		}
	}
	return out
}

type nothing struct{}

func main() {
	runtime.MemProfileRate = 1
	runtime.GC()
	debug.SetGCPercent(-1)
	prefix := dumpkit.Usage("ctxleak")

	parentCtx, parentCancel = context.WithCancel(context.Background())
	site := dumpkit.Here()
	site.Line--
	sites["parent"] = site
	leaked, cancelled := 0, 0
	for i := 0; leaked+cancelled < leakedN+cancelledN; i++ {
		c := i%5 == 4 && cancelled < cancelledN
		request(i, c)
		if c {
			cancelled++
		} else {
			leaked++
		}
	}

	pm, off := children(parentCtx)
	pmCount := reflect.ValueOf(parentCtx).Elem().FieldByName("children").Len()
	// hmap: count int; flags, B uint8; noverflow uint16; hash0 uint32; buckets, oldbuckets unsafe.Pointer
	hB := *(*uint8)(unsafe.Add(pm, 9))
	hBuckets := *(*uintptr)(unsafe.Add(pm, 16))
	hOld := *(*uintptr)(unsafe.Add(pm, 24))

	before := dumpkit.Mem()
	size := dumpkit.WriteDump(prefix + ".heapdump")
	cyc := tab.TR.Cycles(3)

	t := dumpkit.Header("ctxleak", "context leak: 2,000 never-cancelled children of a global parent context, each retaining a value context and a 1 KiB payload through a grandchild")
	t["dump_size"] = size
	t["memstats_before_dump"] = before
	t["gc_cycles_after_dump"] = cyc
	t["globals"] = map[string]string{
		"main.parentCtx":    dumpkit.P(unsafe.Pointer(&parentCtx)),
		"main.parentCancel": dumpkit.P(unsafe.Pointer(&parentCancel)),
	}
	t["parent_ctx"] = iface(&parentCtx)
	t["parent_type"] = fmt.Sprintf("%T", parentCtx)
	t["cancelCtx_children_field_offset"] = off
	t["cancelCtx_size"] = reflect.TypeOf(parentCtx).Elem().Size()
	t["valueCtx_size"] = reflect.TypeOf(context.WithValue(context.Background(), payloadKey{}, nothing{})).Elem().Size()
	t["payload_size"] = unsafe.Sizeof(Payload{})
	t["payload_data_len"] = payloadLen
	t["parent_children_map"] = map[string]any{"hmap": dumpkit.P(pm), "count": pmCount, "B": hB,
		"buckets": dumpkit.U(hBuckets), "oldbuckets": dumpkit.U(hOld),
		"bucket_array_bytes": dumpkit.BucketArrayBytes(hB, 144), "bucket_array_slot_size": dumpkit.SlotSize(dumpkit.BucketArrayBytes(hB, 144)),
		"note": "map[context.canceler]struct{}: bucket = 8 tophash + 8 x 16-byte interface keys + overflow pointer = 144 bytes; the array holds 2^B buckets plus 2^(B-4) preallocated overflow buckets"}
	t["types"] = types
	t["alloc_sites"] = sites
	t["alloc_sites_note"] = "runtime.Caller positions (-trimpath). payload: the &Payload{...} / make([]byte) line in main.newPayload (the dump's alloc-sample stacks: main.newPayload at that line). child/parent: the line of main's context.WithCancel call (in the dump a frame below context.WithCancel / context.newCancelCtx)"
	t["leaked_count"] = len(rows)
	t["cancelled_count"] = len(crows)
	cols := []string{"i", "child_cancelCtx", "valueCtx", "grandchild_cancelCtx", "payload", "payload_data", "child_children_map"}
	t["leaked_children_columns"] = cols
	t["leaked_children"] = format(rows)
	t["cancelled_children_columns"] = cols
	t["cancelled_children"] = format(crows)
	objs, sum := tab.Finish()
	t["tracked_objects"] = objs
	t["observed_summary"] = sum
	t["semantics"] = dumpkit.ObjSemantics
	t["expected_reachable_at_dump"] = "every leaked row: child, its children map, grandchild, valueCtx, payload, payload data; the parent and its children map (count 2000). Cancelled rows: all garbage (their children map field was set to nil by cancel; the address listed is the map as it was before cancel)"
	dumpkit.WriteJSON(prefix+".truth.json", t)
	fmt.Printf("ctxleak: parent %s children map %s (%d entries), dump %d bytes\n", iface(&parentCtx), dumpkit.P(pm), pmCount, size)
	runtime.KeepAlive(parentCancel)
}

// Package dumpkit holds what the heapwalk sample programs share: writing the
// heap dump, formatting addresses as fmt's %p does, reading goroutine ids and
// wait states from runtime.Stack, running collections one at a time after the
// dump while recording which tracked objects' finalizers ran in which cycle,
// and writing the truth file.
//
// Conventions (the same in every truth file):
//   - addresses are strings exactly as %p prints them ("0xc000012345");
//   - "size" is the Go type's size (unsafe.Sizeof or the make length),
//     "slot_size" the Go 1.19 size-class slot that the dump's object record
//     has (large objects: whole pages);
//   - "freed_in_cycle" is the collection after the dump (1 = first) that first
//     found the object unreachable: for an object with its own tracking
//     finalizer, the cycle its finalizer ran in; otherwise the cycle the
//     finalizer of a marker (a 24-byte leaf only that object points to) ran
//     in. 0 = never (within the cycles run).
package dumpkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// P formats a pointer as %p does.
func P(p unsafe.Pointer) string { return fmt.Sprintf("%p", p) }

// U formats an address held in a uintptr as %p would.
func U(a uintptr) string { return fmt.Sprintf("0x%x", a) }

// Addr returns the address of *p.
func Addr[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }

// IfaceData returns the data word of the interface value at iface (what a
// context.Context or an error really points to).
func IfaceData(iface unsafe.Pointer) uintptr { return *(*uintptr)(unsafe.Add(iface, 8)) }

// MapHeader returns the runtime hmap address a map value refers to.
func MapHeader(m unsafe.Pointer) uintptr { return *(*uintptr)(m) }

// FuncData returns the funcval address a func value refers to (a closure
// object on the heap, or a static funcval).
func FuncData(fn unsafe.Pointer) uintptr { return *(*uintptr)(fn) }

// sizes are Go 1.19's size classes (runtime/sizeclasses.go).
var sizes = [...]uintptr{0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

// SlotSize is the size of the heap slot (the dump's object record length)
// that an allocation of n bytes gets in Go 1.19 (Go 1.22+ adds an 8-byte
// header to pointerful objects of more than 512 bytes: not modelled).
// Tiny-allocator objects (< 16 B, no pointers) share 16-byte blocks.
func SlotSize(n uintptr) uintptr {
	if n > 32768 {
		return (n + 8191) &^ 8191
	}
	for _, s := range sizes[1:] {
		if s >= n {
			return s
		}
	}
	return n
}

// BucketArrayBytes is what Go 1.19's makeBucketArray allocates for a map of
// 2^b buckets of bucketSize bytes: for b >= 4 it preallocates 2^(b-4)
// overflow buckets in the same array.
func BucketArrayBytes(b uint8, bucketSize uintptr) uintptr {
	n := uintptr(1) << b
	if b >= 4 {
		n += uintptr(1) << (b - 4)
	}
	return n * bucketSize
}

// WriteDump writes runtime/debug.WriteHeapDump output to path and returns
// its size in bytes.
func WriteDump(path string) int64 {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	debug.WriteHeapDump(f.Fd())
	if err := f.Close(); err != nil {
		panic(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		panic(err)
	}
	return st.Size()
}

var ms runtime.MemStats

// Mem reads the MemStats fields the truth files report.
func Mem() map[string]uint64 {
	runtime.ReadMemStats(&ms)
	return map[string]uint64{
		"HeapAlloc": ms.HeapAlloc, "HeapObjects": ms.HeapObjects, "HeapInuse": ms.HeapInuse,
		"HeapSys": ms.HeapSys, "TotalAlloc": ms.TotalAlloc, "Mallocs": ms.Mallocs,
		"Frees": ms.Frees, "NumGC": uint64(ms.NumGC), "StackInuse": ms.StackInuse,
	}
}

// Header returns the keys every truth file starts with.
func Header(program, models string) map[string]any {
	return map[string]any{
		"program":          program,
		"models":           models,
		"go_version":       runtime.Version(),
		"goos":             runtime.GOOS,
		"goarch":           runtime.GOARCH,
		"gomaxprocs":       runtime.GOMAXPROCS(0),
		"mem_profile_rate": runtime.MemProfileRate,
		"address_format":   "hex string exactly as fmt %p prints it",
		"gc_during_build":  "off: one runtime.GC() at start, then debug.SetGCPercent(-1); garbage stays in the dump",
	}
}

// G is one goroutine as runtime.Stack(all=true) printed it.
type G struct {
	ID    int64  `json:"goid"`
	State string `json:"state"`
	Top   string `json:"top_function"`
	Entry string `json:"go_statement_function"`
}

// Goroutines parses runtime.Stack(all) output (call it after the dump so
// that its buffers are not in the dump): id, "[state]" text (without
// the ", N minutes" suffix), innermost function, and the function the go
// statement started (last frame before "created by").
func Goroutines() map[int64]G {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	s := string(buf)
	out := map[int64]G{}
	for _, blk := range strings.Split(s, "\n\n") {
		lines := strings.Split(blk, "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[0], "goroutine ") {
			continue
		}
		f := strings.SplitN(strings.TrimPrefix(lines[0], "goroutine "), " ", 2)
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || len(f) < 2 {
			continue
		}
		state := strings.TrimSuffix(strings.TrimPrefix(f[1], "["), "]:")
		if i := strings.Index(state, ", "); i > 0 {
			state = state[:i]
		}
		g := G{ID: id, State: state, Top: fnName(lines[1])}
		for i := 1; i < len(lines); i += 2 {
			if strings.HasPrefix(lines[i], "created by ") {
				break
			}
			g.Entry = fnName(lines[i])
		}
		out[id] = g
	}
	return out
}

func fnName(l string) string {
	if i := strings.LastIndexByte(l, '('); i > 0 {
		return l[:i]
	}
	return l
}

// GoID returns the calling goroutine's id.
func GoID() int64 {
	var b [64]byte
	s := strings.TrimPrefix(string(b[:runtime.Stack(b[:], false)]), "goroutine ")
	id, _ := strconv.ParseInt(s[:strings.IndexByte(s, ' ')], 10, 64)
	return id
}

// Site is a source position as runtime.Caller reports it (with -trimpath:
// module path + file).
type Site struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// Here returns the caller's position: write `x, site := &T{...}, dumpkit.Here()`
// on one line to record an allocation's line.
func Here() Site {
	pc, file, line, _ := runtime.Caller(1)
	return Site{Function: runtime.FuncForPC(pc).Name(), File: file, Line: line}
}

// Marker is a 24-byte pointer-free leaf (not a tiny-allocator object). Hang
// one off an object and Track it: its finalizer runs in the cycle that found
// the object unreachable, without giving the object a finalizer itself.
type Marker struct {
	ID  int64
	Pad [2]int64
}

// Tracker records in which collection after the dump each tracked object's
// finalizer ran (0 = never).
type Tracker struct {
	cycle int32
	count int64
	ran   []int32
}

// Track sets a finalizer on obj (the start of a heap object) that records
// the current cycle; it returns obj's tracker index.
func Track[T any](tr *Tracker, obj *T) int {
	i := len(tr.ran)
	tr.ran = append(tr.ran, 0)
	runtime.SetFinalizer(obj, func(*T) { tr.Hit(i) })
	return i
}

// Slot reserves a tracker index for a finalizer the caller writes itself;
// that finalizer must call tr.Hit(index).
func (tr *Tracker) Slot() int {
	tr.ran = append(tr.ran, 0)
	return len(tr.ran) - 1
}

// Hit records that tracked object i's finalizer ran now.
func (tr *Tracker) Hit(i int) {
	atomic.StoreInt32(&tr.ran[i], atomic.LoadInt32(&tr.cycle))
	atomic.AddInt64(&tr.count, 1)
}

// Cycle returns the cycle in which tracked object i's finalizer ran (0 = never).
func (tr *Tracker) Cycle(i int) int32 { return atomic.LoadInt32(&tr.ran[i]) }

// CycleRow is one collection run after the dump.
type CycleRow struct {
	Cycle          int32  `json:"cycle"`
	NumGCDelta     uint32 `json:"numgc_delta"`
	FinalizersRan  int64  `json:"tracked_finalizers_ran"`
	HeapObjects    uint64 `json:"heap_objects_after"`
	HeapAllocAfter uint64 `json:"heap_alloc_after"`
}

// Cycles runs n collections one at a time (GC percent must be -1 so that
// none interleaves); after each it waits until the tracked finalizers have
// gone quiet (250 ms without a new one).
func (tr *Tracker) Cycles(n int) []CycleRow {
	var rows []CycleRow
	prev := atomic.LoadInt64(&tr.count)
	for c := int32(1); c <= int32(n); c++ {
		atomic.StoreInt32(&tr.cycle, c)
		runtime.ReadMemStats(&ms)
		g0 := ms.NumGC
		runtime.GC()
		now := tr.quiet()
		runtime.ReadMemStats(&ms)
		rows = append(rows, CycleRow{c, ms.NumGC - g0, now - prev, ms.HeapObjects, ms.HeapAlloc})
		prev = now
	}
	return rows
}

func (tr *Tracker) quiet() int64 {
	last, since := atomic.LoadInt64(&tr.count), time.Now()
	for time.Since(since) < 250*time.Millisecond {
		time.Sleep(5 * time.Millisecond)
		if v := atomic.LoadInt64(&tr.count); v != last {
			last, since = v, time.Now()
		}
	}
	return last
}

// Obj is one row of a truth file's "tracked_objects" table.
type Obj struct {
	Class        string  `json:"class"`
	Role         string  `json:"role"`
	Addr         string  `json:"addr"`
	Type         string  `json:"type"`
	Size         uintptr `json:"size"`
	SlotSize     uintptr `json:"slot_size"`
	HasFinalizer bool    `json:"has_finalizer"`
	ExpectLive   bool    `json:"expected_live_at_dump"`
	FreedIn      int32   `json:"freed_in_cycle"`
	ObservedBy   string  `json:"observed_by"`
	MarkerAddr   string  `json:"marker_addr,omitempty"`
	Note         string  `json:"note,omitempty"`

	track int
}

// Table collects tracked objects.
type Table struct {
	TR   Tracker
	Rows []*Obj
}

// Own adds obj with its own tracking finalizer.
func Own[T any](t *Table, class, role string, obj *T, live bool, note string) *Obj {
	o := &Obj{Class: class, Role: role, Addr: P(unsafe.Pointer(obj)), Type: fmt.Sprintf("%T", obj),
		Size: unsafe.Sizeof(*obj), SlotSize: SlotSize(unsafe.Sizeof(*obj)), HasFinalizer: true,
		ExpectLive: live, ObservedBy: "own_finalizer", Note: note}
	o.track = Track(&t.TR, obj)
	t.Rows = append(t.Rows, o)
	return o
}

// Marked adds obj (no finalizer of its own unless hasFin) whose verdict is
// the finalizer of marker m, which only obj points to.
func Marked[T any](t *Table, class, role string, obj *T, m *Marker, hasFin, live bool, note string) *Obj {
	o := &Obj{Class: class, Role: role, Addr: P(unsafe.Pointer(obj)), Type: fmt.Sprintf("%T", obj),
		Size: unsafe.Sizeof(*obj), SlotSize: SlotSize(unsafe.Sizeof(*obj)), HasFinalizer: hasFin,
		ExpectLive: live, ObservedBy: "marker", MarkerAddr: P(unsafe.Pointer(m)), Note: note}
	o.track = Track(&t.TR, m)
	t.Rows = append(t.Rows, o)
	return o
}

// Custom adds a row whose finalizer the caller set; it returns the row, whose
// tracker index is Index().
func (t *Table) Custom(o *Obj) *Obj {
	o.track = t.TR.Slot()
	t.Rows = append(t.Rows, o)
	return o
}

// Index is the row's tracker index (for Tracker.Hit).
func (o *Obj) Index() int { return o.track }

// Finish fills every row's freed_in_cycle and returns the rows and a summary
// "class role" -> "cycle_N" -> count.
func (t *Table) Finish() ([]*Obj, map[string]map[string]int) {
	sum := map[string]map[string]int{}
	for _, o := range t.Rows {
		o.FreedIn = t.TR.Cycle(o.track)
		k := o.Class + " " + o.Role
		if sum[k] == nil {
			sum[k] = map[string]int{}
		}
		sum[k][fmt.Sprintf("cycle_%d", o.FreedIn)]++
	}
	return t.Rows, sum
}

// ObjSemantics documents the tracked_objects columns (written into every
// truth file that has the table).
const ObjSemantics = "tracked_objects: class/role name the case; addr is %p of the object; size is the Go type size, slot_size the Go 1.19 size-class slot (the length of its object record in the dump); has_finalizer: the object itself has a registered finalizer (a tag 7 record at dump time, or tag 11 if already queued); expected_live_at_dump: what Go's mark phase marks at the dump (roots: data, bss, stack frames, queued finalizers and every finalizer's funcval; a registered finalizer's object's pointer fields are roots but the object itself is not; interior pointers mark the enclosing slot; a pointer from an object to itself is ignored); freed_in_cycle: the collection after the dump (1 = first) that first found the object unreachable, observed through its own finalizer (observed_by own_finalizer: the cycle it ran in) or through a marker leaf only it points to (observed_by marker); 0 = never within the cycles run"

// WriteJSON writes a truth file: a JSON object with sorted keys, one key a
// line; a slice value is written one element a line (compact), anything else
// compactly.
func WriteJSON(path string, t map[string]any) {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		b.WriteString("  ")
		b.Write(mustJSON(k))
		b.WriteString(": ")
		v := reflect.ValueOf(t[k])
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 && v.Len() > 0 {
			b.WriteString("[\n")
			for j := 0; j < v.Len(); j++ {
				b.WriteString("    ")
				b.Write(mustJSON(v.Index(j).Interface()))
				if j < v.Len()-1 {
					b.WriteByte(',')
				}
				b.WriteByte('\n')
			}
			b.WriteString("  ]")
		} else {
			b.Write(mustJSON(t[k]))
		}
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	var chk any
	if err := json.Unmarshal(b.Bytes(), &chk); err != nil {
		panic(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		panic(err)
	}
}

func mustJSON(v any) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// SortedIDs returns the keys of m in increasing order.
func SortedIDs[V any](m map[int64]V) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

// Usage checks the command line (one argument: the output prefix) and returns it.
func Usage(program string) string {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s OUTPREFIX  (writes OUTPREFIX.heapdump and OUTPREFIX.truth.json)\n", program)
		os.Exit(2)
	}
	return os.Args[1]
}

// growingmap models an unbounded cache: a global map[string]*Entry that only
// grows (10,000 entries; every Entry has a 256-byte []byte and points to one
// shared *Config), plus a global "recent" slice holding every 10th entry.
// A refresh pass replaced 500 entries with new ones: the replaced entries
// are garbage. The map grew step by step, so its earlier bucket arrays are
// garbage too (the collector is off).
//
// Usage: growingmap OUTPREFIX
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"unsafe"

	"heapwalk/samples/internal/dumpkit"
)

const (
	entriesN = 10000
	dataLen  = 256
	// bucketSize is a map[string]*Entry bucket in Go 1.19
	bucketSize = 8 + 8*16 + 8*8 + 8
	refreshed  = 500
)

// Config is shared by every entry.
type Config struct {
	Name    string
	TTL     int64
	Limits  [4]int64
	Enabled bool
}

// Entry is one cached value.
type Entry struct {
	Key    string
	Data   []byte
	Cfg    *Config
	Hits   int64
	Marker *dumpkit.Marker // set only on tracked entries
}

var (
	registry = map[string]*Entry{}
	recent   []*Entry
	config   *Config

	tab dumpkit.Table
)

var kbuf [16]byte

// kb returns the key of entry i in a reused buffer: registry[string(kb(i))]
// looks an entry up without allocating.
func kb(i int) []byte { return strconv.AppendInt(append(kbuf[:0], "user:"...), int64(100000+i), 10) }

// key allocates the key of entry i (one 11-byte string).
func key(i int) string { return string(kb(i)) }

//go:noinline
func newEntry(i int, gen byte) *Entry {
	e := &Entry{Key: key(i), Data: make([]byte, dataLen), Cfg: config}
	e.Data[0], e.Data[1] = gen, byte(i)
	return e
}

//go:noinline
func build() {
	config = &Config{Name: "default", TTL: 3600, Enabled: true}
	for i := 0; i < entriesN; i++ {
		e := newEntry(i, 1)
		registry[e.Key] = e
		if i%10 == 0 {
			recent = append(recent, e)
		}
		if i == 1 || i == 5001 || i == 9999 {
			e.Marker = &dumpkit.Marker{ID: int64(i)}
			dumpkit.Marked(&tab, "live_entry", "entry", e, e.Marker, false, true, "in the global map only")
		}
		if i == 0 || i == 5000 {
			e.Marker = &dumpkit.Marker{ID: int64(i)}
			dumpkit.Marked(&tab, "live_entry", "entry_in_recent", e, e.Marker, false, true, "in the global map and the recent slice")
		}
	}
	// refresh pass: entries 3, 23, 43, ... replaced (never in recent: i%10 == 3)
	for k := 0; k < refreshed; k++ {
		i := 3 + 20*k
		old := registry[string(kb(i))]
		if k < 10 {
			old.Marker = &dumpkit.Marker{ID: int64(i)}
			dumpkit.Marked(&tab, "replaced_entry", "entry", old, old.Marker, false, false, "replaced in the map by a newer entry: garbage")
		}
		e := newEntry(i, 2)
		registry[e.Key] = e
	}
}

func main() {
	runtime.GC()
	debug.SetGCPercent(-1)
	prefix := dumpkit.Usage("growingmap")
	build()

	h := unsafe.Pointer(*(**byte)(unsafe.Pointer(&registry)))
	hB := *(*uint8)(unsafe.Add(h, 9))
	hBuckets := *(*uintptr)(unsafe.Add(h, 16))
	hOld := *(*uintptr)(unsafe.Add(h, 24))
	var sample [][]any
	for _, i := range []int{0, 1, 2, 3, 4999, 5000, 9999} {
		e := registry[string(kb(i))]
		sample = append(sample, []any{e.Key, dumpkit.P(unsafe.Pointer(e)), dumpkit.P(unsafe.Pointer(&e.Data[0])), i%10 == 0, e.Data[0]})
	}

	before := dumpkit.Mem()
	size := dumpkit.WriteDump(prefix + ".heapdump")
	cyc := tab.TR.Cycles(3)

	t := dumpkit.Header("growingmap", "unbounded cache: a global map[string]*Entry of 10,000 entries (256-byte data, shared *Config) and a global slice of every 10th entry; 500 replaced entries are garbage")
	t["dump_size"] = size
	t["memstats_before_dump"] = before
	t["gc_cycles_after_dump"] = cyc
	t["globals"] = map[string]string{
		"main.registry": dumpkit.P(unsafe.Pointer(&registry)),
		"main.recent":   dumpkit.P(unsafe.Pointer(&recent)),
		"main.config":   dumpkit.P(unsafe.Pointer(&config)),
	}
	t["registry_map"] = map[string]any{"hmap": dumpkit.P(h), "count": len(registry), "B": hB,
		"buckets": dumpkit.U(hBuckets), "oldbuckets": dumpkit.U(hOld),
		"bucket_size": bucketSize, "bucket_array_bytes": dumpkit.BucketArrayBytes(hB, bucketSize),
		"bucket_array_slot_size": dumpkit.SlotSize(dumpkit.BucketArrayBytes(hB, bucketSize)),
		"note":                   "map[string]*Entry bucket: 8 tophash + 8 x 16-byte string keys + 8 pointers + overflow pointer = 208 bytes; the array holds 2^B buckets plus 2^(B-4) preallocated overflow buckets"}
	t["recent_slice"] = map[string]any{"array": dumpkit.P(unsafe.Pointer(&recent[0])), "len": len(recent), "cap": cap(recent),
		"array_slot_size": dumpkit.SlotSize(uintptr(cap(recent)) * 8)}
	t["config"] = dumpkit.P(unsafe.Pointer(config))
	t["config_size"] = unsafe.Sizeof(Config{})
	t["entry_size"] = unsafe.Sizeof(Entry{})
	t["entry_slot_size"] = dumpkit.SlotSize(unsafe.Sizeof(Entry{}))
	t["entry_data_len"] = dataLen
	t["entry_data_slot_size"] = dumpkit.SlotSize(dataLen)
	t["entries_in_map"] = len(registry)
	t["entries_replaced_garbage"] = refreshed
	t["key_format"] = "user:1NNNNN (11 bytes, no pointers: tiny-allocator objects, several keys share one 16-byte block)"
	t["sample_entries_columns"] = []string{"key", "entry", "entry_data", "in_recent", "generation"}
	t["sample_entries"] = sample
	t["expected_reachable_at_dump"] = "the map (hmap, current bucket array and overflow buckets), 10,000 live entries with their data and keys, the config, the recent array (1,000 pointers); garbage: 500 replaced entries and their data, earlier bucket arrays of the growing map"
	objs, sum := tab.Finish()
	t["tracked_objects"] = objs
	t["observed_summary"] = sum
	t["semantics"] = dumpkit.ObjSemantics
	dumpkit.WriteJSON(prefix+".truth.json", t)
	fmt.Printf("growingmap: map %s, %d entries, dump %d bytes\n", dumpkit.P(h), len(registry), size)
	runtime.KeepAlive(config)
}

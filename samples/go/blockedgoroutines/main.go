// blockedgoroutines models a goroutine leak: 50 consumers blocked forever
// receiving from a channel nobody sends on, each holding a 64 KiB buffer in
// a local variable it uses after the receive (so the buffer is in its stack
// frame), and 10 goroutines blocked in sync.Mutex.Lock behind a holder that
// never unlocks (it sits in select {}), each holding a 4 KiB buffer. Five
// more consumers got their value and exited: their buffers are garbage.
//
// Usage: blockedgoroutines OUTPREFIX
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
	"unsafe"

	"heapwalk/samples/internal/dumpkit"
)

const (
	consumersN = 50
	waitersN   = 10
	exitedN    = 5
	bufLen     = 64 << 10
	waitBufLen = 4 << 10
)

type gRec struct {
	role   string
	goid   int64
	buf    uintptr
	bufLen int
	track  int
}

var (
	jobs    = make(chan int) // never sent on
	mu      sync.Mutex       // locked by the holder forever
	regMu   sync.Mutex       // guards recs
	recs    []gRec
	tab     dumpkit.Table
	started = make(chan struct{})
	sink    int
	holder  int64
)

func register(role string, buf []byte) {
	regMu.Lock()
	i := dumpkit.Track(&tab.TR, &buf[0])
	recs = append(recs, gRec{role: role, goid: dumpkit.GoID(), buf: dumpkit.Addr(&buf[0]), bufLen: len(buf), track: i})
	regMu.Unlock()
	started <- struct{}{}
}

//go:noinline
func consumer(n int) {
	buf := make([]byte, n) // n is not a constant: the buffer is on the heap
	register("consumer", buf)
	v := <-jobs
	buf[v%len(buf)]++
	sink += int(buf[0])
}

//go:noinline
func exited(n int, c chan int) {
	buf := make([]byte, n)
	register("exited", buf)
	v := <-c
	buf[v]++
	sink += int(buf[0])
}

//go:noinline
func waiter(n int) {
	buf := make([]byte, n)
	register("mutex_waiter", buf)
	mu.Lock()
	buf[0]++
	sink += int(buf[0])
	mu.Unlock()
}

func main() {
	runtime.GC()
	debug.SetGCPercent(-1)
	prefix := dumpkit.Usage("blockedgoroutines")

	mu.Lock() // the holder: main locks here, the holder goroutine "owns" it
	go func() {
		holder = dumpkit.GoID()
		started <- struct{}{}
		select {}
	}()
	<-started
	for i := 0; i < consumersN; i++ {
		go consumer(bufLen)
		<-started
	}
	for i := 0; i < exitedN; i++ {
		c := make(chan int, 1)
		go exited(bufLen, c)
		<-started
		c <- i
	}
	for i := 0; i < waitersN; i++ {
		go waiter(waitBufLen)
		<-started
	}
	time.Sleep(100 * time.Millisecond) // let every goroutine park, the exited ones finish

	before := dumpkit.Mem()
	size := dumpkit.WriteDump(prefix + ".heapdump")
	gs := dumpkit.Goroutines()
	cyc := tab.TR.Cycles(3)

	t := dumpkit.Header("blockedgoroutines", "goroutine leak: 50 consumers blocked on a channel receive holding 64 KiB buffers, 10 goroutines blocked on a mutex held forever, 5 exited consumers whose buffers are garbage")
	t["dump_size"] = size
	t["memstats_before_dump"] = before
	t["gc_cycles_after_dump"] = cyc
	t["globals"] = map[string]string{
		"main.jobs": dumpkit.P(unsafe.Pointer(&jobs)), "main.mu": dumpkit.P(unsafe.Pointer(&mu)),
	}
	t["jobs_chan"] = dumpkit.P(unsafe.Pointer(*(**byte)(unsafe.Pointer(&jobs))))
	var rows [][]any
	counts := map[string]int{}
	states := map[string]map[string]int{}
	for _, r := range recs {
		g, ok := gs[r.goid]
		st, top := "exited", ""
		if ok {
			st, top = g.State, g.Top
		}
		rows = append(rows, []any{r.role, r.goid, st, top, dumpkit.U(r.buf), r.bufLen, dumpkit.SlotSize(uintptr(r.bufLen)),
			r.role != "exited", tab.TR.Cycle(r.track)})
		counts[r.role]++
		if states[r.role] == nil {
			states[r.role] = map[string]int{}
		}
		states[r.role][st]++
	}
	t["goroutines_columns"] = []string{"role", "goid", "state", "top_function", "buffer", "buffer_len", "buffer_slot_size", "buffer_expected_live_at_dump", "buffer_freed_in_cycle"}
	t["goroutines"] = rows
	t["goroutine_counts"] = counts
	t["states_by_role"] = states
	hg := gs[holder]
	t["mutex_holder"] = hg
	var all []dumpkit.G
	for _, id := range dumpkit.SortedIDs(gs) {
		all = append(all, gs[id])
	}
	t["all_goroutines_after_dump"] = all
	t["expected_retained_by_blocked_goroutines_bytes"] = consumersN*int(dumpkit.SlotSize(bufLen)) + waitersN*int(dumpkit.SlotSize(waitBufLen))
	t["semantics"] = "goroutines: one row per goroutine this program started (the holder is in mutex_holder); goid and state as runtime.Stack printed them right after the dump (blocked goroutines do not move); buffer: %p of the []byte's first byte, which only that goroutine's frame points to; buffer_freed_in_cycle: the collection after the dump in which a finalizer on the buffer ran (0 = never). The frames are the only roots holding the buffers: the dump's tag-5 frame of consumer/waiter has a pointer field to each"
	dumpkit.WriteJSON(prefix+".truth.json", t)
	fmt.Printf("blockedgoroutines: %d consumers, %d waiters, dump %d bytes\n", counts["consumer"], counts["mutex_waiter"], size)
}

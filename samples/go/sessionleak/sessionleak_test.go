package main

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unsafe"

	"heapwalk/samples/internal/dumpkit"
)

var (
	sessionsFlag = flag.Int("sessions", 200, "sessions to open during the load")
	dumpFlag     = flag.String("dump", "", "write PREFIX.heapdump and PREFIX.truth.json at the end")
)

// Every object gets an allocation site: set before anything is allocated.
func init() { runtime.MemProfileRate = 1 }

// TestLoad is the CI load test: run the load, then (with -dump) write a heap
// dump for `heapwalk check`. It fails only if the load itself misbehaves;
// budgets are heapwalk's job.
func TestLoad(t *testing.T) {
	if *dumpFlag == "" {
		leaked, closed := runLoad(*sessionsFlag)
		if leaked+closed != *sessionsFlag {
			t.Fatalf("opened %d sessions, want %d", leaked+closed, *sessionsFlag)
		}
		return
	}
	writeDump(*sessionsFlag, *dumpFlag)
}

// writeDump runs the load with the collector off (garbage stays in the dump),
// writes PREFIX.heapdump and a truth file of what the program knows.
func writeDump(n int, prefix string) {
	runtime.GC()
	debug.SetGCPercent(-1)
	leaked, closed := runLoad(n)
	// Let every watcher reach its receive (closed ones exit).
	for i := 0; i < 100 && runtime.NumGoroutine() > leaked+2; i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	var first *session
	for _, s := range sessions {
		if first == nil || s.id < first.id {
			first = s
		}
	}
	before := dumpkit.Mem()
	size := dumpkit.WriteDump(prefix + ".heapdump")

	gs := dumpkit.Goroutines()
	watchers, chanReceive := 0, 0
	for _, g := range gs {
		if g.State == "chan receive" {
			chanReceive++
		}
		if strings.HasSuffix(g.Top, ".(*session).watch") {
			watchers++
		}
	}
	t := dumpkit.Header("sessionleak", "a session service that never closes four sessions in five: each leaked session stays in a global map with its child context, 4 KiB buffer and a watcher goroutine blocked in chan receive")
	t["dump_size"] = size
	t["memstats_before_dump"] = before
	t["sessions_opened"] = n
	t["sessions_leaked"] = leaked
	t["sessions_closed"] = closed
	t["sessions_in_map"] = len(sessions)
	t["session_size"] = unsafe.Sizeof(session{})
	t["session_slot_size"] = dumpkit.SlotSize(unsafe.Sizeof(session{}))
	t["buffer_len"] = bufferLen
	t["first_leaked_session"] = dumpkit.P(unsafe.Pointer(first))
	t["first_leaked_buffer"] = dumpkit.P(unsafe.Pointer(&first.buf[0]))
	t["goroutines_after_dump"] = len(gs)
	t["goroutines_chan_receive"] = chanReceive
	t["watcher_goroutines"] = watchers
	t["sessions_map"] = dumpkit.U(dumpkit.MapHeader(unsafe.Pointer(&sessions)))
	t["alloc_site_note"] = "main.newSession allocates only the session struct: objects whose site label contains main.newSession are the sessions still in memory (leaked ones live, closed ones garbage)"
	dumpkit.WriteJSON(prefix+".truth.json", t)
	fmt.Printf("sessionleak: %d sessions, %d leaked, %d watchers blocked, dump %d bytes\n", n, leaked, watchers, size)
	runtime.KeepAlive(serverCancel)
}

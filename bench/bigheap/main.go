// bigheap writes a big, realistically shaped Go heap dump for benchmarking
// heapwalk: a long doubly linked list, a balanced binary tree, sharded maps
// of records with pointers, slices of pointers, byte buffers, strings, some
// garbage and goroutines holding part of the heap in their frames.
// Everything is allocated iteratively (no recursion), so -objects can go to
// 20,000,000 and beyond (a dump of several GB).
//
// Usage: bigheap [-objects N] [-peers P] OUT.heapdump
//
// It writes OUT.heapdump and OUT.json (counts per structure, MemStats read
// just before the dump, dump size) and prints a summary to stderr.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

// ListNode is a doubly linked list node (24 bytes).
type ListNode struct {
	Next, Prev *ListNode
	ID         int64
}

// TreeNode is a binary search tree node (48 bytes).
type TreeNode struct {
	Key                 int64
	Left, Right, Parent *TreeNode
	Label               string
}

// User is shared by many records.
type User struct {
	ID    int64
	Name  string
	Email string
	Roles []string
}

// Record is a map value (80 bytes).
type Record struct {
	ID    int64
	Name  string
	Owner *User
	Blob  []byte
	Next  *Record
	Score float64
	Flags uint64
}

// Item is held by slices of pointers (32 bytes).
type Item struct {
	ID    int64
	Peer  *Item
	Value float64
	Tag   *string
}

// Peer is a vertex of a random directed graph (-peers): four pointers to
// peers chosen uniformly at random, the shape that defeats every cache
// (40 bytes, a 48-byte slot).
type Peer struct {
	Out [4]*Peer
	ID  int64
}

// Heap is everything the program keeps.
type Heap struct {
	Head, Tail *ListNode
	Root       *TreeNode
	Shards     []map[int64]*Record
	Users      []*User
	Batches    [][]*Item
	Buffers    [][]byte
	Strings    []string
	Peers      []*Peer
}

var (
	heap   *Heap
	counts = map[string]int64{}
	rng    = rand.New(rand.NewSource(1))
	block  = make(chan struct{})
	parked = make(chan struct{})
)

func count(k string, n int64) { counts[k] += n }

func buildList(n int64) {
	var head, tail *ListNode
	for i := int64(0); i < n; i++ {
		x := &ListNode{ID: i}
		if tail == nil {
			head = x
		} else {
			tail.Next, x.Prev = x, tail
		}
		tail = x
	}
	heap.Head, heap.Tail = head, tail
	count("list_nodes", n)
}

// buildTree makes a balanced BST of n nodes, breadth first, with keys
// assigned afterwards by an iterative in-order walk. The index slice used to
// link it is left as garbage.
func buildTree(n int64) {
	if n == 0 {
		return
	}
	nodes := make([]*TreeNode, n)
	for i := range nodes {
		nodes[i] = &TreeNode{}
		if i > 0 {
			p := nodes[(i-1)/2]
			nodes[i].Parent = p
			if i%2 == 1 {
				p.Left = nodes[i]
			} else {
				p.Right = nodes[i]
			}
		}
	}
	var stack []*TreeNode
	k := int64(0)
	for cur := nodes[0]; cur != nil || len(stack) > 0; {
		for cur != nil {
			stack = append(stack, cur)
			cur = cur.Left
		}
		cur = stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		cur.Key = k
		if k%64 == 0 {
			cur.Label = "node-" + strconv.FormatInt(k, 10)
			count("tree_labels", 1)
		}
		k++
		cur = cur.Right
	}
	heap.Root = nodes[0]
	count("tree_nodes", n)
	count("garbage_tree_index_arrays", 1)
}

// buildMaps makes n records (3 objects each: record, name, blob) in 64 shards.
func buildMaps(n int64) {
	const shards = 64
	users := int64(1 + n/500)
	for i := int64(0); i < users; i++ {
		heap.Users = append(heap.Users, &User{ID: i, Name: "user" + strconv.FormatInt(i, 10),
			Email: "u" + strconv.FormatInt(i, 10) + "@example.com", Roles: []string{"reader"}})
	}
	count("users", users)
	heap.Shards = make([]map[int64]*Record, shards)
	for s := range heap.Shards {
		heap.Shards[s] = make(map[int64]*Record, n/shards+1)
	}
	var prev *Record
	for i := int64(0); i < n; i++ {
		r := &Record{ID: i, Name: "rec-" + strconv.FormatInt(i, 36), Owner: heap.Users[i%users],
			Blob: make([]byte, 16+rng.Intn(48)), Score: float64(i) / 7, Flags: uint64(i)}
		if i%4 != 0 {
			r.Next = prev
		}
		prev = r
		heap.Shards[i%shards][i] = r
	}
	count("map_records", n)
}

// buildBatches makes slices of 1,000 pointers to Items.
func buildBatches(n int64) {
	tags := []*string{new(string), new(string)}
	*tags[0], *tags[1] = "hot", "cold"
	for done := int64(0); done < n; {
		m := int64(1000)
		if n-done < m {
			m = n - done
		}
		b := make([]*Item, m)
		for i := range b {
			b[i] = &Item{ID: done + int64(i), Value: float64(i), Tag: tags[i&1]}
			if i > 0 {
				b[i].Peer = b[i-1]
			}
		}
		heap.Batches = append(heap.Batches, b)
		done += m
	}
	count("batch_items", n)
	count("batch_arrays", int64(len(heap.Batches)))
}

func buildBuffers(n int64) {
	heap.Buffers = make([][]byte, 0, n)
	for i := int64(0); i < n; i++ {
		b := make([]byte, 16+rng.Intn(64))
		b[0], b[len(b)-1] = byte(i), byte(i>>8)
		heap.Buffers = append(heap.Buffers, b)
	}
	count("byte_buffers", n)
}

func buildStrings(n int64) {
	heap.Strings = make([]string, 0, n)
	var sb []byte
	pad := "........................"
	for i := int64(0); i < n; i++ {
		k := rng.Intn(24)
		sb = append(append(sb[:0], "str-"...), pad[:k]...)
		heap.Strings = append(heap.Strings, string(strconv.AppendInt(sb, i, 10)))
	}
	count("strings", n)
}

// garbage makes n objects that nothing keeps: short lists and buffers.
func garbage(n int64) {
	var keep int64
	for i := int64(0); i < n; i += 2 {
		x := &ListNode{ID: -i}
		x.Next = &ListNode{ID: -i - 1, Prev: x}
		keep += x.Next.ID
	}
	count("garbage_objects", n)
	_ = keep
}

// goroutines start k goroutines, each holding a list of m nodes in its frame.
func goroutines(k int, m int64) {
	for g := 0; g < k; g++ {
		go func(g int) {
			var head *ListNode
			for i := int64(0); i < m; i++ {
				head = &ListNode{Next: head, ID: i}
			}
			parked <- struct{}{}
			<-block
			fmt.Println(head.ID, g)
		}(g)
		<-parked
	}
	count("goroutines_blocked", int64(k))
	count("goroutine_list_nodes", int64(k)*m)
}

// buildPeers makes n peers, each pointing at four random peers. The slice
// holding them is dropped once they are linked, except for every 1000th
// peer, so most of the graph is reached only through random edges.
func buildPeers(n int64) {
	if n == 0 {
		return
	}
	all := make([]*Peer, n)
	for i := range all {
		all[i] = &Peer{ID: int64(i)}
	}
	for _, p := range all {
		for k := range p.Out {
			p.Out[k] = all[rng.Int63n(n)]
		}
	}
	for i := int64(0); i < n; i += 1000 {
		heap.Peers = append(heap.Peers, all[i])
	}
	count("peers", n)
	count("peer_edges", 4*n)
}

func main() {
	objects := flag.Int64("objects", 3500000, "approximate number of heap objects to allocate")
	peers := flag.Int64("peers", 0, "extra objects forming a random graph, four random pointers each")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: bigheap [-objects N] [-peers P] OUT.heapdump")
		os.Exit(2)
	}
	out := flag.Arg(0)
	runtime.GC()
	debug.SetGCPercent(-1)
	start := time.Now()
	n := *objects
	heap = &Heap{}
	listN := n * 38 / 100
	if listN < 1000000 && n >= 2000000 {
		listN = 1000000
	}
	buildList(listN)
	buildTree(n * 14 / 100)
	buildMaps(n * 12 / 100 / 3)
	buildBatches(n * 10 / 100)
	buildBuffers(n * 10 / 100)
	buildStrings(n * 10 / 100)
	garbage(n * 5 / 100)
	goroutines(16, n/100/16)
	buildPeers(*peers)
	built := time.Since(start)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t0 := time.Now()
	f, err := os.Create(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	debug.WriteHeapDump(f.Fd())
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st, _ := os.Stat(out)
	info := map[string]any{
		"go_version":        runtime.Version(),
		"objects_requested": n,
		"counts":            counts,
		"memstats_before_dump": map[string]uint64{"HeapAlloc": ms.HeapAlloc, "HeapObjects": ms.HeapObjects,
			"HeapInuse": ms.HeapInuse, "HeapSys": ms.HeapSys, "Sys": ms.Sys, "Mallocs": ms.Mallocs,
			"Frees": ms.Frees, "NumGC": uint64(ms.NumGC)},
		"dump_size":     st.Size(),
		"build_seconds": built.Seconds(),
		"dump_seconds":  time.Since(t0).Seconds(),
		"note":          "the collector was off while building (garbage is in the dump); HeapObjects counts every allocated slot, the dump's object records should match it",
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(out+".json", append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bigheap: %d heap objects, HeapAlloc %d, dump %s: %d bytes (build %.1fs, dump %.1fs)\n",
		ms.HeapObjects, ms.HeapAlloc, out, st.Size(), built.Seconds(), time.Since(t0).Seconds())
	runtime.KeepAlive(heap)
}

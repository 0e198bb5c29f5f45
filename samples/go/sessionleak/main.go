// sessionleak models a session service that forgets to close sessions: the
// README's worked CI example. Each opened session is registered in a global
// map, hangs a child context off the server's context, owns a 4 KiB buffer
// and starts a watcher goroutine that waits for the session to be closed.
// One session in five is closed properly (unregistered, context cancelled,
// watcher released: garbage or gone); the other four leak, with everything
// they hold and their watcher blocked in "chan receive" for ever.
//
// The load runs in a Go test (sessionleak_test.go), as a CI job would run its
// load test, and writes a heap dump at the end. `main` runs the same load for
// people who want to try it by hand.
//
// Usage: go test -run TestLoad -args -sessions N -dump PREFIX
//
//	sessionleak N PREFIX
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

const bufferLen = 4096

type session struct {
	id      int
	created time.Time
	ctx     context.Context
	cancel  context.CancelFunc
	buf     []byte
	done    chan struct{}
}

var (
	serverCtx, serverCancel = context.WithCancel(context.Background())
	sessions                = map[int]*session{}
)

// newSession allocates the session struct and nothing else, so that the
// objects whose allocation site says main.newSession are exactly the
// sessions.
//
//go:noinline
func newSession(id int) *session {
	return &session{id: id, created: time.Now()}
}

//go:noinline
func newBuffer() []byte { return make([]byte, bufferLen) }

// watch waits until the session is closed: for a leaked session, for ever.
func (s *session) watch() { <-s.done }

//go:noinline
func open(id int) *session {
	s := newSession(id)
	s.ctx, s.cancel = context.WithCancel(serverCtx)
	s.buf = newBuffer()
	s.done = make(chan struct{})
	go s.watch()
	sessions[id] = s
	return s
}

func (s *session) close() {
	delete(sessions, s.id)
	s.cancel()
	close(s.done)
}

// runLoad opens n sessions and closes one in five (the bug: the others are
// never closed). It returns how many leaked.
func runLoad(n int) (leaked, closed int) {
	for i := 0; i < n; i++ {
		s := open(i)
		if i%5 == 4 {
			s.close()
			closed++
		} else {
			leaked++
		}
	}
	return leaked, closed
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sessionleak N PREFIX")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		panic(err)
	}
	writeDump(n, os.Args[2])
}

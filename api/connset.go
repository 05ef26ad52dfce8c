package api

import (
	"context"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// connSet tracks open sockets: for the connection cap, keep-alive pings,
// and closing them all on shutdown.
type connSet struct {
	mu     sync.Mutex
	conns  map[*Conn]struct{}
	wg     sync.WaitGroup
	stop   chan struct{}
	closed bool
	slow   int64 // sockets closed as slow consumers
}

func newConnSet() *connSet {
	return &connSet{conns: make(map[*Conn]struct{}), stop: make(chan struct{})}
}

// add registers c unless max sockets are open or the set is closed.
func (cs *connSet) add(c *Conn, max int) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed || len(cs.conns) >= max {
		return false
	}
	cs.conns[c] = struct{}{}
	cs.wg.Add(1)
	return true
}

func (cs *connSet) remove(c *Conn) {
	cs.mu.Lock()
	delete(cs.conns, c)
	cs.mu.Unlock()
	cs.wg.Done()
}

func (cs *connSet) count() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.conns)
}

func (cs *connSet) countSlow() {
	cs.mu.Lock()
	cs.slow++
	cs.mu.Unlock()
}

func (cs *connSet) slowConsumers() int64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.slow
}

func (cs *connSet) snapshot() []*Conn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make([]*Conn, 0, len(cs.conns))
	for c := range cs.conns {
		out = append(out, c)
	}
	return out
}

// pingLoop pings sockets that have been quiet for an interval and closes
// those quiet for longer than idle. One goroutine serves every socket.
func (cs *connSet) pingLoop(interval, idle time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-cs.stop:
			return
		case now := <-t.C:
			for _, c := range cs.snapshot() {
				quiet := now.Sub(c.idleSince())
				switch {
				case quiet >= idle:
					c.Close(websocket.CloseGoingAway, "idle timeout")
				case quiet >= interval:
					c.control(websocket.PingMessage, nil)
				}
			}
		}
	}
}

func (cs *connSet) stopPings() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	select {
	case <-cs.stop:
	default:
		close(cs.stop)
	}
}

// closeAll refuses new sockets and closes the open ones with code.
func (cs *connSet) closeAll(code int, reason string) {
	cs.mu.Lock()
	cs.closed = true
	cs.mu.Unlock()
	for _, c := range cs.snapshot() {
		c.Close(code, reason)
	}
}

// wait returns when every socket's handler has finished, or ctx ends.
func (cs *connSet) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { cs.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

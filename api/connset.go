package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// connSet tracks open sockets: for the connection caps (all sockets, and
// each user's), keep-alive pings, and closing them all on shutdown.
type connSet struct {
	mu     sync.Mutex
	conns  map[*Conn]int64 // socket → its user's id
	users  map[int64]int   // user id → open sockets
	wg     sync.WaitGroup
	stop   chan struct{}
	closed bool
	slow   int64 // sockets closed as slow consumers
}

func newConnSet() *connSet {
	return &connSet{conns: make(map[*Conn]int64), users: make(map[int64]int), stop: make(chan struct{})}
}

// Why add refuses a socket.
var (
	errConnsClosed   = errors.New("api: shutting down")
	errConnsFull     = errors.New("api: too many sockets")
	errUserConnsFull = errors.New("api: too many sockets for one user")
)

// add registers user's socket c unless the set is closed, max sockets are
// open, or the user has maxUser open.
func (cs *connSet) add(c *Conn, user int64, max, maxUser int) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch {
	case cs.closed:
		return errConnsClosed
	case len(cs.conns) >= max:
		return errConnsFull
	case cs.users[user] >= maxUser:
		return errUserConnsFull
	}
	cs.conns[c] = user
	cs.users[user]++
	cs.wg.Add(1)
	return nil
}

func (cs *connSet) remove(c *Conn) {
	cs.mu.Lock()
	if user, ok := cs.conns[c]; ok {
		delete(cs.conns, c)
		if cs.users[user]--; cs.users[user] <= 0 {
			delete(cs.users, user)
		}
	}
	cs.mu.Unlock()
	cs.wg.Done()
}

// userCount is how many sockets user has open.
func (cs *connSet) userCount(user int64) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.users[user]
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

package api

import (
	"sync"
	"sync/atomic"
	"time"
)

// writeClock lines the writes of busy sockets up in time. The writer of a
// socket written within a few periods waits for the clock's next tick
// instead of sleeping on a timer of its own, so every busy socket that got
// frames within one window is written in the same burst: frames arriving
// meanwhile join their socket's write, and the runtime has one timer to
// run instead of one per socket. A writer waits at most one period. A
// quiet socket's writer does not wait (Conn.busyLocked). The clock only
// ticks while someone waits.
type writeClock struct {
	period time.Duration

	mu    sync.Mutex
	tick  chan struct{} // closed at the next tick
	armed bool
	// waiting mirrors armed for readers without the lock: some busy
	// socket waits for the next tick.
	waiting atomic.Bool
}

func newWriteClock(period time.Duration) *writeClock {
	return &writeClock{period: period, tick: make(chan struct{})}
}

// wait returns at the next tick; at once when the clock is nil.
func (w *writeClock) wait() {
	if w == nil {
		return
	}
	w.mu.Lock()
	if !w.armed {
		w.armed = true
		w.waiting.Store(true)
		time.AfterFunc(w.period, w.fire)
	}
	tick := w.tick
	w.mu.Unlock()
	<-tick
}

func (w *writeClock) fire() {
	w.mu.Lock()
	close(w.tick)
	w.tick = make(chan struct{})
	w.armed = false
	w.waiting.Store(false)
	w.mu.Unlock()
}

// ticking reports whether some busy socket waits for the next tick: the
// server is writing a busy room. Nil-safe.
func (w *writeClock) ticking() bool {
	return w != nil && w.waiting.Load()
}

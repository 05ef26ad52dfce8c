package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// gate holds a socket's frames of one kind to a rate, on the socket's
// reader, before they reach an actor. A frame over the rate is not dropped
// but held, and only the newest held value is passed on when the rate
// allows: the reader never queues more than the rate for the actor, however
// fast a client sends.
//
// chat.typing (--typing-rate): a client refreshing faster than the rate
// still has its last refresh (or its stop) reach the room, so the
// indicator expires TypingTimeout after that refresh, give or take one
// period of the rate, and a stop is never lost. A chat.message passing
// through the socket discards the held frame: the message ends the
// indicator, and a start sent after it would revive it.
//
// chat.read (--read-rate): within the rate every mark passes as sent, its
// refusal included; past it the newest held mark is passed on (a client's
// marks rise, and the room never moves a marker back).
type gate[T any] struct {
	mu      sync.Mutex
	limit   *rate.Limiter
	send    func(v T)
	held    bool // a frame waits for timer
	value   T    // the newest held value
	timer   *time.Timer
	stopped bool
}

func newGate[T any](rps float64, send func(v T)) *gate[T] {
	return &gate[T]{limit: rate.NewLimiter(rate.Limit(rps), max(1, int(math.Ceil(rps)))), send: send}
}

// offer passes v on now, or holds it until the rate allows.
func (g *gate[T]) offer(v T) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	g.value = v
	if g.held {
		return // the armed timer passes the newest value on
	}
	if g.limit.Allow() {
		g.send(v)
		return
	}
	g.held = true
	wait := g.limit.Reserve().Delay()
	if g.timer == nil {
		g.timer = time.AfterFunc(wait, g.release)
	} else {
		g.timer.Reset(wait)
	}
}

// release passes the held frame on.
func (g *gate[T]) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.held || g.stopped {
		return
	}
	g.held = false
	g.send(g.value)
}

// discard drops the held frame, if any (a chat.message is passing).
func (g *gate[T]) discard() {
	g.mu.Lock()
	g.held = false
	g.mu.Unlock()
}

// stop drops the held frame for good: the socket has closed.
func (g *gate[T]) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped, g.held = true, false
	if g.timer != nil {
		g.timer.Stop()
	}
}

package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// typingGate holds a socket's chat.typing frames to --typing-rate. A frame
// over the rate is not dropped but held, and only the newest held state is
// passed on when the rate allows: a client refreshing faster than the rate
// still has its last refresh (or its stop) reach the room, so the
// indicator expires TypingTimeout after that refresh, give or take one
// period of the rate, and a stop is never lost. A chat.message passing
// through the socket discards the held frame: the message ends the
// indicator, and a start sent after it would revive it.
type typingGate struct {
	mu      sync.Mutex
	limit   *rate.Limiter
	send    func(typing bool)
	held    bool // a frame waits for timer
	typing  bool // the newest held state
	timer   *time.Timer
	stopped bool
}

func newTypingGate(rps float64, send func(typing bool)) *typingGate {
	return &typingGate{limit: rate.NewLimiter(rate.Limit(rps), max(1, int(math.Ceil(rps)))), send: send}
}

// offer passes typing on now, or holds it until the rate allows.
func (g *typingGate) offer(typing bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	g.typing = typing
	if g.held {
		return // the armed timer passes the newest state on
	}
	if g.limit.Allow() {
		g.send(typing)
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
func (g *typingGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.held || g.stopped {
		return
	}
	g.held = false
	g.send(g.typing)
}

// discard drops the held frame, if any (a chat.message is passing).
func (g *typingGate) discard() {
	g.mu.Lock()
	g.held = false
	g.mu.Unlock()
}

// stop drops the held frame for good: the socket has closed.
func (g *typingGate) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped, g.held = true, false
	if g.timer != nil {
		g.timer.Stop()
	}
}

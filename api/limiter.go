package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyLimiter rate-limits by key (an email, a client address). Idle keys are
// forgotten, so memory stays bounded by the keys active in the last minutes.
type keyLimiter struct {
	every time.Duration
	burst int

	mu        sync.Mutex
	keys      map[string]*keyState
	lastSweep time.Time
}

type keyState struct {
	lim  *rate.Limiter
	seen time.Time
}

// newKeyLimiter allows perMinute events a minute per key, all at once at most.
func newKeyLimiter(perMinute int) *keyLimiter {
	return &keyLimiter{every: time.Minute / time.Duration(perMinute), burst: perMinute, keys: map[string]*keyState{}}
}

// allow takes one event for key; when refused it says how long to wait.
func (l *keyLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	st := l.keys[key]
	if st == nil {
		st = &keyState{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.keys[key] = st
	}
	st.seen = now
	r := st.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets keys whose bucket has refilled. Caller holds mu.
func (l *keyLimiter) sweep(now time.Time) {
	full := l.every * time.Duration(l.burst)
	for k, st := range l.keys {
		if now.Sub(st.seen) > full {
			delete(l.keys, k)
		}
	}
	l.lastSweep = now
}

func retrySeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

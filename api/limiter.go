package api

import (
	"math"
	"sync"
	"time"
)

// keyLimiter rate-limits by key (an email, a client address) with a token
// bucket per key: burst events at once, then one every `every`. A granted
// event can be given back (golang.org/x/time/rate cannot refund a token
// once its time has passed, which is why the bucket is kept here). Idle
// keys are forgotten, so memory stays bounded by the keys active in the
// last minutes.
type keyLimiter struct {
	every time.Duration
	burst float64

	mu        sync.Mutex
	keys      map[string]*bucket
	lastSweep time.Time
}

// bucket is one key's tokens as of a time.
type bucket struct {
	tokens float64
	at     time.Time
}

// newKeyLimiter allows perMinute events a minute per key, all at once at most.
func newKeyLimiter(perMinute int) *keyLimiter {
	return &keyLimiter{every: time.Minute / time.Duration(perMinute), burst: float64(perMinute), keys: map[string]*bucket{}}
}

// refill brings b's tokens up to now. Caller holds mu.
func (l *keyLimiter) refill(b *bucket, now time.Time) {
	if now.After(b.at) {
		b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
		b.at = now
	}
}

// take uses one event of key's allowance; when none is left it says how
// long until one is. A granted event can be given back with giveBack, as if
// never taken.
func (l *keyLimiter) take(key string, now time.Time) (giveBack func(), ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	b := l.keys[key]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.keys[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return nil, false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		b.tokens = math.Min(l.burst, b.tokens+1)
	}, true, 0
}

// sweep forgets keys whose bucket has refilled. Caller holds mu.
func (l *keyLimiter) sweep(now time.Time) {
	full := l.every * time.Duration(l.burst)
	for k, b := range l.keys {
		if now.Sub(b.at) > full {
			delete(l.keys, k)
		}
	}
	l.lastSweep = now
}

func retrySeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

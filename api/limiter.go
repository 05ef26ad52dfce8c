package api

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// keyLimiter rate-limits by key (a user id, an email, a client address)
// with a token bucket per key: burst events at once, then one every
// `every`. A granted event can be given back (golang.org/x/time/rate cannot
// refund a token once its time has passed, which is why the bucket is kept
// here), and an event can be reserved ahead of its time by a caller that
// then waits for it. Keys whose bucket is full again are forgotten, so
// memory stays bounded by the keys active in the last minute or so.
type keyLimiter[K comparable] struct {
	every time.Duration
	burst float64

	mu        sync.Mutex
	keys      map[K]*bucket
	lastSweep time.Time
}

// bucket is one key's tokens as of a time; reservations make it negative.
type bucket struct {
	tokens float64
	at     time.Time
}

// sweepEvery is how often idle keys are looked for: often enough that a
// burst of one-time keys (addresses, users) is soon forgotten, rarely
// enough that the walk over every key costs nothing that matters.
const sweepEvery = time.Minute

// newKeyLimiter allows an event every `every` per key, burst at once at most.
func newKeyLimiter[K comparable](every time.Duration, burst int) *keyLimiter[K] {
	return &keyLimiter[K]{every: max(every, time.Nanosecond), burst: float64(max(burst, 1)), keys: map[K]*bucket{}}
}

// perMinute allows n events a minute per key, all at once at most.
func perMinute[K comparable](n int) *keyLimiter[K] {
	n = max(n, 1)
	return newKeyLimiter[K](time.Minute/time.Duration(n), n)
}

// perHour allows n events an hour per key, all at once at most.
func perHour[K comparable](n int) *keyLimiter[K] {
	n = max(n, 1)
	return newKeyLimiter[K](time.Hour/time.Duration(n), n)
}

// perSecond allows rate events a second per key, burst at once at most.
func perSecond[K comparable](rate float64, burst int) *keyLimiter[K] {
	return newKeyLimiter[K](time.Duration(float64(time.Second)/rate), burst)
}

// refill brings b's tokens up to now. Caller holds mu.
func (l *keyLimiter[K]) refill(b *bucket, now time.Time) {
	if now.After(b.at) {
		b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
		b.at = now
	}
}

// bucketLocked returns key's bucket, refilled to now, making a full one
// for a new key. Caller holds mu.
func (l *keyLimiter[K]) bucketLocked(key K, now time.Time) *bucket {
	if now.Sub(l.lastSweep) > sweepEvery {
		l.sweep(now)
	}
	b := l.keys[key]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.keys[key] = b
	}
	l.refill(b, now)
	return b
}

// take uses one event of key's allowance; when none is left it takes
// nothing and says how long until one is.
func (l *keyLimiter[K]) take(key K, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return true, 0
}

// waitFor says how long until key has an event left, without taking one
// or remembering key.
func (l *keyLimiter[K]) waitFor(key K, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		return 0
	}
	tokens := math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(l.every))
}

// reserve uses one event of key's allowance even when none is left, and
// says how long the caller must wait before acting on it: the events of
// concurrent callers are spaced as the rate allows, in the order reserved.
// A reservation not acted on should be given back.
func (l *keyLimiter[K]) reserve(key K, now time.Time) (wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens * float64(l.every))
}

// giveBack returns an event taken or reserved for key, as if it had
// never been.
func (l *keyLimiter[K]) giveBack(key K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.keys[key]; b != nil {
		b.tokens = math.Min(l.burst, b.tokens+1)
	}
}

// size is the number of keys remembered.
func (l *keyLimiter[K]) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// sweep forgets keys whose bucket has refilled: a new bucket starts full,
// so forgetting them changes nothing. Caller holds mu.
func (l *keyLimiter[K]) sweep(now time.Time) {
	for k, b := range l.keys {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst {
			delete(l.keys, k)
		}
	}
	l.lastSweep = now
}

// throttled is Django REST framework's answer to a request over a rate:
// 429 with the wait in whole seconds, rounded up, in Retry-After and in
// the detail (DRF says "1 second", "2 seconds").
func throttled(wait time.Duration) *Error {
	n := max(1, int(math.Ceil(wait.Seconds())))
	unit := " seconds."
	if n == 1 {
		unit = " second."
	}
	return &Error{Code: ERATELIMIT, RetryAfter: n, Detail: "Request was throttled. Expected available in " + strconv.Itoa(n) + unit}
}

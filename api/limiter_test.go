package api

import (
	"testing"
	"time"
)

// TestKeyLimiterForgetsIdleKeys: a key is remembered while its bucket is
// short of full and forgotten at the next sweep once it has refilled, so
// the limiter holds only the keys active lately, however many came by.
func TestKeyLimiterForgetsIdleKeys(t *testing.T) {
	l := perSecond[int64](20, 40) // full again 2 s after the last message
	t0 := time.Unix(1_000_000, 0)
	for user := range int64(10_000) {
		if ok, _ := l.take(user, t0); !ok {
			t.Fatalf("user %d refused its first message", user)
		}
	}
	l.reserve(-1, t0.Add(sweepEvery)) // a user still active at the sweep
	for range 41 {
		l.reserve(-1, t0.Add(sweepEvery))
	}
	if n := l.size(); n != 10_001 {
		t.Fatalf("%d keys remembered before the sweep, want 10001", n)
	}
	l.take(-2, t0.Add(sweepEvery+time.Second)) // the sweep runs on a take
	if n := l.size(); n != 2 {
		t.Fatalf("%d keys remembered after the sweep, want 2 (the user in debt and the new one)", n)
	}
}

// TestKeyLimiterReserveSpacesWaiters: reservations past the burst wait one
// interval more each, in order; a reservation given back shortens the
// wait of the next one and of takes.
func TestKeyLimiterReserveSpacesWaiters(t *testing.T) {
	l := perSecond[string](10, 2) // one every 100 ms
	now := time.Unix(1_000_000, 0)
	for i, want := range []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		if got := l.reserve("u", now); got != want {
			t.Fatalf("reservation %d waits %v, want %v", i, got, want)
		}
	}
	if ok, wait := l.take("u", now); ok || wait != 400*time.Millisecond {
		t.Fatalf("take behind three reservations: ok %v, wait %v; want refused, 400ms", ok, wait)
	}
	l.giveBack("u")
	if ok, wait := l.take("u", now); ok || wait != 300*time.Millisecond {
		t.Fatalf("take after a give-back: ok %v, wait %v; want refused, 300ms", ok, wait)
	}
	if ok, _ := l.take("u", now.Add(300*time.Millisecond)); !ok {
		t.Fatalf("take refused once the reservations' time has passed")
	}
	if ok, _ := l.take("other", now); !ok {
		t.Fatalf("another key refused")
	}
}

package api

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestWriteClockReleasesWaitersTogether(t *testing.T) {
	var nilClock *writeClock
	nilClock.wait() // no clock: no wait

	const period = 200 * time.Millisecond
	c := newWriteClock(period)
	for round := range 2 { // the clock re-arms after each tick
		start := time.Now()
		var wg sync.WaitGroup
		waited := make([]time.Duration, 50)
		for i := range waited {
			wg.Go(func() {
				c.wait()
				waited[i] = time.Since(start)
			})
		}
		wg.Wait()
		first, last := slices.Min(waited), slices.Max(waited)
		if first < period {
			t.Fatalf("round %d: a waiter returned after %v, before the tick", round, first)
		}
		if last > 2*period {
			t.Fatalf("round %d: the last waiter returned after %v: not on the first tick", round, last)
		}
	}
}

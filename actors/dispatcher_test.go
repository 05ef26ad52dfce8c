package actors

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every scheduled run runs once; runs that block do not hold up the
// others, past the workers kept too; stop ends the workers.
func TestMailboxWorkersRunEverythingAndStop(t *testing.T) {
	w := newMailboxWorkers()
	var ran atomic.Int32
	var wg sync.WaitGroup
	for range 1000 {
		wg.Add(1)
		w.Schedule(func() { ran.Add(1); wg.Done() })
	}
	wg.Wait()
	if ran.Load() != 1000 {
		t.Fatalf("%d runs, want 1000", ran.Load())
	}

	const blocking = maxMailboxWorkers + 10
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(blocking)
	for range blocking {
		w.Schedule(func() { started.Done(); <-release })
	}
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		t.Fatal("blocked runs held up runs scheduled after them")
	}
	if n := w.running.Load(); n > maxMailboxWorkers {
		t.Fatalf("%d workers, want at most %d", n, maxMailboxWorkers)
	}
	close(release)

	w.stop()
	deadline := time.Now().Add(10 * time.Second)
	for w.running.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still running after stop", w.running.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

package persistence

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"livechat/persistence/pb"
)

// countingObserver records what a Writer reports.
type countingObserver struct {
	appends, commits, committed atomic.Int64
}

func (o *countingObserver) Appended(time.Duration) { o.appends.Add(1) }
func (o *countingObserver) Committed(_ time.Duration, n int) {
	o.commits.Add(1)
	o.committed.Add(int64(n))
}

// TestWriterObserverSeesAppendsAndCommits checks that the Writer reports
// every Append of messages (not barriers) and commits covering every
// message, which is what the storage latency metrics are built on.
func TestWriterObserverSeesAppendsAndCommits(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	obs := &countingObserver{}
	w := newTestWriter(t, s, WriterConfig{Observer: obs})
	const n = 50
	var wg sync.WaitGroup
	wg.Add(n + 1)
	for seq := int64(1); seq <= n; seq++ {
		w.Append([]*pb.Message{msg(s, 1, seq)}, func(error) { wg.Done() })
	}
	w.Append(nil, func(error) { wg.Done() }) // a barrier: not an append of messages
	waitGroupDone(t, &wg, 10*time.Second)
	if got := obs.appends.Load(); got != n {
		t.Errorf("appends observed: %d, want %d", got, n)
	}
	if got := obs.committed.Load(); got != n {
		t.Errorf("messages in observed commits: %d, want %d", got, n)
	}
	if c := obs.commits.Load(); c < 1 || c > n {
		t.Errorf("commits observed: %d, want 1..%d", c, n)
	}
	if lsm, vlog := s.Sizes(); lsm < 0 || vlog < 0 {
		t.Errorf("Sizes: %d, %d", lsm, vlog)
	}
}

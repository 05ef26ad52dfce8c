package persistence

import (
	"sync"
	"testing"
	"time"

	"livechat/persistence/pb"
)

// txnCounter counts the transactions a writer commits and their messages.
type txnCounter struct {
	mu   sync.Mutex
	txns []int
}

func (c *txnCounter) Appended(time.Duration) {}
func (c *txnCounter) Committed(_ time.Duration, n int) {
	c.mu.Lock()
	c.txns = append(c.txns, n)
	c.mu.Unlock()
}

func (c *txnCounter) counts() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.txns...)
}

// appendAsync appends m and returns the channel its confirmation arrives on.
func appendAsync(w *Writer, m *pb.Message) <-chan error {
	errc := make(chan error, 1)
	w.Append([]*pb.Message{m}, func(err error) { errc <- err })
	return errc
}

// confirmed reports whether errc has a confirmation after d, failing the
// test on an error.
func confirmed(t *testing.T, errc <-chan error, d time.Duration) bool {
	t.Helper()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		return true
	case <-time.After(d):
		return false
	}
}

// While the writer is busy (a transaction went to disk a moment ago), a
// lone message waits for company: the next three share its transaction,
// and so its disk sync.
func TestWriterGathersWhileBusy(t *testing.T) {
	s := openTestStoreWith(t, Config{Dir: t.TempDir()})
	c := &txnCounter{}
	w := newTestWriter(t, s, WriterConfig{Observer: c, Gather: time.Minute})
	appendWait(t, w, msg(s, 1, 1)) // the writer was quiet: no wait
	first := appendAsync(w, msg(s, 1, 2))
	if confirmed(t, first, 100*time.Millisecond) {
		t.Fatal("a message right after a transaction did not wait for company")
	}
	var rest []<-chan error
	for seq := int64(3); seq <= 5; seq++ {
		rest = append(rest, appendAsync(w, msg(s, 1, seq)))
	}
	for i, errc := range append([]<-chan error{first}, rest...) {
		if !confirmed(t, errc, 10*time.Second) {
			t.Fatalf("message %d not confirmed once four were queued", i+2)
		}
	}
	if got := c.counts(); len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("transactions of %v messages, want [1 4]", got)
	}
}

// The wait is bounded: a message nobody joins is written once Gather has
// passed since it came.
func TestWriterGatherIsBounded(t *testing.T) {
	s := openTestStoreWith(t, Config{Dir: t.TempDir()})
	w := newTestWriter(t, s, WriterConfig{Gather: 300 * time.Millisecond})
	appendWait(t, w, msg(s, 1, 1))
	lone := appendAsync(w, msg(s, 1, 2))
	if confirmed(t, lone, 50*time.Millisecond) {
		t.Fatal("a message right after a transaction did not wait")
	}
	if !confirmed(t, lone, 10*time.Second) {
		t.Fatal("a lone message waited past its bound")
	}
}

// A quiet writer never waits, and neither does one without a disk sync
// to share (os durability): with a minute's Gather, a wait would outlast
// appendWait's 10 s.
func TestWriterDoesNotGatherWhenQuietOrWithoutSync(t *testing.T) {
	for _, cfg := range []Config{{Dir: t.TempDir()}, {Dir: t.TempDir(), Durability: DurabilityOS}} {
		s := openTestStoreWith(t, cfg)
		w := newTestWriter(t, s, WriterConfig{Gather: time.Minute})
		appendWait(t, w, msg(s, 1, 1))
		if cfg.Durability != DurabilityOS {
			// The loop notes the hand-over just after the confirmation:
			// once it has, make it two minutes old.
			for i, rewound := 0, false; !rewound; i++ {
				if i == 10000 {
					t.Fatal("the writer never noted its hand-over")
				}
				time.Sleep(time.Millisecond)
				w.mu.Lock()
				if rewound = !w.handed.IsZero(); rewound {
					w.handed = w.handed.Add(-2 * time.Minute)
				}
				w.mu.Unlock()
			}
		}
		appendWait(t, w, msg(s, 1, 2))
	}
}

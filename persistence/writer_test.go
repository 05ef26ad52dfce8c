package persistence

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"livechat/persistence/pb"
)

// waitGroupDone waits for wg, failing the test after d.
func waitGroupDone(t testing.TB, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("not confirmed after %v", d)
	}
}

// TestWriterGroupCommit appends from many goroutines at once, the way
// rooms do: every append is confirmed exactly once, without error, in
// Append order, and everything confirmed is stored.
func TestWriterGroupCommit(t *testing.T) {
	for _, maxBatch := range []int{0, 1, 7} {
		t.Run(fmt.Sprintf("MaxBatch=%d", maxBatch), func(t *testing.T) {
			s := openTestStore(t, "")
			w := newTestWriter(t, s, WriterConfig{MaxBatch: maxBatch})
			const rooms, perRoom = 8, 150
			var (
				mu        sync.Mutex // orders Append calls, so confirmation order can be checked
				appended  int
				confirmed []int
				wg        sync.WaitGroup
				done      sync.WaitGroup
			)
			done.Add(rooms * perRoom)
			for room := range int64(rooms) {
				wg.Go(func() {
					for seq := int64(1); seq <= perRoom; seq++ {
						mu.Lock()
						idx := appended
						appended++
						calls := 0
						w.Append([]*pb.Message{msg(s, room+1, seq)}, func(err error) {
							calls++
							if err != nil || calls > 1 {
								t.Errorf("append %d: err %v, call %d", idx, err, calls)
							}
							confirmed = append(confirmed, idx) // done runs on one goroutine
							done.Done()
						})
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			waitGroupDone(t, &done, 20*time.Second)
			for i, idx := range confirmed {
				if idx != i {
					t.Fatalf("confirmation %d is append %d: out of order", i, idx)
				}
			}
			for room := int64(1); room <= rooms; room++ {
				msgs, err := s.MessagesAfter(room, 0, 1000)
				if err != nil {
					t.Fatal(err)
				}
				if !equalSeqs(seqsOf(t, room, msgs), seqRange(1, perRoom)) {
					t.Fatalf("room %d: %d messages stored, want seq 1..%d", room, len(msgs), perRoom)
				}
				if last, _ := s.LastSeq(room); last != perRoom {
					t.Errorf("LastSeq(%d) = %d", room, last)
				}
			}
		})
	}
}

// TestWriterConfirmsOnlyDurableMessages checks, at each confirmation, that
// the message can already be read back.
func TestWriterConfirmsOnlyDurableMessages(t *testing.T) {
	s := openTestStore(t, "")
	w := newTestWriter(t, s, WriterConfig{})
	const n = 300
	errs := make(chan error, n)
	for seq := int64(1); seq <= n; seq++ {
		m := msg(s, 1, seq)
		w.Append([]*pb.Message{m}, func(err error) {
			if err == nil {
				got, rerr := s.MessagesAfter(1, seq-1, 1)
				if rerr != nil || len(got) != 1 || got[0].Id != m.Id {
					err = fmt.Errorf("seq %d confirmed but not readable: %v %v", seq, got, rerr)
				}
			}
			errs <- err
		})
	}
	for range n {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("appends not confirmed")
		}
	}
}

func TestWriterBatchLargerThanMaxBatch(t *testing.T) {
	s := openTestStore(t, "")
	w := newTestWriter(t, s, WriterConfig{MaxBatch: 3})
	var msgs []*pb.Message
	for seq := int64(1); seq <= 10; seq++ {
		msgs = append(msgs, msg(s, 1, seq))
	}
	appendWait(t, w, msgs...) // one request above MaxBatch still commits, whole
	appendWait(t, w, msg(s, 1, 11), msg(s, 1, 12))
	got, err := s.MessagesAfter(1, 0, 100)
	if err != nil || !equalSeqs(seqsOf(t, 1, got), seqRange(1, 12)) {
		t.Fatalf("stored %d messages (%v), want 12", len(got), err)
	}
}

func TestWriterBarrier(t *testing.T) {
	s := openTestStore(t, "")
	w := newTestWriter(t, s, WriterConfig{})
	var order []string
	var wg sync.WaitGroup
	wg.Add(3)
	w.Append([]*pb.Message{msg(s, 1, 1)}, func(error) { order = append(order, "m1"); wg.Done() })
	w.Append(nil, func(err error) {
		if err != nil {
			t.Errorf("barrier: %v", err)
		}
		// Everything appended before the barrier is stored when it fires.
		if last, _ := s.LastSeq(1); last < 1 {
			t.Errorf("barrier fired before message 1 was stored")
		}
		order = append(order, "barrier")
		wg.Done()
	})
	w.Append([]*pb.Message{msg(s, 1, 2)}, func(error) { order = append(order, "m2"); wg.Done() })
	waitGroupDone(t, &wg, 10*time.Second)
	if fmt.Sprint(order) != "[m1 barrier m2]" {
		t.Errorf("confirmation order %v", order)
	}
}

func TestWriterCloseFlushesQueue(t *testing.T) {
	s := openTestStore(t, "")
	w := s.NewWriter(WriterConfig{})
	const n = 500
	var (
		mu    sync.Mutex
		calls int
		errs  []error
	)
	for seq := int64(1); seq <= n; seq++ {
		w.Append([]*pb.Message{msg(s, 1, seq)}, func(err error) {
			mu.Lock()
			calls++
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		})
	}
	w.Close() // returns after every queued append is committed and confirmed
	mu.Lock()
	if calls != n || len(errs) > 0 {
		t.Fatalf("after Close: %d of %d confirmed, errors %v", calls, n, errs)
	}
	mu.Unlock()
	if last, _ := s.LastSeq(1); last != n {
		t.Fatalf("LastSeq after Close = %d, want %d", last, n)
	}

	// After Close, Append fails at once with ErrClosed; Close is idempotent.
	var err error
	called := false
	w.Append([]*pb.Message{msg(s, 1, n+1)}, func(e error) { called, err = true, e })
	if !called || !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: called %v, err %v", called, err)
	}
	w.Close()
	if last, _ := s.LastSeq(1); last != n {
		t.Errorf("an append after Close was stored")
	}
}

func TestWriterClientIDs(t *testing.T) {
	s := openTestStore(t, "")
	w := newTestWriter(t, s, WriterConfig{})
	var msgs []*pb.Message
	for seq := int64(1); seq <= 5; seq++ {
		m := msg(s, 2, seq)
		m.SenderId, m.ClientId = seq%2+1, fmt.Sprintf("cid-%d", seq)
		msgs = append(msgs, m)
	}
	appendWait(t, w, msgs...)
	for _, m := range msgs {
		got, err := s.MessageByClientID(2, m.SenderId, m.ClientId)
		if err != nil || got.Seq != m.Seq || got.Id != m.Id {
			t.Errorf("client id %q: %v, %v", m.ClientId, got, err)
		}
		if _, err := s.MessageByClientID(2, 3-m.SenderId, m.ClientId); !errors.Is(err, ErrNotFound) {
			t.Errorf("client id %q found for another user: %v", m.ClientId, err)
		}
	}
}

// TestMessageIDsNeverReused reopens the store after batches committed out
// of id order: the next id is above every id ever stored.
func TestMessageIDsNeverReused(t *testing.T) {
	dir := t.TempDir()
	var stored int64
	for round := range 3 {
		s := openTestStore(t, dir)
		w := s.NewWriter(WriterConfig{})
		start, _ := s.LastSeq(1)
		// Ids are handed out before their batch commits; commit the
		// higher ids first, as two rooms racing to the writer might.
		a, b := msg(s, 1, start+1), msg(s, 1, start+2)
		c, d := msg(s, 2, int64(2*round+1)), msg(s, 2, int64(2*round+2))
		if a.Id <= stored {
			t.Fatalf("round %d: id %d handed out again (stored up to %d)", round, a.Id, stored)
		}
		appendWait(t, w, c, d)
		appendWait(t, w, a, b)
		stored = d.Id
		w.Close()
		closeStore(t, s)
	}
	s := openTestStore(t, dir)
	if id := s.NextMessageID(); id <= stored {
		t.Fatalf("id %d handed out after reopen, but %d is stored", id, stored)
	}
	msgs, err := s.MessagesAfter(1, 0, 100)
	if err != nil || len(msgs) != 6 {
		t.Fatalf("room 1 has %d messages (%v), want 6", len(msgs), err)
	}
	seen := map[int64]bool{}
	for _, room := range []int64{1, 2} {
		msgs, _ := s.MessagesAfter(room, 0, 100)
		for _, m := range msgs {
			if seen[m.Id] {
				t.Fatalf("id %d stored twice", m.Id)
			}
			seen[m.Id] = true
		}
	}
}

// Appends racing Close never panic (a wake-up sent on the closed
// channel): each is either written or refused with ErrClosed.
func TestWriterAppendRacingClose(t *testing.T) {
	s := openTestStore(t, "")
	for range 50 {
		w := s.NewWriter(WriterConfig{})
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 20 {
					w.Append([]*pb.Message{msg(s, int64(g+1), int64(i+1))}, func(err error) {
						if err != nil && !errors.Is(err, ErrClosed) {
							t.Errorf("append: %v", err)
						}
					})
				}
			})
		}
		w.Close()
		wg.Wait()
	}
}

package persistence

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"livechat/persistence/pb"
)

// withClientIDs appends n messages with client_ids prefix-1…prefix-n to
// room, from seq first on.
func withClientIDs(t *testing.T, s *Store, w *Writer, room, first int64, n int, prefix string) []*pb.Message {
	t.Helper()
	msgs := make([]*pb.Message, n)
	for i := range msgs {
		msgs[i] = msg(s, room, first+int64(i))
		msgs[i].ClientId = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	appendWait(t, w, msgs...)
	return msgs
}

// mustFind checks that every message is found by its client_id, and that
// an id never sent is not.
func mustFind(t *testing.T, s *Store, msgs []*pb.Message, when string) {
	t.Helper()
	for _, m := range msgs {
		got, err := s.MessageByClientID(m.Room, m.SenderId, m.ClientId)
		if err != nil || got.Seq != m.Seq {
			t.Fatalf("%s: client id %q in room %d: %v, %v", when, m.ClientId, m.Room, got, err)
		}
	}
	if len(msgs) > 0 {
		m := msgs[0]
		if _, err := s.MessageByClientID(m.Room, m.SenderId, m.ClientId+"-never"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: an id never sent: %v, want ErrNotFound", when, err)
		}
	}
}

// TestClientIDMemory covers the ways a client_id gets into the memory that
// answers "never stored" without a store read: read with the room's first
// lookup, added by the commit that stores it, read again after a restart,
// and the memory's bounds (a room too big for it, the memory starting over).
func TestClientIDMemory(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	w := newTestWriter(t, s, WriterConfig{})
	before := withClientIDs(t, s, w, 7, 1, 3, "before")
	mustFind(t, s, before, "read with the first lookup") // loads room 7's set
	after := withClientIDs(t, s, w, 7, 4, 3, "after")
	mustFind(t, s, after, "added by the commit")
	w.Close()
	closeStore(t, s)

	s = openTestStore(t, dir)
	s.clientIDs = newClientIDs(s.db, 0) // the smallest memory: 1,024 ids, 256 in one room
	w = newTestWriter(t, s, WriterConfig{})
	mustFind(t, s, append(before, after...), "after a restart")

	big := withClientIDs(t, s, w, 8, 1, 300, "big")
	mustFind(t, s, big, "a room over a quarter of the memory")
	big = append(big, withClientIDs(t, s, w, 8, 301, 5, "big-more")...)
	mustFind(t, s, big, "a room over a quarter of the memory, then more")

	// Six rooms of 200 ids each fill the memory past its 1,024: it starts
	// over, and every id is still found.
	var rooms [][]*pb.Message
	for room := int64(10); room < 16; room++ {
		mustFind(t, s, nil, "")
		if _, err := s.MessageByClientID(room, 1, "x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("empty room %d: %v", room, err)
		}
		rooms = append(rooms, withClientIDs(t, s, w, room, 1, 200, "fill"))
	}
	for _, msgs := range rooms {
		mustFind(t, s, msgs, "after the memory started over")
	}
	s.clientIDs.mu.Lock()
	total, limit := s.clientIDs.total, s.clientIDs.max
	s.clientIDs.mu.Unlock()
	if total > limit {
		t.Errorf("the memory holds %d ids, over its %d", total, limit)
	}
	if st := s.CacheStats(); total == 0 || st.ClientIDsUsed != int64(total)*clientIDBytes {
		t.Errorf("CacheStats reports %d bytes of client_ids for %d ids", st.ClientIDsUsed, total)
	}
}

// TestClientIDMemoryConcurrent looks ids up while they are being stored:
// an id whose append was confirmed is always found.
func TestClientIDMemoryConcurrent(t *testing.T) {
	s := openTestStore(t, "")
	w := newTestWriter(t, s, WriterConfig{})
	const writers, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := msg(s, 3, int64(g*each+i+1))
				m.SenderId, m.ClientId = int64(g+1), fmt.Sprintf("c-%d", i)
				done := make(chan error, 1)
				w.Append([]*pb.Message{m}, func(err error) { done <- err })
				if err := <-done; err != nil {
					errs <- err
					return
				}
				if _, err := s.MessageByClientID(3, m.SenderId, m.ClientId); err != nil {
					errs <- fmt.Errorf("confirmed id %q of user %d: %w", m.ClientId, m.SenderId, err)
				}
				// A lookup of the next id, before it is stored, may load
				// the room's set while other writers commit.
				_, _ = s.MessageByClientID(3, m.SenderId, fmt.Sprintf("c-%d", i+1))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

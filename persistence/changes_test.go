package persistence

import (
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// appendRecordsWait appends recs and waits until they are durable.
func appendRecordsWait(t testing.TB, w *Writer, recs ...Record) {
	t.Helper()
	errc := make(chan error, 1)
	w.AppendRecords(recs, func(err error) { errc <- err })
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("append not confirmed in 10s")
	}
}

// Messages stored before the id index and the rev counter (no mi/, rev 0)
// are found by id after a reopen, read with rev = seq, and the room's
// counter starts at its last seq.
func TestLegacyMessagesIndexedAndCounted(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	w := s.NewWriter(WriterConfig{})
	fillRoom(t, s, w, 1, 3)
	w.Close()
	// Make it look like a database of the previous build.
	err := s.db.Update(func(txn *badger.Txn) error {
		for id := int64(1); id <= 3; id++ {
			if err := txn.Delete(messageIDKey(id)); err != nil {
				return err
			}
		}
		if err := txn.Delete(roomRevKey(1)); err != nil {
			return err
		}
		return txn.Delete(keyMessageIDDone)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MessageByID(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("index not removed: %v", err)
	}
	closeStore(t, s)

	s = openTestStore(t, dir)
	m, err := s.MessageByID(2)
	if err != nil || m.Seq != 2 || m.Rev != 2 || m.CreatedRev != 2 {
		t.Fatalf("MessageByID(2) = %v, %v; want seq 2 read as rev 2", m, err)
	}
	if rev, err := s.LastRev(1); err != nil || rev != 3 {
		t.Fatalf("LastRev = %d, %v; want 3", rev, err)
	}
}

// Edits and deletions keep one change key per message (the latest), mark
// tombstones for unread counts, and move the room's rev, durably.
func TestChangesCompactedAndCounted(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	w := s.NewWriter(WriterConfig{})
	var msgs []*pb.Message
	for seq := int64(1); seq <= 4; seq++ {
		m := msg(s, 1, seq)
		m.Rev, m.CreatedRev = seq, seq
		msgs = append(msgs, m)
		appendRecordsWait(t, w, Record{Message: m})
	}
	change := func(m *pb.Message, c Change, rev int64) *pb.Message {
		n := &pb.Message{Id: m.Id, Room: m.Room, Seq: m.Seq, SenderId: m.SenderId, Text: "edited", Rev: rev, CreatedRev: m.CreatedRev, CreatedAtUs: m.CreatedAtUs}
		if c == Deleted {
			n.Text, n.DeletedAtUs, n.DeletedBy = "", time.Now().UnixMicro(), 1
		}
		appendRecordsWait(t, w, Record{Change: c, Message: n, PrevRev: m.Rev})
		return n
	}
	e := change(msgs[1], Edited, 5) // seq 2 at rev 5
	change(e, Edited, 6)            // seq 2 again: rev 5's key goes
	d := change(msgs[2], Deleted, 7)
	change(msgs[0], Deleted, 8)
	w.Close()
	closeStore(t, s)

	s = openTestStore(t, dir)
	if rev, err := s.LastRev(1); err != nil || rev != 8 {
		t.Fatalf("LastRev = %d, %v; want 8", rev, err)
	}
	got, err := s.ChangesAfter(1, 4, 8, 3, 100)
	if err != nil {
		t.Fatal(err)
	}
	var seqs, revs []int64
	for _, m := range got {
		seqs, revs = append(seqs, m.Seq), append(revs, m.Rev)
	}
	if !equalSeqs(seqs, []int64{2, 3, 1}) || !equalSeqs(revs, []int64{6, 7, 8}) {
		t.Fatalf("changes seqs %v revs %v, want seqs [2 3 1] at revs [6 7 8]", seqs, revs)
	}
	if got, _ := s.ChangesAfter(1, 4, 8, 2, 100); len(got) != 2 {
		t.Errorf("changes up to seq 2: %d, want 2", len(got))
	}
	if got, _ := s.ChangesAfter(1, 4, 6, 3, 100); len(got) != 1 {
		t.Errorf("changes up to rev 6: %d, want 1", len(got))
	}
	for after, want := range map[int64]int64{0: 2, 1: 1, 3: 0} {
		if n, err := s.DeletedAfter(1, after); err != nil || n != want {
			t.Errorf("DeletedAfter(%d) = %d, %v; want %d", after, n, err, want)
		}
	}
	if m, err := s.Message(1, 3); err != nil || m.Text != "" || m.DeletedAtUs != d.DeletedAtUs {
		t.Errorf("tombstone %v, %v", m, err)
	}
}

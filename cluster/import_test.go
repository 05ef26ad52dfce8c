package cluster

import (
	"errors"
	"fmt"
	"testing"

	"livechat/persistence"
	"livechat/persistence/pb"
)

// singleNode fills an in-memory single-node store: three accounts (one
// hiding its email), a room with 30 messages, a picture.
func singleNode(t *testing.T) *persistence.Store {
	t.Helper()
	st, err := persistence.Open(persistence.Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for i := range 3 {
		u := &pb.User{Email: fmt.Sprintf("old%d@example.com", i), Nickname: "old", HideEmail: i == 2}
		if err := st.CreateUser(u); err != nil {
			t.Fatal(err)
		}
	}
	room := &pb.Room{Name: "old room", Owner: 1}
	if err := st.CreateRoom(room, 2); err != nil {
		t.Fatal(err)
	}
	w := st.NewWriter(persistence.WriterConfig{})
	defer w.Close()
	msgs := make([]*pb.Message, 30)
	for i := range msgs {
		msgs[i] = &pb.Message{Id: st.NextMessageID(), Room: room.Id, Seq: int64(i + 1), Rev: int64(i + 1), CreatedRev: int64(i + 1),
			SenderId: 1, Text: fmt.Sprintf("old %d", i+1), ClientId: fmt.Sprintf("c%d", i+1)}
	}
	done := make(chan error, 1)
	w.Append(msgs, func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := st.Media().Put("profile_pics/1/a.png", []byte("picture")); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestImportIntoCluster moves a single node's database into a new
// three-node cluster: every node then holds its accounts, room and
// messages under the same ids and seqs, and its picture; the room goes on
// from the next seq and id; a client_id used before the move is still
// known; and a second import is refused.
func TestImportIntoCluster(t *testing.T) {
	from := singleNode(t)
	stores := replicas(t, startAll(t, testCluster(t, 3)))
	st, err := Import(from, stores[1])
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys == 0 || st.Files != 1 {
		t.Fatalf("imported %+v", st)
	}
	for i, s := range stores {
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		u, err := s.UserByEmail("old2@example.com")
		if err != nil || u.Id != 3 || !u.HideEmail {
			t.Fatalf("node %d: old2 is %v, %v", i+1, u, err)
		}
		msgs, err := s.MessagesBefore(1, 0, 100)
		if err != nil || len(msgs) != 30 || msgs[29].Seq != 30 || msgs[29].Text != "old 30" {
			t.Fatalf("node %d: %d messages, %v", i+1, len(msgs), err)
		}
		if b, err := s.Media().Get("profile_pics/1/a.png"); err != nil || string(b) != "picture" {
			t.Fatalf("node %d: picture %q, %v", i+1, b, err)
		}
	}
	// The room goes on after its imported messages; an imported client_id
	// is a duplicate.
	propose := func(s *persistence.Store, m *pb.Message) persistence.AppliedRecord {
		t.Helper()
		type res struct {
			a   persistence.AppliedRecord
			err error
		}
		done := make(chan res, 1)
		s.ProposeRecord(persistence.Record{Message: m}, func(a persistence.AppliedRecord, err error) { done <- res{a, err} })
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.a
	}
	next := propose(stores[2], &pb.Message{Room: 1, SenderId: 2, Text: "new"})
	if next.Message.Seq != 31 || next.Message.Id != 31 || next.Message.Rev != 31 {
		t.Fatalf("the first message after the import: %+v", next.Message)
	}
	dup := propose(stores[0], &pb.Message{Room: 1, SenderId: 1, Text: "again", ClientId: "c7"})
	if !dup.Duplicate || dup.Message.Seq != 7 {
		t.Fatalf("a resend of an imported client_id: %+v", dup)
	}
	if _, err := Import(from, stores[0]); !errors.Is(err, persistence.ErrClusterNotEmpty) {
		t.Fatalf("a second import: %v", err)
	}
}

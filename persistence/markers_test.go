package persistence

import (
	"testing"

	"livechat/persistence/pb"
)

// A marker moves forward only, a non-member's is skipped (never
// recreating a membership), and the cached membership shows the move.
func TestMoveReadMarkersForwardOnly(t *testing.T) {
	s := openTestStore(t, "")
	r := &pb.Room{Name: "r", Owner: 1, Kind: KindPrivate}
	if err := s.CreateRoom(r, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Member(r.Id, 2); err != nil { // cached before the move
		t.Fatal(err)
	}
	moves := []ReadMarker{{Room: r.Id, User: 2, Seq: 5}, {Room: r.Id, User: 3, Seq: 5}}
	if err := s.MoveReadMarkers(moves); err != nil {
		t.Fatal(err)
	}
	if !moves[0].Moved || moves[0].Seq != 5 || moves[1].Seq != -1 || moves[1].Moved {
		t.Fatalf("moves %+v, want user 2 moved to 5 and user 3 skipped", moves)
	}
	back := []ReadMarker{{Room: r.Id, User: 2, Seq: 3}}
	if err := s.MoveReadMarkers(back); err != nil {
		t.Fatal(err)
	}
	if back[0].Moved || back[0].Seq != 5 {
		t.Fatalf("a lower seq: %+v, want the stored 5, not moved", back[0])
	}
	if m, err := s.Member(r.Id, 2); err != nil || m.LastReadSeq != 5 {
		t.Fatalf("member 2: %v %v, want last_read_seq 5", m, err)
	}
	if _, err := s.Member(r.Id, 3); err == nil {
		t.Fatal("a marker write made user 3 a member")
	}
}

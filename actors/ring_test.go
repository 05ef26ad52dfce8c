package actors

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	actpb "livechat/actors/pb"
	"livechat/persistence"
	"livechat/persistence/pb"
)

func TestRingAppendLastMessages(t *testing.T) {
	g := newRing(3, new(atomic.Int64))
	seqs := func(k int) []int64 {
		t.Helper()
		var got []struct{ Seq int64 }
		b := g.appendLastMessages(nil, k, nil)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		out := []int64{}
		for _, m := range got {
			out = append(out, m.Seq)
		}
		return out
	}
	if got := seqs(2); len(got) != 0 {
		t.Fatalf("empty ring gave %v", got)
	}
	for seq := int64(1); seq <= 5; seq++ {
		m := &pb.Message{Id: seq, Room: 1, Seq: seq, Text: "t"}
		g.push(recent{msg: m, frame: MessageFrame(m, nil)})
		want := []int64{}
		for s := max(1, seq-1); s <= seq; s++ {
			want = append(want, s)
		}
		if got := seqs(2); !slices.Equal(got, want) {
			t.Fatalf("after seq %d: last 2 = %v, want %v", seq, got, want)
		}
	}
	if got, want := seqs(10), []int64{3, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("last 10 of a full ring = %v, want %v", got, want)
	}
}

// Rooms keep their rings together within RecentBytes: past it the room
// that delivers trims its own ring, never below what its detail shows, and
// a passivated room gives its bytes back.
func TestRoomRingsStayWithinBudget(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persistence.Open(persistence.Config{InMemory: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(persistence.WriterConfig{})
	const budget = 256 << 10
	e, err := NewEngine(Config{Store: store, Writer: w, Logger: log, RecentBytes: budget, RoomIdleTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Shutdown(); w.Close(); _ = store.Close() })
	sender := &actpb.Sender{UserId: 1, Email: "u@example.com", Nickname: "u"}
	text := strings.Repeat("x", 1000)
	var rooms []int64
	for i := range 2 {
		room := &pb.Room{Name: fmt.Sprint("r", i), Owner: 1, Post: int64(i + 1)}
		if err := e.CreateRoom(room); err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, room.Id)
	}
	for range 150 { // unbounded, two rings of 150 such messages would hold 2 × 150 × 2.4 KB
		for _, id := range rooms {
			if _, _, err := e.Post(&actpb.Post{Room: id, Sender: sender, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	held, max := e.RecentBytes()
	t.Logf("rings hold %d bytes, budget %d", held, max)
	if held > budget || held == 0 {
		t.Fatalf("rings hold %d bytes, budget %d", held, budget)
	}
	for _, id := range rooms {
		st, err := e.RoomState(id)
		if err != nil {
			t.Fatal(err)
		}
		var recent []struct{ Seq int64 }
		if err := json.Unmarshal(st.RecentJson, &recent); err != nil || len(recent) != 50 || recent[49].Seq != 150 {
			t.Fatalf("room %d detail: %d messages, last %v (%v); want 50 up to seq 150", id, len(recent), recent[len(recent)-1:], err)
		}
	}
	roomTestWait(t, "passivated rooms give their bytes back", func() error {
		if held, _ := e.RecentBytes(); held != 0 {
			return fmt.Errorf("rings hold %d bytes", held)
		}
		return nil
	})
}

package actors

import (
	"errors"
	"testing"
	"time"

	"livechat/actors/pb"
	pspb "livechat/persistence/pb"
)

// A REST post is answered once its poster's read marker is durable. A room
// that stops while that marker write is in flight (here: it crashes) loses
// its mailbox, where the write's confirmation would arrive, so it answers
// the post itself: the message is stored, and the poster hears so instead
// of timing out.
func TestPostAnsweredWhenRoomStopsDuringMarkerWrite(t *testing.T) {
	e, store := roomTestEngine(t)
	// A marker writer that takes moves and writes none until the test ends.
	held := &markerWriter{store: store, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	running := e.markers
	e.markers = held
	t.Cleanup(func() {
		go held.loop() // Shutdown closes it, and waits for its loop
		running.close()
	})
	alice := &pb.Sender{UserId: 1, Email: "alice@example.com", Nickname: "alice"}
	r := &pspb.Room{Name: "stops", Owner: alice.UserId}
	if err := e.CreateRoom(r); err != nil {
		t.Fatal(err)
	}

	type answer struct {
		msg *pspb.Message
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		m, _, err := e.Post(&pb.Post{Room: r.Id, Sender: alice, Text: "stored"})
		answered <- answer{m, err}
	}()
	roomTestWait(t, "the post's marker move is queued", func() error {
		held.mu.Lock()
		defer held.mu.Unlock()
		if len(held.queue) != 1 {
			return errors.New("no marker move queued yet")
		}
		return nil
	})
	e.root.Send(e.hub, &pb.Post{Room: r.Id, Text: "boom"}) // nil Sender: the room panics

	select {
	case a := <-answered:
		if a.err != nil || a.msg == nil || a.msg.Seq != 1 || a.msg.Text != "stored" {
			t.Fatalf("post answered %v, %v; want seq 1 stored", a.msg, a.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the post was never answered")
	}
	if msgs, err := store.MessagesAfter(r.Id, 0, 10); err != nil || len(msgs) != 1 {
		t.Fatalf("stored %d messages (%v), want 1", len(msgs), err)
	}
}

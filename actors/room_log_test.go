package actors

import (
	"errors"
	"sync"
	"testing"
	"time"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// testLog is a cluster's log for one node: it applies each command to
// the store as it is proposed, in one order. When held is set, the next
// append waits for it to close, as a command does while the log elects a
// leader.
type testLog struct {
	store *persistence.Store

	mu      sync.Mutex // one apply at a time, in seq order
	seq     uint64
	held    chan struct{}
	appends chan struct{} // a token per append proposed
}

func (l *testLog) Propose(cmd *pspb.Command) (any, error) {
	if _, ok := cmd.Op.(*pspb.Command_Append); ok {
		l.appends <- struct{}{}
		l.mu.Lock()
		held := l.held
		l.held = nil
		l.mu.Unlock()
		if held != nil {
			<-held
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	outs, err := l.store.ApplyEntry(l.seq, &pspb.Entry{Node: "test", Commands: []*pspb.Command{cmd}}, persistence.LogPosition{}, true)
	if err != nil {
		return nil, err
	}
	return outs[0].Value, outs[0].Err
}

func (l *testLog) Sync() error { return nil }

// A room that stops while its command to the log is in flight loads
// again only once that command has landed: the new room's posts follow
// the stopped room's in the log, whatever the log's delay. The post in
// flight is answered unavailable (a client_id resend would find it).
func TestRoomReloadWaitsForItsCommandInFlight(t *testing.T) {
	var log *testLog
	e, store := roomTestEngine(t, func(c *Config) {
		log = &testLog{store: c.Store, appends: make(chan struct{}, 16)}
		c.Store.Replicate(log)
		c.RequestTimeout = 10 * time.Second // the second post waits out the held command
	})
	alice := &pb.Sender{UserId: 1, Email: "alice@example.com", Nickname: "alice"}
	r := &pspb.Room{Name: "in flight", Owner: alice.UserId}
	if err := e.CreateRoom(r); err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	log.mu.Lock()
	log.held = release
	log.mu.Unlock()
	first := make(chan error, 1)
	go func() {
		_, _, err := e.Post(&pb.Post{Room: r.Id, Sender: alice, Text: "first"})
		first <- err
	}()
	<-log.appends                                                                  // "first" is in flight
	e.root.Send(e.hub, &pb.Post{Room: r.Id, Text: "boom"})                         // nil Sender: the room panics
	if err := <-first; err == nil || !errors.Is(err, codeError(CodeUnavailable)) { // answered as the room stops
		t.Fatalf("the post in flight was answered %v, want unavailable", err)
	}

	second := make(chan error, 1)
	go func() {
		_, _, err := e.Post(&pb.Post{Room: r.Id, Sender: alice, Text: "second"})
		second <- err
	}()
	select {
	case <-log.appends:
		t.Log("the reloaded room proposed while the stopped room's command was in flight")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("second post: %v", err)
	}
	msgs, err := store.MessagesAfter(r.Id, 0, 10)
	if err != nil || len(msgs) != 2 || msgs[0].Text != "first" || msgs[1].Text != "second" {
		var got []string
		for _, m := range msgs {
			got = append(got, m.Text)
		}
		t.Fatalf("the room's log holds %q (%v), want first then second", got, err)
	}
}

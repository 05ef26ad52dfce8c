package actors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// roomTestSink records what a room hands a session's socket.
type roomTestSink struct {
	mu     sync.Mutex
	frames [][]byte
	closed int
}

func (s *roomTestSink) Send(frame []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != 0 {
		return false
	}
	s.frames = append(s.frames, frame)
	return true
}

func (s *roomTestSink) SendDroppable(frame []byte) bool { return s.Send(frame) }
func (s *roomTestSink) SendLater(frame []byte) bool     { return s.Send(frame) }

func (s *roomTestSink) SendBacklog(frames [][]byte) bool {
	for _, f := range frames {
		if !s.Send(f) {
			return false
		}
	}
	return true
}

func (s *roomTestSink) Close(code int, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == 0 {
		s.closed = code
	}
}

// seqs returns the seq of every chat.message received, and the close code.
func (s *roomTestSink) seqs(t testing.TB) ([]int64, int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, f := range s.frames {
		var m struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
		}
		if err := json.Unmarshal(f, &m); err != nil {
			t.Fatalf("frame %q: %v", f, err)
		}
		if m.Type == "chat.message" {
			out = append(out, m.Seq)
		}
	}
	return out, s.closed
}

// roomTestEngine runs an engine over an in-memory store; it and the store
// stop when the test ends.
func roomTestEngine(t testing.TB, opts ...func(*Config)) (*Engine, *persistence.Store) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persistence.Open(persistence.Config{InMemory: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(persistence.WriterConfig{})
	cfg := Config{Store: store, Writer: w, Logger: log, RequestTimeout: time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Shutdown(); w.Close(); _ = store.Close() })
	return e, store
}

func roomTestWait(t testing.TB, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestRoomCrashIsContained panics one room (a Post without a sender) while
// posts are in flight: that room's sockets are told to reconnect, the hub
// reloads it from the store, seq continues gap-free, client_ids are still
// remembered, and another room neither notices nor loses anything.
func TestRoomCrashIsContained(t *testing.T) {
	e, store := roomTestEngine(t)
	alice := &pb.Sender{UserId: 1, Email: "alice@example.com", Nickname: "alice"}
	r1, r2 := &pspb.Room{Name: "crashes", Owner: 1}, &pspb.Room{Name: "calm", Owner: 1}
	for _, r := range []*pspb.Room{r1, r2} {
		if err := e.CreateRoom(r); err != nil {
			t.Fatal(err)
		}
	}
	sink1, sink2 := &roomTestSink{}, &roomTestSink{}
	// Since 0, not live-only: a post may reach a room before the session's
	// join does, and the socket must still see every message.
	e.OpenSession(r1.Id, alice, 0, 0, sink1)
	e.OpenSession(r2.Id, alice, 0, 0, sink2)
	post := func(room int64, text, clientID string) *pspb.Message {
		t.Helper()
		m, _, err := e.Post(&pb.Post{Room: room, Sender: alice, Text: text, ClientId: clientID})
		if err != nil {
			t.Fatalf("post %q to room %d: %v", text, room, err)
		}
		return m
	}
	for i := range 5 {
		post(r1.Id, fmt.Sprint("before ", i), fmt.Sprint("cid-", i))
		post(r2.Id, fmt.Sprint("calm ", i), "")
	}
	roomTestWait(t, "sessions receive", func() error {
		a, _ := sink1.seqs(t)
		b, _ := sink2.seqs(t)
		if len(a) != 5 || len(b) != 5 {
			return fmt.Errorf("room 1 socket has %d messages, room 2 socket %d", len(a), len(b))
		}
		return nil
	})

	// Posts in flight on both sides of the panic, all through the hub in
	// one order.
	var futures []*actor.Future
	for i := range 10 {
		futures = append(futures, e.root.RequestFuture(e.hub, &pb.Post{Room: r1.Id, Sender: alice, Text: fmt.Sprint("around ", i)}, time.Second))
		if i == 4 {
			e.root.Send(e.hub, &pb.Post{Room: r1.Id, Text: "boom"}) // nil Sender: the room panics
		}
	}
	// Joins in flight too: each session must end up either a member or
	// told to reconnect, never silently left out.
	var joiners []*roomTestSink
	for range 10 {
		s := &roomTestSink{}
		joiners = append(joiners, s)
		e.OpenSession(r1.Id, alice, -1, 0, s)
	}
	// A post before the panic is answered: stored, or refused when the room
	// stopped before the disk confirmed it. Those after it that reached the
	// room's mailbox are lost with it (protoactor drops a stopped actor's
	// mailbox), so their requester times out.
	stored := map[int64]string{}
	for i, f := range futures {
		res, err := f.Result()
		if err != nil && i < 5 {
			t.Fatalf("post %d got no answer: %v", i, err)
		}
		if p, ok := res.(*pb.Posted); ok && p.ErrorCode == "" {
			stored[p.Message.Seq] = p.Message.Text
		}
	}

	// The crashed room's socket was told to reconnect; the other's was not.
	roomTestWait(t, "crashed room closes its sockets", func() error {
		if _, code := sink1.seqs(t); code != CloseInternal {
			return fmt.Errorf("room 1 socket close code %d", code)
		}
		return nil
	})

	// The room reloads on the next message: seq continues after everything
	// stored, with no gap, and old client_ids are still known.
	after := post(r1.Id, "after", "")
	msgs, err := store.MessagesAfter(r1.Id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("room 1 stored seq %d at position %d", m.Seq, i)
		}
	}
	if last := msgs[len(msgs)-1]; last.Seq != after.Seq || last.Text != "after" {
		t.Fatalf("post after the crash got seq %d, last stored is %d %q", after.Seq, last.Seq, last.Text)
	}
	for _, m := range msgs {
		if text, ok := stored[m.Seq]; ok && text != m.Text {
			t.Fatalf("seq %d acknowledged as %q, stored as %q", m.Seq, text, m.Text)
		}
		if m.Text == "boom" {
			t.Fatal("the message that crashed the room was stored")
		}
	}
	orig, dup, err := e.Post(&pb.Post{Room: r1.Id, Sender: alice, Text: "resend", ClientId: "cid-2"})
	if err != nil || !dup || orig.Seq != 3 {
		t.Fatalf("client_id resend after the reload: %v dup=%v err=%v", orig, dup, err)
	}

	// A new session in the reloaded room receives live messages.
	sink3 := &roomTestSink{}
	e.OpenSession(r1.Id, alice, after.Seq, 0, sink3)
	next := post(r1.Id, "live again", "")
	roomTestWait(t, "new session in the reloaded room", func() error {
		if got, _ := sink3.seqs(t); len(got) != 1 || got[0] != next.Seq {
			return fmt.Errorf("new session got %v, want [%d]", got, next.Seq)
		}
		return nil
	})

	// Every session opened around the crash is a member of the reloaded
	// room or was closed (at the latest when its join timed out).
	roomTestWait(t, "sessions opened around the crash", func() error {
		for i, s := range joiners {
			got, code := s.seqs(t)
			if code == 0 && (len(got) == 0 || got[len(got)-1] != next.Seq) {
				return fmt.Errorf("session %d is open but got %v, not seq %d", i, got, next.Seq)
			}
		}
		return nil
	})

	// The other room went on as if nothing happened.
	calm := post(r2.Id, "still calm", "")
	if calm.Seq != 6 {
		t.Fatalf("room 2 seq %d, want 6", calm.Seq)
	}
	roomTestWait(t, "room 2 socket", func() error {
		got, code := sink2.seqs(t)
		if code != 0 || len(got) != 6 || got[5] != 6 {
			return fmt.Errorf("room 2 socket has %v, closed %d", got, code)
		}
		return nil
	})
}

// TestRoomPassivatesAndReloads lets an idle room passivate, then uses it
// again: it reloads from the store and seq continues where it stopped.
func TestRoomPassivatesAndReloads(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persistence.Open(persistence.Config{InMemory: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(persistence.WriterConfig{})
	e, err := NewEngine(Config{Store: store, Writer: w, Logger: log, RoomIdleTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Shutdown(); w.Close(); _ = store.Close() })
	room := &pspb.Room{Name: "idle", Owner: 1}
	if err := e.CreateRoom(room); err != nil {
		t.Fatal(err)
	}
	sender := &pb.Sender{UserId: 1, Email: "u@example.com", Nickname: "u"}
	post := func(want int64) {
		t.Helper()
		m, _, err := e.Post(&pb.Post{Room: room.Id, Sender: sender, Text: fmt.Sprint("m", want)})
		if err != nil || m.Seq != want {
			t.Fatalf("post: seq %v, err %v; want seq %d", m.GetSeq(), err, want)
		}
	}
	post(1)
	post(2)
	id := fmt.Sprintf("rooms/room-%d", room.Id)
	roomTestWait(t, "room passivated", func() error {
		if _, alive := e.system.ProcessRegistry.GetLocal(id); alive {
			return fmt.Errorf("room actor %s still running", id)
		}
		return nil
	})
	post(3)
	st, err := e.RoomState(room.Id)
	if err != nil || !json.Valid(st.RecentJson) {
		t.Fatalf("room state after reload: %v %s", err, st.GetRecentJson())
	}
	var recent []struct{ Seq int64 }
	if err := json.Unmarshal(st.RecentJson, &recent); err != nil || len(recent) != 3 || recent[2].Seq != 3 {
		t.Fatalf("recent after reload: %s (%v)", st.RecentJson, err)
	}
}

// TestRoomAnswersSocketPostOnlyForResends posts as a session does: a stored
// message reaches its sender with everyone else and is not answered, so
// the first answer the poster gets is the one to its client_id resend.
func TestRoomAnswersSocketPostOnlyForResends(t *testing.T) {
	e, _ := roomTestEngine(t)
	alice := &pb.Sender{UserId: 1, Email: "alice@example.com", Nickname: "alice"}
	r := &pspb.Room{Name: "quiet", Owner: 1}
	if err := e.CreateRoom(r); err != nil {
		t.Fatal(err)
	}
	sink := &roomTestSink{}
	e.OpenSession(r.Id, alice, -1, 0, sink)
	// The join is asynchronous, and a live-only session misses what is
	// stored before it joins: wait for it.
	roomTestWait(t, "alice joined", func() error {
		if st, err := e.RoomState(r.Id); err != nil || len(st.Online) != 1 {
			return fmt.Errorf("online: %v (%v)", st.GetOnline(), err)
		}
		return nil
	})
	answers := make(chan *pb.Posted, 4)
	probe := e.root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *socketPost:
			ctx.Request(e.hub, m)
		case *pb.Posted:
			answers <- m
		}
	}))
	defer e.root.Stop(probe)
	post := &socketPost{&pb.Post{Room: r.Id, Sender: alice, Text: "hello", ClientId: "cid-1"}}
	e.root.Send(probe, post)
	roomTestWait(t, "the message is delivered", func() error {
		if seqs, _ := sink.seqs(t); len(seqs) != 1 {
			return fmt.Errorf("socket has %d messages", len(seqs))
		}
		return nil
	})
	e.root.Send(probe, post) // the resend
	select {
	case p := <-answers:
		if !p.Duplicate || p.Message.GetSeq() != 1 {
			t.Fatalf("first answer %+v: want only the resend's, with the original", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the resend was not answered")
	}
	if _, socket := e.MessagesAccepted(); socket != 1 {
		t.Fatalf("accepted from sockets: %d, want 1", socket)
	}
}

// TestSessionFramesBeforeJoinKeepOrder sends a socket's messages before
// its join is answered: the session holds them and hands them to the room
// with the answer, ahead of what follows straight to the room.
func TestSessionFramesBeforeJoinKeepOrder(t *testing.T) {
	e, store := roomTestEngine(t)
	alice := &pb.Sender{UserId: 1, Email: "alice@example.com", Nickname: "alice"}
	r := &pspb.Room{Name: "early", Owner: alice.UserId}
	if err := e.CreateRoom(r); err != nil {
		t.Fatal(err)
	}
	other := &pspb.Room{Name: "busy", Owner: alice.UserId}
	if err := e.CreateRoom(other); err != nil {
		t.Fatal(err)
	}
	// Keep the hub busy, so that anything sent through it lags.
	stop := make(chan struct{})
	var busy sync.WaitGroup
	busy.Go(func() {
		for range 200000 {
			select {
			case <-stop:
				return
			default:
				e.root.Send(e.hub, &pb.GetRoomState{Room: other.Id})
			}
		}
	})
	const n = 300
	s := e.OpenSession(r.Id, alice, -1, 0, &roomTestSink{})
	for i := range n {
		s.Message(fmt.Sprintf("%d", i), "")
		if i%10 == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	close(stop)
	busy.Wait()
	var msgs []*pspb.Message
	roomTestWait(t, "every message stored", func() error {
		var err error
		msgs, err = store.MessagesAfter(r.Id, 0, n+1)
		if err == nil && len(msgs) != n {
			err = fmt.Errorf("%d of %d stored", len(msgs), n)
		}
		return err
	})
	for i, m := range msgs {
		if m.Text != fmt.Sprintf("%d", i) {
			t.Fatalf("message %d of the socket is %q", i, m.Text)
		}
	}
}

// TestRoomsShedTheirRingsOverBudget reads the details of rooms with long
// messages while their rings together pass Config.RecentBytes: each room
// with no socket stops once it answered, so the rings held stay near the
// budget, while a room with a socket keeps running.
func TestRoomsShedTheirRingsOverBudget(t *testing.T) {
	// One room's ten messages hold about 370 KB; eight would hold 3 MB.
	e, _ := roomTestEngine(t, func(c *Config) { c.RecentBytes = 512 << 10 })
	alice := &pb.Sender{UserId: 1, Email: "alice@example.com", Nickname: "alice"}
	text := strings.Repeat("가", 4000)
	var rooms []int64
	for i := range 8 {
		r := &pspb.Room{Name: fmt.Sprintf("long %d", i), Owner: alice.UserId}
		if err := e.CreateRoom(r); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if _, _, err := e.Post(&pb.Post{Room: r.Id, Sender: alice, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
		rooms = append(rooms, r.Id)
	}
	e.OpenSession(rooms[0], alice, -1, 0, &roomTestSink{})
	roomTestWait(t, "the socket joined", func() error {
		if e.running(rooms[0]) == nil {
			return errors.New("room not running")
		}
		return nil
	})
	for _, id := range rooms {
		st, err := e.RoomState(id)
		if err != nil || len(st.RecentJson) < 10*len(text) {
			t.Fatalf("room %d detail: %d bytes (%v)", id, len(st.GetRecentJson()), err)
		}
	}
	roomTestWait(t, "rooms without sockets stopped", func() error {
		for _, id := range rooms[1:] {
			if e.running(id) != nil {
				return fmt.Errorf("room %d still running, rings hold %d bytes", id, e.recentBytes.Load())
			}
		}
		return nil
	})
	if e.running(rooms[0]) == nil {
		t.Fatal("the room with a socket stopped")
	}
	if held, budget := e.RecentBytes(); held > budget {
		t.Fatalf("rings hold %d bytes, budget %d", held, budget)
	}
}

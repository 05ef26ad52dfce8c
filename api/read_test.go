package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"livechat/actors"
	"livechat/persistence"
)

// The REST mark moves the marker forward only, answers the read state
// after the call, and refuses a seq outside the room; posting moves the
// poster's marker to their message.
func TestReadMarkerREST(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "A"), ts.newUser(t, "B")
	room := ts.directRoom(t, b, a)
	for i := range 3 {
		ts.postREST(t, b, room, "m"+strconv.Itoa(i))
	}
	if r := ts.inboxRowOf(t, a, room); *r.UnreadCount != 3 || *r.LastReadSeq != 0 {
		t.Fatalf("A's row: %s, want last_read_seq 0, unread_count 3", rowState(r))
	}
	id := strconv.FormatInt(room, 10)
	for _, c := range []struct {
		body   any
		status int
		want   string
	}{
		{map[string]any{"seq": 2}, 200, `{"room":` + id + `,"last_read_seq":2,"unread_count":1}`},
		{map[string]any{"seq": 1}, 200, `{"room":` + id + `,"last_read_seq":2,"unread_count":1}`},
		{map[string]any{}, 200, `{"room":` + id + `,"last_read_seq":3,"unread_count":0}`},
		{map[string]any{"seq": 99}, 400, `{"seq":["Ensure this value is less than or equal to 3."]}`},
		{map[string]any{"seq": -1}, 400, `{"seq":["Ensure this value is greater than or equal to 0."]}`},
		{map[string]any{"seq": "two"}, 400, `{"seq":["A valid integer is required."]}`},
		{map[string]any{"seq": "1e0"}, 400, `{"seq":["A valid integer is required."]}`},
		{map[string]any{"seq": nil}, 400, `{"seq":["This field may not be null."]}`},
		{map[string]any{"seq": " 3.0 "}, 200, `{"room":` + id + `,"last_read_seq":3,"unread_count":0}`},
	} {
		if status, got := ts.markRead(t, a, room, c.body); status != c.status || got != c.want {
			t.Errorf("read %v: %d %s, want %d %s", c.body, status, got, c.status, c.want)
		}
	}
	ts.postREST(t, b, room, "m3")
	seq := ts.postREST(t, a, room, "mine")
	if r := ts.inboxRowOf(t, a, room); *r.UnreadCount != 0 || *r.LastReadSeq != seq {
		t.Fatalf("after posting: %s, want last_read_seq %d, unread_count 0", rowState(r), seq)
	}
	if r := ts.inboxRowOf(t, b, room); *r.UnreadCount != 1 || *r.LastReadSeq != 4 {
		t.Fatalf("B's row: %s, want last_read_seq 4, unread_count 1", rowState(r))
	}
	status, body := ts.rest(t, "GET", "/chat/v1/room/"+id+"/", a, nil)
	var detail inboxRow
	if status != http.StatusOK || json.Unmarshal(body, &detail) != nil || *detail.LastReadSeq != seq || detail.LastMessage.Seq != seq {
		t.Fatalf("detail: %d %s, want A's read state", status, body)
	}
}

// A user who can see a public room but has not joined it keeps no marker:
// 403 on REST, chat.error forbidden on the socket; a room that is not
// visible answers 404. Bad seqs on the socket are invalid_request.
func TestReadMarkerRefusals(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "A"), ts.newUser(t, "B")
	pub := ts.makeRoom(t, b, nil)
	ts.postREST(t, b, pub, "hello")
	if status, body := ts.markRead(t, a, pub, map[string]any{"seq": 1}); status != http.StatusForbidden || body != `{"detail":"You are not a member of this room."}` {
		t.Fatalf("non-member mark: %d %s", status, body)
	}
	priv := ts.makeRoom(t, b, map[string]any{"kind": "private"})
	if status, body := ts.markRead(t, a, priv, map[string]any{"seq": 1}); status != http.StatusNotFound {
		t.Fatalf("mark in a private room: %d %s, want 404", status, body)
	}
	if status, body := ts.markRead(t, a, 999, nil); status != http.StatusNotFound {
		t.Fatalf("mark in a missing room: %d %s, want 404", status, body)
	}
	c := ts.dial(t, a, pub, "")
	for _, f := range []struct {
		frame     map[string]any
		errorType string
		message   string
	}{
		{map[string]any{"type": "chat.read", "seq": 0}, actors.ErrorForbidden, "you are not a member of this room"},
		{map[string]any{"type": "chat.read", "seq": "1"}, actors.ErrorInvalid, "seq must be a non-negative integer"},
		{map[string]any{"type": "chat.read", "seq": -1}, actors.ErrorInvalid, "seq must be a non-negative integer"},
		{map[string]any{"type": "chat.read", "seq": 1.5}, actors.ErrorInvalid, "seq must be a non-negative integer"},
		{map[string]any{"type": "chat.read"}, actors.ErrorInvalid, "seq must be a non-negative integer"},
	} {
		c.sendFrame(t, f.frame)
		got := c.nextOf(t, "chat.error")
		if got.ErrorType != f.errorType || got.Message != f.message {
			t.Errorf("%v: %s, want %s %q", f.frame, got, f.errorType, f.message)
		}
	}
	mine := ts.dial(t, b, pub, "")
	ts.joined(t, b, pub, mine)
	mine.sendFrame(t, map[string]any{"type": "chat.read", "seq": 99})
	if got := mine.nextOf(t, "chat.error"); got.ErrorType != actors.ErrorInvalid || got.Message != "seq is beyond the room's last message" {
		t.Fatalf("seq beyond the room: %s", got)
	}
}

// A mark on one device reaches the user's other devices: its receipt on
// their events=read room sockets, inbox.read on their inbox sockets, and
// the inbox REST answer. Another member's events=read socket gets the
// same receipt bytes; a socket without events= never sees one.
func TestReadMarkerMultiDevice(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "A"), ts.newUser(t, "B")
	room := ts.makeRoom(t, b, map[string]any{"kind": "private", "members": []int64{a.id}})
	for i := range 4 {
		ts.postREST(t, b, room, "m"+strconv.Itoa(i))
	}
	device1 := ts.dial(t, a, room, "")
	device2 := ts.dial(t, a, room, "events=read")
	inbox2 := ts.dialInbox(t, a)
	other := ts.dial(t, b, room, "events=read,typing")
	plain := ts.dial(t, b, room, "")
	ts.joined(t, b, room, device1, device2, other, plain)
	device1.sendFrame(t, map[string]any{"type": "chat.read", "seq": 5})

	want := `{"type":"chat.read","room":` + strconv.FormatInt(room, 10) + `,"reads":[{"user_id":` + strconv.FormatInt(a.id, 10) + `,"seq":5}]}`
	got2 := device2.nextOf(t, "chat.read")
	gotOther := other.nextOf(t, "chat.read")
	if string(got2.raw) != want || string(gotOther.raw) != want {
		t.Fatalf("receipts:\n%s\n%s\nwant %s", got2, gotOther, want)
	}
	read := inbox2.nextOf(t, "inbox.read")
	if string(read.raw) != `{"type":"inbox.read","room":`+strconv.FormatInt(room, 10)+`,"last_read_seq":5,"unread_count":0}` {
		t.Fatalf("inbox.read %s", read)
	}
	if r := ts.inboxRowOf(t, a, room); *r.LastReadSeq != 5 || *r.UnreadCount != 0 {
		t.Fatalf("inbox row: %s", rowState(r))
	}
	ts.postREST(t, b, room, "after")
	for _, c := range []*wsClient{plain, device1} {
		if f := c.nextOf(t, "chat.message"); f.Message != "after" {
			t.Fatalf("%s got %s before the next message", c.user.nickname, f)
		}
	}
	// Moves by posting are not listed: after B and A post, the next receipt
	// lists only B's mark.
	seq := ts.postREST(t, a, room, "from A")
	if status, body := ts.markRead(t, b, room, map[string]any{"seq": seq}); status != http.StatusOK {
		t.Fatalf("B marks: %d %s", status, body)
	}
	wantB := `{"type":"chat.read","room":` + strconv.FormatInt(room, 10) + `,"reads":[{"user_id":` + strconv.FormatInt(b.id, 10) + `,"seq":` + strconv.FormatInt(seq, 10) + `}]}`
	if f := other.nextOf(t, "chat.read"); string(f.raw) != wantB {
		t.Fatalf("receipt after posts %s, want %s", f, wantB)
	}
}

// A burst of chat.read frames is coalesced: the receipts come at most one
// per interval, and the last one carries the highest seq.
func TestReadReceiptsBatched(t *testing.T) {
	const interval = 300 * time.Millisecond
	ts := newWSTestServer(t, func(_ *Config, a *actors.Config) { a.ReceiptInterval = interval })
	a, b := ts.newUser(t, "A"), ts.newUser(t, "B")
	room := ts.makeRoom(t, b, map[string]any{"kind": "private", "members": []int64{a.id}})
	for i := range 99 {
		ts.postREST(t, b, room, "m"+strconv.Itoa(i))
	}
	reader := ts.dial(t, a, room, "")
	watcher := ts.dial(t, b, room, "events=read")
	ts.joined(t, b, room, reader, watcher)
	for seq := 1; seq <= 100; seq++ {
		reader.sendFrame(t, map[string]any{"type": "chat.read", "seq": seq})
	}
	var last time.Time
	frames := 0
	for {
		f := watcher.nextOf(t, "chat.read")
		now := time.Now()
		frames++
		// Frames leave the room at least interval apart; allow for one of
		// them being delayed on its way.
		if !last.IsZero() && now.Sub(last) < interval/2 {
			t.Fatalf("receipts %v apart, want about %v or more", now.Sub(last), interval)
		}
		last = now
		var rf struct {
			Reads []struct {
				UserID int64 `json:"user_id"`
				Seq    int64 `json:"seq"`
			} `json:"reads"`
		}
		decodeFrame(t, f, &rf)
		if len(rf.Reads) != 1 || rf.Reads[0].UserID != a.id {
			t.Fatalf("receipt %s", f)
		}
		if rf.Reads[0].Seq == 100 {
			break
		}
	}
	if frames > 5 {
		t.Fatalf("%d receipt frames for a burst of 100 marks", frames)
	}
	if r := ts.inboxRowOf(t, a, room); *r.LastReadSeq != 100 {
		t.Fatalf("marker %s, want 100", rowState(r))
	}
}

// Every answered marker survives a restart of the server on the same data.
func TestReadMarkersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ts := newDiskServer(t, dir)
	a, b := ts.newUser(t, "A"), ts.newUser(t, "B")
	room := ts.makeRoom(t, b, map[string]any{"kind": "private", "members": []int64{a.id}})
	for i := range 4 {
		ts.postREST(t, b, room, "m"+strconv.Itoa(i))
	}
	if status, body := ts.markRead(t, a, room, map[string]any{"seq": 3}); status != http.StatusOK || !strings.Contains(body, `"last_read_seq":3`) {
		t.Fatalf("mark: %d %s", status, body)
	}
	ts.closeAll(t)

	ts2 := newDiskServer(t, dir)
	a.token = ts2.reissue(t, a.id)
	b.token = ts2.reissue(t, b.id)
	if r := ts2.inboxRowOf(t, a, room); *r.LastReadSeq != 3 || *r.UnreadCount != 1 {
		t.Fatalf("after restart, A's row: %s, want last_read_seq 3, unread_count 1", rowState(r))
	}
	if r := ts2.inboxRowOf(t, b, room); *r.LastReadSeq != 4 {
		t.Fatalf("after restart, B's row: %s, want last_read_seq 4 (moved by posting)", rowState(r))
	}
}

// diskServer is a wsTestServer on a data directory, closed and reopened
// by the test to restart it.
type diskServer struct{ *wsTestServer }

func newDiskServer(t *testing.T, dir string) *diskServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persistence.Open(persistence.Config{Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	writer := store.NewWriter(persistence.WriterConfig{})
	engine, err := actors.NewEngine(actors.Config{Store: store, Writer: writer, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Secret: []byte("ws-test-secret-0123456789abcdefghij"), BcryptCost: 4, Logger: log,
		MessageRate: 10_000, MessageBurst: 10_000, RoomRate: 10_000, RegisterRate: 10_000}, store, engine)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	ds := &diskServer{&wsTestServer{srv: srv, engine: engine, store: store, writer: writer, addr: ln.Addr().String()}}
	ds.users.Store(int64(len(dir))) // distinct emails across restarts are not needed: users are created once
	t.Cleanup(func() { ds.closeAll(t) })
	return ds
}

// closeAll stops the server in serve.go's order and closes its store.
func (ds *diskServer) closeAll(t *testing.T) {
	t.Helper()
	ds.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ds.srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		ds.engine.Shutdown()
		ds.writer.Close()
		if err := ds.store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
}

// reissue gives user a token of this server's run.
func (ds *diskServer) reissue(t *testing.T, user int64) string {
	t.Helper()
	token, _, err := ds.srv.tokens.issue(accessToken, user, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// chat.read frames past --read-rate are held, not queued for the room
// each, and the newest is passed on when the rate allows: a client marking
// every message of a fast room ends with its last mark stored.
func TestWSReadsPastTheRateEndAtTheLast(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.ReadRate = 2 })
	a, b := ts.newUser(t, "A"), ts.newUser(t, "B")
	room := ts.directRoom(t, b, a)
	const n = 30
	for i := range n {
		ts.postREST(t, a, room, "m"+strconv.Itoa(i))
	}
	c := ts.dial(t, b, room, "")
	ts.waitOnline(t, b, room, "B")
	for seq := 1; seq <= n; seq++ {
		c.sendFrame(t, map[string]any{"type": "chat.read", "seq": seq})
	}
	wsEventually(t, 5*time.Second, func() error {
		if r := ts.inboxRowOf(t, b, room); r.LastReadSeq == nil || *r.LastReadSeq != n {
			return fmt.Errorf("B's row: %s, want last_read_seq %d", rowState(r), n)
		}
		return nil
	})
}

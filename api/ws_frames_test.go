package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"livechat/actors"
)

// wsMessageKeys are exactly the keys of a chat.message frame.
// wsMessageKeys are a new message's keys: the original service's, then
// LiveChat's. edited_at, deleted_at and deleted_by appear only when set.
var wsMessageKeys = []string{"created_at", "id", "message", "nickname", "profile_picture_url", "rev", "room", "sender", "sender_id", "seq", "type"}

func TestWSEchoToEveryoneWithExactKeys(t *testing.T) {
	ts := newWSTestServer(t, nil)
	alice, bob := ts.newUser(t, "사용자명"), ts.newUser(t, "bob")
	room := ts.newRoom(t, alice)
	a := ts.dial(t, alice, room, "")
	ts.waitOnline(t, alice, room, "사용자명")
	b := ts.dial(t, bob, room, "")
	if j := a.next(t); j.Type != "chat.user.join" || j.Username != "bob" {
		t.Fatalf("alice got %s, want bob's join", j)
	}
	const text = "안녕하세요! 👋🏽 emoji ZWJ 👩‍👩‍👧 \"quotes\" \\ </script> \u2028 tab\t"
	before := time.Now().Add(-time.Second)
	a.send(t, text)
	fa, fb := a.messages(t, 1)[0], b.messages(t, 1)[0]
	if string(fa.raw) != string(fb.raw) {
		t.Errorf("sender and receiver frames differ:\n%s\n%s", fa, fb)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(fa.raw, &obj); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(obj)); !slices.Equal(keys, wsMessageKeys) {
		t.Errorf("keys %v, want %v", keys, wsMessageKeys)
	}
	if fa.Message != text {
		t.Errorf("text %q, want %q (byte-exact)", fa.Message, text)
	}
	if fa.Type != "chat.message" || fa.Sender != alice.email || fa.Nickname != "사용자명" ||
		fa.ProfilePictureURL != nil || fa.Room != room || fa.Seq != 1 || fa.ID <= 0 {
		t.Errorf("frame %s: wrong fields", fa)
	}
	created, err := time.Parse(time.RFC3339Nano, fa.CreatedAt)
	if err != nil || created.Before(before) || created.After(time.Now().Add(time.Second)) {
		t.Errorf("created_at %q: %v", fa.CreatedAt, err)
	}
	// The stored message is the same text, byte for byte.
	msgs, err := ts.store.MessagesAfter(room, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != text || msgs[0].Id != fa.ID {
		t.Fatalf("stored %v, %v", msgs, err)
	}
}

func TestWSRESTPostIsDelivered(t *testing.T) {
	ts := newWSTestServer(t, nil)
	alice, bob := ts.newUser(t, "alice"), ts.newUser(t, "bob")
	room := ts.newRoom(t, alice)
	b := ts.dial(t, bob, room, "")
	a := ts.dial(t, alice, room, "")
	status, body := ts.rest(t, "POST", "/chat/v1/message/", alice, map[string]any{"message": "from REST 🌏", "room": room})
	if status != 201 {
		t.Fatalf("POST message: %d %s", status, body)
	}
	var posted wsFrame
	if err := json.Unmarshal(body, &posted); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*wsClient{a, b} {
		f := c.messages(t, 1)[0]
		if f.Message != "from REST 🌏" || f.ID != posted.ID || f.Seq != posted.Seq || f.Sender != alice.email || f.CreatedAt != posted.CreatedAt {
			t.Errorf("%s got %s, REST answered %s", c.user.nickname, f, body)
		}
	}
}

// wsCollected is what a wsCollect goroutine read, and why it stopped early.
type wsCollected struct {
	frames []wsFrame
	err    error
}

// wsCollect reads n chat messages on its own goroutine and reports them;
// progress, when not nil, receives each one's seq as it arrives.
func wsCollect(c *wsClient, n int, progress chan<- int64) <-chan wsCollected {
	out := make(chan wsCollected, 1)
	go func() {
		var got wsCollected
		for len(got.frames) < n {
			f, err := c.read(wsReadTimeout)
			if err != nil {
				got.err = fmt.Errorf("%s: %w", c.user.nickname, err)
				break
			}
			if f.Type == "chat.message" {
				got.frames = append(got.frames, f)
				if progress != nil {
					progress <- f.Seq
				}
			}
		}
		out <- got
	}()
	return out
}

// want returns what a wsCollect goroutine read, failing the test if it
// read fewer than n.
func (r wsCollected) want(t testing.TB, n int) []wsFrame {
	t.Helper()
	if len(r.frames) != n {
		t.Fatalf("received %d of %d messages: %v", len(r.frames), n, r.err)
	}
	return r.frames
}

func TestWSOneOrderForEveryone(t *testing.T) {
	ts := newWSTestServer(t, nil)
	const senders, each = 4, 25
	owner := ts.newUser(t, "owner")
	room := ts.newRoom(t, owner)
	var clients []*wsClient
	for i := range senders {
		clients = append(clients, ts.dial(t, ts.newUser(t, "s"+strconv.Itoa(i)), room, ""))
	}
	results := make([]<-chan wsCollected, senders)
	for i, c := range clients {
		results[i] = wsCollect(c, senders*each, nil)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for k := range each {
				_ = c.conn.WriteJSON(map[string]any{"type": "chat.message", "message": fmt.Sprintf("%d-%d", i, k)})
			}
		})
	}
	wg.Wait()
	var first []wsFrame
	for i, r := range results {
		got := (<-r).want(t, senders*each)
		wsCheckSeqs(t, "client "+strconv.Itoa(i), got, 1)
		if first == nil {
			first = got
			continue
		}
		for k := range got {
			if got[k].Message != first[k].Message || got[k].ID != first[k].ID {
				t.Fatalf("client %d frame %d is %s, client 0 saw %s", i, k, got[k], first[k])
			}
		}
	}
	// Each sender's own messages keep the order it sent them in.
	next := make([]int, senders)
	for _, f := range first {
		var i, k int
		if _, err := fmt.Sscanf(f.Message, "%d-%d", &i, &k); err != nil || k != next[i] {
			t.Fatalf("message %q out of its sender's order (want %d-%d)", f.Message, i, next[i])
		}
		next[i]++
	}
}

func TestWSRoomsAreIsolated(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "u")
	r1, r2 := ts.newRoom(t, u), ts.newRoom(t, u)
	a1, a2 := ts.dial(t, u, r1, ""), ts.dial(t, u, r2, "")
	v := ts.newUser(t, "v")
	ts.waitOnline(t, u, r1, "u")
	b1 := ts.dial(t, v, r1, "")
	if f := a1.next(t); f.Type != "chat.user.join" || f.Username != "v" {
		t.Fatalf("room 1 got %s, want v's join", f)
	}
	for i := range 5 {
		a1.send(t, "one-"+strconv.Itoa(i))
		a2.send(t, "two-"+strconv.Itoa(i))
	}
	b1.send(t, "one-end")
	a2.send(t, "two-end")
	for _, c := range []struct {
		c      *wsClient
		room   int64
		prefix string
		n      int
	}{{a1, r1, "one-", 6}, {b1, r1, "one-", 6}, {a2, r2, "two-", 6}} {
		got := c.c.messages(t, c.n)
		wsCheckSeqs(t, c.prefix, got, 1)
		for _, f := range got {
			if f.Room != c.room || f.Message[:4] != c.prefix {
				t.Fatalf("room %d received %s", c.room, f)
			}
		}
	}
	// Nothing else is waiting in room 2: its next frame is the next message.
	a2.send(t, "two-last")
	if f := a2.next(t); f.Message != "two-last" || f.Seq != 7 {
		t.Fatalf("room 2 got %s, want two-last seq 7", f)
	}
}

func TestWSOneSenderManyReceivers(t *testing.T) {
	if testing.Short() {
		t.Skip("500 messages to 5 sockets")
	}
	const receivers, total = 5, 500
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MessageRate, c.MessageBurst = 100_000, total })
	sender := ts.newUser(t, "sender")
	room := ts.newRoom(t, sender)
	var rs []*wsClient
	for i := range receivers {
		rs = append(rs, ts.dial(t, ts.newUser(t, "r"+strconv.Itoa(i)), room, ""))
	}
	s := ts.dial(t, sender, room, "")
	results := make([]<-chan wsCollected, 0, receivers+1)
	for _, c := range append(rs, s) {
		results = append(results, wsCollect(c, total, nil))
	}
	for i := range total {
		_ = s.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
		if err := s.conn.WriteJSON(map[string]any{"type": "chat.message", "message": "m" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range results {
		got := (<-r).want(t, total)
		wsCheckSeqs(t, "socket "+strconv.Itoa(i), got, 1)
		for k, f := range got {
			if f.Message != "m"+strconv.Itoa(k) {
				t.Fatalf("socket %d message %d is %q", i, k, f.Message)
			}
		}
	}
}

// A socket receives every message posted once its handshake is done, even
// before its session has joined the room (which happens after the 101).
func TestWSMessageRightAfterHandshakeIsDelivered(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	for i := range 30 {
		c := ts.dial(t, u, room, "")
		text := "right after " + strconv.Itoa(i)
		if status, body := ts.rest(t, "POST", "/chat/v1/message/", u, map[string]any{"message": text, "room": room}); status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
		if f := c.messages(t, 1)[0]; f.Message != text || f.Seq != int64(i+1) {
			t.Fatalf("got %s, want %q seq %d", f, text, i+1)
		}
		c.closeNormally(t)
	}
}

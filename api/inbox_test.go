package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

// A member's inbox lists the rooms by latest activity, and a message from
// someone else puts its room first with one unread and its text cut to
// 100 code points.
func TestInboxOrdersByActivity(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "A"), ts.newUser(t, "B")
	r1 := ts.makeRoom(t, a, nil)
	r2 := ts.makeRoom(t, a, map[string]any{"kind": "private", "members": []int64{b.id}})
	r3 := ts.makeRoom(t, a, nil)
	ts.postREST(t, a, r2, "two")
	ts.postREST(t, a, r1, "one")
	ts.postREST(t, a, r3, "three")
	if got, want := ts.inboxIDs(t, a), []int64{r3, r1, r2}; !slices.Equal(got, want) {
		t.Fatalf("inbox %v, want %v", got, want)
	}
	long := strings.Repeat("가나다라마바사아자차", 15) // 150 code points, 3 bytes each
	ts.postREST(t, b, r2, long)
	rows := ts.inbox(t, a, "/chat/v1/room/inbox/").Results
	if rows[0].ID != r2 {
		t.Fatalf("first row is room %d, want %d", rows[0].ID, r2)
	}
	first := rows[0]
	if first.UnreadCount == nil || *first.UnreadCount != 1 || first.LastReadSeq == nil || *first.LastReadSeq != 1 {
		t.Fatalf("room %d: %s, want last_read_seq 1, unread_count 1", r2, rowState(first))
	}
	lm := first.LastMessage
	if lm == nil || lm.Message != string([]rune(long)[:100]) || lm.SenderID != b.id || lm.Seq != 2 || lm.Nickname != "B" {
		t.Fatalf("last_message %+v, want B's text cut to 100 code points", lm)
	}
	if first.LastActivityAt == "" || first.Kind != "private" || first.MemberCount != 2 {
		t.Fatalf("row %+v", first)
	}
}

// Following next walks every room exactly once, forward only; a cursor the
// server did not issue is refused like DRF refuses it.
func TestInboxPagesWithCursor(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "A")
	var want []int64
	for range 5 {
		want = append(want, ts.makeRoom(t, a, nil))
	}
	path := "/chat/v1/room/inbox/?limit=2"
	var seen []int64
	var sizes []int
	for path != "" {
		p := ts.inbox(t, a, path)
		if p.Previous != nil {
			t.Fatalf("previous = %q, want null", *p.Previous)
		}
		sizes = append(sizes, len(p.Results))
		for _, r := range p.Results {
			seen = append(seen, r.ID)
		}
		path = ""
		if p.Next != nil {
			prefix := "http://" + ts.addr
			if !strings.HasPrefix(*p.Next, prefix+"/chat/v1/room/inbox/?cursor=") {
				t.Fatalf("next = %q, want an absolute URL on %s", *p.Next, prefix)
			}
			path = strings.TrimPrefix(*p.Next, prefix)
		}
	}
	if !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Fatalf("page sizes %v, want [2 2 1]", sizes)
	}
	slices.Reverse(want) // the newest room has the latest activity
	if !slices.Equal(seen, want) {
		t.Fatalf("rooms %v, want each once: %v", seen, want)
	}

	// An empty cursor is the first page, as DRF's CursorPagination reads it.
	if first, empty := ts.inbox(t, a, "/chat/v1/room/inbox/?limit=1"), ts.inbox(t, a, "/chat/v1/room/inbox/?limit=1&cursor="); len(empty.Results) != 1 || empty.Results[0].ID != first.Results[0].ID {
		t.Errorf("cursor=: %+v, want the first page %+v", empty.Results, first.Results)
	}
	for _, bad := range []string{"garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		status, body := ts.rest(t, "GET", "/chat/v1/room/inbox/?cursor="+bad, a, nil)
		if status != http.StatusNotFound || string(body) != `{"detail":"Invalid cursor"}` {
			t.Errorf("cursor %q: %d %s, want 404 Invalid cursor", bad, status, body)
		}
	}
	// A real cursor with one byte changed is refused too.
	p := ts.inbox(t, a, "/chat/v1/room/inbox/?limit=1")
	cursor := (*p.Next)[strings.Index(*p.Next, "cursor=")+7 : strings.Index(*p.Next, "&")]
	forged := []byte(cursor)
	forged[3] ^= 1
	if forged[3] == '-' || forged[3] == '_' {
		forged[3] = 'A'
	}
	if status, body := ts.rest(t, "GET", "/chat/v1/room/inbox/?cursor="+string(forged), a, nil); status != http.StatusNotFound {
		t.Errorf("forged cursor: %d %s, want 404", status, body)
	}
}

// next follows the scheme a proxy reports and the request's Host.
func TestInboxNextHonoursForwardedProto(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.AllowedHosts = []string{"*"} })
	a := ts.newUser(t, "A")
	ts.makeRoom(t, a, nil)
	ts.makeRoom(t, a, nil)
	req, err := http.NewRequest("GET", "http://"+ts.addr+"/chat/v1/room/inbox/?limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "chat.example.com"
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p inboxPage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Next == nil || !strings.HasPrefix(*p.Next, "https://chat.example.com/chat/v1/room/inbox/?cursor=") ||
		!strings.HasSuffix(*p.Next, "&limit=1") {
		t.Fatalf("next = %v, want https://chat.example.com/...&limit=1", p.Next)
	}
}

// The inbox holds only the rooms the caller is a member of: a public room
// enters it when the caller joins, at the top with nothing unread. The
// plain list keeps its order and has no read state.
func TestInboxHoldsOnlyMemberships(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "A"), ts.newUser(t, "B")
	mine := ts.makeRoom(t, a, nil)
	pub := ts.makeRoom(t, b, nil)
	ts.postREST(t, b, pub, "hello")
	ts.postREST(t, b, pub, "again")
	if got := ts.inboxIDs(t, a); !slices.Equal(got, []int64{mine}) {
		t.Fatalf("inbox %v, want only %d", got, mine)
	}
	status, body := ts.rest(t, "GET", "/chat/v1/room/", a, nil)
	var list []map[string]any
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list) != 2 || list[0]["id"].(float64) != float64(mine) {
		t.Fatalf("room list: %d %s", status, body)
	}
	for _, r := range list {
		for _, k := range []string{"kind", "member_count", "role", "peer"} {
			if _, ok := r[k]; !ok {
				t.Errorf("room list entry lacks %q: %v", k, r)
			}
		}
		if _, ok := r["unread_count"]; ok {
			t.Errorf("room list entry has read state: %v", r)
		}
	}
	if status, body := ts.rest(t, "POST", "/chat/v1/room/"+strconv.FormatInt(pub, 10)+"/members/", a, map[string]any{"user": a.id}); status != http.StatusCreated {
		t.Fatalf("join: %d %s", status, body)
	}
	rows := ts.inbox(t, a, "/chat/v1/room/inbox/").Results
	if len(rows) != 2 || rows[0].ID != pub || *rows[0].UnreadCount != 0 || *rows[0].LastReadSeq != 2 {
		t.Fatalf("after joining: %+v, want room %d first with 0 unread", rows, pub)
	}
}

// The inbox socket tells its user of rooms added and removed, and of every
// message in the rooms the user belongs to, in the same bytes for every
// member; nothing of other rooms.
func TestInboxSocketFrames(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b, c := ts.newUser(t, "A"), ts.newUser(t, "B"), ts.newUser(t, "C")
	inA, inB := ts.dialInbox(t, a), ts.dialInbox(t, b)

	priv := ts.makeRoom(t, b, map[string]any{"kind": "private"})
	inB.expectNext(t, "inbox.room.add", `"id":`+strconv.FormatInt(priv, 10))
	if status, body := ts.rest(t, "POST", "/chat/v1/room/"+strconv.FormatInt(priv, 10)+"/members/", b, map[string]any{"user": a.id}); status != http.StatusCreated {
		t.Fatalf("add A: %d %s", status, body)
	}
	add := inA.expectNext(t, "inbox.room.add", `"role":"member"`)
	var frame struct {
		Room inboxRow `json:"room"`
	}
	decodeFrame(t, add, &frame)
	if frame.Room.ID != priv || frame.Room.LastReadSeq == nil || frame.Room.UnreadCount == nil || frame.Room.MemberCount != 2 {
		t.Fatalf("inbox.room.add %s: want the room with A's read state", add)
	}
	if !strings.Contains(string(add.raw), `"chat_url":"`+ts.addr+"/ws/chat/") {
		t.Fatalf("inbox.room.add %s: chat_url not on the socket's host", add)
	}

	status, body := ts.rest(t, "POST", "/chat/v1/room/direct/", c, map[string]any{"user": a.id})
	if status != http.StatusCreated {
		t.Fatalf("direct: %d %s", status, body)
	}
	inA.expectNext(t, "inbox.room.add", `"kind":"direct"`)

	other := ts.makeRoom(t, c, nil)
	ts.postREST(t, c, other, "not for A")
	ts.postREST(t, b, priv, "for A and B")
	fa := inA.expectNext(t, "inbox.message", `"message":"for A and B"`)
	fb := inB.expectNext(t, "inbox.message", `"message":"for A and B"`)
	if string(fa.raw) != string(fb.raw) {
		t.Fatalf("inbox.message differs between members:\n%s\n%s", fa, fb)
	}
	if !strings.HasPrefix(string(fa.raw), `{"type":"inbox.message","room":`+strconv.FormatInt(priv, 10)+`,"last_message":{"id":`) {
		t.Fatalf("inbox.message %s", fa)
	}

	status, body = ts.rest(t, "DELETE", "/chat/v1/room/"+strconv.FormatInt(priv, 10)+"/members/"+strconv.FormatInt(a.id, 10)+"/", b, nil)
	if status != http.StatusNoContent {
		t.Fatalf("remove A: %d %s", status, body)
	}
	inA.expectNext(t, "inbox.room.remove", `"room":`+strconv.FormatInt(priv, 10))
	ts.postREST(t, b, priv, "after A left")
	inB.expectNext(t, "inbox.message", "after A left")
	mine := ts.makeRoom(t, a, nil)
	inA.expectNext(t, "inbox.room.add", `"id":`+strconv.FormatInt(mine, 10))
	ts.postREST(t, a, mine, "mine")
	inA.expectNext(t, "inbox.message", `"message":"mine"`) // nothing of priv came before it
}

// An inbox socket authenticates and is capped like a room socket, takes
// only auth.refresh, and closes with 1001 on shutdown.
func TestInboxSocketLifecycle(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MaxUserSockets = 2 })
	a := ts.newUser(t, "A")
	if _, resp, err := ts.dialWS("ws://"+ts.addr+"/ws/inbox/", nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %v %s, want 401", err, wsResponseBody(resp))
	}
	if _, resp, err := ts.dialWS("ws://"+ts.addr+"/ws/inbox/?token=nope", nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: %v %s, want 401", err, wsResponseBody(resp))
	}
	in := ts.dialInbox(t, a)
	room := ts.makeRoom(t, a, nil)
	in.nextOf(t, "inbox.room.add")
	roomSocket := ts.dial(t, a, room, "")
	wsEventually(t, wsReadTimeout, func() error { // the server counts a socket just after its 101
		if n := ts.srv.conns.userCount(a.id); n != 2 {
			return fmt.Errorf("%d sockets counted, want 2", n)
		}
		return nil
	})
	if _, resp, err := ts.dialWS("ws://"+ts.addr+"/ws/inbox/?token="+a.token, nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third socket: %v %s, want 429", err, wsResponseBody(resp))
	}
	in.sendFrame(t, map[string]any{"type": "chat.message", "message": "hi"})
	if f := in.nextAny(t); f.Type != "chat.error" || f.ErrorType != actors.ErrorInvalid {
		t.Fatalf("chat.message on the inbox socket: %s, want chat.error invalid_request", f)
	}
	in.sendFrame(t, map[string]any{"type": "auth.refresh", "token": a.token})
	in.sendFrame(t, map[string]any{"type": "auth.refresh", "token": "nope"})
	if f := in.nextAny(t); f.Type != "chat.error" || !strings.Contains(f.Message, "auth.refresh") {
		t.Fatalf("bad auth.refresh: %s, want chat.error", f) // the good one had no answer
	}
	roomSocket.closeNormally(t)
	closed := make(chan int, 1)
	go func() { // the client answers the server's close while shutdown waits for it
		for {
			if _, err := in.read(wsReadTimeout); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					closed <- ce.Code
				} else {
					closed <- 0
				}
				return
			}
		}
	}()
	ts.shutdown(t)
	if code := <-closed; code != websocket.CloseGoingAway {
		t.Fatalf("inbox socket closed with %d on shutdown, want 1001", code)
	}
}

// A user who joins a public room by posting in it, over REST or its
// socket, gets inbox.room.add before the post's inbox.message, as for any
// other join: an inbox client never sees a message of a room it has no
// row for.
func TestInboxJoinByPosting(t *testing.T) {
	ts := newWSTestServer(t, nil)
	b, c, d := ts.newUser(t, "B"), ts.newUser(t, "C"), ts.newUser(t, "D")
	inC, inD := ts.dialInbox(t, c), ts.dialInbox(t, d)
	room := ts.makeRoom(t, b, nil)
	id := `"id":` + strconv.FormatInt(room, 10)

	ts.postREST(t, c, room, "C joins by REST")
	add := inC.expectNext(t, "inbox.room.add", id)
	if !strings.Contains(string(add.raw), `"role":"member"`) {
		t.Fatalf("inbox.room.add %s: want C as a member", add)
	}
	inC.expectNext(t, "inbox.message", "C joins by REST")

	sock := ts.dial(t, d, room, "")
	sock.send(t, "D joins by socket")
	inD.expectNext(t, "inbox.room.add", id)
	inD.expectNext(t, "inbox.message", "D joins by socket")
	inC.expectNext(t, "inbox.message", "D joins by socket") // C's add came once

	ts.postREST(t, c, room, "C again")
	inC.expectNext(t, "inbox.message", "C again") // no second add for a member
}

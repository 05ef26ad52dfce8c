package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// inboxRow is a room with read state as the inbox and the detail show it.
type inboxRow struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"`
	MemberCount int64  `json:"member_count"`
	Role        *string
	LastMessage *struct {
		ID        int64   `json:"id"`
		Seq       int64   `json:"seq"`
		SenderID  int64   `json:"sender_id"`
		Nickname  string  `json:"nickname"`
		Message   string  `json:"message"`
		CreatedAt string  `json:"created_at"`
		EditedAt  *string `json:"edited_at"`
		DeletedAt *string `json:"deleted_at"`
	} `json:"last_message"`
	LastActivityAt string `json:"last_activity_at"`
	LastReadSeq    *int64 `json:"last_read_seq"`
	UnreadCount    *int64 `json:"unread_count"`
}

// inboxPage is the inbox's cursor-pagination envelope.
type inboxPage struct {
	Next     *string    `json:"next"`
	Previous *string    `json:"previous"`
	Results  []inboxRow `json:"results"`
}

// makeRoom creates a room through the API with body's extra fields and
// returns its id.
func (ts *wsTestServer) makeRoom(t testing.TB, owner *wsUser, body map[string]any) int64 {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	if _, ok := body["name"]; !ok {
		body["name"] = "room"
	}
	return ts.createdRoom(t, "/chat/v1/room/", owner, body)
}

// directRoom opens the direct room of from and to and returns its id.
func (ts *wsTestServer) directRoom(t testing.TB, from, to *wsUser) int64 {
	t.Helper()
	return ts.createdRoom(t, "/chat/v1/room/direct/", from, map[string]any{"user": to.id})
}

// createdRoom posts body to path as u, expects 201 with a room, and
// returns its id.
func (ts *wsTestServer) createdRoom(t testing.TB, path string, u *wsUser, body map[string]any) int64 {
	t.Helper()
	status, b := ts.rest(t, "POST", path, u, body)
	if status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, status, b)
	}
	var r inboxRow
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// postREST posts text in room as u and returns the message's seq.
func (ts *wsTestServer) postREST(t testing.TB, u *wsUser, room int64, text string) int64 {
	t.Helper()
	status, b := ts.rest(t, "POST", "/chat/v1/message/", u, map[string]any{"room": room, "message": text})
	if status != http.StatusCreated {
		t.Fatalf("post in room %d: %d %s", room, status, b)
	}
	var m struct {
		Seq int64 `json:"seq"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Seq
}

// inbox reads one inbox page at path (with its query).
func (ts *wsTestServer) inbox(t testing.TB, u *wsUser, path string) inboxPage {
	t.Helper()
	status, b := ts.rest(t, "GET", path, u, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, b)
	}
	var p inboxPage
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// inboxIDs lists the room ids of u's first inbox page.
func (ts *wsTestServer) inboxIDs(t testing.TB, u *wsUser) []int64 {
	t.Helper()
	var ids []int64
	for _, r := range ts.inbox(t, u, "/chat/v1/room/inbox/").Results {
		ids = append(ids, r.ID)
	}
	return ids
}

// inboxRowOf is room's row in u's inbox; it fails the test if missing.
func (ts *wsTestServer) inboxRowOf(t testing.TB, u *wsUser, room int64) inboxRow {
	t.Helper()
	for _, r := range ts.inbox(t, u, "/chat/v1/room/inbox/?limit=100").Results {
		if r.ID == room {
			return r
		}
	}
	t.Fatalf("room %d is not in %s's inbox", room, u.nickname)
	return inboxRow{}
}

// markRead posts body to room's read/ and returns status and answer.
func (ts *wsTestServer) markRead(t testing.TB, u *wsUser, room int64, body any) (int, string) {
	t.Helper()
	status, b := ts.rest(t, "POST", "/chat/v1/room/"+strconv.FormatInt(room, 10)+"/read/", u, body)
	return status, string(b)
}

// dialInbox opens u's inbox socket.
func (ts *wsTestServer) dialInbox(t testing.TB, u *wsUser) *wsClient {
	t.Helper()
	conn, resp, err := ts.dialWS("ws://"+ts.addr+"/ws/inbox/?token="+u.token, nil)
	if err != nil {
		t.Fatalf("dial inbox as %s: %v (%s)", u.nickname, err, wsResponseBody(resp))
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &wsClient{conn: conn, user: u}
}

// nextAny returns the next frame, whatever its shape (inbox.room.add
// carries a room object where chat frames carry a room id).
func (c *wsClient) nextAny(t testing.TB) wsFrame {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		t.Fatalf("%s: read: %v", c.user.nickname, err)
	}
	var head struct {
		Type      string `json:"type"`
		ErrorType string `json:"error_type"`
		Message   any    `json:"message"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		t.Fatalf("%s: frame is not JSON: %q", c.user.nickname, data)
	}
	msg, _ := head.Message.(string)
	return wsFrame{raw: data, Type: head.Type, ErrorType: head.ErrorType, Message: msg}
}

// nextOf returns the next frame of type typ, skipping the others.
func (c *wsClient) nextOf(t testing.TB, typ string) wsFrame {
	t.Helper()
	for {
		f := c.nextAny(t)
		if f.Type == typ {
			return f
		}
	}
}

// expectNext checks that the next frame is of type typ and contains want.
func (c *wsClient) expectNext(t testing.TB, typ, want string) wsFrame {
	t.Helper()
	f := c.nextAny(t)
	if f.Type != typ || !strings.Contains(string(f.raw), want) {
		t.Fatalf("%s: got %s, want a %s frame with %s", c.user.nickname, f, typ, want)
	}
	return f
}

// decodeFrame decodes a frame's raw JSON into v.
func decodeFrame(t testing.TB, f wsFrame, v any) {
	t.Helper()
	if err := json.Unmarshal(f.raw, v); err != nil {
		t.Fatalf("frame %s: %v", f, err)
	}
}

func rowState(r inboxRow) string {
	lr, uc := "null", "null"
	if r.LastReadSeq != nil {
		lr = strconv.FormatInt(*r.LastReadSeq, 10)
	}
	if r.UnreadCount != nil {
		uc = strconv.FormatInt(*r.UnreadCount, 10)
	}
	return fmt.Sprintf("last_read_seq %s, unread_count %s", lr, uc)
}

// joined waits until every socket in cs has joined room: u posts a
// message and each socket reads up to it.
func (ts *wsTestServer) joined(t testing.TB, u *wsUser, room int64, cs ...*wsClient) {
	t.Helper()
	text := "sync " + strconv.FormatInt(time.Now().UnixNano(), 10)
	ts.postREST(t, u, room, text)
	for _, c := range cs {
		for {
			if f := c.nextAny(t); f.Type == "chat.message" && f.Message == text {
				break
			}
		}
	}
}

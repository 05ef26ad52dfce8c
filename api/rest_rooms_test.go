package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"livechat/persistence"
)

// readStateKeys are the keys a room with read state adds (creation,
// detail, direct/, inbox).
var readStateKeys = []string{"last_message", "last_activity_at", "last_read_seq", "unread_count"}

// expectRoomObject checks the room object of PROTOCOL.md, with the four
// keys of membership (kind, member_count, role, peer).
func expectRoomObject(t testing.TB, r map[string]any, host string, extra ...string) {
	t.Helper()
	want := append([]string{"chat_url", "created_at", "id", "name", "owner", "post", "kind", "member_count", "role", "peer"}, extra...)
	got := keys(r)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("room keys %v, want %v", got, want)
	}
	id, ok := r["id"].(float64)
	if !ok || id < 1 || id != float64(int64(id)) {
		t.Fatalf("room id %#v is not a positive integer", r["id"])
	}
	if url := fmt.Sprintf("%s/ws/chat/%d/chat/", host, int64(id)); r["chat_url"] != url {
		t.Errorf("chat_url %v, want %q", r["chat_url"], url)
	}
	expectTimestamp(t, r["created_at"])
}

func TestCreateRoom(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	r := ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: u.Access, Body: map[string]any{"name": "  중고 자전거 🚲  ", "post": 7}})
	expectStatus(t, r, http.StatusCreated)
	room := r.object(t)
	expectRoomObject(t, room, ts.addr, readStateKeys...)
	if room["name"] != "중고 자전거 🚲" || room["post"] != float64(7) || room["owner"] != float64(u.ID) {
		t.Errorf("room %s: want the trimmed name, post 7, owner %d", r.Body, u.ID)
	}

	// post is optional and null when absent; a number-like name is a name.
	r = ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: u.Access, Body: map[string]any{"name": 12345}})
	expectStatus(t, r, http.StatusCreated)
	if room := r.object(t); room["post"] != nil || room["name"] != "12345" {
		t.Errorf("room without post: %s", r.Body)
	}
	// Edges: 100 characters (of any width), a post given as a string of digits.
	ts.createRoom(t, u, strings.Repeat("a", 100), 0)
	ts.createRoom(t, u, strings.Repeat("😀", 100), 0)
	r = ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: u.Access, Body: map[string]any{"name": "s", "post": "8"}})
	expectStatus(t, r, http.StatusCreated)
	if r.object(t)["post"] != float64(8) {
		t.Errorf("post \"8\": %s", r.Body)
	}

	// chat_url follows the request's Host.
	r = ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: u.Access, Host: "localhost:8123", Body: map[string]any{"name": "host"}})
	expectStatus(t, r, http.StatusCreated)
	expectRoomObject(t, r.object(t), "localhost:8123", readStateKeys...)
}

func TestCreateRoomValidation(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	ts.createRoom(t, u, "taken", 42)
	create := func(body any) *response {
		return ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: u.Access, Body: body})
	}
	expectBody(t, create(map[string]any{"name": "again", "post": 42}), http.StatusBadRequest, `{"post":["room with this post already exists."]}`)
	expectBody(t, create(map[string]any{"name": "again", "post": "42"}), http.StatusBadRequest, `{"post":["room with this post already exists."]}`)

	for _, post := range []any{0, -1, "abc", 1e30, true, false, 1.5, []int{1}, map[string]int{"a": 1}, "", "1e3x", -9223372036854775808} {
		t.Run(fmt.Sprintf("post=%v", post), func(t *testing.T) {
			expectFieldError(t, create(map[string]any{"name": "p", "post": post}), "post", "")
		})
	}
	for _, name := range []any{"", "   ", strings.Repeat("a", 101), strings.Repeat("가", 101), nil, true, []string{"a"}, map[string]any{}} {
		t.Run(fmt.Sprintf("name=%.10v", name), func(t *testing.T) {
			expectFieldError(t, create(map[string]any{"name": name}), "name", "")
		})
	}
	expectBody(t, create(map[string]any{}), http.StatusBadRequest, `{"name":["This field is required."]}`)
	// Both fields bad: both reported.
	r := create(map[string]any{"name": "", "post": "x"})
	expectFieldError(t, r, "name", "")
	expectFieldError(t, r, "post", "")
	expectBody(t, ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Body: map[string]any{"name": "x"}}), http.StatusUnauthorized,
		`{"detail":"Authentication credentials were not provided."}`)
}

func TestCreateRoomSamePostConcurrently(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	const n = 30
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := ts.send(req{Method: "POST", Path: "/chat/v1/room/", Token: u.Access, Body: map[string]any{"name": "race", "post": 99}})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusBadRequest:
		default:
			t.Errorf("status %d", s)
		}
	}
	if created != 1 {
		t.Fatalf("%d rooms for one post, want 1 (statuses %v)", created, statuses)
	}
}

func TestListRooms(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.RoomPageSize, c.RoomPageMax = 3, 4 })
	u := ts.newUser(t)
	r := ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Token: u.Access})
	expectStatus(t, r, http.StatusOK)
	if string(r.Body) != "[]" {
		t.Fatalf("empty list is %s, want []", r.Body)
	}
	var ids []int64
	for i := range 6 {
		ids = append(ids, ts.createRoom(t, u, fmt.Sprintf("room %d", i), int64(100+i)).ID)
	}
	list := func(query string) []int64 {
		t.Helper()
		r := ts.do(t, req{Method: "GET", Path: "/chat/v1/room/" + query, Token: u.Access})
		expectStatus(t, r, http.StatusOK)
		var rooms []map[string]any
		r.decode(t, &rooms)
		var got []int64
		for _, room := range rooms {
			expectRoomObject(t, room, ts.addr)
			got = append(got, int64(room["id"].(float64)))
		}
		return got
	}
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", ids[:3]}, // default page size
		{"?limit=4", ids[:4]},
		{"?limit=1000", ids[:4]}, // capped at the maximum
		{"?after=" + fmt.Sprint(ids[1]), ids[2:5]},
		{fmt.Sprintf("?after=%d&limit=2", ids[2]), ids[3:5]},
		{fmt.Sprintf("?after=%d", ids[5]), nil},
		{"?after=0&limit=1", ids[:1]},
		{"?limit=0", ids[:1]}, // at least one
	} {
		if got := list(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("GET %q: ids %v, want %v", tc.query, got, tc.want)
		}
	}
	// Paging with after= walks every room once, in id order.
	var walked []int64
	for after := int64(0); ; {
		page := list(fmt.Sprintf("?after=%d&limit=2", after))
		if len(page) == 0 {
			break
		}
		walked = append(walked, page...)
		after = page[len(page)-1]
	}
	if !slices.Equal(walked, ids) {
		t.Errorf("paging walked %v, want %v", walked, ids)
	}
	for _, q := range []string{"?after=abc", "?limit=-1", "?after=-5", "?limit=1e3", "?after=99999999999999999999"} {
		expectStatus(t, ts.do(t, req{Method: "GET", Path: "/chat/v1/room/" + q, Token: u.Access}), http.StatusBadRequest)
	}
	expectStatus(t, ts.do(t, req{Method: "GET", Path: "/chat/v1/room/"}), http.StatusUnauthorized)
}

func TestRoomDetail(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "detail", 0)
	detail := func() (map[string]any, []messageJSON) {
		t.Helper()
		r := ts.do(t, req{Method: "GET", Path: fmt.Sprintf("/chat/v1/room/%d/", room.ID), Token: u.Access})
		expectStatus(t, r, http.StatusOK)
		obj := r.object(t)
		expectRoomObject(t, obj, ts.addr, append(readStateKeys, "chat_messages", "online")...)
		var body struct {
			Messages []messageJSON `json:"chat_messages"`
			Online   []string      `json:"online"`
		}
		r.decode(t, &body)
		if body.Messages == nil || body.Online == nil {
			t.Fatalf("chat_messages and online must be arrays: %s", r.Body)
		}
		return obj, body.Messages
	}
	obj, msgs := detail()
	if len(msgs) != 0 || len(obj["online"].([]any)) != 0 || obj["name"] != "detail" {
		t.Fatalf("new room detail %v", obj)
	}

	ts.postConcurrently(t, u, room.ID, 55, 4, "d")
	obj, msgs = detail()
	for _, m := range obj["chat_messages"].([]any) {
		got := keys(m.(map[string]any))
		slices.Sort(got)
		if want := restMessageKeys; !slices.Equal(got, want) {
			t.Fatalf("chat_messages entry keys %v, want %v", got, want)
		}
	}
	if len(msgs) != 50 {
		t.Fatalf("%d chat_messages, want the last 50", len(msgs))
	}
	for i, m := range msgs {
		if m.Seq != int64(6+i) || m.Room != room.ID || m.Sender != u.Email {
			t.Fatalf("chat_messages[%d] = %+v, want seq %d (oldest first)", i, m, 6+i)
		}
	}

	for _, path := range []string{"/chat/v1/room/99999/", "/chat/v1/room/abc/", "/chat/v1/room/0/", "/chat/v1/room/-1/",
		"/chat/v1/room/+1/", "/chat/v1/room/1.0/", "/chat/v1/room/99999999999999999999/", "/chat/v1/room/99999/messages/"} {
		expectBody(t, ts.do(t, req{Method: "GET", Path: path, Token: u.Access}), http.StatusNotFound, `{"detail":"Not found."}`)
	}
	expectStatus(t, ts.do(t, req{Method: "GET", Path: fmt.Sprintf("/chat/v1/room/%d/", room.ID)}), http.StatusUnauthorized)
}

func TestPostMessage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "messages", 0)
	r := ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access, Body: map[string]any{"room": room.ID, "message": "안녕하세요! 👋"}})
	expectStatus(t, r, http.StatusCreated)
	obj := r.object(t)
	got := keys(obj)
	slices.Sort(got)
	if want := restMessageKeys; !slices.Equal(got, want) {
		t.Errorf("message keys %v, want %v", got, want)
	}
	expectTimestamp(t, obj["created_at"])
	var m messageJSON
	r.decode(t, &m)
	if m.ID < 1 || m.Room != room.ID || m.Seq != 1 || m.Sender != u.Email || m.Nickname != u.Nickname || m.Message != "안녕하세요! 👋" {
		t.Errorf("message %+v", m)
	}
	// Text is kept as sent: whitespace, newlines and all; room may be a string of digits.
	r = ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access, Body: map[string]any{"room": fmt.Sprint(room.ID), "message": "  two\nlines  "}})
	expectStatus(t, r, http.StatusCreated)
	r.decode(t, &m)
	if m.Seq != 2 || m.Message != "  two\nlines  " {
		t.Errorf("second message %+v", m)
	}
	// The maximum length counts characters, not bytes.
	if m := ts.postMessage(t, u, room.ID, strings.Repeat("가", 4096)); m.Seq != 3 {
		t.Errorf("4096-character message got seq %d", m.Seq)
	}
}

func TestPostMessageValidation(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "v", 0)
	post := func(body map[string]any) *response {
		return ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access, Body: body})
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"empty", map[string]any{"room": room.ID, "message": ""}, "message"},
		{"blank", map[string]any{"room": room.ID, "message": " \n\t "}, "message"},
		{"too long", map[string]any{"room": room.ID, "message": strings.Repeat("a", 4097)}, "message"},
		{"too long Korean", map[string]any{"room": room.ID, "message": strings.Repeat("가", 4097)}, "message"},
		{"missing message", map[string]any{"room": room.ID}, "message"},
		{"null message", map[string]any{"room": room.ID, "message": nil}, "message"},
		{"object message", map[string]any{"room": room.ID, "message": map[string]any{"a": 1}}, "message"},
		{"missing room", map[string]any{"message": "hi"}, "room"},
		{"null room", map[string]any{"message": "hi", "room": nil}, "room"},
		{"room abc", map[string]any{"message": "hi", "room": "abc"}, "room"},
		{"unknown room", map[string]any{"message": "hi", "room": 99999}, "room"},
		{"negative room", map[string]any{"message": "hi", "room": -1}, "room"},
		{"zero room", map[string]any{"message": "hi", "room": 0}, "room"},
		{"fractional room", map[string]any{"message": "hi", "room": 1.5}, "room"},
		{"huge room", map[string]any{"message": "hi", "room": 1e30}, "room"},
		{"bool room", map[string]any{"message": "hi", "room": true}, "room"},
		{"list room", map[string]any{"message": "hi", "room": []int64{room.ID}}, "room"},
		{"long client_id", map[string]any{"message": "hi", "room": room.ID, "client_id": strings.Repeat("c", 65)}, "client_id"},
		{"null character", map[string]any{"room": room.ID, "message": "a\x00b"}, "message"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectFieldError(t, post(tc.body), tc.field, "") })
	}
	expectBody(t, post(map[string]any{"message": "hi"}), http.StatusBadRequest, `{"room":["This field is required."]}`)
	expectBody(t, post(map[string]any{"message": "hi", "room": nil}), http.StatusBadRequest, `{"room":["This field may not be null."]}`)
	expectBody(t, post(map[string]any{"message": "a\x00b", "room": room.ID}), http.StatusBadRequest, `{"message":["Null characters are not allowed."]}`)
	// A lone surrogate escape is refused, not stored as U+FFFD; a pair is a
	// character like any other.
	raw := func(body string) *response {
		return ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access, Body: body})
	}
	expectBody(t, raw(`{"room":`+strconv.FormatInt(room.ID, 10)+`,"message":"a\ud800b"}`), http.StatusBadRequest,
		`{"message":["Surrogate characters are not allowed: U+D800."]}`)
	expectStatus(t, raw(`{"room":`+strconv.FormatInt(room.ID, 10)+`,"message":"\\udc00 is text, \ud83d\ude00 a pair"}`), http.StatusCreated)
	expectBody(t, post(map[string]any{"message": "hi", "room": 99999}), http.StatusBadRequest, `{"room":["Invalid pk \"99999\" - object does not exist."]}`)
	// Nothing was stored by the rejected posts.
	if h := ts.history(t, u, room.ID, ""); len(h) != 1 || h[0].Message != `\udc00 is text, 😀 a pair` {
		t.Fatalf("history %+v, want only the accepted post", h)
	}
	expectStatus(t, ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Body: map[string]any{"room": room.ID, "message": "x"}}), http.StatusUnauthorized)
}

// checkGapFree fails unless msgs (oldest first) have seq 1..len, ids
// increasing, all in room.
func checkGapFree(t testing.TB, msgs []messageJSON, room int64) {
	t.Helper()
	for i, m := range msgs {
		if m.Seq != int64(i+1) || m.Room != room {
			t.Fatalf("message %d has seq %d room %d, want seq %d room %d", i, m.Seq, m.Room, i+1, room)
		}
		if i > 0 && m.ID <= msgs[i-1].ID {
			t.Fatalf("ids not increasing with seq: %d then %d", msgs[i-1].ID, m.ID)
		}
	}
}

func TestConcurrentPostsGetGapFreeSeq(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a, b := ts.newUser(t), ts.newUser(t)
	roomA, roomB := ts.createRoom(t, a, "a", 0), ts.createRoom(t, b, "b", 0)
	var wg sync.WaitGroup
	var gotA, gotB []messageJSON
	wg.Go(func() { gotA = ts.postConcurrently(t, a, roomA.ID, 60, 4, "a") })
	wg.Go(func() { gotB = ts.postConcurrently(t, b, roomB.ID, 40, 4, "b") })
	wg.Wait()
	for _, tc := range []struct {
		user  *testUser
		room  int64
		acked []messageJSON
	}{{a, roomA.ID, gotA}, {b, roomB.ID, gotB}} {
		hist := ts.allHistory(t, tc.user, tc.room)
		if len(hist) != len(tc.acked) {
			t.Fatalf("room %d: %d in history, %d acknowledged", tc.room, len(hist), len(tc.acked))
		}
		checkGapFree(t, hist, tc.room)
		for _, m := range tc.acked {
			if h := hist[m.Seq-1]; h != m {
				t.Errorf("acknowledged %+v, history has %+v", m, h)
			}
		}
	}
}

func TestHistoryPaging(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "history", 0)
	ts.postConcurrently(t, u, room.ID, 210, 6, "h")
	seqs := func(msgs []messageJSON) (first, last int64, n int) {
		if len(msgs) == 0 {
			return 0, 0, 0
		}
		for i := 1; i < len(msgs); i++ {
			if msgs[i].Seq != msgs[i-1].Seq+1 {
				t.Fatalf("page not consecutive oldest first: %d then %d", msgs[i-1].Seq, msgs[i].Seq)
			}
		}
		return msgs[0].Seq, msgs[len(msgs)-1].Seq, len(msgs)
	}
	for _, tc := range []struct {
		query       string
		first, last int64
	}{
		{"", 161, 210}, // the newest 50
		{"?before=161", 111, 160},
		{"?before=51", 1, 50},
		{"?before=11", 1, 10},
		{"?before=2", 1, 1},
		{"?before=1", 0, 0},
		{"?before=0", 0, 0},
		{"?before=100000", 161, 210},
		{"?limit=5", 206, 210},
		{"?limit=200", 11, 210},
		{"?limit=1000", 11, 210}, // capped at 200
		{"?before=100&limit=3", 97, 99},
		{"?limit=0", 210, 210}, // at least one
	} {
		first, last, _ := seqs(ts.history(t, u, room.ID, tc.query))
		if first != tc.first || last != tc.last {
			t.Errorf("history %q: seq %d..%d, want %d..%d", tc.query, first, last, tc.first, tc.last)
		}
	}
	all := ts.allHistory(t, u, room.ID)
	if len(all) != 210 {
		t.Fatalf("paging back found %d messages, want 210", len(all))
	}
	checkGapFree(t, all, room.ID)
	for _, q := range []string{"?before=abc", "?before=-1", "?limit=-5", "?limit=x"} {
		expectStatus(t, ts.do(t, req{Method: "GET", Path: fmt.Sprintf("/chat/v1/room/%d/messages/%s", room.ID, q), Token: u.Access}), http.StatusBadRequest)
	}
	empty := ts.createRoom(t, u, "empty", 0)
	if h := ts.history(t, u, empty.ID, ""); len(h) != 0 {
		t.Errorf("empty room history %v", h)
	}
}

func TestPostClientIDIsIdempotent(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a, b := ts.newUser(t), ts.newUser(t)
	room, other := ts.createRoom(t, a, "idem", 0), ts.createRoom(t, a, "other", 0)
	post := func(u *testUser, room int64, text, clientID string) (int, messageJSON) {
		t.Helper()
		r := ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: u.Access, Body: map[string]any{"room": room, "message": text, "client_id": clientID}})
		var m messageJSON
		r.decode(t, &m)
		return r.Status, m
	}
	status, first := post(a, room.ID, "once", "c-1")
	if status != http.StatusCreated {
		t.Fatalf("first post: %d", status)
	}
	for range 3 {
		status, again := post(a, room.ID, "once (resent)", "c-1")
		if status != http.StatusOK || again != first {
			t.Fatalf("resend: %d %+v, want 200 with the original %+v", status, again, first)
		}
	}
	// Another user, another room or another id: a new message.
	for _, tc := range []struct {
		u    *testUser
		room int64
		id   string
	}{{b, room.ID, "c-1"}, {a, other.ID, "c-1"}, {a, room.ID, "c-2"}, {a, room.ID, ""}, {a, room.ID, ""}} {
		if status, _ := post(tc.u, tc.room, "new", tc.id); status != http.StatusCreated {
			t.Errorf("post %+v: %d, want 201", tc, status)
		}
	}
	if h := ts.allHistory(t, a, room.ID); len(h) != 5 || h[0] != first {
		t.Errorf("history %+v: want the original once, then 4 more", h)
	}

	// Concurrent resends of one client_id store one message.
	var wg sync.WaitGroup
	ids := make([]int64, 20)
	for i := range ids {
		wg.Go(func() {
			r, err := ts.send(req{Method: "POST", Path: "/chat/v1/message/", Token: b.Access, Body: map[string]any{"room": other.ID, "message": "race", "client_id": "same"}})
			if err != nil || (r.Status != http.StatusCreated && r.Status != http.StatusOK) {
				t.Errorf("concurrent resend: %v %v", err, r)
				return
			}
			var m messageJSON
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Error(err)
			}
			ids[i] = m.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent resends got ids %v, want one id", ids)
		}
	}
	if h := ts.allHistory(t, b, other.ID); len(h) != 2 {
		t.Errorf("other room has %d messages, want 2", len(h))
	}
}

// TestRestartKeepsEverything closes the server and its Badger directory
// and opens them again: every account, room and message is still there.
func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ts := startTestServerOn(t, persistence.Config{Dir: dir})
	a, b := ts.newUser(t), ts.newUser(t)
	r1, r2 := ts.createRoom(t, a, "first", 11), ts.createRoom(t, b, "두 번째", 0)
	ts.postConcurrently(t, a, r1.ID, 30, 3, "r1")
	ts.postConcurrently(t, b, r2.ID, 10, 2, "r2")
	before1, before2 := ts.allHistory(t, a, r1.ID), ts.allHistory(t, a, r2.ID)
	// A fixed Host keeps chat_url comparable across the port change.
	rooms := ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Token: a.Access, Host: "localhost"}).Body
	ts.close(t)

	ts = startTestServerOn(t, persistence.Config{Dir: dir})
	// Old tokens still verify (same secret), and passwords still log in.
	expectStatus(t, ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: a.Access}), http.StatusOK)
	for _, u := range []*testUser{a, b} {
		ts.login(t, u.Email, testPassword)
	}
	expectFieldError(t, ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: registerBody(a.Email, "dup")}), "email", "")
	if got := ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Token: a.Access, Host: "localhost"}).Body; string(got) != string(rooms) {
		t.Errorf("rooms after restart %s, before %s", got, rooms)
	}
	expectBody(t, ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: a.Access, Body: map[string]any{"name": "x", "post": 11}}),
		http.StatusBadRequest, `{"post":["room with this post already exists."]}`)
	if after := ts.allHistory(t, a, r1.ID); !slices.Equal(after, before1) {
		t.Errorf("room 1 history changed across restart:\n%+v\n%+v", before1, after)
	}
	if after := ts.allHistory(t, a, r2.ID); !slices.Equal(after, before2) {
		t.Errorf("room 2 history changed across restart")
	}
	// The room detail's recent messages are reloaded from disk.
	r := ts.do(t, req{Method: "GET", Path: fmt.Sprintf("/chat/v1/room/%d/", r1.ID), Token: a.Access})
	expectStatus(t, r, http.StatusOK)
	var detail struct {
		Messages []messageJSON `json:"chat_messages"`
	}
	r.decode(t, &detail)
	if !slices.Equal(detail.Messages, before1) {
		t.Errorf("chat_messages after restart %+v, want %+v", detail.Messages, before1)
	}
	// Counting goes on where it stopped: next seq, larger ids.
	m := ts.postMessage(t, a, r1.ID, "after restart")
	if m.Seq != 31 || m.ID <= max(before1[len(before1)-1].ID, before2[len(before2)-1].ID) {
		t.Errorf("message after restart %+v: want seq 31 and a fresh id", m)
	}
	if room := ts.createRoom(t, a, "third", 0); room.ID <= r2.ID {
		t.Errorf("room id %d reused after restart (had %d)", room.ID, r2.ID)
	}
	if u := ts.newUser(t); u.ID <= b.ID {
		t.Errorf("user id %d reused after restart (had %d)", u.ID, b.ID)
	}
}

// restMessageKeys are the keys of the REST message object.
var restMessageKeys = []string{"created_at", "deleted_at", "deleted_by", "edited_at", "id", "message", "nickname", "rev", "room", "sender", "sender_id", "seq"}

package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"livechat/actors"
)

// roomView is the part of a room object the membership tests read.
type roomView struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Post        *int64  `json:"post"`
	Owner       int64   `json:"owner"`
	Kind        string  `json:"kind"`
	MemberCount int64   `json:"member_count"`
	Role        *string `json:"role"`
	Peer        *struct {
		ID       int64  `json:"id"`
		Nickname string `json:"nickname"`
	} `json:"peer"`
}

// memberView is a member object.
type memberView struct {
	User struct {
		ID       int64  `json:"id"`
		Nickname string `json:"nickname"`
	} `json:"user"`
	Role        string `json:"role"`
	JoinedAt    string `json:"joined_at"`
	LastReadSeq int64  `json:"last_read_seq"`
}

// memberFrame is a chat.member.add or chat.member.remove frame.
type memberFrame struct {
	Type string `json:"type"`
	Room int64  `json:"room"`
	User struct {
		ID       int64  `json:"id"`
		Nickname string `json:"nickname"`
	} `json:"user"`
	Role string `json:"role"`
	By   int64  `json:"by"`
}

func decodeJSON[T any](t testing.TB, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// expectREST makes a REST call and checks its status.
func (ts *wsTestServer) expectREST(t testing.TB, method, path string, u *wsUser, body any, status int) []byte {
	t.Helper()
	got, b := ts.rest(t, method, path, u, body)
	if got != status {
		t.Fatalf("%s %s as %s: %d %s, want %d", method, path, u.nickname, got, b, status)
	}
	return b
}

// createRoomAs creates a room over REST with body and returns it.
func (ts *wsTestServer) createRoomAs(t testing.TB, u *wsUser, body map[string]any) roomView {
	t.Helper()
	return decodeJSON[roomView](t, ts.expectREST(t, "POST", "/chat/v1/room/", u, body, http.StatusCreated))
}

func roomPath(id int64, tail string) string {
	return "/chat/v1/room/" + strconv.FormatInt(id, 10) + "/" + tail
}

// memberFrameOf reads the next frame of c that is not presence and
// decodes it as a membership frame of type typ.
func memberFrameOf(t testing.TB, c *wsClient, typ string) memberFrame {
	t.Helper()
	for {
		f := c.next(t)
		if f.Type == "chat.user.join" || f.Type == "chat.user.leave" {
			continue
		}
		if f.Type != typ {
			t.Fatalf("%s: frame %s, want %s", c.user.nickname, f, typ)
		}
		return decodeJSON[memberFrame](t, f.raw)
	}
}

// A user who is not a member gets byte-identical answers for a private
// room and a room that does not exist, at every entry point.
func TestPrivateRoomAnswersLikeMissingRoom(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b, c := ts.newUser(t, "a"), ts.newUser(t, "b"), ts.newUser(t, "c")
	priv := ts.createRoomAs(t, a, map[string]any{"name": "private", "kind": "private", "members": []int64{b.id}})
	msg := decodeJSON[struct {
		ID int64 `json:"id"`
	}](t, ts.expectREST(t, "POST", "/chat/v1/message/", a, map[string]any{"room": priv.ID, "message": "secret", "client_id": "c-1"}, http.StatusCreated))
	const missingRoom, missingMessage = 999_999, 999_999

	type call struct {
		name, method, path string
		body               any
	}
	calls := func(room, message int64) []call {
		id := strconv.FormatInt(room, 10)
		mid := strconv.FormatInt(message, 10)
		return []call{
			{"detail", "GET", roomPath(room, ""), nil},
			{"history", "GET", roomPath(room, "messages/"), nil},
			{"history with a bad before", "GET", roomPath(room, "messages/?before=x"), nil},
			{"members", "GET", roomPath(room, "members/"), nil},
			{"join", "POST", roomPath(room, "members/"), map[string]any{"user": c.id}},
			{"join with a bad body", "POST", roomPath(room, "members/"), map[string]any{"user": "x"}},
			{"remove", "DELETE", roomPath(room, "members/"+strconv.FormatInt(b.id, 10)+"/"), nil},
			{"leave", "DELETE", roomPath(room, "members/"+strconv.FormatInt(c.id, 10)+"/"), nil},
			{"post", "POST", "/chat/v1/message/", map[string]any{"room": room, "message": "hi"}},
			{"post as a string id", "POST", "/chat/v1/message/", map[string]any{"room": id, "message": "hi"}},
			{"resend", "POST", "/chat/v1/message/", map[string]any{"room": room, "message": "secret", "client_id": "c-1"}},
			{"message detail", "GET", "/chat/v1/message/" + mid + "/", nil},
			{"message edit", "PATCH", "/chat/v1/message/" + mid + "/", map[string]any{"message": "x"}},
			{"message delete", "DELETE", "/chat/v1/message/" + mid + "/", nil},
		}
	}
	hidden, missing := calls(priv.ID, msg.ID), calls(missingRoom, missingMessage)
	for i := range hidden {
		hs, hb := ts.rest(t, hidden[i].method, hidden[i].path, c, hidden[i].body)
		ms, mb := ts.rest(t, missing[i].method, missing[i].path, c, missing[i].body)
		// A 400 names the id it was given: the same words for either.
		hb = []byte(strings.ReplaceAll(string(hb), fmt.Sprintf(`Invalid pk \"%d\"`, priv.ID), fmt.Sprintf(`Invalid pk \"%d\"`, missingRoom)))
		if hs != ms || string(hb) != string(mb) {
			t.Errorf("%s: private room %d %s, missing room %d %s", hidden[i].name, hs, hb, ms, mb)
		}
		if hs/100 == 2 {
			t.Errorf("%s: a non-member got %d %s", hidden[i].name, hs, hb)
		}
	}
	// The socket handshake: refused before the upgrade, the same way.
	for _, query := range []string{"", "events=member", "since=0"} {
		var statuses [2]int
		var bodies [2]string
		for i, room := range []int64{priv.ID, missingRoom} {
			q := "token=" + c.token
			if query != "" {
				q += "&" + query
			}
			conn, resp, err := ts.dialWS(ts.wsURL(room, q), nil)
			if err == nil {
				_ = conn.Close()
				t.Fatalf("socket on room %d opened for a non-member", room)
			}
			statuses[i], bodies[i] = resp.StatusCode, wsResponseBody(resp)
		}
		if statuses[0] != http.StatusNotFound || statuses != [2]int{statuses[1], statuses[0]} || bodies[0] != bodies[1] {
			t.Errorf("handshake %q: private %d %s, missing %d %s", query, statuses[0], bodies[0], statuses[1], bodies[1])
		}
	}
	// The room list leaves it out for c, not for its members.
	for _, u := range []*wsUser{a, b, c} {
		rooms := decodeJSON[[]roomView](t, ts.expectREST(t, "GET", "/chat/v1/room/", u, nil, http.StatusOK))
		listed := false
		for _, r := range rooms {
			listed = listed || r.ID == priv.ID
		}
		if listed != (u != c) {
			t.Errorf("%s lists the private room: %v", u.nickname, listed)
		}
	}
	// Members see it.
	ts.expectREST(t, "GET", roomPath(priv.ID, ""), b, nil, http.StatusOK)
	ts.expectREST(t, "GET", roomPath(priv.ID, "messages/"), b, nil, http.StatusOK)
	ts.dial(t, b, priv.ID, "").closeNormally(t)
}

// The membership walk of the contract: adds and their rights, removal
// with its frame and 4004, leaving, and what a removed user sees after.
func TestPrivateRoomMembership(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b, c := ts.newUser(t, "a"), ts.newUser(t, "b"), ts.newUser(t, "c")
	priv := ts.createRoomAs(t, a, map[string]any{"name": "private", "kind": "private", "members": []int64{b.id}})
	if priv.Kind != "private" || priv.MemberCount != 2 || priv.Role == nil || *priv.Role != "owner" || priv.Peer != nil {
		t.Fatalf("created room %+v", priv)
	}
	watcher := ts.dial(t, b, priv.ID, "events=member")
	ts.waitOnline(t, a, priv.ID, "b") // the socket has joined its room
	plain := ts.dial(t, b, priv.ID, "")
	members := roomPath(priv.ID, "members/")

	body := ts.expectREST(t, "POST", members, b, map[string]any{"user": c.id}, http.StatusForbidden)
	if string(body) != `{"detail":"Only the room owner can add other members."}` {
		t.Errorf("b adds c: %s", body)
	}
	body = ts.expectREST(t, "POST", members, c, map[string]any{"user": c.id}, http.StatusNotFound)
	if string(body) != `{"detail":"Not found."}` {
		t.Errorf("c joins: %s", body)
	}
	added := decodeJSON[memberView](t, ts.expectREST(t, "POST", members, a, map[string]any{"user": c.id}, http.StatusCreated))
	if added.User.ID != c.id || added.Role != "member" || added.User.Nickname != "c" {
		t.Errorf("added %+v", added)
	}
	if again := decodeJSON[memberView](t, ts.expectREST(t, "POST", members, a, map[string]any{"user": c.id}, http.StatusOK)); again.JoinedAt != added.JoinedAt {
		t.Errorf("adding again changed the member: %+v, was %+v", again, added)
	}
	if f := memberFrameOf(t, watcher, "chat.member.add"); f.User.ID != c.id || f.By != a.id || f.Role != "member" || f.Room != priv.ID {
		t.Errorf("member.add frame %+v", f)
	}
	detail := decodeJSON[roomView](t, ts.expectREST(t, "GET", roomPath(priv.ID, ""), c, nil, http.StatusOK))
	if detail.Role == nil || *detail.Role != "member" || detail.MemberCount != 3 {
		t.Errorf("c's detail %+v", detail)
	}

	cSock := ts.dial(t, c, priv.ID, "events=member")
	ts.waitOnline(t, a, priv.ID, "b", "c") // c's socket has joined the room
	ts.expectREST(t, "DELETE", members+strconv.FormatInt(c.id, 10)+"/", a, nil, http.StatusNoContent)
	if f := memberFrameOf(t, cSock, "chat.member.remove"); f.User.ID != c.id || f.By != a.id {
		t.Errorf("c's member.remove frame %+v", f)
	}
	cSock.expectClose(t, actors.CloseRemoved)
	if f := memberFrameOf(t, watcher, "chat.member.remove"); f.User.ID != c.id || f.By != a.id {
		t.Errorf("b's member.remove frame %+v", f)
	}
	ts.expectREST(t, "POST", "/chat/v1/message/", a, map[string]any{"room": priv.ID, "message": "after"}, http.StatusCreated)
	ts.expectREST(t, "GET", roomPath(priv.ID, ""), c, nil, http.StatusNotFound)
	ts.expectREST(t, "DELETE", members+strconv.FormatInt(c.id, 10)+"/", a, nil, http.StatusNotFound)
	// A socket without events= saw only the original frames.
	for _, f := range plain.until(t, "after") {
		if f.Type != "chat.message" && f.Type != "chat.user.join" && f.Type != "chat.user.leave" {
			t.Errorf("a socket without events= got %s", f)
		}
	}

	body = ts.expectREST(t, "DELETE", members+strconv.FormatInt(a.id, 10)+"/", a, nil, http.StatusForbidden)
	if string(body) != `{"detail":"The owner cannot leave the room."}` {
		t.Errorf("owner leaves: %s", body)
	}
	body = ts.expectREST(t, "DELETE", members+strconv.FormatInt(a.id, 10)+"/", b, nil, http.StatusForbidden)
	if string(body) != `{"detail":"Only the room owner can remove other members."}` {
		t.Errorf("b removes a: %s", body)
	}
	ts.expectREST(t, "DELETE", members+strconv.FormatInt(b.id, 10)+"/", b, nil, http.StatusNoContent)
	watcher.expectClose(t, actors.CloseRemoved)
	if d := decodeJSON[roomView](t, ts.expectREST(t, "GET", roomPath(priv.ID, ""), a, nil, http.StatusOK)); d.MemberCount != 1 {
		t.Errorf("member_count after b left: %d", d.MemberCount)
	}
	body = ts.expectREST(t, "POST", members, b, map[string]any{"user": b.id}, http.StatusNotFound)
	if string(body) != `{"detail":"Not found."}` {
		t.Errorf("b rejoins: %s", body)
	}
}

// In a public room anyone joins, and posting makes the poster a member,
// announced before the poster's message.
func TestPublicRoomJoinAndJoinByPosting(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b, d := ts.newUser(t, "a"), ts.newUser(t, "b"), ts.newUser(t, "d")
	pub := ts.createRoomAs(t, a, map[string]any{"name": "public"})
	if pub.Kind != "public" || pub.Role == nil || *pub.Role != "owner" || pub.MemberCount != 1 {
		t.Fatalf("created %+v", pub)
	}
	members := roomPath(pub.ID, "members/")
	watcher := ts.dial(t, a, pub.ID, "events=member")
	ts.waitOnline(t, a, pub.ID, "a") // the socket has joined its room
	joined := decodeJSON[memberView](t, ts.expectREST(t, "POST", members, b, map[string]any{"user": b.id}, http.StatusCreated))
	if joined.User.ID != b.id || joined.Role != "member" {
		t.Errorf("joined %+v", joined)
	}
	if f := memberFrameOf(t, watcher, "chat.member.add"); f.User.ID != b.id || f.By != b.id {
		t.Errorf("join frame %+v", f)
	}
	body := ts.expectREST(t, "POST", members, b, map[string]any{"user": d.id}, http.StatusForbidden)
	if string(body) != `{"detail":"Only the room owner can add other members."}` {
		t.Errorf("b adds d: %s", body)
	}
	// d is not a member: its detail says so, and it may open a socket.
	if v := decodeJSON[roomView](t, ts.expectREST(t, "GET", roomPath(pub.ID, ""), d, nil, http.StatusOK)); v.Role != nil {
		t.Errorf("d's role before posting: %v", *v.Role)
	}
	dSock := ts.dial(t, d, pub.ID, "")
	dSock.send(t, "hello from d")
	if f := memberFrameOf(t, watcher, "chat.member.add"); f.User.ID != d.id || f.By != d.id || f.Role != "member" {
		t.Errorf("join-by-posting frame %+v", f)
	}
	if msgs := watcher.messages(t, 1); msgs[0].Message != "hello from d" {
		t.Errorf("after the join: %s", msgs[0])
	}
	// Over REST too, once: e is added before its first message only.
	e := ts.newUser(t, "e")
	ts.expectREST(t, "POST", "/chat/v1/message/", e, map[string]any{"room": pub.ID, "message": "one"}, http.StatusCreated)
	ts.expectREST(t, "POST", "/chat/v1/message/", e, map[string]any{"room": pub.ID, "message": "two"}, http.StatusCreated)
	if f := memberFrameOf(t, watcher, "chat.member.add"); f.User.ID != e.id {
		t.Errorf("e's join frame %+v", f)
	}
	if msgs := watcher.messages(t, 2); msgs[0].Message != "one" || msgs[1].Message != "two" {
		t.Errorf("e's messages %s %s", msgs[0], msgs[1])
	}
	list := decodeJSON[[]memberView](t, ts.expectREST(t, "GET", members, a, nil, http.StatusOK))
	var ids []int64
	for _, m := range list {
		ids = append(ids, m.User.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint([]int64{a.id, b.id, d.id, e.id}) {
		t.Errorf("members %v, want a b d e", ids)
	}
	if list[0].Role != "owner" || list[1].Role != "member" {
		t.Errorf("roles %+v", list)
	}
	// Leaving a public room keeps the socket open: the room is still visible.
	bSock := ts.dial(t, b, pub.ID, "events=member")
	ts.waitOnline(t, a, pub.ID, "a", "b", "d")
	ts.expectREST(t, "DELETE", members+strconv.FormatInt(b.id, 10)+"/", b, nil, http.StatusNoContent)
	if f := memberFrameOf(t, bSock, "chat.member.remove"); f.User.ID != b.id || f.By != b.id {
		t.Errorf("leave frame %+v", f)
	}
	ts.expectREST(t, "POST", "/chat/v1/message/", a, map[string]any{"room": pub.ID, "message": "still here"}, http.StatusCreated)
	bSock.until(t, "still here")
}

func TestMembersPaging(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "a")
	var others []int64
	for i := range 5 {
		others = append(others, ts.newUser(t, fmt.Sprint("u", i)).id)
	}
	r := ts.createRoomAs(t, a, map[string]any{"name": "paged", "kind": "private", "members": others})
	all := append([]int64{a.id}, others...)
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", all}, {"?limit=2", all[:2]}, {"?after=" + fmt.Sprint(all[1]) + "&limit=2", all[2:4]},
		{"?limit=0", all[:1]}, {"?after=" + fmt.Sprint(all[5]), nil},
	} {
		list := decodeJSON[[]memberView](t, ts.expectREST(t, "GET", roomPath(r.ID, "members/"+tc.query), a, nil, http.StatusOK))
		var got []int64
		for _, m := range list {
			got = append(got, m.User.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("members/%s = %v, want %v", tc.query, got, tc.want)
		}
	}
	ts.expectREST(t, "GET", roomPath(r.ID, "members/?limit=x"), a, nil, http.StatusBadRequest)
}

func TestDirectRooms(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b, c := ts.newUser(t, "에이"), ts.newUser(t, "비"), ts.newUser(t, "c")
	first := decodeJSON[roomView](t, ts.expectREST(t, "POST", "/chat/v1/room/direct/", a, map[string]any{"user": b.id}, http.StatusCreated))
	if first.Kind != "direct" || first.Post != nil || first.MemberCount != 2 || first.Role == nil || *first.Role != "member" ||
		first.Peer == nil || first.Peer.ID != b.id || first.Name != "비" {
		t.Fatalf("a opens with b: %+v", first)
	}
	again := decodeJSON[roomView](t, ts.expectREST(t, "POST", "/chat/v1/room/direct/", a, map[string]any{"user": b.id}, http.StatusOK))
	back := decodeJSON[roomView](t, ts.expectREST(t, "POST", "/chat/v1/room/direct/", b, map[string]any{"user": a.id}, http.StatusOK))
	if again.ID != first.ID || back.ID != first.ID || back.Name != "에이" || back.Peer.ID != a.id {
		t.Fatalf("again %+v, from b %+v", again, back)
	}
	detail := decodeJSON[roomView](t, ts.expectREST(t, "GET", roomPath(first.ID, ""), b, nil, http.StatusOK))
	if detail.Name != "에이" || detail.Peer == nil || detail.Peer.ID != a.id {
		t.Errorf("b's detail %+v", detail)
	}
	ts.expectREST(t, "GET", roomPath(first.ID, ""), c, nil, http.StatusNotFound)

	// Ten concurrent opens from both sides make one room.
	d := ts.newUser(t, "d")
	var wg sync.WaitGroup
	ids := make([]int64, 10)
	statuses := make([]int, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := c, d
			if i%2 == 1 {
				from, to = d, c
			}
			status, body := ts.rest(t, "POST", "/chat/v1/room/direct/", from, map[string]any{"user": to.id})
			statuses[i] = status
			var r roomView
			_ = json.Unmarshal(body, &r)
			ids[i] = r.ID
		}()
	}
	wg.Wait()
	created := 0
	for i := range ids {
		if ids[i] != ids[0] || ids[i] == 0 {
			t.Fatalf("concurrent opens gave ids %v (statuses %v)", ids, statuses)
		}
		if statuses[i] == http.StatusCreated {
			created++
		}
	}
	if created != 1 {
		t.Errorf("statuses %v: want exactly one 201", statuses)
	}

	for _, tc := range []struct {
		body any
		want string
	}{
		{map[string]any{"user": a.id}, `{"user":["You cannot open a direct room with yourself."]}`},
		{map[string]any{"user": 99}, `{"user":["Invalid pk \"99\" - object does not exist."]}`},
		{map[string]any{"user": "x"}, `{"user":["Incorrect type. Expected pk value, received str."]}`},
		{map[string]any{}, `{"user":["This field is required."]}`},
	} {
		if body := ts.expectREST(t, "POST", "/chat/v1/room/direct/", a, tc.body, http.StatusBadRequest); string(body) != tc.want {
			t.Errorf("direct with %v: %s, want %s", tc.body, body, tc.want)
		}
	}
	members := roomPath(first.ID, "members/")
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"POST", members, map[string]any{"user": c.id}},
		{"POST", members, map[string]any{"user": a.id}},
		{"POST", members, map[string]any{"user": "x"}},
		{"DELETE", members + strconv.FormatInt(b.id, 10) + "/", nil},
		{"DELETE", members + strconv.FormatInt(a.id, 10) + "/", nil},
	} {
		if body := ts.expectREST(t, call.method, call.path, a, call.body, http.StatusForbidden); string(body) != `{"detail":"Direct rooms have fixed members."}` {
			t.Errorf("%s %s: %s", call.method, call.path, body)
		}
	}
	// The list shows the direct room to its members with their peer.
	for _, u := range []*wsUser{a, b} {
		found := false
		for _, r := range decodeJSON[[]roomView](t, ts.expectREST(t, "GET", "/chat/v1/room/", u, nil, http.StatusOK)) {
			if r.ID == first.ID {
				found = true
				if r.Peer == nil || r.Peer.ID == u.id || r.Kind != "direct" {
					t.Errorf("%s's list row %+v", u.nickname, r)
				}
			}
		}
		if !found {
			t.Errorf("%s does not list its direct room", u.nickname)
		}
	}
}

func TestCreateRoomKindAndMembers(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "a"), ts.newUser(t, "b")
	many := make([]int64, 101)
	for i := range many {
		many[i] = b.id
	}
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"name": "r", "kind": "direct"}, `{"kind":["Open direct rooms with POST /chat/v1/room/direct/."]}`},
		{map[string]any{"name": "r", "kind": "group"}, `{"kind":["\"group\" is not a valid choice."]}`},
		{map[string]any{"name": "r", "kind": ""}, `{"kind":["\"\" is not a valid choice."]}`},
		{map[string]any{"name": "r", "kind": nil}, `{"kind":["This field may not be null."]}`},
		{map[string]any{"name": "r", "members": 5}, `{"members":["Expected a list of items but got type \"int\"."]}`},
		{map[string]any{"name": "r", "members": "5"}, `{"members":["Expected a list of items but got type \"str\"."]}`},
		{map[string]any{"name": "r", "members": []int64{99}}, `{"members":["Invalid pk \"99\" - object does not exist."]}`},
		{map[string]any{"name": "r", "members": []any{"x"}}, `{"members":["Incorrect type. Expected pk value, received str."]}`},
		{map[string]any{"name": "r", "members": many}, `{"members":["Ensure this field has no more than 100 elements."]}`},
	} {
		if body := ts.expectREST(t, "POST", "/chat/v1/room/", a, tc.body, http.StatusBadRequest); string(body) != tc.want {
			t.Errorf("create %v: %s, want %s", tc.body, body, tc.want)
		}
	}
	r := ts.createRoomAs(t, a, map[string]any{"name": "r", "kind": "private", "members": []int64{b.id, b.id, a.id}})
	if r.MemberCount != 2 || r.Kind != "private" {
		t.Errorf("duplicates and the caller are ignored: %+v", r)
	}
	list := decodeJSON[[]memberView](t, ts.expectREST(t, "GET", roomPath(r.ID, "members/"), b, nil, http.StatusOK))
	if len(list) != 2 || list[1].LastReadSeq != 0 {
		t.Errorf("members %+v", list)
	}
	// post stays unique across kinds.
	ts.createRoomAs(t, a, map[string]any{"name": "p", "post": 77, "kind": "private"})
	if body := ts.expectREST(t, "POST", "/chat/v1/room/", b, map[string]any{"name": "q", "post": 77}, http.StatusBadRequest); !strings.Contains(string(body), "room with this post already exists.") {
		t.Errorf("post taken by a private room: %s", body)
	}
}

// The room list is per user, keeps id order, and pages over what the
// caller may see.
func TestRoomListPerUser(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "a"), ts.newUser(t, "b")
	var visibleToB []int64
	for i := range 6 {
		body := map[string]any{"name": fmt.Sprint("r", i)}
		if i%2 == 1 {
			body["kind"] = "private"
		}
		r := ts.createRoomAs(t, a, body)
		if i%2 == 0 {
			visibleToB = append(visibleToB, r.ID)
		}
	}
	var got []int64
	for after := int64(0); ; {
		page := decodeJSON[[]roomView](t, ts.expectREST(t, "GET", fmt.Sprintf("/chat/v1/room/?after=%d&limit=2", after), b, nil, http.StatusOK))
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			got = append(got, r.ID)
			if r.Role != nil {
				t.Errorf("b's role in %d: %s", r.ID, *r.Role)
			}
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(visibleToB) {
		t.Errorf("b pages through %v, want %v", got, visibleToB)
	}
	all := decodeJSON[[]roomView](t, ts.expectREST(t, "GET", "/chat/v1/room/", a, nil, http.StatusOK))
	if len(all) != 6 {
		t.Fatalf("a lists %d rooms, want 6", len(all))
	}
	for _, r := range all {
		if r.Role == nil || *r.Role != "owner" || r.MemberCount != 1 {
			t.Errorf("a's row %+v", r)
		}
	}
}

func TestMemberLimits(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, ac *actors.Config) {
		c.MemberAddRate = 3
		ac.MaxRoomMembers = 2
	})
	a, b, c := ts.newUser(t, "a"), ts.newUser(t, "b"), ts.newUser(t, "c")
	r := ts.createRoomAs(t, a, map[string]any{"name": "small"})
	members := roomPath(r.ID, "members/")
	ts.expectREST(t, "POST", members, a, map[string]any{"user": b.id}, http.StatusCreated)
	body := ts.expectREST(t, "POST", members, a, map[string]any{"user": c.id}, http.StatusBadRequest)
	if string(body) != `{"non_field_errors":["This room has reached its limit of 2 members."]}` {
		t.Errorf("past the member limit: %s", body)
	}
	// A new room counts its owner and each named user once against the limit.
	body = ts.expectREST(t, "POST", "/chat/v1/room/", a, map[string]any{"name": "too big", "members": []int64{b.id, c.id}}, http.StatusBadRequest)
	if string(body) != `{"non_field_errors":["This room has reached its limit of 2 members."]}` {
		t.Errorf("created past the member limit: %s", body)
	}
	if n := ts.createRoomAs(t, a, map[string]any{"name": "just fits", "members": []int64{b.id, b.id, a.id}}).MemberCount; n != 2 {
		t.Errorf("created with b twice and its owner: %d members, want 2", n)
	}
	// c may still post in the full public room, without becoming a member.
	ts.expectREST(t, "POST", "/chat/v1/message/", c, map[string]any{"room": r.ID, "message": "hi"}, http.StatusCreated)
	ts.expectREST(t, "POST", members, a, map[string]any{"user": b.id}, http.StatusOK)
	status, body := ts.rest(t, "POST", members, a, map[string]any{"user": b.id})
	if status != http.StatusTooManyRequests || !strings.Contains(string(body), "Request was throttled.") {
		t.Errorf("fourth addition in a minute: %d %s", status, body)
	}
}

// Opening a direct room counts against the room-creation rate.
func TestDirectRoomSharesRoomRate(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.RoomRate = 1 })
	a, b := ts.newUser(t, "a"), ts.newUser(t, "b")
	ts.expectREST(t, "POST", "/chat/v1/room/direct/", a, map[string]any{"user": b.id}, http.StatusCreated)
	ts.expectREST(t, "POST", "/chat/v1/room/", a, map[string]any{"name": "r"}, http.StatusTooManyRequests)
	ts.expectREST(t, "POST", "/chat/v1/room/direct/", a, map[string]any{"user": b.id}, http.StatusTooManyRequests)
}

// A socket whose handshake passed just before its user was removed is
// closed when it joins, so nothing of the room reaches it.
func TestRemovedUserSocketsStayClosed(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "a"), ts.newUser(t, "b")
	r := ts.createRoomAs(t, a, map[string]any{"name": "p", "kind": "private", "members": []int64{b.id}})
	socks := []*wsClient{ts.dial(t, b, r.ID, ""), ts.dial(t, b, r.ID, "events=member")}
	ts.waitOnline(t, a, r.ID, "b")
	ts.expectREST(t, "DELETE", roomPath(r.ID, "members/"+strconv.FormatInt(b.id, 10)+"/"), a, nil, http.StatusNoContent)
	for _, s := range socks {
		s.expectClose(t, actors.CloseRemoved)
	}
	ts.waitOnline(t, a, r.ID)
	conn, resp, err := ts.dialWS(ts.wsURL(r.ID, "token="+b.token), nil)
	if err == nil {
		_ = conn.Close()
		t.Fatal("a removed user opened a socket")
	}
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("handshake after removal: %s", wsResponseBody(resp))
	}
}

// Users posting in a public room for the first time at once all become
// members, each announced before their own message.
func TestConcurrentJoinsByPosting(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "a")
	pub := ts.createRoomAs(t, a, map[string]any{"name": "busy"})
	watcher := ts.dial(t, a, pub.ID, "events=member")
	ts.waitOnline(t, a, pub.ID, "a")
	const n = 20
	users := make([]*wsUser, n)
	for i := range users {
		users[i] = ts.newUser(t, fmt.Sprint("p", i))
	}
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := ts.rest(t, "POST", "/chat/v1/message/", u, map[string]any{"room": pub.ID, "message": fmt.Sprint("m", i)}); status != http.StatusCreated {
				t.Errorf("%s posts: %d %s", u.nickname, status, body)
			}
		}()
	}
	wg.Wait()
	joined := map[int64]bool{}
	for seen := 0; seen < n; {
		f := watcher.next(t)
		switch f.Type {
		case "chat.member.add":
			joined[decodeJSON[memberFrame](t, f.raw).User.ID] = true
		case "chat.message":
			var sender int64
			for _, u := range users {
				if u.email == f.Sender {
					sender = u.id
				}
			}
			if !joined[sender] {
				t.Fatalf("%s arrived before its sender's chat.member.add", f)
			}
			seen++
		}
	}
	list := decodeJSON[[]memberView](t, ts.expectREST(t, "GET", roomPath(pub.ID, "members/?limit=1000"), a, nil, http.StatusOK))
	if len(list) != n+1 {
		t.Errorf("%d members, want %d", len(list), n+1)
	}
	if d := decodeJSON[roomView](t, ts.expectREST(t, "GET", roomPath(pub.ID, ""), a, nil, http.StatusOK)); d.MemberCount != n+1 {
		t.Errorf("member_count %d, want %d", d.MemberCount, n+1)
	}
}

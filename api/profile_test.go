package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"livechat/actors"
)

// patchProfile sends a JSON PATCH of u's profile.
func (ts *wsTestServer) patchProfile(t testing.TB, u *wsUser, body any) (int, map[string]any) {
	t.Helper()
	status, b := ts.rest(t, "PATCH", "/user/v1/profile/", u, body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("PATCH profile: %d %q", status, b)
	}
	return status, out
}

// profileOf is u's own user object.
func (ts *wsTestServer) profileOf(t testing.TB, u *wsUser) map[string]any {
	t.Helper()
	status, b := ts.rest(t, "GET", "/user/v1/profile/", u, nil)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil || status != http.StatusOK {
		t.Fatalf("GET profile: %d %q", status, b)
	}
	return out
}

// expectFields fails unless a 400 body names exactly field with msg.
func expectFields(t testing.TB, status int, body map[string]any, field, msg string) {
	t.Helper()
	if status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %v", status, body)
	}
	msgs, _ := body[field].([]any)
	if !slices.Contains(msgs, any(msg)) {
		t.Fatalf("errors %v, want %q on %q", body, msg, field)
	}
}

// A new nickname shows on messages sent afterwards, and the ones before
// keep theirs; a PATCH with any invalid field changes nothing.
func TestProfilePatchNicknameAllOrNothing(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "처음")
	room := ts.newRoom(t, a)
	postREST(t, ts, a, room, "before")
	if status, body := ts.patchProfile(t, a, map[string]any{"nickname": "민수"}); status != http.StatusOK || body["nickname"] != "민수" {
		t.Fatalf("PATCH nickname: %d %v", status, body)
	}
	postREST(t, ts, a, room, "after")
	msgs := historyOf(t, ts, a, room)
	if msgs[0].Nickname != "처음" || msgs[1].Nickname != "민수" {
		t.Fatalf("nicknames %q, %q; want the old one before the change, the new one after", msgs[0].Nickname, msgs[1].Nickname)
	}

	status, body := ts.patchProfile(t, a, map[string]any{"nickname": "새이름", "hide_email": "maybe"})
	expectFields(t, status, body, "hide_email", "Must be a valid boolean.")
	if _, ok := body["nickname"]; ok {
		t.Errorf("a valid nickname was reported: %v", body)
	}
	// A valid nickname with a bad picture: nothing changes either.
	mp, ct := multipartBody(t, []string{"nickname", "또다른", "hide_email", "true"},
		filePart{field: "profile_picture", filename: "a.jpg", contentType: "image/jpeg", data: []byte("not an image at all")})
	r := rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, ct, mp)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), msgInvalidImage) {
		t.Fatalf("multipart with a bad picture: %d %s", r.Status, r.Body)
	}
	p := ts.profileOf(t, a)
	if p["nickname"] != "민수" || p["hide_email"] != false || p["profile_picture_url"] != nil {
		t.Fatalf("a refused PATCH changed the profile: %v", p)
	}
}

// hide_email takes what DRF's BooleanField takes, as JSON, a form and a
// multipart body, and refuses anything else.
func TestProfileHideEmailTakesDRFBooleans(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "불리언")
	jsonCases := map[string]bool{`true`: true, `false`: false, `"true"`: true, `"True"`: true, `"1"`: true, `"on"`: true,
		`"yes"`: true, `"t"`: true, `"Y"`: true, `1`: true, `1.0`: true, `"false"`: false, `"0"`: false, `"off"`: false,
		`"no"`: false, `"F"`: false, `0`: false, `0.0`: false}
	for raw, want := range jsonCases {
		r := rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, "application/json", []byte(`{"hide_email":`+raw+`}`))
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"hide_email":`+strconv.FormatBool(want)) {
			t.Errorf("hide_email %s: %d %s, want %v", raw, r.Status, r.Body, want)
		}
	}
	for _, raw := range []string{`"maybe"`, `2`, `"TRUE "`, `""`, `[]`, `{}`, `"1.0"`} {
		r := rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, "application/json", []byte(`{"hide_email":`+raw+`}`))
		if r.Status != http.StatusBadRequest || string(r.Body) != `{"hide_email":["Must be a valid boolean."]}` {
			t.Errorf("hide_email %s: %d %s, want 400 Must be a valid boolean.", raw, r.Status, r.Body)
		}
	}
	r := rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, "application/json", []byte(`{"hide_email":null}`))
	if r.Status != http.StatusBadRequest || string(r.Body) != `{"hide_email":["This field may not be null."]}` {
		t.Errorf("hide_email null: %d %s", r.Status, r.Body)
	}
	r = rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, "application/x-www-form-urlencoded", []byte("hide_email=on"))
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"hide_email":true`) {
		t.Errorf("form hide_email=on: %d %s", r.Status, r.Body)
	}
	mp, ct := multipartBody(t, []string{"hide_email", "0"})
	r = rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, ct, mp)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"hide_email":false`) {
		t.Errorf("multipart hide_email=0: %d %s", r.Status, r.Body)
	}
}

// Another user's object has exactly id, nickname, profile_picture_url and
// date_joined, whatever the email switch says.
func TestPublicUserHasNoEmail(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "공개"), ts.newUser(t, "보는이")
	for _, hide := range []bool{false, true} {
		if status, _ := ts.patchProfile(t, a, map[string]any{"hide_email": hide}); status != http.StatusOK {
			t.Fatal(status)
		}
		status, body := ts.rest(t, "GET", fmt.Sprintf("/user/v1/users/%d/", a.id), b, nil)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK {
			t.Fatalf("GET user: %d %s", status, body)
		}
		if ks := keys(got); len(ks) != 4 || got["id"] != float64(a.id) || got["nickname"] != "공개" ||
			got["profile_picture_url"] != nil || got["date_joined"] == nil {
			t.Fatalf("hide_email %v: public user %s, want exactly id, nickname, profile_picture_url, date_joined", hide, body)
		}
		if strings.Contains(string(body), a.email) {
			t.Fatalf("public user carries the email: %s", body)
		}
	}
	for _, path := range []string{"/user/v1/users/999999/", "/user/v1/users/abc/", "/user/v1/users/0/", "/user/v1/users/-1/"} {
		if status, body := ts.rest(t, "GET", path, b, nil); status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", path, status, body)
		}
	}
	if status, _ := ts.rest(t, "GET", fmt.Sprintf("/user/v1/users/%d/", a.id), nil, nil); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", status)
	}
}

// postREST posts a message and fails the test on anything but 201.
func postREST(t testing.TB, ts *wsTestServer, u *wsUser, room int64, text string) {
	t.Helper()
	if status, body := ts.rest(t, "POST", "/chat/v1/message/", u, map[string]any{"room": room, "message": text}); status != http.StatusCreated {
		t.Fatalf("post: %d %s", status, body)
	}
}

// historyOf is the room's newest messages, oldest first.
func historyOf(t testing.TB, ts *wsTestServer, u *wsUser, room int64) []messageJSON {
	t.Helper()
	status, body := ts.rest(t, "GET", fmt.Sprintf("/chat/v1/room/%d/messages/", room), u, nil)
	var msgs []messageJSON
	if err := json.Unmarshal(body, &msgs); err != nil || status != http.StatusOK {
		t.Fatalf("history: %d %s", status, body)
	}
	return msgs
}

// detailOf is the room detail's chat_messages.
func detailOf(t testing.TB, ts *wsTestServer, u *wsUser, room int64) []messageJSON {
	t.Helper()
	status, body := ts.rest(t, "GET", fmt.Sprintf("/chat/v1/room/%d/", room), u, nil)
	var d struct {
		Messages []messageJSON `json:"chat_messages"`
	}
	if err := json.Unmarshal(body, &d); err != nil || status != http.StatusOK {
		t.Fatalf("detail: %d %s", status, body)
	}
	return d.Messages
}

// With hide_email, every message of the user rendered after the PATCH
// shows "user-<id>": history, room detail, since replay from the ring and
// from the store, and new frames, to everyone; turning it off shows the
// email again. Messages of other users are untouched.
func TestHideEmailRendersSenderEverywhere(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, func(_ *Config, ac *actors.Config) { ac.RecentMessages, ac.DetailMessages = 4, 4 })
	a, b := ts.newUser(t, "숨김"), ts.newUser(t, "보통")
	room := ts.newRoom(t, a)
	for i := range 6 { // more than the ring holds: since=0 replays from the store
		postREST(t, ts, a, room, fmt.Sprintf("a%d", i))
	}
	postREST(t, ts, b, room, "b0")
	watcher := ts.dial(t, b, room, "")
	self := ts.dial(t, a, room, "")
	ts.waitOnline(t, b, room, "숨김", "보통")

	hidden := "user-" + strconv.FormatInt(a.id, 10)
	seq := int64(7) // the room's last seq
	check := func(phase, wantA string) {
		t.Helper()
		want := func(where string, m messageJSON) {
			t.Helper()
			w := wantA
			if strings.HasPrefix(m.Message, "b") {
				w = b.email
			}
			if m.Sender != w {
				t.Errorf("%s: %s: message %q has sender %q, want %q", phase, where, m.Message, m.Sender, w)
			}
		}
		for _, m := range historyOf(t, ts, b, room) {
			want("history", m)
		}
		for _, m := range detailOf(t, ts, b, room) {
			want("detail", m)
		}
		for _, since := range []int64{0, seq - 2} { // the store, then the ring
			c := ts.dial(t, b, room, "since="+strconv.FormatInt(since, 10))
			for got := since; got < seq; {
				f := c.next(t)
				if f.Type == "chat.message" {
					want(fmt.Sprintf("replay since=%d", since), messageJSON{Message: f.Message, Sender: f.Sender})
					got = f.Seq
				}
			}
			_ = c.conn.Close()
		}
		marker := "live-" + phase
		self.send(t, marker)
		seq++
		for _, c := range []*wsClient{watcher, self} {
			frames := c.until(t, marker)
			if f := frames[len(frames)-1]; f.Sender != wantA {
				t.Errorf("%s: live frame to %s has sender %q, want %q", phase, c.user.nickname, f.Sender, wantA)
			}
		}
		detailOf(t, ts, b, room) // published: the next phase reads it unless it is stale
	}
	check("shown", a.email)
	if status, body := ts.patchProfile(t, a, map[string]any{"hide_email": true}); status != http.StatusOK || body["hide_email"] != true {
		t.Fatalf("PATCH hide_email: %d %v", status, body)
	}
	check("hidden", hidden)
	if status, _ := ts.patchProfile(t, a, map[string]any{"hide_email": false}); status != http.StatusOK {
		t.Fatal(status)
	}
	check("shown-again", a.email)
}

// A socket opened before a profile change sends its next message with the
// new nickname: the socket's identity is fixed, its sender details are not.
func TestProfileChangeReachesOpenSocket(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "처음")
	room := ts.newRoom(t, a)
	c := ts.dial(t, a, room, "")
	c.send(t, "before")
	if f := c.until(t, "before"); f[len(f)-1].Nickname != "처음" {
		t.Fatalf("first message nickname %q", f[len(f)-1].Nickname)
	}
	if status, body := ts.patchProfile(t, a, map[string]any{"nickname": "민수"}); status != http.StatusOK {
		t.Fatalf("PATCH nickname: %d %v", status, body)
	}
	c.send(t, "after")
	if f := c.until(t, "after"); f[len(f)-1].Nickname != "민수" {
		t.Fatalf("a message sent after the change carries nickname %q, want 민수", f[len(f)-1].Nickname)
	}
	msgs := historyOf(t, ts, a, room)
	if msgs[0].Nickname != "처음" || msgs[1].Nickname != "민수" {
		t.Fatalf("history nicknames %q, %q", msgs[0].Nickname, msgs[1].Nickname)
	}
}

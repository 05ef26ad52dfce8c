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

	"livechat/actors"
)

// editedMessage is the REST message object with its change keys.
type editedMessage struct {
	ID        int64   `json:"id"`
	Room      int64   `json:"room"`
	Seq       int64   `json:"seq"`
	Rev       int64   `json:"rev"`
	Sender    string  `json:"sender"`
	SenderID  int64   `json:"sender_id"`
	Message   string  `json:"message"`
	CreatedAt string  `json:"created_at"`
	EditedAt  *string `json:"edited_at"`
	DeletedAt *string `json:"deleted_at"`
	DeletedBy *int64  `json:"deleted_by"`
}

func messagePath(id int64) string { return "/chat/v1/message/" + strconv.FormatInt(id, 10) + "/" }

func historyPath(room int64) string {
	return "/chat/v1/room/" + strconv.FormatInt(room, 10) + "/messages/"
}

// restPost posts text to room as u (with clientID when not empty).
func (ts *wsTestServer) restPost(t testing.TB, u *wsUser, room int64, text, clientID string) editedMessage {
	t.Helper()
	body := map[string]any{"room": room, "message": text}
	if clientID != "" {
		body["client_id"] = clientID
	}
	status, b := ts.rest(t, "POST", "/chat/v1/message/", u, body)
	if status != http.StatusCreated {
		t.Fatalf("post %q: %d %s", text, status, b)
	}
	return decodeMessage(t, b)
}

// restExpect makes a REST call and checks its status; it returns the body.
func (ts *wsTestServer) restExpect(t testing.TB, want int, method, path string, u *wsUser, body any) []byte {
	t.Helper()
	status, b := ts.rest(t, method, path, u, body)
	if status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	return b
}

func decodeMessage(t testing.TB, b []byte) editedMessage {
	t.Helper()
	var m editedMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message: %v: %s", err, b)
	}
	return m
}

// history returns the room's last 200 messages.
func (ts *wsTestServer) historyOf(t testing.TB, u *wsUser, room int64) ([]editedMessage, []byte) {
	t.Helper()
	b := ts.restExpect(t, http.StatusOK, "GET", historyPath(room)+"?limit=200", u, nil)
	var ms []editedMessage
	if err := json.Unmarshal(b, &ms); err != nil {
		t.Fatalf("history: %v: %s", err, b)
	}
	return ms, b
}

// frames returns c's next n frames, presence excepted.
func (c *wsClient) frames(t testing.TB, n int) []wsFrame {
	t.Helper()
	var out []wsFrame
	for len(out) < n {
		f := c.next(t)
		if f.Type != "chat.user.join" && f.Type != "chat.user.leave" {
			out = append(out, f)
		}
	}
	return out
}

// expectNothingBefore checks that the next frame c receives, presence
// excepted, is the chat.message marker: nothing else was sent to c first.
func expectNothingBefore(t testing.TB, c *wsClient, marker string) {
	t.Helper()
	if f := c.frames(t, 1)[0]; f.Type != "chat.message" || f.Message != marker {
		t.Fatalf("%s: got %s before the marker %q", c.user.nickname, f, marker)
	}
}

// The sender edits: the message takes the room's next rev, events=edit
// sockets receive chat.message.update with it, a socket without events
// receives nothing, and detail, history and GET show the new text at the
// same seq. Others get 403; the same text changes nothing.
func TestEditMessage(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "에이"), ts.newUser(t, "비")
	room := ts.newRoom(t, a)
	edit, plain := ts.dial(t, b, room, "events=edit"), ts.dial(t, b, room, "")
	m := ts.restPost(t, a, room, "내일 3시에 볼까요?", "")
	for _, c := range []*wsClient{edit, plain} {
		if f := c.messages(t, 1)[0]; f.SenderID != a.id || f.Rev != m.Rev || f.Rev < 1 || f.EditedAt != nil || f.DeletedAt != nil {
			t.Fatalf("new message frame %s, want sender_id %d, rev %d and no change keys", f, a.id, m.Rev)
		}
	}
	if m.Rev < 1 || m.SenderID != a.id || m.EditedAt != nil || m.DeletedAt != nil || m.DeletedBy != nil {
		t.Fatalf("new message %+v", m)
	}

	body := ts.restExpect(t, http.StatusForbidden, "PATCH", messagePath(m.ID), b, map[string]any{"message": "남의 글"})
	if string(body) != `{"detail":"You can only edit your own messages."}` {
		t.Errorf("403 body %s", body)
	}
	got := decodeMessage(t, ts.restExpect(t, http.StatusOK, "PATCH", messagePath(m.ID), a, map[string]any{"message": "내일 4시에 볼까요?"}))
	if got.Message != "내일 4시에 볼까요?" || got.EditedAt == nil || got.Seq != m.Seq || got.Rev != m.Rev+1 || got.ID != m.ID {
		t.Fatalf("edited %+v, want the new text, edited_at, seq %d and rev %d", got, m.Seq, m.Rev+1)
	}
	up := edit.frames(t, 1)[0]
	if up.Type != "chat.message.update" || up.Rev != got.Rev || up.Message != got.Message || up.ID != m.ID || up.Seq != m.Seq ||
		up.Room != room || up.EditedAt == nil || *up.EditedAt != *got.EditedAt {
		t.Fatalf("update frame %s, want rev %d", up, got.Rev)
	}
	ts.restPost(t, a, room, "marker-1", "")
	expectNothingBefore(t, plain, "marker-1")
	expectNothingBefore(t, edit, "marker-1")

	current := decodeMessage(t, ts.restExpect(t, http.StatusOK, "GET", messagePath(m.ID), b, nil))
	hist, _ := ts.historyOf(t, b, room)
	if current != got && (current.Message != got.Message || current.Rev != got.Rev) {
		t.Errorf("GET message %+v, want %+v", current, got)
	}
	if hist[0].Seq != m.Seq || hist[0].Message != got.Message || hist[0].EditedAt == nil || hist[0].Rev != got.Rev {
		t.Errorf("history shows %+v", hist[0])
	}
	detail := ts.restExpect(t, http.StatusOK, "GET", "/chat/v1/room/"+strconv.FormatInt(room, 10)+"/", b, nil)
	if !strings.Contains(string(detail), got.Message) || strings.Contains(string(detail), "3시") {
		t.Errorf("detail does not show the edit: %s", detail)
	}

	// The same text: 200, nothing changed, nothing sent.
	same := decodeMessage(t, ts.restExpect(t, http.StatusOK, "PATCH", messagePath(m.ID), a, map[string]any{"message": got.Message}))
	if same.Rev != got.Rev || *same.EditedAt != *got.EditedAt {
		t.Errorf("same text changed the message: %+v", same)
	}
	ts.restPost(t, a, room, "marker-2", "")
	expectNothingBefore(t, edit, "marker-2")
}

// PATCH validates its text exactly as POST does, and PUT is not allowed.
func TestEditValidatedAsCreation(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "에이")
	room := ts.newRoom(t, a)
	m := ts.restPost(t, a, room, "원래 글", "")
	long := strings.Repeat("가", 4097)
	for _, text := range []string{`""`, `"   "`, `"` + long + `"`, `"a\u0000b"`, `"\ud800"`, `null`} {
		wantStatus, want := ts.rest(t, "POST", "/chat/v1/message/", a, json.RawMessage(`{"room":`+strconv.FormatInt(room, 10)+`,"message":`+text+`}`))
		status, got := ts.rest(t, "PATCH", messagePath(m.ID), a, json.RawMessage(`{"message":`+text+`}`))
		if status != http.StatusBadRequest || status != wantStatus || string(got) != string(want) {
			t.Errorf("PATCH %.20s: %d %s; POST answers %d %s", text, status, got, wantStatus, want)
		}
	}
	status, got := ts.rest(t, "PATCH", messagePath(m.ID), a, json.RawMessage(`{}`))
	if status != http.StatusBadRequest || string(got) != `{"message":["This field is required."]}` {
		t.Errorf("PATCH {}: %d %s", status, got)
	}
	ts.restExpect(t, http.StatusMethodNotAllowed, "PUT", messagePath(m.ID), a, map[string]any{"message": "새 글"})
	if cur := decodeMessage(t, ts.restExpect(t, http.StatusOK, "GET", messagePath(m.ID), a, nil)); cur.Message != "원래 글" || cur.Rev != m.Rev {
		t.Errorf("refused edits changed the message: %+v", cur)
	}
}

// Edits and deletions count against the user's message rate.
func TestEditsCountAgainstMessageRate(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MessageRate, c.MessageBurst = 0.001, 3 })
	a := ts.newUser(t, "에이")
	room := ts.newRoom(t, a)
	m := ts.restPost(t, a, room, "하나", "")
	ts.restExpect(t, http.StatusOK, "PATCH", messagePath(m.ID), a, map[string]any{"message": "둘"})
	ts.restExpect(t, http.StatusNoContent, "DELETE", messagePath(m.ID), a, nil)
	ts.restExpect(t, http.StatusTooManyRequests, "PATCH", messagePath(m.ID), a, map[string]any{"message": "셋"})
	ts.restExpect(t, http.StatusTooManyRequests, "DELETE", messagePath(m.ID), a, nil)
}

// A deleted message becomes a tombstone everywhere, its seq kept, and its
// text is in no answer: detail, history, GET, since replay, client_id
// resends over REST and socket.
func TestDeleteMessageLeavesTombstone(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "에이")
	room := ts.newRoom(t, a)
	edit, plain := ts.dial(t, a, room, "events=edit"), ts.dial(t, a, room, "")
	const secret = "secret-4f1d9a2c7e"
	ts.restPost(t, a, room, "하나", "")
	m := ts.restPost(t, a, room, secret, "cid-1")
	last := ts.restPost(t, a, room, "셋", "")
	edit.messages(t, 3)
	plain.messages(t, 3)

	if b := ts.restExpect(t, http.StatusNoContent, "DELETE", messagePath(m.ID), a, nil); len(b) != 0 {
		t.Errorf("204 with a body: %q", b)
	}
	del := edit.frames(t, 1)[0]
	if del.Type != "chat.message.delete" || del.ID != m.ID || del.Seq != m.Seq || del.Rev != last.Rev+1 || del.DeletedAt == nil ||
		del.DeletedBy == nil || *del.DeletedBy != a.id || strings.Contains(del.String(), secret) {
		t.Fatalf("delete frame %s, want rev %d by %d", del, last.Rev+1, a.id)
	}

	hist, raw := ts.historyOf(t, a, room)
	if len(hist) != 3 || hist[0].Seq != 1 || hist[1].Seq != 2 || hist[2].Seq != 3 {
		t.Fatalf("history %s", raw)
	}
	if tomb := hist[1]; tomb.Message != "" || tomb.DeletedAt == nil || *tomb.DeletedBy != a.id || tomb.Rev != del.Rev ||
		tomb.ID != m.ID || tomb.Sender != m.Sender || tomb.SenderID != a.id || tomb.CreatedAt != m.CreatedAt {
		t.Errorf("tombstone %+v", tomb)
	}
	answers := map[string][]byte{"history": raw}
	answers["detail"] = ts.restExpect(t, http.StatusOK, "GET", "/chat/v1/room/"+strconv.FormatInt(room, 10)+"/", a, nil)
	answers["GET message"] = ts.restExpect(t, http.StatusOK, "GET", messagePath(m.ID), a, nil)
	answers["REST resend"] = ts.restExpect(t, http.StatusOK, "POST", "/chat/v1/message/", a, map[string]any{"room": room, "message": "다시", "client_id": "cid-1"})
	if r := decodeMessage(t, answers["REST resend"]); r.ID != m.ID || r.DeletedAt == nil {
		t.Errorf("client_id resend answered %s, want the tombstone", answers["REST resend"])
	}
	wsSendID(t, plain, "다시", "cid-1")
	echo := plain.frames(t, 1)[0]
	answers["socket resend"] = echo.raw
	if echo.Type != "chat.message" || echo.ID != m.ID || echo.DeletedAt == nil || echo.Message != "" {
		t.Errorf("socket resend answered %s, want the tombstone", echo)
	}
	replay := ts.dial(t, a, room, "since=0")
	for _, f := range replay.frames(t, 3) {
		answers["since replay"] = append(answers["since replay"], f.raw...)
	}
	editReplay := ts.dial(t, a, room, "since=2&events=edit")
	for _, f := range editReplay.frames(t, 2) {
		answers["since replay with events=edit"] = append(answers["since replay with events=edit"], f.raw...)
	}
	for what, b := range answers {
		if strings.Contains(string(b), secret) {
			t.Errorf("%s shows the deleted text: %s", what, b)
		}
	}
	if hist, raw := ts.historyOf(t, a, room); len(hist) != 3 {
		t.Errorf("a resend stored something: %s", raw)
	}

	body := ts.restExpect(t, http.StatusBadRequest, "PATCH", messagePath(m.ID), a, map[string]any{"message": "되살리기"})
	if string(body) != `{"non_field_errors":["A deleted message cannot be edited."]}` {
		t.Errorf("PATCH on a tombstone: %s", body)
	}
	ts.restExpect(t, http.StatusNoContent, "DELETE", messagePath(m.ID), a, nil)
	if cur := decodeMessage(t, ts.restExpect(t, http.StatusOK, "GET", messagePath(m.ID), a, nil)); cur.Rev != del.Rev {
		t.Errorf("deleting a tombstone changed it: %+v", cur)
	}
	ts.restPost(t, a, room, "marker", "")
	expectNothingBefore(t, edit, "marker")
}

// The owner of a public room may delete anyone's message; other users
// only their own.
func TestOwnerDeletesOthersMessages(t *testing.T) {
	ts := newWSTestServer(t, nil)
	owner, b, c := ts.newUser(t, "주인"), ts.newUser(t, "비"), ts.newUser(t, "씨")
	room := ts.newRoom(t, owner)
	mine := ts.restPost(t, owner, room, "주인 글", "")
	theirs := ts.restPost(t, b, room, "비의 글", "")
	body := ts.restExpect(t, http.StatusForbidden, "DELETE", messagePath(theirs.ID), c, nil)
	if string(body) != `{"detail":"You can only delete your own messages."}` {
		t.Errorf("403 body %s", body)
	}
	ts.restExpect(t, http.StatusForbidden, "DELETE", messagePath(mine.ID), b, nil)
	ts.restExpect(t, http.StatusForbidden, "PATCH", messagePath(theirs.ID), owner, map[string]any{"message": "주인이 고침"})
	ts.restExpect(t, http.StatusNoContent, "DELETE", messagePath(theirs.ID), owner, nil)
	got := decodeMessage(t, ts.restExpect(t, http.StatusOK, "GET", messagePath(theirs.ID), c, nil))
	if got.DeletedBy == nil || *got.DeletedBy != owner.id || got.SenderID != b.id || got.Message != "" {
		t.Errorf("tombstone %+v, want deleted_by %d", got, owner.id)
	}
}

// Unknown and malformed message ids answer 404, after 401.
func TestMessageEndpointsNotFound(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "에이")
	for _, path := range []string{"/chat/v1/message/999/", "/chat/v1/message/abc/", "/chat/v1/message/0/", "/chat/v1/message/99999999999999999999/"} {
		for _, method := range []string{"GET", "PATCH", "DELETE"} {
			if status, body := ts.rest(t, method, path, a, map[string]any{"message": "x"}); status != http.StatusNotFound || string(body) != `{"detail":"Not found."}` {
				t.Errorf("%s %s: %d %s", method, path, status, body)
			}
			if status, _ := ts.rest(t, method, path, nil, nil); status != http.StatusUnauthorized {
				t.Errorf("%s %s without a token: %d", method, path, status)
			}
		}
	}
}

// A reconnect with since=S&events=edit first receives the latest change of
// each message up to S changed since S was stored, in change order, then
// the messages after S as they now are; without events only the latter.
func TestSinceReplaysEdits(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "에이")
	room := ts.newRoom(t, a)
	first := ts.dial(t, a, room, "events=edit")
	msgs := make([]editedMessage, 0, 11)
	for i := 1; i <= 10; i++ {
		msgs = append(msgs, ts.restPost(t, a, room, fmt.Sprintf("message %d", i), ""))
	}
	first.messages(t, 10)
	first.closeNormally(t)

	ts.restExpect(t, http.StatusOK, "PATCH", messagePath(msgs[4].ID), a, map[string]any{"message": "five, first edit"})
	ts.restExpect(t, http.StatusOK, "PATCH", messagePath(msgs[4].ID), a, map[string]any{"message": "five, second edit"})
	ts.restExpect(t, http.StatusNoContent, "DELETE", messagePath(msgs[6].ID), a, nil)
	eleven := ts.restPost(t, a, room, "eleven", "")
	ts.restExpect(t, http.StatusOK, "PATCH", messagePath(eleven.ID), a, map[string]any{"message": "eleven, edited"})

	withEdits := ts.dial(t, a, room, "since=10&events=edit")
	got := withEdits.frames(t, 3)
	if f := got[0]; f.Type != "chat.message.update" || f.Seq != 5 || f.Message != "five, second edit" {
		t.Errorf("first replayed frame %s, want update(5) with the second text", f)
	}
	if f := got[1]; f.Type != "chat.message.delete" || f.Seq != 7 {
		t.Errorf("second replayed frame %s, want delete(7)", f)
	}
	if f := got[2]; f.Type != "chat.message" || f.Seq != 11 || f.Message != "eleven, edited" || f.EditedAt == nil {
		t.Errorf("third replayed frame %s, want chat.message(11) edited", f)
	}
	if !(got[0].Rev < got[1].Rev && got[1].Rev < got[2].Rev) {
		t.Errorf("replay out of change order: revs %d, %d, %d", got[0].Rev, got[1].Rev, got[2].Rev)
	}
	plain := ts.dial(t, a, room, "since=10")
	if f := plain.frames(t, 1)[0]; f.Type != "chat.message" || f.Seq != 11 || f.Message != "eleven, edited" || f.EditedAt == nil {
		t.Errorf("replay without events starts with %s, want chat.message(11) edited", f)
	}
	ts.restPost(t, a, room, "live", "")
	expectNothingBefore(t, withEdits, "live")
	expectNothingBefore(t, plain, "live")
}

// Ten concurrent edits of one message: every update frame's rev is higher
// than the one before, and the message ends as the last frame says.
func TestConcurrentEditsOrderedByRev(t *testing.T) {
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "에이")
	room := ts.newRoom(t, a)
	sock := ts.dial(t, a, room, "events=edit")
	m := ts.restPost(t, a, room, "원래 글", "")
	sock.messages(t, 1)
	const n = 10
	texts := make([]string, n)
	var wg sync.WaitGroup
	answered := make([]int64, n)
	for i := range n {
		texts[i] = fmt.Sprintf("edit %d", i)
		wg.Go(func() {
			status, b := ts.rest(t, "PATCH", messagePath(m.ID), a, map[string]any{"message": texts[i]})
			if status != http.StatusOK {
				t.Errorf("edit %d: %d %s", i, status, b)
				return
			}
			var got editedMessage
			if err := json.Unmarshal(b, &got); err == nil {
				answered[i] = got.Rev
			}
		})
	}
	wg.Wait()
	updates := sock.frames(t, n)
	var revs []int64
	for i, f := range updates {
		if f.Type != "chat.message.update" || (i > 0 && f.Rev <= updates[i-1].Rev) {
			t.Fatalf("update %d: %s after rev %d", i, f, updates[max(i-1, 0)].Rev)
		}
		revs = append(revs, f.Rev)
	}
	slices.Sort(answered)
	if !slices.Equal(answered, revs) {
		t.Errorf("answers had revs %v, frames %v", answered, revs)
	}
	final := decodeMessage(t, ts.restExpect(t, http.StatusOK, "GET", messagePath(m.ID), a, nil))
	lastFrame := updates[n-1]
	if final.Rev != lastFrame.Rev || final.Message != lastFrame.Message || !slices.Contains(texts, final.Message) {
		t.Errorf("final %+v, last update %s", final, lastFrame)
	}
	hist, _ := ts.historyOf(t, a, room)
	if hist[0].Message != final.Message {
		t.Errorf("history shows %q, GET %q", hist[0].Message, final.Message)
	}
}

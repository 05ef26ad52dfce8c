package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"livechat/actors"
)

// typingFrame is a server chat.typing frame as a client decodes it.
type typingFrame struct {
	Room      int64  `json:"room"`
	UserID    int64  `json:"user_id"`
	Nickname  string `json:"nickname"`
	Typing    *bool  `json:"typing"`
	TimeoutMS *int64 `json:"timeout_ms"`
}

func decodeTyping(t testing.TB, f wsFrame) typingFrame {
	t.Helper()
	if f.Type != "chat.typing" {
		t.Fatalf("got %s, want a chat.typing frame", f)
	}
	var tf typingFrame
	if err := json.Unmarshal(f.raw, &tf); err != nil {
		t.Fatalf("chat.typing %s: %v", f, err)
	}
	if tf.Typing == nil {
		t.Fatalf("chat.typing without typing: %s", f)
	}
	if *tf.Typing != (tf.TimeoutMS != nil) {
		t.Fatalf("timeout_ms must come with typing:true only: %s", f)
	}
	return tf
}

// typingFrames returns the chat.typing frames among frames.
func typingFrames(t testing.TB, frames []wsFrame) []typingFrame {
	t.Helper()
	var out []typingFrame
	for _, f := range frames {
		if f.Type == "chat.typing" {
			out = append(out, decodeTyping(t, f))
		}
	}
	return out
}

// nextNonPresence returns the next frame that is not a join or a leave.
func (c *wsClient) nextNonPresence(t testing.TB) wsFrame {
	t.Helper()
	for {
		if f := c.next(t); f.Type != "chat.user.join" && f.Type != "chat.user.leave" {
			return f
		}
	}
}

// ready posts text on c and reads until it comes back: c's session has
// then joined its room (its join precedes its post in the room's mailbox).
func (c *wsClient) ready(t testing.TB, text string) {
	t.Helper()
	c.send(t, text)
	c.until(t, text)
}

// typing sends chat.typing with the given value.
func (c *wsClient) typing(t testing.TB, typing bool) {
	t.Helper()
	c.sendFrame(t, map[string]any{"type": "chat.typing", "typing": typing})
}

func expectTyping(t testing.TB, who string, got typingFrame, room int64, u *wsUser, typing bool) {
	t.Helper()
	if got.Room != room || got.UserID != u.id || got.Nickname != u.nickname || *got.Typing != typing {
		t.Fatalf("%s got typing %+v (typing %v), want room %d user %d %q typing %v",
			who, got, *got.Typing, room, u.id, u.nickname, typing)
	}
}

// TestWSTypingReachesOptedInOthersOnly: a typing:true reaches the sockets of
// other users that asked for events=typing, once each, with the user's id,
// nickname and the 5 s timeout; none of the typing user's sockets and no
// socket without events=typing receives it.
func TestWSTypingReachesOptedInOthersOnly(t *testing.T) {
	ts := newWSTestServer(t, nil)
	alice, bob, carol, dave := ts.newUser(t, "민수"), ts.newUser(t, "bob"), ts.newUser(t, "carol"), ts.newUser(t, "dave")
	room := ts.newRoom(t, alice)
	a1 := ts.dial(t, alice, room, "events=typing")
	a2 := ts.dial(t, alice, room, "events=typing")
	b := ts.dial(t, bob, room, "events=typing")
	c := ts.dial(t, carol, room, "events=read,typing,unknown")
	d := ts.dial(t, dave, room, "")
	all := []*wsClient{a1, a2, b, c, d}
	for i, s := range all {
		s.ready(t, "ready "+strconv.Itoa(i))
	}
	d.send(t, "all ready")
	for _, s := range all {
		s.until(t, "all ready")
	}

	a1.sendFrame(t, map[string]any{"type": "chat.typing"}) // typing defaults to true
	for _, s := range []*wsClient{b, c} {
		got := decodeTyping(t, s.nextNonPresence(t))
		expectTyping(t, s.user.nickname, got, room, alice, true)
		if *got.TimeoutMS != 5000 {
			t.Fatalf("%s: timeout_ms %d, want 5000", s.user.nickname, *got.TimeoutMS)
		}
	}
	// Everything the room sent before the marker arrives before it: no
	// socket got another typing frame, and alice's and dave's none.
	d.send(t, "marker")
	for _, s := range all {
		if got := typingFrames(t, s.until(t, "marker")); len(got) != 0 {
			t.Fatalf("%s got typing frames %+v, want none", s.user.nickname, got)
		}
	}
}

// TestWSTypingRefreshesCoalesceAndExpire: ten refreshes in a second give
// one typing:true; silence then ends the indicator with one typing:false
// once the timeout passes, within a second of it.
func TestWSTypingRefreshesCoalesceAndExpire(t *testing.T) {
	const timeout = time.Second
	ts := newWSTestServer(t, func(c *Config, a *actors.Config) { c.TypingRate, a.TypingTimeout = 100, timeout })
	alice, room, a, b := typingPair(t, ts)

	first := time.Now()
	var last time.Time
	for range 10 {
		a.typing(t, true)
		last = time.Now()
		time.Sleep(90 * time.Millisecond) // ten frames spread over a second, as a typing user sends them
	}
	var frames []typingFrame
	for {
		f := decodeTyping(t, b.nextNonPresence(t))
		frames = append(frames, f)
		if !*f.Typing {
			break
		}
	}
	ended := time.Now()
	if len(frames) != 2 || !*frames[0].Typing || *frames[0].TimeoutMS != timeout.Milliseconds() {
		t.Fatalf("bob got %+v, want one typing:true (timeout_ms %d) then typing:false", frames, timeout.Milliseconds())
	}
	expectTyping(t, "bob", frames[1], room, alice, false)
	// The last refresh the server took was at or before last, and the first
	// at first: the expiry lies in between plus the timeout, and the frame
	// follows within a second (the slack covers a loaded test machine).
	if ended.Before(first.Add(timeout)) || ended.After(last.Add(timeout+1500*time.Millisecond)) {
		t.Fatalf("typing:false %v after the first refresh and %v after the last, want it once %v passed since the last refresh",
			ended.Sub(first), ended.Sub(last), timeout)
	}
}

// TestWSTypingRefreshPastTheRateCounts: at the default rate (2 a second),
// refreshes sent faster than it still move the expiry: the last one is
// held and passed on, not dropped, so the indicator ends a timeout after
// the user's last refresh, not after the last one the rate let through.
func TestWSTypingRefreshPastTheRateCounts(t *testing.T) {
	const timeout = time.Second
	ts := newWSTestServer(t, func(_ *Config, a *actors.Config) { a.TypingTimeout = timeout })
	_, _, a, b := typingPair(t, ts)

	var last time.Time
	for range 10 {
		a.typing(t, true)
		last = time.Now()
		time.Sleep(100 * time.Millisecond)
	}
	for {
		if f := decodeTyping(t, b.nextNonPresence(t)); !*f.Typing {
			break
		}
	}
	// Dropped, the refreshes after the rate's first would leave the last
	// one taken about 0.5 s into the burst, and typing:false would come
	// about 0.4 s before last+timeout.
	if ended := time.Now(); ended.Before(last.Add(timeout)) || ended.After(last.Add(timeout+2*time.Second)) {
		t.Fatalf("typing:false %v after the last refresh, want at least %v (and within the rate's period and the expiry tick)", ended.Sub(last), timeout)
	}
}

// typingPair opens alice's socket and bob's events=typing socket to a
// room of alice's, both joined.
func typingPair(t *testing.T, ts *wsTestServer) (alice *wsUser, room int64, a, b *wsClient) {
	t.Helper()
	alice, bob := ts.newUser(t, "앨리스"), ts.newUser(t, "민수")
	room = ts.newRoom(t, alice)
	a = ts.dial(t, alice, room, "")
	b = ts.dial(t, bob, room, "events=typing")
	a.ready(t, "a ready")
	b.ready(t, "b ready")
	return alice, room, a, b
}

// TestWSTypingEnds: typing:false is announced at once, and so is the end
// of typing when the user's only socket closes; a message ends it without
// a typing:false, and the next typing:true is announced at once.
func TestWSTypingEnds(t *testing.T) {
	// Frames past the typing rate would be dropped: this test sends them
	// faster than a typing user does.
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.TypingRate = 100 })
	alice, bob := ts.newUser(t, "앨리스"), ts.newUser(t, "민수")
	room := ts.newRoom(t, alice)
	b := ts.dial(t, bob, room, "events=typing")
	a := ts.dial(t, alice, room, "")
	a.ready(t, "a ready")
	b.until(t, "a ready")

	// An explicit stop.
	a.typing(t, true)
	expectTyping(t, "bob", decodeTyping(t, b.nextNonPresence(t)), room, alice, true)
	a.typing(t, false)
	expectTyping(t, "bob", decodeTyping(t, b.nextNonPresence(t)), room, alice, false)

	// A message: bob gets it and no typing:false; the next start comes at
	// once although it is well within two seconds of the last.
	a.typing(t, true)
	expectTyping(t, "bob", decodeTyping(t, b.nextNonPresence(t)), room, alice, true)
	a.send(t, "hello")
	if f := b.nextNonPresence(t); f.Type != "chat.message" || f.Message != "hello" {
		t.Fatalf("bob got %s, want alice's message", f)
	}
	a.typing(t, true)
	expectTyping(t, "bob", decodeTyping(t, b.nextNonPresence(t)), room, alice, true)

	// A message over REST ends it the same way.
	if status, body := ts.rest(t, "POST", "/chat/v1/message/", alice, map[string]any{"room": room, "message": "by rest"}); status != http.StatusCreated {
		t.Fatalf("post: %d %s", status, body)
	}
	if f := b.nextNonPresence(t); f.Type != "chat.message" || f.Message != "by rest" {
		t.Fatalf("bob got %s, want alice's message", f)
	}
	a.typing(t, true)
	expectTyping(t, "bob", decodeTyping(t, b.nextNonPresence(t)), room, alice, true)

	// Her only socket closes: typing:false at once, before the leave that
	// waits for the presence grace.
	a.closeNormally(t)
	expectTyping(t, "bob", decodeTyping(t, b.nextNonPresence(t)), room, alice, false)
}

// TestWSTypingBadValueAndNothingKept: a non-boolean typing is refused with
// invalid_request; typing never shows in history or room details, and a
// reconnect with since replays none of it.
func TestWSTypingBadValueAndNothingKept(t *testing.T) {
	ts := newWSTestServer(t, nil)
	alice, bob := ts.newUser(t, "앨리스"), ts.newUser(t, "민수")
	room := ts.newRoom(t, alice)
	a := ts.dial(t, alice, room, "")
	b := ts.dial(t, bob, room, "events=typing")
	a.ready(t, "first")
	b.until(t, "first")

	for _, bad := range []string{`"yes"`, `1`, `null`, `{}`} {
		a.sendRaw(t, 1, []byte(`{"type":"chat.typing","typing":`+bad+`}`))
		f := a.nextNonPresence(t)
		if f.Type != "chat.error" || f.ErrorType != actors.ErrorInvalid || f.Message != "typing must be a boolean" {
			t.Fatalf("typing %s: got %s, want chat.error invalid_request \"typing must be a boolean\"", bad, f)
		}
	}

	a.typing(t, true)
	expectTyping(t, "bob", decodeTyping(t, b.nextNonPresence(t)), room, alice, true)
	id := strconv.FormatInt(room, 10)
	for _, path := range []string{"/chat/v1/room/" + id + "/", "/chat/v1/room/" + id + "/messages/"} {
		status, body := ts.rest(t, "GET", path, bob, nil)
		if status != http.StatusOK || strings.Contains(string(body), "typing") {
			t.Fatalf("GET %s: %d %s, want 200 without typing", path, status, body)
		}
	}

	b2 := ts.dial(t, bob, room, "events=typing&since=0")
	b2.send(t, "after")
	frames := b2.until(t, "after")
	if got := typingFrames(t, frames); len(got) != 0 {
		t.Fatalf("a reconnect with since replayed typing frames %+v", got)
	}
	if msgs := wsMessagesIn(frames); len(msgs) == 0 || msgs[0] != "first" {
		t.Fatalf("a reconnect with since=0 replayed %q, want the messages from the first", msgs)
	}
}

// TestWSTypingRateCoalescesSilently: chat.typing frames past the socket's
// rate are coalesced (a message discards the one held): not refused, not
// counted as bad frames.
func TestWSTypingRateCoalescesSilently(t *testing.T) {
	ts := newWSTestServer(t, func(_ *Config, a *actors.Config) { a.StrikeBurst = 2 })
	alice, bob := ts.newUser(t, "앨리스"), ts.newUser(t, "민수")
	room := ts.newRoom(t, alice)
	a := ts.dial(t, alice, room, "")
	b := ts.dial(t, bob, room, "events=typing")
	a.ready(t, "a ready")
	b.until(t, "a ready")

	// Unlimited, each of these would be announced: start, stop, start…
	for i := range 40 {
		a.typing(t, i%2 == 0)
	}
	a.send(t, "after")
	for _, f := range a.until(t, "after") {
		if f.Type == "chat.error" {
			t.Fatalf("alice got %s for typing frames past the rate", f)
		}
	}
	got := typingFrames(t, b.until(t, "after"))
	// The default rate is 2 a second, as many at once: the first start and
	// stop pass, and at most a couple more if the loop took over a second.
	if len(got) < 2 || len(got) > 6 || !*got[0].Typing || *got[1].Typing {
		t.Fatalf("bob got %d typing frames %+v, want the first start and stop and little else", len(got), got)
	}
}

// wsMessagesIn returns the texts of the chat.message frames among frames.
func wsMessagesIn(frames []wsFrame) []string {
	var out []string
	for _, f := range frames {
		if f.Type == "chat.message" {
			out = append(out, f.Message)
		}
	}
	return out
}

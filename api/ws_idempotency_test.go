package api

import (
	"encoding/json"
	"strconv"
	"testing"

	"livechat/actors"
)

func wsSendID(t testing.TB, c *wsClient, text, clientID string) {
	t.Helper()
	c.sendFrame(t, map[string]any{"type": "chat.message", "message": text, "client_id": clientID})
}

// TestWSClientIDResend checks client_id idempotency over sockets: a resend
// (on the same socket while the original is in flight or stored, after a
// reconnect, or over REST) is stored and delivered once, and the resender
// gets the original's echo.
func TestWSClientIDResend(t *testing.T) {
	ts := newWSTestServer(t, nil)
	alice, obs := ts.newUser(t, "alice"), ts.newUser(t, "observer")
	room := ts.newRoom(t, alice)
	o := ts.dial(t, obs, room, "")
	a := ts.dial(t, alice, room, "")

	// Back to back on one socket: the second arrives while the first may
	// still wait for the disk.
	wsSendID(t, a, "hello once", "cid-1")
	wsSendID(t, a, "hello once", "cid-1")
	echoes := a.messages(t, 2)
	orig := echoes[0]
	if orig.Seq != 1 || orig.Message != "hello once" {
		t.Fatalf("first echo %s", orig)
	}
	if string(echoes[1].raw) != string(orig.raw) {
		t.Fatalf("resend echo %s differs from original %s", echoes[1], orig)
	}

	// After the original is stored, on the same socket.
	wsSendID(t, a, "hello once (edited text is ignored)", "cid-1")
	if f := a.messages(t, 1)[0]; string(f.raw) != string(orig.raw) {
		t.Fatalf("stored resend echo %s, want %s", f, orig)
	}

	// After a reconnect, on a new socket.
	a.closeNormally(t)
	a = ts.dial(t, alice, room, "")
	wsSendID(t, a, "hello once", "cid-1")
	if f := a.messages(t, 1)[0]; string(f.raw) != string(orig.raw) {
		t.Fatalf("echo after reconnect %s, want %s", f, orig)
	}

	// Over REST: 200 with the original.
	status, body := ts.rest(t, "POST", "/chat/v1/message/", alice, map[string]any{"message": "hello once", "room": room, "client_id": "cid-1"})
	var m wsFrame
	if err := json.Unmarshal(body, &m); status != 200 || err != nil || m.ID != orig.ID || m.Seq != orig.Seq {
		t.Fatalf("REST resend: %d %s", status, body)
	}

	// The same client_id from another user is another message.
	wsSendID(t, o, "mine", "cid-1")
	frames := o.until(t, "mine")
	a.send(t, "marker")
	frames = append(frames, o.until(t, "marker")...)
	var texts []string
	for _, f := range frames {
		if f.Type == "chat.message" {
			texts = append(texts, f.Message)
		}
	}
	// The observer saw the original once, then only new messages.
	want := []string{"hello once", "mine", "marker"}
	if len(texts) != len(want) || texts[0] != want[0] || texts[1] != want[1] || texts[2] != want[2] {
		t.Fatalf("observer saw %q, want %q", texts, want)
	}
	stored, err := ts.store.MessagesAfter(room, 0, 100)
	if err != nil || len(stored) != 3 || stored[0].Id != orig.ID || stored[1].Text != "mine" {
		t.Fatalf("stored %v (%v), want 3 messages", stored, err)
	}
}

// Resends of a stored client_id older than the room's window are answered
// from the store, and count against the user's message rate like any
// message: a client cannot loop them for free.
func TestWSStoredResendsCountAgainstTheRate(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, a *actors.Config) {
		a.RecentMessages, a.DetailMessages = 2, 2
		c.MessageRate, c.MessageBurst = blockedRate, 5
	})
	u := ts.newUser(t, "resender")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	wsSendID(t, c, "old", "cid-old")
	orig := c.messages(t, 1)[0]
	for i := range 3 { // push it out of the room's window of 2
		c.send(t, "newer "+strconv.Itoa(i))
		c.messages(t, 1)
	}
	// 4 of the burst of 5 are spent: one resend is answered, and it spent
	// the last one (REST must wait for the next refill).
	wsSendID(t, c, "old", "cid-old")
	if f := c.messages(t, 1)[0]; string(f.raw) != string(orig.raw) {
		t.Fatalf("stored resend echo %s, want %s", f, orig)
	}
	if n, err := wsThrottledWait(t, ts, u, room); err != nil || !aboutWait(n, 100) {
		t.Fatalf("REST after the resend: wait %d (%v), want 100", n, err)
	}
}

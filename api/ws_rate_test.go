package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

// wsCollectChat reads n chat.message frames from c, skipping presence and
// failing on anything else (a chat.error, a close): what a client over
// its rate must see is its messages, late, and nothing else.
func wsCollectChat(c *wsClient, n int) <-chan wsCollected {
	out := make(chan wsCollected, 1)
	go func() {
		var got wsCollected
		for len(got.frames) < n {
			f, err := c.read(wsReadTimeout)
			if err != nil {
				got.err = fmt.Errorf("%s: after %d messages: %w", c.user.nickname, len(got.frames), err)
				break
			}
			switch f.Type {
			case "chat.message":
				got.frames = append(got.frames, f)
			case "chat.user.join", "chat.user.leave":
			default:
				got.err = fmt.Errorf("%s: after %d messages: unexpected frame %s", c.user.nickname, len(got.frames), f)
				out <- got
				return
			}
		}
		out <- got
	}()
	return out
}

// TestWSBurstOverRateIsSlowedNotRefused sends 200 messages at once from
// one socket, five times its user's burst: the server reads them at the
// rate instead of refusing them, so every one is stored and delivered, to
// the sender and to another member, in order, with no chat.error and no
// close.
func TestWSBurstOverRateIsSlowedNotRefused(t *testing.T) {
	const total, rate, burst = 200, 400, 40
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MessageRate, c.MessageBurst = rate, burst })
	sender := ts.newUser(t, "sender")
	room := ts.newRoom(t, sender)
	other := ts.dial(t, ts.newUser(t, "other"), room, "")
	s := ts.dial(t, sender, room, "")
	results := []<-chan wsCollected{wsCollectChat(s, total), wsCollectChat(other, total)}
	start := time.Now()
	payload := make([]byte, 0, 64)
	for i := range total {
		payload = append(payload[:0], `{"type":"chat.message","message":"burst `...)
		payload = append(strconv.AppendInt(payload, int64(i), 10), `"}`...)
		s.sendRaw(t, websocket.TextMessage, payload)
	}
	for i, r := range results {
		got := <-r
		if got.err != nil {
			t.Fatal(got.err)
		}
		wsCheckSeqs(t, []string{"sender", "other"}[i], got.frames, 1)
		for k, f := range got.frames {
			if want := "burst " + strconv.Itoa(k); f.Message != want || f.Sender != sender.email {
				t.Fatalf("message %d is %s, want %q from %s", k, f, want, sender.email)
			}
		}
	}
	t.Logf("%d messages at %d/s (burst %d) delivered in %v", total, rate, burst, time.Since(start).Round(time.Millisecond))
	if n, err := ts.store.LastSeq(room); err != nil || n != total {
		t.Fatalf("stored %d messages (%v), want %d", n, err, total)
	}
	// Still open: the socket works and closes normally when asked.
	wsRoundTrip(t, s, "after the burst")
	other.until(t, "after the burst")
	s.closeNormally(t)
}

// TestWSBadFramesInSlowedFloodStillClose1008: slowing a socket does not
// forgive bad frames. A client flooding valid messages over its rate with
// bad frames among them is still closed with 1008, and it is told about
// each bad frame before that.
func TestWSBadFramesInSlowedFloodStillClose1008(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, a *actors.Config) { c.MessageRate, c.MessageBurst, a.StrikeBurst = 50, 2, 5 })
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	go func() {
		for i := 0; ; i++ {
			frame := []byte(`{"type":"chat.message","message":"valid"}`)
			if i%2 == 1 {
				frame = []byte("not json")
			}
			_ = c.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
			if c.conn.WriteMessage(websocket.TextMessage, frame) != nil {
				return
			}
		}
	}()
	frames := wsExpectClosedAfter(t, c, websocket.ClosePolicyViolation)
	var invalid int
	for _, f := range frames {
		switch {
		case f.Type == "chat.error" && f.ErrorType == "invalid_request":
			invalid++
		case f.Type != "chat.message":
			t.Fatalf("unexpected frame %s", f)
		}
	}
	if invalid == 0 {
		t.Fatalf("closed with no invalid_request error first (%d frames)", len(frames))
	}
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 0) })
}

// blockedRate is a message rate that refills one message every 100 s: a
// socket past its burst waits longer than any test, so tests can watch
// what happens while it waits.
const blockedRate = 0.01

// aboutWait reports whether a Retry-After of n seconds is the want of a
// test's plan, give or take the seconds the test itself took (the
// allowance refills meanwhile, so the wait only shrinks).
func aboutWait(n, want int) bool { return n <= want && n > want-5 }

// wsThrottledWait posts a message as u and returns the Retry-After of the
// 429 that must answer it.
func wsThrottledWait(t testing.TB, ts *wsTestServer, u *wsUser, room int64) (int, error) {
	t.Helper()
	status, body := ts.rest(t, "POST", "/chat/v1/message/", u, map[string]any{"room": room, "message": "rest"})
	if status != http.StatusTooManyRequests {
		return 0, fmt.Errorf("REST post: %d %s, want 429", status, body)
	}
	var d struct{ Detail string }
	if err := json.Unmarshal(body, &d); err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscanf(d.Detail, "Request was throttled. Expected available in %d seconds.", &n); err != nil {
		return 0, fmt.Errorf("429 detail %q: %v", d.Detail, err)
	}
	return n, nil
}

// TestWSMessageRateSharedByUsersSocketsAndREST gives one user a burst of
// three and a rate that refills one message every 100 s. The burst is
// spent on one socket; then a REST post is refused, with a wait that grows
// as each of the user's sockets queues a message behind the rate: every
// socket and REST draw from one allowance. Another user is not affected.
func TestWSMessageRateSharedByUsersSocketsAndREST(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MessageRate, c.MessageBurst = blockedRate, 3 })
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	a, b := ts.dial(t, u, room, ""), ts.dial(t, u, room, "")
	for i := range 3 {
		wsRoundTrip(t, a, "burst "+strconv.Itoa(i))
		b.messages(t, 1)
	}
	// Spent: REST waits for the next refill, in 100 s.
	if n, err := wsThrottledWait(t, ts, u, room); err != nil || !aboutWait(n, 100) {
		t.Fatalf("REST after the burst: wait %d (%v), want 100", n, err)
	}
	// A message on the second socket takes the next refill; REST now
	// waits for the one after it.
	b.send(t, "queued on b")
	wsEventually(t, wsReadTimeout, func() error {
		if n, err := wsThrottledWait(t, ts, u, room); err != nil || !aboutWait(n, 200) {
			return fmt.Errorf("REST with b waiting: wait %d (%v), want 200", n, err)
		}
		return nil
	})
	a.send(t, "queued on a")
	wsEventually(t, wsReadTimeout, func() error {
		if n, err := wsThrottledWait(t, ts, u, room); err != nil || !aboutWait(n, 300) {
			return fmt.Errorf("REST with a and b waiting: wait %d (%v), want 300", n, err)
		}
		return nil
	})
	// The rate is per user.
	v := ts.newUser(t, "v")
	if status, body := ts.rest(t, "POST", "/chat/v1/message/", v, map[string]any{"room": room, "message": "v"}); status != http.StatusCreated {
		t.Fatalf("another user's post: %d %s", status, body)
	}
}

// TestWSSocketWaitingForRateClosesOnShutdown: a socket whose reader waits
// for its rate (here, 100 s) still gets the shutdown's 1001 at once, and
// its reader ends, so shutdown does not wait for the rate.
func TestWSSocketWaitingForRateClosesOnShutdown(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MessageRate, c.MessageBurst = blockedRate, 1 })
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	wsRoundTrip(t, c, "the burst")
	c.send(t, "waits 100 s")
	wsEventually(t, wsReadTimeout, func() error {
		if n, err := wsThrottledWait(t, ts, u, room); err != nil || !aboutWait(n, 200) {
			return fmt.Errorf("wait %d (%v), want 200 once the socket's message is queued", n, err)
		}
		return nil
	})
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wsReadTimeout)
		defer cancel()
		stopped <- ts.srv.Shutdown(ctx)
	}()
	c.expectClose(t, websocket.CloseGoingAway)
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 0) })
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestWSSocketWaitingForRateIsNotIdle: a socket held back by its own rate
// for longer than the idle timeout is not closed as idle; its message is
// delivered when the rate allows.
func TestWSSocketWaitingForRateIsNotIdle(t *testing.T) {
	const idle = 300 * time.Millisecond
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) {
		c.MessageRate, c.MessageBurst = 1, 1 // the second message waits a second
		c.IdleTimeout, c.PingInterval = idle, idle/6
	})
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	c.send(t, "first")
	c.send(t, "second, a second later")
	got := c.messages(t, 2)
	if got[0].Message != "first" || got[1].Message != "second, a second later" {
		t.Fatalf("got %s, %s", got[0], got[1])
	}
	c.closeNormally(t)
}

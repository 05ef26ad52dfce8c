package api

import (
	"errors"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

// shortTTL is the access token lifetime of these tests. A token's exp is in
// whole seconds, so one issued with it lasts between one and two seconds.
const shortTTL = 2 * time.Second

func newShortTokenServer(t *testing.T) *wsTestServer {
	t.Helper()
	return newWSTestServer(t, func(c *Config, _ *actors.Config) { c.AccessTTL = shortTTL })
}

// longToken issues u an access token that outlives every test.
func (ts *wsTestServer) longToken(t testing.TB, u *wsUser) string {
	t.Helper()
	long := *ts.srv.tokens
	long.accessTTL = time.Hour
	token, _, err := long.issue(accessToken, u.id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// expectExpiry reads until the socket closes and checks that the server
// said token_expired and then closed with 4001.
func (c *wsClient) expectExpiry(t testing.TB) {
	t.Helper()
	sawError := false
	for {
		f, err := c.read(wsReadTimeout)
		if err == nil {
			if f.Type == "chat.error" && f.ErrorType == "token_expired" {
				sawError = true
			}
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 {
			t.Fatalf("%s: connection ended with %v, want close 4001", c.user.nickname, err)
		}
		if !sawError {
			t.Fatalf("%s: closed with 4001 without a token_expired chat.error first", c.user.nickname)
		}
		return
	}
}

// refreshFrame is the client's auth.refresh frame.
func refreshFrame(token string) map[string]any {
	return map[string]any{"type": "auth.refresh", "token": token}
}

// A socket's authority ends with its access token: the server says so and
// closes it with 4001, no earlier than the token's exp.
func TestWSTokenExpiryClosesSocket(t *testing.T) {
	ts := newShortTokenServer(t)
	alice := ts.newUser(t, "alice")
	claims, err := ts.srv.tokens.verify(alice.token, accessToken)
	if err != nil {
		t.Fatal(err)
	}
	room := ts.newRoom(t, alice)
	a := ts.dial(t, alice, room, "")
	wsRoundTrip(t, a, "while the token is good")
	a.expectExpiry(t)
	if now := time.Now(); now.Before(claims.ExpiresAt.Time) {
		t.Fatalf("closed at %v, before the token's exp %v", now, claims.ExpiresAt.Time)
	}
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 0) })
}

// auth.refresh with a newer access token of the same user keeps the socket
// open past the first token's expiry; a socket opened with the same first
// token and not refreshed is closed meanwhile.
func TestWSAuthRefreshExtendsSocket(t *testing.T) {
	ts := newShortTokenServer(t)
	alice := ts.newUser(t, "alice")
	room := ts.newRoom(t, alice)
	refreshed := ts.dial(t, alice, room, "")
	control := ts.dial(t, alice, room, "")
	refreshed.sendFrame(t, refreshFrame(ts.longToken(t, alice)))
	wsRoundTrip(t, refreshed, "refreshed") // the refresh was read before this

	control.expectExpiry(t)
	// The sweep that closed control has passed refreshed by now; a frame
	// sent after it is still answered (a chat.error or a close would fail).
	wsRoundTrip(t, refreshed, "still here")
}

// auth.refresh with anything but the socket's own user's access token is
// refused with chat.error and extends nothing: the socket still ends when
// its first token expires.
func TestWSAuthRefreshRefusesOtherTokens(t *testing.T) {
	ts := newShortTokenServer(t)
	alice, bob := ts.newUser(t, "alice"), ts.newUser(t, "bob")
	room := ts.newRoom(t, alice)
	a := ts.dial(t, alice, room, "")
	refresh, _, err := ts.srv.tokens.issue(refreshToken, alice.id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{
		"another user's access token": ts.longToken(t, bob),
		"a refresh token":             refresh,
		"a tampered token":            ts.longToken(t, alice) + "x",
		"not a token":                 "hello",
	} {
		a.sendFrame(t, refreshFrame(token))
		if f := a.next(t); f.Type != "chat.error" || f.ErrorType != "invalid_request" {
			t.Fatalf("auth.refresh with %s: got %s, want chat.error invalid_request", name, f)
		}
	}
	a.sendFrame(t, map[string]any{"type": "auth.refresh"})
	if f := a.next(t); f.Type != "chat.error" || f.ErrorType != "invalid_request" {
		t.Fatalf("auth.refresh without a token: got %s, want chat.error invalid_request", f)
	}
	a.expectExpiry(t)
}

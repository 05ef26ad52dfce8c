package main

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// The interactive client renews its access token before it expires and
// hands the new one to its open socket with auth.refresh: the socket
// outlives the token it was opened with, while a socket opened later with
// a token of the same lifetime, and never refreshed, is closed with 4001.
func TestClientRenewsSocketToken(t *testing.T) {
	base := startTestServerWith(t, func(c *serveConfig) { c.accessTTL = 2 * time.Second })
	setupDemo(t, base)
	one := startClient(t, "--user", "1", "--server", base)
	one.waitOutput(t, "* connected\n")

	ctx, cancel := context.WithTimeout(context.Background(), clientWait)
	defer cancel()
	other, err := newAPIClient(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.login(ctx, demoAccounts[1].email, demoPassword); err != nil {
		t.Fatal(err)
	}
	room, err := other.resolveRoom(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	control, _, err := websocket.DefaultDialer.DialContext(ctx, socketURL(other.base, room, other.access, -1, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	_ = control.SetReadDeadline(time.Now().Add(clientWait))
	for {
		_, _, err := control.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 {
			t.Fatalf("the unrefreshed socket ended with %v, want close 4001", err)
		}
		break
	}

	// The client's first token expired no later than control's.
	one.typeLine(t, "still here")
	one.waitOutput(t, "] 사용자1: still here\n")
	if out := one.out.String(); strings.Contains(out, "disconnected") || strings.Contains(out, "token_expired") {
		t.Fatalf("the client's socket did not outlive its first token:\n%s", out)
	}
}

func TestRenewInUsesTheTokenLifetime(t *testing.T) {
	tokens := func(iat, exp int64) string {
		return "e30." + base64URL(`{"iat":`+itoa(iat)+`,"exp":`+itoa(exp)+`}`) + ".sig"
	}
	received := time.Unix(5_000_000, 0)
	for _, tc := range []struct {
		token string
		want  time.Duration
	}{
		{tokens(100, 100+3600), 2699250 * time.Millisecond}, // ¾ of an hour less a second
		{tokens(100, 102), 750 * time.Millisecond},          // ¾ of (2 s − 1 s)
		{tokens(100, 101), 250 * time.Millisecond},          // a quarter at least
		{"not-a-token", renewRetry},
		{tokens(100, 90), renewRetry},
	} {
		c := &apiClient{access: tc.token, accessAt: received}
		if got := c.renewIn(received); got != tc.want {
			t.Errorf("renewIn(%s) = %v, want %v", tc.token, got, tc.want)
		}
	}
	c := &apiClient{access: tokens(100, 102), accessAt: received}
	if got := c.renewIn(received.Add(time.Hour)); got != 0 {
		t.Errorf("renewIn long after the token's renewal time = %v, want 0", got)
	}
}

func base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

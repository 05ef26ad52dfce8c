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

// wsRoundTrip checks that an open socket works: a message comes back.
func wsRoundTrip(t *testing.T, c *wsClient, text string) {
	t.Helper()
	c.send(t, text)
	if got := c.messages(t, 1)[0]; got.Message != text || got.Sender != c.user.email {
		t.Fatalf("echo %s, want %q from %s", got, text, c.user.email)
	}
}

func TestWSHandshakeTokenSources(t *testing.T) {
	const otherOrigin = "https://chat.example.com"
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.WSOrigins = []string{otherOrigin} })
	u := ts.newUser(t, "alice")
	room := ts.newRoom(t, u)
	self := "http://" + ts.addr
	cookie := func(origin string) http.Header {
		return http.Header{"Cookie": {"access_token=" + u.token}, "Origin": {origin}}
	}
	cases := []struct {
		name         string
		url          string
		header       http.Header
		subprotocols []string
		wantProto    string
	}{
		{name: "query", url: ts.wsURL(room, "token="+u.token)},
		{name: "bearer header", url: ts.wsURL(room, ""), header: http.Header{"Authorization": {"Bearer " + u.token}}},
		{name: "subprotocol", url: ts.wsURL(room, ""), subprotocols: []string{"bearer", u.token}, wantProto: "bearer"},
		{name: "cookie same origin", url: ts.wsURL(room, ""), header: cookie(self)},
		{name: "cookie configured origin", url: ts.wsURL(room, ""), header: cookie(otherOrigin)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := ts.dialWS(tc.url, tc.header, tc.subprotocols...)
			if err != nil {
				t.Fatalf("dial: %v (%s)", err, wsResponseBody(resp))
			}
			defer conn.Close()
			if got := conn.Subprotocol(); got != tc.wantProto {
				t.Errorf("subprotocol %q, want %q", got, tc.wantProto)
			}
			wsRoundTrip(t, &wsClient{conn: conn, user: u}, "hello via "+tc.name)
		})
	}
}

func TestWSHandshakeRefusals(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "bob")
	room := ts.newRoom(t, u)
	expired, _, err := newTokens(ts.srv.cfg.Secret, -time.Hour, -time.Hour).issue(accessToken, u.id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	refresh, _, err := ts.srv.tokens.issue(refreshToken, u.id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	base := "ws://" + ts.addr + "/ws/chat/"
	cases := []struct {
		name         string
		url          string
		header       http.Header
		subprotocols []string
		status       int
		tokenInvalid bool
		location     string
	}{
		{name: "no token", url: ts.wsURL(room, ""), status: 401},
		{name: "bad query token", url: ts.wsURL(room, "token=not-a-jwt"), status: 401, tokenInvalid: true},
		{name: "expired token", url: ts.wsURL(room, "token="+expired), status: 401, tokenInvalid: true},
		{name: "refresh token", url: ts.wsURL(room, "token="+refresh), status: 401, tokenInvalid: true},
		{name: "tampered token", url: ts.wsURL(room, "token="+u.token[:len(u.token)-2]+"xx"), status: 401, tokenInvalid: true},
		{name: "bad bearer header", url: ts.wsURL(room, ""), header: http.Header{"Authorization": {"Bearer nope"}}, status: 401, tokenInvalid: true},
		{name: "bad subprotocol token", url: ts.wsURL(room, ""), subprotocols: []string{"bearer", "nope"}, status: 401, tokenInvalid: true},
		{name: "foreign origin cookie", url: ts.wsURL(room, ""), header: http.Header{
			"Cookie": {"access_token=" + u.token}, "Origin": {"https://evil.example"}}, status: 403},
		{name: "cookie without origin", url: ts.wsURL(room, ""), header: http.Header{"Cookie": {"access_token=" + u.token}}, status: 403},
		{name: "unknown room", url: ts.wsURL(room+1000, "token="+u.token), status: 404},
		{name: "non-numeric room", url: base + "abc/chat/?token=" + u.token, status: 404},
		{name: "zero room", url: base + "0/chat/?token=" + u.token, status: 404},
		{name: "negative room", url: base + "-1/chat/?token=" + u.token, status: 404},
		{name: "signed room", url: base + "+" + strconv.FormatInt(room, 10) + "/chat/?token=" + u.token, status: 404},
		{name: "huge room", url: base + "99999999999999999999/chat/?token=" + u.token, status: 404},
		{name: "wrong tail", url: base + "1/other/?token=" + u.token, status: 404},
		{name: "no trailing slash", url: base + strconv.FormatInt(room, 10) + "/chat?token=" + u.token, status: 301,
			location: "/ws/chat/" + strconv.FormatInt(room, 10) + "/chat/?token=" + u.token},
		{name: "bad since", url: ts.wsURL(room, "token="+u.token+"&since=-3"), status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := ts.dialWS(tc.url, tc.header, tc.subprotocols...)
			if err == nil {
				conn.Close()
				t.Fatal("handshake succeeded, want a refusal")
			}
			if resp == nil {
				t.Fatalf("no HTTP response: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, wsResponseBody(resp), tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" {
				t.Errorf("refusal answered subprotocol %q", p)
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if tc.status != 400 {
				if d, _ := body["detail"].(string); d == "" {
					t.Errorf("body %v has no detail", body)
				}
			}
			if tc.tokenInvalid && body["code"] != "token_not_valid" {
				t.Errorf("body %v, want code token_not_valid", body)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
		})
	}
	if n := ts.srv.Connections(); n != 0 {
		t.Errorf("%d sockets open after refusals", n)
	}
}

package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// logBuffer collects log output from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// jsonLines decodes every line of a JSON log.
func (b *logBuffer) jsonLines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// findLine returns the first line with every key equal to its value
// (numbers compared as JSON numbers).
func findLine(lines []map[string]any, want map[string]any) map[string]any {
next:
	for _, l := range lines {
		for k, v := range want {
			if f, ok := v.(int); ok {
				v = float64(f)
			}
			if l[k] != v {
				continue next
			}
		}
		return l
	}
	return nil
}

// TestLogsNeverHoldSecrets drives everything that carries a credential
// (registration, login, a wrong password, a refresh, Bearer headers, a
// socket authenticated by ?token=, one by subprotocol, a bad token, a
// logout, a malformed request quoting a token) with debug logging in both
// formats, and checks that no token or password appears in the log while
// the access and socket lines are there with their fields.
func TestLogsNeverHoldSecrets(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf logBuffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			var h slog.Handler = slog.NewJSONHandler(&buf, opts)
			if format == "text" {
				h = slog.NewTextHandler(&buf, opts)
			}
			ts := newTestServer(t, func(c *Config) { c.Logger = slog.New(h) })
			secrets := driveCredentials(t, ts)
			waitForLog(t, &buf, "socket closed", 2)
			ts.close(t)
			out := buf.String()
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("the log holds a secret %.12q…:\n%s", s, out)
				}
			}
			if format != "json" {
				for _, want := range []string{`msg=http method=POST path=/user/v1/login/ route=/user/v1/login/ status=200`, "msg=\"socket opened\"", "msg=\"socket closed\""} {
					if !strings.Contains(out, want) {
						t.Errorf("no %q in the log:\n%s", want, out)
					}
				}
				return
			}
			lines := buf.jsonLines(t)
			for _, want := range []map[string]any{
				{"msg": "http", "method": "POST", "path": "/user/v1/register/", "status": 201},
				{"msg": "http", "method": "POST", "path": "/user/v1/login/", "status": 200},
				{"msg": "http", "method": "POST", "path": "/user/v1/login/", "status": 400, "reason": "wrong email or password"},
				{"msg": "http", "method": "GET", "path": "/user/v1/profile/", "status": 200, "route": "/user/v1/profile/"},
				{"msg": "http", "method": "GET", "path": "/chat/v1/room/1/messages/", "route": routeHistory, "status": 200},
				{"msg": "http", "method": "GET", "path": "/user/v1/profile/", "status": 401},
				{"msg": "http", "method": "GET", "path": "/ws/chat/1/chat/", "status": 401},
				{"msg": "http", "method": "POST", "path": "/user/v1/token/refresh/", "status": 200},
				{"msg": "socket opened", "room": 1},
				{"msg": "socket closed", "room": 1, "code": 1000, "by": "client"},
			} {
				if findLine(lines, want) == nil {
					t.Errorf("no log line with %v:\n%s", want, out)
				}
			}
			ok := findLine(lines, map[string]any{"msg": "http", "path": "/user/v1/profile/", "status": 200})
			if ok == nil || ok["user"] == nil || ok["remote"] != "127.0.0.1" || ok["dur"] == nil {
				t.Errorf("access line without user, remote or duration: %v", ok)
			}
			refused := findLine(lines, map[string]any{"msg": "http", "path": "/ws/chat/1/chat/", "status": 401})
			if r, _ := refused["reason"].(string); !strings.Contains(r, "token_not_valid") {
				t.Errorf("a refused socket's line does not say why: %v", refused)
			}
		})
	}
}

// driveCredentials makes every kind of request that carries a secret and
// returns the secrets used.
func driveCredentials(t *testing.T, ts *testServer) []string {
	t.Helper()
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "secrets", 0)
	bad := ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: map[string]string{"email": u.Email, "password": "not-the-password-42"}})
	expectStatus(t, bad, http.StatusBadRequest)
	expectStatus(t, ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: u.Access}), http.StatusOK)
	expectStatus(t, ts.do(t, req{Method: "GET", Path: "/chat/v1/room/" + strconv.FormatInt(room.ID, 10) + "/messages/?limit=5&token=" + u.Access, Token: u.Access}), http.StatusOK)
	forged := u.Access[:len(u.Access)-6] + "AAAAAA"
	expectStatus(t, ts.do(t, req{Method: "GET", Path: "/user/v1/profile/", Token: forged}), http.StatusUnauthorized)
	r := ts.do(t, req{Method: "POST", Path: "/user/v1/token/refresh/", Body: map[string]string{"refresh": u.Refresh}})
	expectStatus(t, r, http.StatusOK)
	var refreshed struct{ Access string }
	r.decode(t, &refreshed)

	wsURL := "ws://" + ts.addr + "/ws/chat/" + strconv.FormatInt(room.ID, 10) + "/chat/"
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if _, resp, err := d.Dial(wsURL+"?token="+forged, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("socket with a forged token: %v %v", err, resp)
	}
	viaQuery, _, err := d.Dial(wsURL+"?token="+u.Access, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Subprotocols = []string{"bearer", refreshed.Access}
	viaProtocol, _, err := d.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{viaQuery, viaProtocol} {
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		_ = c.Close()
	}
	// A malformed request that quotes a token: fasthttp may log its start.
	if c, err := net.Dial("tcp", ts.addr); err == nil {
		_, _ = c.Write([]byte("GET /chat/v1/room/?token=" + u.Access + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + u.Access + "\r\nBroken header line\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Read(make([]byte, 512))
		_ = c.Close()
	}
	out := ts.do(t, req{Method: "POST", Path: "/user/v1/logout/", Body: map[string]string{"refresh": u.Refresh}})
	expectStatus(t, out, http.StatusOK)
	return []string{u.Access, u.Refresh, refreshed.Access, forged, testPassword, "not-the-password-42",
		// the tokens' signatures alone, in case a line cut a token short
		u.Access[strings.LastIndexByte(u.Access, '.')+1:], u.Refresh[strings.LastIndexByte(u.Refresh, '.')+1:]}
}

// waitForLog waits until msg appears n times in the log.
func waitForLog(t testing.TB, buf *logBuffer, msg string, n int) {
	t.Helper()
	wsEventually(t, 5*time.Second, func() error {
		if got := strings.Count(buf.String(), msg); got < n {
			return fmt.Errorf("%d %q lines, want %d", got, msg, n)
		}
		return nil
	})
}

// TestRedactRemovesCredentials checks the filter of fasthttp's messages.
func TestRedactRemovesCredentials(t *testing.T) {
	tok := "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	in := `error when reading request headers: "GET /ws/chat/1/chat/?token=opaque-secret HTTP/1.1\r\nAuthorization: Bearer ` + tok + `\r\nCookie: access_token=xyz"`
	out := redact(in)
	for _, s := range []string{tok, "opaque-secret", "xyz", "c2lnbmF0dXJl"} {
		if strings.Contains(out, s) {
			t.Errorf("redact left %q in %q", s, out)
		}
	}
	if !strings.Contains(out, "error when reading request headers") {
		t.Errorf("redact removed the message: %q", out)
	}
}

// TestWarningsAreRateLimited checks that warnings a client can cause past
// the burst are demoted to info, and that the next allowed one says how
// many were.
func TestWarningsAreRateLimited(t *testing.T) {
	var buf logBuffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&buf, nil)), warnLimit: newLogLimiter()}
	for range warnBurst + 30 {
		s.logRateLimited(slog.LevelWarn, "socket closed")
	}
	lines := buf.jsonLines(t)
	warn, info := 0, 0
	for _, l := range lines {
		switch l["level"] {
		case "WARN":
			warn++
		case "INFO":
			info++
		}
	}
	if warn > warnBurst+2 || info < 28 {
		t.Fatalf("%d warnings, %d demoted to info; want at most about %d warnings", warn, info, warnBurst)
	}
	wsEventually(t, 2*time.Second, func() error {
		s.logRateLimited(slog.LevelWarn, "socket closed")
		last := buf.jsonLines(t)
		if l := last[len(last)-1]; l["level"] != "WARN" || l["demoted_since_last"] == nil {
			return fmt.Errorf("last line %v", l)
		}
		return nil
	})
}

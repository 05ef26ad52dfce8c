package api

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log destination that tests may read while the server
// writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A refused Host names the setting that admits it, in the body and in one
// warning however many requests are refused (a client can trigger it).
func TestRefusedHostSaysHowToAllowIt(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	ts := newTestServer(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	for range 5 {
		r := ts.do(t, req{Method: "GET", Path: "/chat/v1/room/", Host: "192.168.1.20:8000"})
		expectBody(t, r, http.StatusBadRequest,
			`{"detail":"Invalid HTTP_HOST header: '192.168.1.20:8000'. Add it to --allowed-hosts (ALLOWED_HOSTS)."}`)
	}
	var warnings []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "allowed-hosts") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `host=192.168.1.20:8000`) {
		t.Fatalf("want one warning naming the host, got %d:\n%s", len(warnings), logs.String())
	}
}

func TestLogThrottleHoldsBackAndCounts(t *testing.T) {
	var l logThrottle
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if ok, _ := l.allow(t0, hostWarnEvery); !ok {
		t.Fatal("first line held back")
	}
	for range 3 {
		if ok, _ := l.allow(t0.Add(hostWarnEvery/2), hostWarnEvery); ok {
			t.Fatal("line within the period let through")
		}
	}
	if ok, skipped := l.allow(t0.Add(hostWarnEvery), hostWarnEvery); !ok || skipped != 3 {
		t.Fatalf("after the period: ok %v skipped %d, want true 3", ok, skipped)
	}
}

// The chat page refuses to be framed and runs under a CSP without
// 'unsafe-inline' (the browser test proves the page works under it).
func TestChatPageHeaders(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, path := range []string{"/", "/static/app.js", "/static/style.css", "/static/missing.js"} {
		res, err := ts.client.Get(ts.url + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want DENY", path, got)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "style-src 'self'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-") {
			t.Errorf("%s: Content-Security-Policy %q allows unsafe code", path, csp)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
	}
}

// loginFrom logs u in with the given Origin header ("" for none), as JSON
// or as the HTML form a cross-site page would post.
func loginFrom(t *testing.T, ts *testServer, u *testUser, origin string, asForm bool) *response {
	t.Helper()
	r := req{Method: "POST", Path: "/user/v1/login/", Body: map[string]string{"email": u.Email, "password": testPassword}, Header: map[string]string{}}
	if asForm {
		r.Body = url.Values{"email": {u.Email}, "password": {testPassword}}.Encode()
		r.Header["Content-Type"] = "application/x-www-form-urlencoded"
	}
	if origin != "" {
		r.Header["Origin"] = origin
	}
	return ts.do(t, r)
}

// Login CSRF: a login whose answer would set the cookie is refused from a
// foreign Origin, and accepted from LiveChat's own, a configured one, or a
// request without an Origin (not a browser page).
func TestLoginRefusesForeignOrigin(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) {
		c.WSOrigins = []string{"https://chat.example"}
		c.CORSOrigins = []string{"*", "https://app.example"}
	})
	u := ts.newUser(t)
	for _, tc := range []struct {
		origin string
		asForm bool
	}{
		{"https://evil.example", true},
		{"https://evil.example", false},
		{"null", true},
		{"http://localhost.evil.example", false},
		{"http://" + ts.addr + ".evil.example", false},
	} {
		r := loginFrom(t, ts, u, tc.origin, tc.asForm)
		expectBody(t, r, http.StatusForbidden,
			`{"detail":"CSRF Failed: Origin checking failed - `+tc.origin+` does not match any trusted origins."}`)
		if c := r.Header.Get("Set-Cookie"); c != "" {
			t.Errorf("origin %s: refused login set a cookie: %s", tc.origin, c)
		}
	}
	for _, origin := range []string{"", "http://" + ts.addr, "https://" + ts.addr, "https://chat.example", "https://app.example"} {
		r := loginFrom(t, ts, u, origin, true)
		expectStatus(t, r, http.StatusOK)
		if !strings.HasPrefix(r.Header.Get("Set-Cookie"), "access_token=") {
			t.Errorf("origin %q: login set no access_token cookie", origin)
		}
	}
	// A page opened from disk sends Origin: null; naming it admits it.
	fromDisk := newTestServer(t, func(c *Config) { c.CORSOrigins = []string{"*", "null"} })
	expectStatus(t, loginFrom(t, fromDisk, fromDisk.newUser(t), "null", false), http.StatusOK)
}

package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"livechat/actors"
)

// rawHTTP is a client connection that writes requests as given and reads
// responses with net/http's parser.
type rawHTTP struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRawHTTP(t testing.TB, addr string) *rawHTTP {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wsReadTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawHTTP{conn: conn, r: bufio.NewReader(conn)}
}

// roundTrip writes raw and reads one response: its status and body.
func (c *rawHTTP) roundTrip(t testing.TB, raw string) (int, string) {
	t.Helper()
	_ = c.conn.SetDeadline(time.Now().Add(wsReadTimeout))
	if _, err := io.WriteString(c.conn, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	return c.response(t)
}

func (c *rawHTTP) response(t testing.TB) (int, string) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(body)
}

// TestBareLFRequestIsAnsweredAtOnce sends requests whose header lines end
// with a bare LF: each is answered 400 with a JSON detail at once, on a
// fresh connection and after a good request on a kept-alive one, while the
// header timeout is long. A body with blank lines is not mistaken for one.
func TestBareLFRequestIsAnsweredAtOnce(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.HeaderTimeout = time.Minute })
	const bare = "GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n"
	const want = `{"detail":"Malformed request: header lines must end with CRLF."}`

	status, body := dialRawHTTP(t, ts.addr).roundTrip(t, bare)
	if status != http.StatusBadRequest || body != want {
		t.Fatalf("bare LF on a new connection: %d %s", status, body)
	}
	status, body = dialRawHTTP(t, ts.addr).roundTrip(t, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\n\r\n")
	if status != http.StatusBadRequest || body != want {
		t.Fatalf("a bare LF before the blank line: %d %s", status, body)
	}

	c := dialRawHTTP(t, ts.addr)
	// Blank lines in a body are the body's business.
	post := "{\n\n\"email\": \"a@example.com\"\n\n}"
	status, body = c.roundTrip(t, "POST /user/v1/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(post))+post)
	if status != http.StatusBadRequest || !strings.Contains(body, `"password"`) {
		t.Fatalf("login with blank lines in its body: %d %s, want a field error", status, body)
	}
	if status, body = c.roundTrip(t, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); status != http.StatusOK {
		t.Fatalf("good request on the kept-alive connection: %d %s", status, body)
	}
	if status, body = c.roundTrip(t, bare); status != http.StatusBadRequest || body != want {
		t.Fatalf("bare LF on a kept-alive connection: %d %s", status, body)
	}
}

// TestHeaderTimeout leaves a request's headers unfinished: the server
// answers 408 once the header timeout passes. Headers sent in time are
// not cut off by it while their body is still arriving.
func TestHeaderTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.HeaderTimeout = timeout })

	slow := dialRawHTTP(t, ts.addr)
	_ = slow.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
	if _, err := io.WriteString(slow.conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
		t.Fatal(err)
	}
	if status, body := slow.response(t); status != http.StatusRequestTimeout || !strings.HasPrefix(body, `{"detail":`) {
		t.Fatalf("unfinished headers: %d %s, want 408", status, body)
	}

	c := dialRawHTTP(t, ts.addr)
	post := `{"email":"a@example.com"}`
	_ = c.conn.SetDeadline(time.Now().Add(wsReadTimeout))
	head := fmt.Sprintf("POST /user/v1/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n", len(post))
	if _, err := io.WriteString(c.conn, head+post[:5]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * timeout) // a client slow with its body, on purpose
	status, body := c.roundTrip(t, post[5:])
	if status != http.StatusBadRequest || !strings.Contains(body, `"password"`) {
		t.Fatalf("slow body: %d %s, want the login's field error", status, body)
	}
}

// TestConnsPerIPCap holds the cap's worth of connections from 127.0.0.1,
// a WebSocket among them: the next connection is answered 429 with a JSON
// detail and closed; closing the socket makes room for one more.
func TestConnsPerIPCap(t *testing.T) {
	const addrCap = 4
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MaxConnsPerIP = addrCap })
	expectConnCap(t, ts, addrCap, http.StatusTooManyRequests, `{"detail":"Too many connections from your address."}`)
}

// TestOpenConnsCap: the cap of all open connections (the open-file limit
// less the database's descriptors) holds idle REST keep-alive connections
// and sockets alike, answers the next one 503 at accept, and makes room
// again when one closes.
func TestOpenConnsCap(t *testing.T) {
	const openCap = 5
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MaxOpenConns = openCap })
	expectConnCap(t, ts, openCap, http.StatusServiceUnavailable,
		`{"detail":"The server has no room for another connection; try again later."}`)
}

// expectConnCap holds limit connections, a WebSocket among them (the
// caller's REST connections of making it are closed), checks that the next
// is answered status with body and closed, and that closing the socket
// makes room for one more.
func expectConnCap(t *testing.T, ts *wsTestServer, limit, status int, body string) {
	t.Helper()
	u := ts.newUser(t, "holder")
	room := ts.newRoom(t, u)
	sock := ts.dial(t, u, room, "")
	http.DefaultClient.CloseIdleConnections() // the kept-alive REST connections of the setup
	wsEventually(t, wsReadTimeout, func() error {
		if n := ts.srv.ln.open.Load(); n != 1 {
			return fmt.Errorf("%d connections open, want the socket's alone", n)
		}
		return nil
	})
	for range limit - 1 {
		if got, _ := dialRawHTTP(t, ts.addr).roundTrip(t, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); got != http.StatusOK {
			t.Fatalf("connection under the cap: %d", got)
		}
	}
	over := dialRawHTTP(t, ts.addr)
	gotStatus, gotBody := over.roundTrip(t, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if gotStatus != status || gotBody != body {
		t.Fatalf("connection over the cap: %d %s, want %d %s", gotStatus, gotBody, status, body)
	}
	_ = over.conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
	if _, err := over.r.ReadByte(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the refused connection stays open: %v", err)
	}

	sock.closeNormally(t)
	wsEventually(t, wsReadTimeout, func() error {
		c, err := net.DialTimeout("tcp", ts.addr, wsReadTimeout)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(wsReadTimeout))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("after the socket closed: %d", resp.StatusCode)
		}
		return nil
	})
}

// TestRefusedConnsBounded: connections refused over the per-address cap
// hold a descriptor only while they are among the few answered at once,
// lingering included; past those, one address connecting fast finds its
// connections closed bare, so it cannot hold descriptors beyond its cap.
func TestRefusedConnsBounded(t *testing.T) {
	const slots, extra = 3, 20
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newRetryListener(inner, slog.New(slog.DiscardHandler), 1, 0, func(string) {})
	l.refusing = make(chan struct{}, slots)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() }) // the one under the cap stays open
		}
	}()
	dialRawHTTP(t, l.Addr().String()) // the one under the cap
	var clients []*rawHTTP
	for range extra {
		clients = append(clients, dialRawHTTP(t, l.Addr().String()))
	}
	answered := 0
	for _, c := range clients {
		// Each client keeps its end open: a refused connection lingers
		// until its client closes or the lingering time passes.
		_ = c.conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
		if resp, err := http.ReadResponse(c.r, nil); err == nil {
			resp.Body.Close()
			answered++
		}
	}
	if answered > slots {
		t.Fatalf("%d refused connections were answered and lingered at once, want at most %d", answered, slots)
	}
}

// TestPipelinedBodyIsNotTakenForHeaders: a client that pipelines sends the
// head of its next request before the previous one is answered, and that
// request's body (here with a blank line, valid JSON whitespace) later.
// The body is not mistaken for a header block ended by a bare LF: every
// request on the connection is answered, the one after it too.
func TestPipelinedBodyIsNotTakenForHeaders(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	ts := newTestServer(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	c := dialRawHTTP(t, ts.addr)
	_ = c.conn.SetDeadline(time.Now().Add(wsReadTimeout))
	body := "{\n\n\"email\": \"nobody@example.com\", \"password\": \"wrong\"}"
	write := func(raw string) {
		if _, err := io.WriteString(c.conn, raw); err != nil {
			t.Fatal(err)
		}
	}
	write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
		"POST /user/v1/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	// fasthttp holds the first answer while the next request is buffered:
	// wait until the first request was handled, then send the body.
	wsEventually(t, wsReadTimeout, func() error {
		if !strings.Contains(logs.String(), "path=/healthz") {
			return errors.New("the first request is not handled yet")
		}
		return nil
	})
	write(body)
	if status, _ := c.response(t); status != http.StatusOK {
		t.Fatalf("first request: %d", status)
	}
	if status, got := c.response(t); status != http.StatusBadRequest || !strings.Contains(got, "Unable to log in") {
		t.Fatalf("pipelined login: %d %s", status, got)
	}
	if status, got := c.roundTrip(t, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); status != http.StatusOK {
		t.Fatalf("request after the pipelined one: %d %s", status, got)
	}
}

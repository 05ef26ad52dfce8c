package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseClientArgs(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		mode  string
		check func(clientOptions) bool
	}{
		{"bare uses demo user 1", nil, "interactive", func(o clientOptions) bool {
			return o.email == "user1@test.com" && o.password == demoPassword && o.server == defaultServerURL && o.room == 0
		}},
		{"user 2 and room", []string{"--user", "2", "--room", "7"}, "interactive", func(o clientOptions) bool {
			return o.email == "user2@test.com" && o.room == 7
		}},
		{"setup", []string{"--setup", "--server", "http://h:1"}, "setup", func(o clientOptions) bool {
			return o.server == "http://h:1"
		}},
		{"send with flags around the text", []string{"send", "--room", "1", "안녕 😀", "--user", "2", "again"}, "send", func(o clientOptions) bool {
			return o.text == "안녕 😀 again" && o.room == 1 && o.email == "user2@test.com"
		}},
		{"send after --", []string{"send", "--", "--not-a-flag"}, "send", func(o clientOptions) bool {
			return o.text == "--not-a-flag"
		}},
		{"tail", []string{"tail", "--room", "3", "--since", "0", "--count", "2", "--timeout", "5s"}, "tail", func(o clientOptions) bool {
			return o.room == 3 && o.since == 0 && o.count == 2 && o.timeout == 5*time.Second
		}},
		{"tail without since", []string{"tail"}, "tail", func(o clientOptions) bool { return o.since == -1 }},
		{"email and password", []string{"--email", "a@b.c", "--password", "pw123456"}, "interactive", func(o clientOptions) bool {
			return o.email == "a@b.c" && o.password == "pw123456"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode, opts, err := parseClientArgs(tt.args)
			if err != nil {
				t.Fatalf("parseClientArgs(%q): %v", tt.args, err)
			}
			if mode != tt.mode || !tt.check(opts) {
				t.Errorf("parseClientArgs(%q) = %q, %+v", tt.args, mode, opts)
			}
		})
	}
}

func TestParseClientArgsErrors(t *testing.T) {
	t.Setenv("LIVECHAT_PASSWORD", "")
	for _, args := range [][]string{
		{"--user", "3"},
		{"--user", "x"},
		{"--user", "1", "--email", "a@b.c", "--password", "p"},
		{"--email", "a@b.c"},
		{"--password", "p"},
		{"send", "--room", "1"},
		{"send", "  "},
		{"stray"},
		{"--since", "1"}, // tail only
		{"send", "--setup", "x"},
		{"tail", "--count", "-1"},
		{"--room", "-2"},
	} {
		if mode, opts, err := parseClientArgs(args); err == nil {
			t.Errorf("parseClientArgs(%q) = %q, %+v; want an error", args, mode, opts)
		}
	}
}

func TestPasswordFromEnvironment(t *testing.T) {
	t.Setenv("LIVECHAT_PASSWORD", "from-env-1")
	_, opts, err := parseClientArgs([]string{"--email", "a@b.c"})
	if err != nil || opts.password != "from-env-1" {
		t.Fatalf("got %+v, %v; want the password from LIVECHAT_PASSWORD", opts, err)
	}
}

func TestClientMainReportsOneLine(t *testing.T) {
	var out, errw bytes.Buffer
	code := clientMain(context.Background(), []string{"--user", "9"}, clientIO{in: strings.NewReader(""), out: &out, err: &errw})
	if code != 2 || strings.Count(errw.String(), "\n") != 1 || !strings.Contains(errw.String(), "--user") {
		t.Fatalf("code %d, stderr %q", code, errw.String())
	}
	code = clientMain(context.Background(), []string{"-h"}, clientIO{in: strings.NewReader(""), out: &out, err: &errw})
	if code != 0 || !strings.Contains(out.String(), "usage:") {
		t.Fatalf("-h: code %d, stdout %q", code, out.String())
	}
}

func TestServerAndSocketURLs(t *testing.T) {
	tests := []struct {
		server string
		since  int64
		want   string
	}{
		{"http://127.0.0.1:8000", 5, "ws://127.0.0.1:8000/ws/chat/3/chat/?since=5&token=a.b%2Bc"},
		{"127.0.0.1:8000/", -1, "ws://127.0.0.1:8000/ws/chat/3/chat/?token=a.b%2Bc"},
		{"https://chat.example.com/live/", 0, "wss://chat.example.com/live/ws/chat/3/chat/?since=0&token=a.b%2Bc"},
	}
	for _, tt := range tests {
		base, err := parseServerURL(tt.server)
		if err != nil {
			t.Fatalf("parseServerURL(%q): %v", tt.server, err)
		}
		if got := socketURL(base, 3, "a.b+c", tt.since, ""); got != tt.want {
			t.Errorf("socketURL(%q, since %d) = %q, want %q", tt.server, tt.since, got, tt.want)
		}
	}
	for _, bad := range []string{"ftp://h:1", "http://", "http://h:1/?x=1", "http://u:p@h:1"} {
		if _, err := parseServerURL(bad); err == nil {
			t.Errorf("parseServerURL(%q): want an error", bad)
		}
	}
	c, _ := newAPIClient("http://h:1/p/")
	if got := c.endpoint("/chat/v1/room/"); got != "http://h:1/p/chat/v1/room/" {
		t.Errorf("endpoint = %q", got)
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{400, `{"non_field_errors":["Unable to log in with provided credentials."]}`, "Unable to log in with provided credentials."},
		{401, `{"detail":"Given token not valid.","code":"token_not_valid"}`, "Given token not valid."},
		{400, `{"password1":["Too short."],"email":["Enter a valid email address."]}`, "email: Enter a valid email address.; password1: Too short."},
		{400, `{"message":"bare string"}`, "message: bare string"},
		{502, "<html>\nBad gateway</html>", "HTTP 502: <html>"},
		{503, "", "HTTP 503: Service Unavailable"},
	}
	for _, tt := range tests {
		if got := apiErrorText(tt.status, []byte(tt.body)); got != tt.want {
			t.Errorf("errorMessage(%d, %s) = %q, want %q", tt.status, tt.body, got, tt.want)
		}
	}
}

func TestJSONLine(t *testing.T) {
	if got := string(jsonLine([]byte("{\n \"a\": \"안녕\"\n}"))); got != `{"a":"안녕"}` {
		t.Errorf("jsonLine(object) = %s", got)
	}
	if got := string(jsonLine([]byte("not\njson"))); got != `"not\njson"` {
		t.Errorf("jsonLine(text) = %s", got)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	b := retryBackoff{min: 100 * time.Millisecond, max: time.Second}
	var last time.Duration
	for i := range 40 {
		d := b.next()
		if d < 90*time.Millisecond || d > 1100*time.Millisecond {
			t.Fatalf("attempt %d: %s out of bounds", i, d)
		}
		last = d
	}
	if last < 900*time.Millisecond {
		t.Errorf("after many attempts the delay is %s, want about the max", last)
	}
	b.reset()
	if d := b.next(); d > 110*time.Millisecond {
		t.Errorf("after reset the delay is %s, want about the min", d)
	}
}

// TestSocketDedupAndAck checks the replay bookkeeping without a network:
// a frame a replay repeats is dropped, and an echo clears its pending send.
func TestSocketDedupAndAck(t *testing.T) {
	api := &apiClient{user: apiUser{Email: "user1@test.com"}}
	s := newRoomSocket(api, 1, 4)
	s.events = make(chan socketEvent, 16)
	ctx := context.Background()
	byID := s.enqueue(ctx, "one")
	s.enqueue(ctx, "two")
	frames := []string{
		`{"type":"chat.message","message":"old","sender":"user2@test.com","seq":4}`,
		`{"type":"chat.message","message":"two","sender":"USER1@test.com","seq":5}`,
		`{"type":"chat.user.join","username":"사용자2"}`,
		`{"type":"chat.message","message":"x","sender":"user1@test.com","seq":6,"client_id":"` + byID.clientID + `"}`,
		`{"type":"chat.message","message":"two","sender":"user1@test.com","seq":5}`,
		`not json`,
	}
	for _, f := range frames {
		s.onFrame(ctx, []byte(f))
	}
	close(s.events)
	var got []string
	for ev := range s.events {
		got = append(got, ev.frame.Type+"/"+ev.frame.Message)
	}
	want := []string{"chat.message/two", "chat.user.join/", "chat.message/x", "/"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events %q, want %q", got, want)
	}
	if len(s.pending) != 0 || s.lastSeq != 6 {
		t.Errorf("pending %d, lastSeq %d; want 0 and 6", len(s.pending), s.lastSeq)
	}
}

func TestPrinter(t *testing.T) {
	var out bytes.Buffer
	p := &chatPrinter{w: &out, loc: time.UTC}
	p.frame(serverFrame{Type: "chat.message", Nickname: "사용자1", Message: "안녕 \x1b[31m😀", CreatedAt: "2026-11-25T20:11:03.412Z"})
	p.frame(serverFrame{Type: "chat.user.join", Username: "사용자2"})
	p.frame(serverFrame{Type: "chat.user.leave", Username: "사용자2"})
	p.frame(serverFrame{Type: "chat.error", ErrorType: "invalid_request", Message: "bad"})
	p.frame(serverFrame{Type: "chat.unknown"})
	want := "[20:11:03] 사용자1: 안녕 [31m😀\n* 사용자2 joined\n* 사용자2 left\n! error (invalid_request): bad\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

// The tests below run the client against a real server from startTestServer.

// clientWait bounds each wait on the server in these tests: generous, since
// two shared cores run the server, several clients and bcrypt.
const clientWait = 10 * time.Second

// eventually polls f until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clientOutput collects a client's output while the test reads it.
type clientOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *clientOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *clientOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testClient is one `livechat client` run in a goroutine.
type testClient struct {
	stdin    *io.PipeWriter
	out, err *clientOutput
	done     chan int
	cancel   context.CancelFunc
}

func startClient(t testing.TB, args ...string) *testClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	c := &testClient{stdin: w, out: &clientOutput{}, err: &clientOutput{}, done: make(chan int, 1), cancel: cancel}
	go func() { c.done <- clientMain(ctx, args, clientIO{in: r, out: c.out, err: c.err}) }()
	t.Cleanup(func() {
		cancel()
		w.Close()
		select {
		case <-c.done:
		case <-time.After(clientWait):
			t.Errorf("client %q did not exit", args)
		}
	})
	return c
}

func (c *testClient) typeLine(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		t.Fatalf("type %q: %v", line, err)
	}
}

func (c *testClient) waitOutput(t testing.TB, want string) {
	t.Helper()
	eventually(t, clientWait, func() error {
		if !strings.Contains(c.out.String(), want) {
			return fmt.Errorf("output has no %q:\n%s(stderr: %q)", want, c.out.String(), c.err.String())
		}
		return nil
	})
}

func (c *testClient) waitExit(t testing.TB) int {
	t.Helper()
	select {
	case code := <-c.done:
		c.done <- code // for the cleanup
		return code
	case <-time.After(clientWait):
		t.Fatalf("client did not exit; output:\n%s", c.out.String())
		return -1
	}
}

// runClientOnce runs a non-interactive mode to completion.
func runClientOnce(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*clientWait)
	defer cancel()
	var out, errw bytes.Buffer
	code = clientMain(ctx, args, clientIO{in: strings.NewReader(""), out: &out, err: &errw})
	return code, out.String(), errw.String()
}

func setupDemo(t testing.TB, base string) {
	t.Helper()
	if code, out, errs := runClientOnce(t, "--setup", "--server", base); code != 0 {
		t.Fatalf("setup: exit %d\n%s%s", code, out, errs)
	}
}

func TestClientSetupIsIdempotent(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	code, out, errs := runClientOnce(t, "--setup", "--server", base)
	if code != 0 || errs != "" {
		t.Fatalf("second setup: exit %d, stderr %q", code, errs)
	}
	if strings.Count(out, "already registered") != 2 || !strings.Contains(out, "already exists") {
		t.Errorf("second setup output:\n%s", out)
	}
	ctx := context.Background()
	for _, acc := range demoAccounts {
		c, _ := newAPIClient(base)
		if err := c.login(ctx, acc.email, demoPassword); err != nil {
			t.Fatalf("%s: %v", acc.email, err)
		}
		if c.user.Nickname != acc.nickname {
			t.Errorf("%s: nickname %q, want %q", acc.email, c.user.Nickname, acc.nickname)
		}
		rooms, err := c.listRooms(ctx)
		if err != nil || len(rooms) != 1 || rooms[0].Name != demoRoomName {
			t.Errorf("rooms %+v, %v; want the one demo room", rooms, err)
		}
	}
}

func TestClientTwoUsersChat(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	one := startClient(t, "--user", "1", "--server", base)
	one.waitOutput(t, "* connected\n")
	two := startClient(t, "--user", "2", "--server", base)
	two.waitOutput(t, "* connected\n")
	one.waitOutput(t, "* 사용자2 joined\n")

	one.typeLine(t, "안녕하세요 😀")
	two.waitOutput(t, "] 사용자1: 안녕하세요 😀\n")
	one.waitOutput(t, "] 사용자1: 안녕하세요 😀\n") // the sender's own echo
	two.typeLine(t, "반가워요 🎉👋🏽")
	one.waitOutput(t, "] 사용자2: 반가워요 🎉👋🏽\n")

	two.typeLine(t, "/quit")
	if code := two.waitExit(t); code != 0 {
		t.Fatalf("user 2 exit %d, stderr %q", code, two.err.String())
	}
	one.waitOutput(t, "* 사용자2 left\n")
	one.stdin.Close() // end of input leaves too
	if code := one.waitExit(t); code != 0 {
		t.Fatalf("user 1 exit %d, stderr %q", code, one.err.String())
	}
	if n := strings.Count(one.out.String(), "사용자1: 안녕하세요 😀"); n != 1 {
		t.Errorf("user 1 saw its message %d times:\n%s", n, one.out.String())
	}
	// A newcomer gets both messages as history.
	three := startClient(t, "--user", "1", "--server", base)
	three.waitOutput(t, "] 사용자2: 반가워요 🎉👋🏽\n* connected\n")
	three.typeLine(t, "quit")
	if code := three.waitExit(t); code != 0 || three.err.String() != "" {
		t.Fatalf("exit %d, stderr %q", code, three.err.String())
	}
}

func TestClientSendThenTail(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	c, _ := newAPIClient(base)
	if err := c.login(context.Background(), demoAccounts[0].email, demoPassword); err != nil {
		t.Fatal(err)
	}
	room, err := c.resolveRoom(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	roomArg := fmt.Sprint(room)
	const text = "스크립트에서 보냄 ✨"
	code, out, errs := runClientOnce(t, "send", "--room", roomArg, text, "--user", "2", "--server", base)
	if code != 0 || errs != "" {
		t.Fatalf("send: exit %d, stderr %q", code, errs)
	}
	var sent apiMessage
	if err := json.Unmarshal([]byte(out), &sent); err != nil || sent.Message != text || sent.Seq < 1 {
		t.Fatalf("send printed %q (%v)", out, err)
	}
	runClientOnce(t, "send", "--room", roomArg, "둘째", "--server", base)

	code, out, errs = runClientOnce(t, "tail", "--room", roomArg, "--since", "0", "--count", "2", "--timeout", "10s", "--server", base)
	if code != 0 || errs != "" {
		t.Fatalf("tail: exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("tail printed %d lines, want 2:\n%s", len(lines), out)
	}
	var got serverFrame
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("tail line %q: %v", lines[0], err)
	}
	if got.Type != "chat.message" || got.Message != text || got.Nickname != "사용자2" || got.Seq != sent.Seq {
		t.Errorf("tail frame %+v, want the sent message", got)
	}

	// Fewer frames than --count before --timeout is an error for scripts.
	code, _, errs = runClientOnce(t, "tail", "--room", roomArg, "--since", "0", "--count", "3", "--timeout", "500ms", "--server", base)
	if code != 1 || !strings.Contains(errs, "timed out") {
		t.Errorf("short tail: exit %d, stderr %q", code, errs)
	}
}

func TestClientQuitAndInterruptExitCleanly(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	watcher := startClient(t, "--user", "2", "--server", base)
	watcher.waitOutput(t, "* connected\n")

	for i, leave := range []func(*testClient){
		func(c *testClient) { c.typeLine(t, "quit") },
		func(c *testClient) { c.cancel() }, // what Ctrl-C does through runClient
	} {
		c := startClient(t, "--user", "1", "--server", base)
		c.waitOutput(t, "* connected\n")
		leave(c)
		if code := c.waitExit(t); code != 0 || c.err.String() != "" {
			t.Fatalf("leave %d: exit %d, stderr %q", i, code, c.err.String())
		}
		// A clean close is a leave the others see, once per client.
		eventually(t, clientWait, func() error {
			if n := strings.Count(watcher.out.String(), "* 사용자1 left\n"); n != i+1 {
				return fmt.Errorf("watcher saw %d leaves, want %d:\n%s", n, i+1, watcher.out.String())
			}
			return nil
		})
	}
}

func TestClientReportsServerErrors(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	code, _, errs := runClientOnce(t, "send", "hi", "--email", "user1@test.com", "--password", "wrong-password", "--server", base)
	if code != 1 || errs != "login failed: Unable to log in with provided credentials.\n" {
		t.Errorf("bad password: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runClientOnce(t, "--room", "999999", "--server", base)
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "room 999999") {
		t.Errorf("unknown room: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runClientOnce(t, "send", "--room", "999999", "hi", "--server", base)
	if code != 1 || !strings.HasPrefix(errs, "send failed: ") || strings.Count(errs, "\n") != 1 {
		t.Errorf("send to unknown room: exit %d, stderr %q", code, errs)
	}
}

// TestClientReconnectsWithoutLossOrDuplicates cuts the client's connection
// with a TCP relay that stays down while others keep talking, then checks
// that the client catches up from ?since and delivers what was typed meanwhile.
func TestClientReconnectsWithoutLossOrDuplicates(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	relay := startRelay(t, strings.TrimPrefix(base, "http://"))
	one := startClient(t, "--user", "1", "--server", "http://"+relay.addr())
	one.waitOutput(t, "* connected\n")
	one.typeLine(t, "끊기 전")
	one.waitOutput(t, "사용자1: 끊기 전\n")

	relay.setDown(true)
	one.waitOutput(t, "* disconnected: ")
	for _, text := range []string{"사이 1", "사이 2 🌧"} {
		if code, _, errs := runClientOnce(t, "send", text, "--user", "2", "--server", base); code != 0 {
			t.Fatalf("send: %s", errs)
		}
	}
	one.typeLine(t, "끊긴 동안 입력")
	relay.setDown(false)

	one.waitOutput(t, "* reconnected\n")
	one.waitOutput(t, "사용자1: 끊긴 동안 입력\n")
	out := one.out.String()
	for _, text := range []string{"사용자1: 끊기 전\n", "사용자2: 사이 1\n", "사용자2: 사이 2 🌧\n", "사용자1: 끊긴 동안 입력\n"} {
		if n := strings.Count(out, text); n != 1 {
			t.Errorf("%q shown %d times:\n%s", text, n, out)
		}
	}
	if strings.Index(out, "사이 2") > strings.Index(out, "끊긴 동안 입력") {
		t.Errorf("messages out of order:\n%s", out)
	}
}

// tcpRelay forwards connections to a server and can cut them all and refuse
// new ones, as a network outage does.
type tcpRelay struct {
	ln    net.Listener
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func startRelay(t testing.TB, target string) *tcpRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &tcpRelay{ln: ln}
	t.Cleanup(func() { ln.Close(); r.setDown(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.forward(c, target)
		}
	}()
	return r
}

func (r *tcpRelay) addr() string { return r.ln.Addr().String() }

func (r *tcpRelay) forward(c net.Conn, target string) {
	s, err := net.Dial("tcp", target)
	r.mu.Lock()
	if err != nil || r.down {
		r.mu.Unlock()
		c.Close()
		if s != nil {
			s.Close()
		}
		return
	}
	r.conns = append(r.conns, c, s)
	r.mu.Unlock()
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	_, _ = io.Copy(c, s)
	c.Close()
}

// setDown(true) cuts every relayed connection and refuses new ones.
func (r *tcpRelay) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
	if down {
		for _, c := range r.conns {
			c.Close()
		}
		r.conns = nil
	}
}

// TestSocketAckWithHiddenEmail: while the user hides their email, the
// echo's sender is "user-<id>", and it still clears the pending send.
func TestSocketAckWithHiddenEmail(t *testing.T) {
	api := &apiClient{user: apiUser{ID: 7, Email: "user7@test.com"}}
	s := newRoomSocket(api, 1, 4)
	s.events = make(chan socketEvent, 4)
	ctx := context.Background()
	s.enqueue(ctx, "hidden")
	s.onFrame(ctx, []byte(`{"type":"chat.message","message":"hidden","sender":"user-7","seq":5}`))
	if len(s.pending) != 0 {
		t.Errorf("the echo of a hidden sender left %d sends pending", len(s.pending))
	}
	s.enqueue(ctx, "spoof")
	s.onFrame(ctx, []byte(`{"type":"chat.message","message":"spoof","sender":"user-8","seq":6}`))
	if len(s.pending) != 1 {
		t.Errorf("another user's message cleared a pending send")
	}
}

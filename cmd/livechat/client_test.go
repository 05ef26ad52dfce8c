package main

import (
	"bytes"
	"context"
	"strings"
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
			return o.email == "user1@test.com" && o.password == demoPassword && o.server == defaultServer && o.room == 0
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
	code := clientMain(context.Background(), []string{"--user", "9"}, stdio{in: strings.NewReader(""), out: &out, err: &errw})
	if code != 2 || strings.Count(errw.String(), "\n") != 1 || !strings.Contains(errw.String(), "--user") {
		t.Fatalf("code %d, stderr %q", code, errw.String())
	}
	code = clientMain(context.Background(), []string{"-h"}, stdio{in: strings.NewReader(""), out: &out, err: &errw})
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
		if got := socketURL(base, 3, "a.b+c", tt.since); got != tt.want {
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
		if got := errorMessage(tt.status, []byte(tt.body)); got != tt.want {
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
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
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
	p := &printer{w: &out, loc: time.UTC}
	p.frame(serverFrame{Type: "chat.message", Nickname: "사용자1", Message: "안녕 \x1b[31m😀", CreatedAt: "2026-11-25T20:11:03.412Z"})
	p.frame(serverFrame{Type: "chat.user.join", Username: "사용자2"})
	p.frame(serverFrame{Type: "chat.user.leave", Username: "사용자2"})
	p.frame(serverFrame{Type: "chat.error", ErrorType: "invalid_request", Message: "bad"})
	p.frame(serverFrame{Type: "chat.unknown"})
	want := "[20:11:03] 사용자1: 안녕 \uFFFD[31m😀\n* 사용자2 joined\n* 사용자2 left\n! error (invalid_request): bad\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

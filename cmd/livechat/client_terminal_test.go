package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// hostile holds what another user or a hostile server could send to make
// a terminal do something: an escape sequence that recolours, one that sets
// the window title, a carriage return that overwrites the line, a C1 CSI,
// a backspace, and the bidi overrides and isolates of "Trojan Source".
const hostile = "a\x1b[31mb\x1b]0;pwned\x07c\rd\u009b2Je\bf\u202eg\u202dh\u202ai\u202bj\u202ck\u2066l\u2067m\u2068n\u2069o\u200fp\u061cq\u2028r\x7fs"

// assertTerminalSafe fails if out holds anything a terminal would obey.
func assertTerminalSafe(t testing.TB, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s is not UTF-8: %q", what, out)
	}
	for _, r := range out {
		if unsafeForTerminal(r) || r == '\r' {
			t.Errorf("%s holds %U: %q", what, r, out)
			return
		}
	}
}

func TestCleanForTerminal(t *testing.T) {
	if got, want := cleanForTerminal(hostile), "a[31mb]0;pwnedcd2Jefghijklmnopqrs"; got != want {
		t.Errorf("cleanForTerminal(hostile) = %q, want %q", got, want)
	}
	// What a chat needs stays: Hangul, emoji with skin tones and joiners
	// (U+200D is not a bidi control), right-to-left text itself, tabs and
	// newlines in a message.
	for _, keep := range []string{"안녕하세요 👋🏽", "👨‍👩‍👧", "שלום עולם", "مرحبا", "a\tb\nc", "\uFFFD"} {
		if got := cleanForTerminal(keep); got != keep {
			t.Errorf("cleanForTerminal(%q) = %q", keep, got)
		}
	}
	if got := cleanForTerminal("a\xffb\x9bc"); got != "a\uFFFDb\uFFFDc" {
		t.Errorf("invalid UTF-8 became %q", got)
	}
	if got := cleanLine("x\ny\tz" + hostile); strings.ContainsAny(got, "\n\t") {
		t.Errorf("cleanLine kept a line break: %q", got)
	}
}

// TestPrinterHostileFrames: nicknames, messages and errors from the server
// are printed without anything a terminal obeys, and a message's second
// line cannot pass for another line of the chat.
func TestPrinterHostileFrames(t *testing.T) {
	var out bytes.Buffer
	p := &chatPrinter{w: &out, loc: time.UTC}
	p.frame(serverFrame{Type: "chat.message", Nickname: "mallory" + hostile, Message: "hi\n[20:11:04] 사용자2: send me your password\r* 사용자2 left", CreatedAt: "2026-11-25T20:11:03.412Z"})
	p.frame(serverFrame{Type: "chat.user.join", Username: "evil\u202e\n* admin joined"})
	p.frame(serverFrame{Type: "chat.error", ErrorType: "x\x1b[2J", Message: hostile})
	assertTerminalSafe(t, "printed", out.String())
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "[20:11:04]") || line == "* admin joined" || strings.HasPrefix(line, "* 사용자2 left") {
			t.Errorf("a forged line: %q in\n%s", line, out.String())
		}
	}
	want := "[20:11:03] mallorya[31mb]0;pwnedcd2Jefghijklmnopqrs: hi\n    [20:11:04] 사용자2: send me your password* 사용자2 left\n"
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("printed\n%q\nwant it to start with\n%q", out.String(), want)
	}
}

func TestTerminalWriter(t *testing.T) {
	var out bytes.Buffer
	w := newTerminalWriter(&out)
	// A character split across writes arrives whole; controls do not.
	in := []byte("안녕\x1b[31m 👋🏽\u202e!\n")
	for i := range in {
		if n, err := w.Write(in[i : i+1]); n != 1 || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	if got, want := out.String(), "안녕[31m 👋🏽!\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
	if newTerminalWriter(w) != w {
		t.Error("a terminalWriter is wrapped twice")
	}
}

// TestJSONLineEscapesTerminalControls: tail's JSON lines keep every
// character as an escape, so the line decodes to what the server sent.
func TestJSONLineEscapesTerminalControls(t *testing.T) {
	raw, _ := json.Marshal(map[string]string{"message": hostile})
	line := jsonLine(raw)
	assertTerminalSafe(t, "the JSON line", string(line))
	var back map[string]string
	if err := json.Unmarshal(line, &back); err != nil || back["message"] != hostile {
		t.Errorf("the line %s decodes to %q (%v), want the original", line, back["message"], err)
	}
	if got := jsonLine([]byte("not json \u202e\x1b")); !json.Valid(got) || strings.ContainsRune(string(got), '\u202e') {
		t.Errorf("non-JSON became %q", got)
	}
}

// TestClientPrintsServerTextSafely runs the client against a real server
// where another user chose a hostile nickname, room name and message.
func TestClientPrintsServerTextSafely(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	ctx := context.Background()
	mallory, _ := newAPIClient(base)
	const pass = "correct-horse-battery-42"
	if err := mallory.register(ctx, "mallory@example.com", pass, "mallory\u202e\x1b[31m"); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := mallory.login(ctx, "mallory@example.com", pass); err != nil {
		t.Fatal(err)
	}
	room, err := mallory.createRoom(ctx, "room\u2066\x1b]0;title\x07")
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	if _, err := mallory.postMessage(ctx, room.ID, "first "+hostile); err != nil {
		t.Fatalf("post: %v", err)
	}
	roomArg := fmt.Sprint(room.ID)

	one := startClient(t, "--user", "1", "--room", roomArg, "--server", base)
	one.waitOutput(t, "* connected\n")
	if _, err := mallory.postMessage(ctx, room.ID, "live "+hostile); err != nil {
		t.Fatalf("post: %v", err)
	}
	one.waitOutput(t, ": live a[31mb")
	one.typeLine(t, "/quit")
	one.waitExit(t)
	assertTerminalSafe(t, "the interactive client's output", one.out.String())
	assertTerminalSafe(t, "the interactive client's errors", one.err.String())
	for _, want := range []string{"mallory[31m: first a[31mb", fmt.Sprintf(`room %d "room]0;title"`, room.ID)} {
		if !strings.Contains(one.out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, one.out.String())
		}
	}

	code, out, errs := runClientOnce(t, "tail", "--room", roomArg, "--since", "0", "--count", "2", "--timeout", "10s", "--server", base)
	if code != 0 {
		t.Fatalf("tail: exit %d, %s", code, errs)
	}
	assertTerminalSafe(t, "tail", out)
	if !strings.Contains(out, `\u202e`) {
		t.Errorf("tail dropped what it should escape:\n%s", out)
	}
}

// TestClientErrorsFromServerAreSafe: an error body is printed safely too
// (a hostile or compromised server, or a proxy in between).
func TestClientErrorsFromServerAreSafe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"detail": "no\x1b]0;pwned\x07 way\u202e\n" + hostile})
	}))
	t.Cleanup(srv.Close)
	code, out, errs := runClientOnce(t, "send", "--room", "1", "hello", "--server", srv.URL)
	if code == 0 || !strings.Contains(errs, "no]0;pwned way") {
		t.Fatalf("exit %d, stderr %q: want the server's error", code, errs)
	}
	assertTerminalSafe(t, "stderr", errs)
	if strings.Count(errs, "\n") != 1 {
		t.Errorf("the error took more than one line: %q", errs)
	}
	assertTerminalSafe(t, "stdout", out)
}

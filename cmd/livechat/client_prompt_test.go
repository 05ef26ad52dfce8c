package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// startTerminalClient runs the interactive client as on a terminal: line
// editing and the prompt, over pipes.
func startTerminalClient(t testing.TB, args ...string) *testClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	c := &testClient{stdin: w, out: &clientOutput{}, err: &clientOutput{}, done: make(chan int, 1), cancel: cancel}
	go func() {
		c.done <- clientMain(ctx, args, clientIO{in: r, out: c.out, err: c.err, tty: ttyEmulated})
	}()
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

// typeKeys sends keys without an end of line, as a user typing.
func (c *testClient) typeKeys(t testing.TB, keys string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, keys); err != nil {
		t.Fatalf("type %q: %v", keys, err)
	}
}

// TestClientShowsTypingAndKeepsThePrompt: a user typing in the terminal
// client is shown to the other as "… is typing…" (beside the prompt on a
// terminal, as a line on a pipe) without sending anything yet; a message
// arriving meanwhile prints above the prompt, which comes back with the
// unfinished line; the sent message shows once, and ends the indicator.
func TestClientShowsTypingAndKeepsThePrompt(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	one := startTerminalClient(t, "--user", "1", "--server", base)
	one.waitOutput(t, "* connected\n")
	// "connected" is the handshake; a socket's own message coming back
	// shows that the room has it (a typing frame is sent once, to the
	// sockets the room has then).
	two := startClient(t, "--user", "2", "--server", base)
	two.waitOutput(t, "* connected\n")
	two.typeLine(t, "준비")
	two.waitOutput(t, "] 사용자2: 준비\n")
	watcher := startTerminalClient(t, "--user", "2", "--server", base)
	watcher.waitOutput(t, "* connected\n")
	watcher.typeKeys(t, "준비됐어요\r")
	watcher.waitOutput(t, "] 사용자2: 준비됐어요\n")
	one.waitOutput(t, "* 사용자2 joined\n")

	one.typeKeys(t, "반가")
	two.waitOutput(t, "* 사용자1 is typing…\n")
	watcher.waitOutput(t, "(사용자1 is typing…) > ")
	if strings.Contains(two.out.String(), "반가") {
		t.Fatalf("the unfinished line reached the other user:\n%s", two.out.String())
	}

	// A message while the line is unfinished: printed, then the prompt
	// and the line are drawn again under it.
	two.typeLine(t, "먼저 말할게요")
	one.waitOutput(t, "] 사용자2: 먼저 말할게요\n")
	eventually(t, clientWait, func() error {
		out := one.out.String()
		if after := out[strings.LastIndex(out, "먼저 말할게요\n"):]; !strings.Contains(after, "> 반가") {
			return fmt.Errorf("prompt and line not redrawn after the message: %q", after)
		}
		return nil
	})

	one.typeKeys(t, "워요\r")
	two.waitOutput(t, "] 사용자1: 반가워요\n")
	one.waitOutput(t, "] 사용자1: 반가워요\n")
	// The message ended the indicator: the watcher's prompt is plain again.
	watcher.waitOutput(t, "사용자1: 반가워요")
	eventually(t, clientWait, func() error {
		if p := lastPrompt(watcher.out.String()); !strings.HasPrefix(p, "> ") {
			return fmt.Errorf("the indicator is still shown after the message: prompt %q", p)
		}
		return nil
	})
	one.typeKeys(t, "/quit\r")
	if code := one.waitExit(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, one.err.String())
	}
	if n := strings.Count(one.out.String(), "사용자1: 반가워요"); n != 1 {
		t.Errorf("the sender saw its message %d times, want once:\n%s", n, one.out.String())
	}
}

// lastPrompt is what readline drew last: the prompt and the line being
// edited, after its last erase-line sequence.
func lastPrompt(out string) string {
	out = out[strings.LastIndex(out, "\x1b[2K")+len("\x1b[2K"):]
	return strings.TrimLeft(out[strings.LastIndex(out, "\n")+1:], "\r")
}

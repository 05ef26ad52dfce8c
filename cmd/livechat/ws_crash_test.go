package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// wsCrashWait bounds every wait on the child server.
const wsCrashWait = 10 * time.Second

// wsCrashServer is a livechat serve child process.
type wsCrashServer struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	mu   *sync.Mutex
}

// wsCrashStart runs bin serve on a free port over data and waits until it
// answers.
func wsCrashStart(t *testing.T, bin, data string) *wsCrashServer {
	t.Helper()
	addr := freeLoopbackAddr(t)
	s := &wsCrashServer{addr: addr, logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	s.cmd = exec.Command(bin, "serve", "--addr", addr, "--data", data,
		"--message-rate", "1000", "--message-burst", "1000", "--bcrypt-cost", "4", "--login-rate", "100000", "--metrics-addr", "")
	s.cmd.Dir = t.TempDir() // no stray .env
	s.cmd.Stdout, s.cmd.Stderr = wsLockedWriter{s.mu, s.logs}, wsLockedWriter{s.mu, s.logs}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		if t.Failed() {
			s.mu.Lock()
			t.Logf("server %s log:\n%s", addr, s.logs)
			s.mu.Unlock()
		}
	})
	eventually(t, wsCrashWait, func() error {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return s
}

type wsLockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l wsLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// kill ends the server with SIGKILL: no shutdown, no flush.
func (s *wsCrashServer) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
}

// call makes a REST call and decodes the answer into out.
func (s *wsCrashServer) call(t *testing.T, method, path, token string, body, out any, want int) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, "http://"+s.addr+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: wsCrashWait}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// wsCrashMessage is a message as a socket or history shows it.
type wsCrashMessage struct {
	Type    string `json:"type"`
	ID      int64  `json:"id"`
	Seq     int64  `json:"seq"`
	Message string `json:"message"`
}

// wsCrashChatter sends on one socket continuously and keeps every message
// it receives until the connection breaks.
type wsCrashChatter struct {
	conn     *websocket.Conn
	mu       sync.Mutex
	received []wsCrashMessage
	done     chan struct{}
}

func (c *wsCrashChatter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.received)
}

func (c *wsCrashChatter) run(name string) {
	go func() {
		for i := 0; ; i++ {
			_ = c.conn.SetWriteDeadline(time.Now().Add(wsCrashWait))
			if c.conn.WriteJSON(map[string]string{"type": "chat.message", "message": name + "-" + strconv.Itoa(i)}) != nil {
				return
			}
			time.Sleep(2 * time.Millisecond) // pace, not wait: ~500 messages/s
		}
	}()
	go func() {
		defer close(c.done)
		for {
			_ = c.conn.SetReadDeadline(time.Now().Add(wsCrashWait))
			var m wsCrashMessage
			if c.conn.ReadJSON(&m) != nil {
				return
			}
			if m.Type == "chat.message" {
				c.mu.Lock()
				c.received = append(c.received, m)
				c.mu.Unlock()
			}
		}
	}()
}

// TestWSCrashKeepsDeliveredMessages kills a real livechat process with
// SIGKILL while socket clients chat, restarts it on the same data
// directory, and checks that every message any client received is in
// history with the same seq, id and text, and that history is gap-free.
func TestWSCrashKeepsDeliveredMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the livechat binary")
	}
	t0 := time.Now()
	dir := t.TempDir()
	bin := filepath.Join(dir, "livechat")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("%v: built", time.Since(t0))
	data := filepath.Join(dir, "data")
	srv := wsCrashStart(t, bin, data)

	var room struct{ ID int64 }
	var tokens []string
	for i := range 3 {
		email := fmt.Sprintf("crash%d@example.com", i)
		srv.call(t, "POST", "/user/v1/register/", "", map[string]string{
			"email": email, "password1": "correct-horse-9", "password2": "correct-horse-9", "nickname": "크래시" + strconv.Itoa(i)}, nil, 201)
		var login struct{ Access string }
		srv.call(t, "POST", "/user/v1/login/", "", map[string]string{"email": email, "password": "correct-horse-9"}, &login, 200)
		tokens = append(tokens, login.Access)
	}
	srv.call(t, "POST", "/chat/v1/room/", tokens[0], map[string]any{"name": "crash room"}, &room, 201)

	var chatters []*wsCrashChatter
	for _, tok := range tokens {
		url := "ws://" + srv.addr + "/ws/chat/" + strconv.FormatInt(room.ID, 10) + "/chat/?token=" + tok
		conn, _, err := (&websocket.Dialer{HandshakeTimeout: wsCrashWait}).Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		chatters = append(chatters, &wsCrashChatter{conn: conn, done: make(chan struct{})})
	}
	for i, c := range chatters { // every socket is open before anyone sends
		c.run("c" + strconv.Itoa(i))
	}
	eventually(t, wsCrashWait, func() error {
		for i, c := range chatters {
			if n := c.count(); n < 300 {
				return fmt.Errorf("client %d received %d messages", i, n)
			}
		}
		return nil
	})
	t.Logf("%v: killing", time.Since(t0))
	srv.kill(t)
	for _, c := range chatters {
		<-c.done
	}

	srv = wsCrashStart(t, bin, data)
	var history []wsCrashMessage
	for before := int64(0); ; {
		path := "/chat/v1/room/" + strconv.FormatInt(room.ID, 10) + "/messages/?limit=200"
		if before > 0 {
			path += "&before=" + strconv.FormatInt(before, 10)
		}
		var page []wsCrashMessage
		srv.call(t, "GET", path, tokens[0], nil, &page, 200) // the token outlives the crash
		history = append(page, history...)
		if len(page) < 200 || page[0].Seq == 1 {
			break
		}
		before = page[0].Seq
	}
	bySeq := make(map[int64]wsCrashMessage, len(history))
	for i, m := range history {
		if m.Seq != int64(i+1) {
			t.Fatalf("history has seq %d at position %d", m.Seq, i)
		}
		bySeq[m.Seq] = m
	}
	var maxID int64
	for i, c := range chatters {
		for k, m := range c.received {
			if m.Seq != int64(k+1) {
				t.Fatalf("client %d received seq %d as its message %d", i, m.Seq, k+1)
			}
			h, ok := bySeq[m.Seq]
			if !ok || h.ID != m.ID || h.Message != m.Message {
				t.Fatalf("client %d received seq %d id %d %q; history has %+v", i, m.Seq, m.ID, m.Message, h)
			}
			maxID = max(maxID, m.ID)
		}
	}

	// The restarted server goes on: next seq, a larger id.
	var next wsCrashMessage
	srv.call(t, "POST", "/chat/v1/message/", tokens[1], map[string]any{"message": "after the crash", "room": room.ID}, &next, 201)
	if next.Seq != int64(len(history)+1) || next.ID <= maxID {
		t.Fatalf("message after restart: seq %d id %d, want seq %d and an id above %d", next.Seq, next.ID, len(history)+1, maxID)
	}
	t.Logf("%d messages stored before the kill, clients received %d, %d, %d",
		len(history), len(chatters[0].received), len(chatters[1].received), len(chatters[2].received))
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCrashKeepsAcknowledgedMessages is the durability test: a real
// livechat process takes concurrent REST posts, is killed with SIGKILL while
// posts are in flight, and restarts on the same data directory. Every
// message it acknowledged (201) is in history with the same id, seq and
// text; seq is gap-free; accounts, rooms and the token secret survive.
func TestCrashKeepsAcknowledgedMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the livechat binary")
	}
	bin := buildLivechat(t, t.TempDir())
	// Both durability modes promise that a killed process loses nothing
	// it acknowledged; fsync also covers power loss, which a test cannot.
	for _, durability := range []string{"fsync", "os"} {
		t.Run("durability="+durability, func(t *testing.T) {
			crashAndRestart(t, bin, filepath.Join(t.TempDir(), "data"), "--durability", durability)
		})
	}
}

func crashAndRestart(t *testing.T, bin, data string, flags ...string) {
	srv := startLivechat(t, bin, data, flags...)
	c := newCrashClient(srv.url)
	alice := c.account(t, "alice@example.com", "앨리스")
	bob := c.account(t, "bob@example.com", "bob")
	room := c.createRoom(t, alice, map[string]any{"name": "durable", "post": 77})
	quiet := c.createRoom(t, bob, map[string]any{"name": "조용한 방"})
	rooms := c.get(t, alice, "/chat/v1/room/")

	// Concurrent posters, until the process dies under them.
	const workers = 8
	const killAfter = 300
	var (
		mu       sync.Mutex
		acked    []crashMessage
		failures []error
		inflight atomic.Int64
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				text := fmt.Sprintf("w%d-%d 메시지 ✓", w, i)
				inflight.Add(1)
				m, err := c.post(alice, room.ID, text)
				inflight.Add(-1)
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					acked = append(acked, m)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) > 0 {
			return fmt.Errorf("a post failed before the kill: %v", failures[0])
		}
		if len(acked) < killAfter {
			return fmt.Errorf("%d posts acknowledged, waiting for %d", len(acked), killAfter)
		}
		return nil
	})
	inflightAtKill := inflight.Load()
	srv.kill(t)
	wg.Wait()
	if len(failures) < workers {
		t.Fatalf("only %d of %d posters saw the server die", len(failures), workers)
	}
	t.Logf("killed with %d posts in flight after %d acknowledged", inflightAtKill, len(acked))

	oldHost := strings.TrimPrefix(srv.url, "http://")
	srv = startLivechat(t, bin, data, flags...)
	c = newCrashClient(srv.url)
	// chat_url follows the Host, and the port is new.
	rooms = bytes.ReplaceAll(rooms, []byte(oldHost), []byte(strings.TrimPrefix(srv.url, "http://")))
	// The secret is kept in the data directory: old tokens still verify.
	if got := c.get(t, alice, "/user/v1/profile/"); !bytes.Contains(got, []byte(`"앨리스"`)) {
		t.Errorf("profile after restart: %s", got)
	}
	c.login(t, "alice@example.com")
	c.login(t, "bob@example.com")
	if got := c.get(t, alice, "/chat/v1/room/"); !bytes.Equal(got, rooms) {
		t.Errorf("rooms after restart:\n%s\nbefore:\n%s", got, rooms)
	}

	hist := c.history(t, alice, room.ID)
	for i, m := range hist {
		if m.Seq != int64(i+1) || m.Room != room.ID {
			t.Fatalf("history[%d] has seq %d room %d: not gap-free 1..%d", i, m.Seq, m.Room, len(hist))
		}
		if i > 0 && m.ID <= hist[i-1].ID {
			t.Fatalf("ids do not increase with seq: %d then %d", hist[i-1].ID, m.ID)
		}
	}
	for _, a := range acked {
		if a.Seq < 1 || a.Seq > int64(len(hist)) {
			t.Errorf("acknowledged %+v is lost (history ends at seq %d)", a, len(hist))
			continue
		}
		if h := hist[a.Seq-1]; h.ID != a.ID || h.Message != a.Message || h.Sender != a.Sender || h.CreatedAt != a.CreatedAt {
			t.Errorf("acknowledged %+v, history has %+v", a, h)
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(hist))
	if n := len(c.history(t, bob, quiet.ID)); n != 0 {
		t.Errorf("the quiet room has %d messages", n)
	}

	// The room goes on from where it stopped, with a fresh id.
	next, err := c.post(bob, room.ID, "after the crash")
	if err != nil {
		t.Fatal(err)
	}
	var lastID int64
	if len(hist) > 0 {
		lastID = hist[len(hist)-1].ID
	}
	if next.Seq != int64(len(hist))+1 || next.ID <= lastID {
		t.Errorf("first message after restart %+v, want seq %d and an id above %d", next, len(hist)+1, lastID)
	}
	srv.stop(t)
}

// crashServer is a livechat serve child process.
type crashServer struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	state  *os.ProcessState
}

// buildLivechat builds the command into dir.
func buildLivechat(t testing.TB, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "livechat")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var servingAddr = regexp.MustCompile(`msg="livechat serving" addr=(\S+)`)

// startLivechat starts `livechat serve` with flags on a free port of 127.0.0.1 (the
// kernel picks it; the server logs it) and waits until it answers.
func startLivechat(t testing.TB, bin, data string, flags ...string) *crashServer {
	t.Helper()
	// Rates high enough that no test client is throttled (the REST posters
	// here, the bench accounts of BenchmarkIdleSocketMemory).
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--bcrypt-cost", "4", "--login-rate", "100000",
		"--message-rate", "100000", "--message-burst", "100000", "--register-rate", "100000", "--room-rate", "100000", "--metrics-addr", ""}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(bin) // no stray .env
	cmd.Env = cleanEnv()
	s := &crashServer{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = io.Discard, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start livechat: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		s.state = cmd.ProcessState
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("livechat log:\n%s", s.stderr.String())
		}
	})
	eventually(t, 15*time.Second, func() error {
		select {
		case <-s.done:
			t.Fatalf("livechat exited at start: %v\n%s", s.state, s.stderr.String())
		default:
		}
		m := servingAddr.FindStringSubmatch(s.stderr.String())
		if m == nil {
			return errors.New("livechat has not logged its address")
		}
		s.url = "http://" + m[1]
		res, err := http.Get(s.url + "/healthz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz: %d", res.StatusCode)
		}
		return nil
	})
	return s
}

// cleanEnv is the environment without LiveChat's settings, so that the
// child runs with its defaults whatever the developer's shell sets.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LIVECHAT_") || name == "SECRET_KEY" || name == "ALLOWED_HOSTS" || name == "DEBUG" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// kill sends SIGKILL and waits for the process to die of it.
func (s *crashServer) kill(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	s.wait(t, 10*time.Second)
	if ws, ok := s.state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("livechat did not die of SIGKILL: %v", s.state)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (s *crashServer) stop(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	s.wait(t, 20*time.Second)
	if !s.state.Success() {
		t.Errorf("livechat exited with %v after SIGTERM\n%s", s.state, s.stderr.String())
	}
}

func (s *crashServer) wait(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(d):
		t.Fatalf("livechat still running %v after a signal", d)
	}
}

// lockedBuffer is a bytes.Buffer safe for the process's writer and the
// test's readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// crashClient is a plain JSON client of the REST API.
type crashClient struct {
	base string
	http *http.Client
}

type crashAccount struct{ email, access string }

type crashRoom struct {
	ID int64 `json:"id"`
}

type crashMessage struct {
	ID        int64  `json:"id"`
	Room      int64  `json:"room"`
	Seq       int64  `json:"seq"`
	Sender    string `json:"sender"`
	Message   string `json:"message"`
	CreatedAt string `json:"created_at"`
}

const crashPassword = "durable-password-1"

func newCrashClient(base string) *crashClient {
	return &crashClient{base: base, http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16},
	}}
}

// do sends a JSON request and returns the status and body.
func (c *crashClient) do(method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// must is do for requests that have to answer want.
func (c *crashClient) must(t testing.TB, want int, method, path, token string, body, out any) []byte {
	t.Helper()
	status, b, err := c.do(method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return b
}

func (c *crashClient) account(t testing.TB, email, nickname string) crashAccount {
	t.Helper()
	c.must(t, http.StatusCreated, "POST", "/user/v1/register/", "",
		map[string]string{"email": email, "password1": crashPassword, "password2": crashPassword, "nickname": nickname}, nil)
	return crashAccount{email: email, access: c.login(t, email)}
}

func (c *crashClient) login(t testing.TB, email string) string {
	t.Helper()
	var out struct{ Access string }
	c.must(t, http.StatusOK, "POST", "/user/v1/login/", "", map[string]string{"email": email, "password": crashPassword}, &out)
	return out.Access
}

func (c *crashClient) createRoom(t testing.TB, a crashAccount, body map[string]any) crashRoom {
	t.Helper()
	var r crashRoom
	c.must(t, http.StatusCreated, "POST", "/chat/v1/room/", a.access, body, &r)
	return r
}

func (c *crashClient) get(t testing.TB, a crashAccount, path string) []byte {
	t.Helper()
	return c.must(t, http.StatusOK, "GET", path, a.access, nil, nil)
}

// post sends one message; only a 201 counts as acknowledged.
func (c *crashClient) post(a crashAccount, room int64, text string) (crashMessage, error) {
	var m crashMessage
	status, b, err := c.do("POST", "/chat/v1/message/", a.access, map[string]any{"room": room, "message": text})
	if err != nil {
		return m, err
	}
	if status != http.StatusCreated {
		return m, fmt.Errorf("post: %d %s", status, b)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	if m.Message != text || m.Room != room {
		return m, fmt.Errorf("post %q answered %+v", text, m)
	}
	return m, nil
}

// history pages back through a room's whole history, oldest first.
func (c *crashClient) history(t testing.TB, a crashAccount, room int64) []crashMessage {
	t.Helper()
	var all []crashMessage
	query := "?limit=200"
	for {
		var page []crashMessage
		c.must(t, http.StatusOK, "GET", fmt.Sprintf("/chat/v1/room/%d/messages/%s", room, query), a.access, nil, &page)
		if len(page) == 0 {
			return all
		}
		all = append(page, all...)
		query = fmt.Sprintf("?limit=200&before=%d", page[0].Seq)
	}
}

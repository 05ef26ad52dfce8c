package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// mountTmpfs mounts a tmpfs of size (e.g. "24m") on a new directory and
// unmounts it when the test ends: a small tmpfs is a disk that really
// fills. It needs root (CI runs as root); anywhere else the test is
// skipped, saying so loudly.
func mountTmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("SKIPPED, FULL-DISK BEHAVIOUR NOT TESTED: cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// startDataServer runs a real server in-process on dataDir and returns its
// URL and a function that stops it (also called when the test ends).
func startDataServer(t testing.TB, dataDir string, configure func(*serveConfig)) (string, func()) {
	t.Helper()
	cfg, err := parseServeFlags([]string{"-addr", "127.0.0.1:0", "-data", dataDir, "-bcrypt-cost", "4", "-login-rate", "100000"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.messageRate, cfg.messageBurst = 100_000, 100_000
	if configure != nil {
		configure(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- serve(ctx, cfg, log, func(a net.Addr) { addrc <- a }) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("server did not shut down in 30s")
		}
	}
	select {
	case a := <-addrc:
		t.Cleanup(stop)
		return "http://" + a.String(), stop
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("server did not start in 10s")
	}
	return "", nil
}

// fillVolume writes a file in dir until at most leave bytes are free on
// its volume, and returns the file.
func fillVolume(t testing.TB, dir string, leave uint64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		free := st.Bavail * uint64(st.Bsize)
		if free <= leave {
			return path
		}
		n := min(uint64(len(chunk)), max(free-leave, 4096))
		if _, err := f.Write(chunk[:n]); errors.Is(err, syscall.ENOSPC) {
			return path
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// freeLoopbackAddr is a loopback address with a port free a moment ago,
// for a listener whose bound address the test cannot learn otherwise.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

const storageFullBody = `{"detail":"Storage is full."}`

// TestStorageFullOnTmpfs fills a real 24 MiB volume through the REST API
// with 4 KB messages. The server never dies: past the reserve every write
// answers 507 (messages, registration, room creation, logout) and a
// socket gets chat.error storage_full and stays open, while every read
// works (login, room details, history) and holds every message that was
// answered 201. /readyz says 503. When space is freed, writes resume by
// themselves; a restart on a volume filled to the last byte serves
// read-only instead of crashing.
func TestStorageFullOnTmpfs(t *testing.T) {
	vol := mountTmpfs(t, "24m")
	// Something else's file on the volume, deleted later to free space.
	ballast := filepath.Join(vol, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(vol, "data")
	const reserve = 6 << 20
	metricsAddr := freeLoopbackAddr(t)
	url, stop := startDataServer(t, data, func(c *serveConfig) { c.storageReserve, c.metricsAddr = reserve, metricsAddr })
	c := newCrashClient(url)
	alice := c.account(t, "alice@example.com", "앨리스")
	room := c.createRoom(t, alice, map[string]any{"name": "full"})
	var logins struct{ Refresh string }
	c.must(t, http.StatusOK, "POST", "/user/v1/login/", "", map[string]string{"email": alice.email, "password": crashPassword}, &logins)
	c.must(t, http.StatusOK, "GET", "/readyz", "", nil, nil)

	// Four posters, each until it has seen five refusals in a row.
	var (
		mu      sync.Mutex
		acked   []crashMessage
		refused int
		wg      sync.WaitGroup
		failed  = make(chan error, 4)
	)
	for w := range 4 {
		wg.Go(func() {
			for i, inARow := 0, 0; inARow < 5; i++ {
				if i > 10_000 {
					failed <- fmt.Errorf("poster %d: %d messages stored on a 24 MiB volume and none refused", w, i)
					return
				}
				text := fmt.Sprintf("%d-%06d ", w, i) + randomText(t, 3990)
				status, body, err := c.do("POST", "/chat/v1/message/", alice.access, map[string]any{"room": room.ID, "message": text})
				if err != nil {
					failed <- fmt.Errorf("poster %d, post %d: %v (is the server alive?)", w, i, err)
					return
				}
				mu.Lock()
				switch {
				case status == http.StatusCreated:
					var m crashMessage
					err = json.Unmarshal(body, &m)
					acked = append(acked, m)
					inARow = 0
				case status == http.StatusInsufficientStorage && string(body) == storageFullBody:
					refused++
					inARow++
				default:
					err = fmt.Errorf("poster %d, post %d: %d %s", w, i, status, body)
				}
				mu.Unlock()
				if err != nil {
					failed <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(failed)
	for err := range failed {
		t.Fatal(err)
	}
	slices.SortFunc(acked, func(a, b crashMessage) int { return cmp.Compare(a.Seq, b.Seq) })
	t.Logf("24 MiB tmpfs, reserve %d MiB: %d posts of 4 KB answered 201, %d answered 507 (4 posters, each stopping after 5 refusals in a row)", reserve>>20, len(acked), refused)

	// Other writes are refused the same way.
	for _, w := range []struct{ path, token string }{
		{"/user/v1/register/", ""}, {"/chat/v1/room/", alice.access}, {"/user/v1/logout/", ""},
	} {
		body := map[string]any{"email": "bob@example.com", "password1": crashPassword, "password2": crashPassword, "nickname": "bob",
			"name": "another", "refresh": logins.Refresh}
		status, b, err := c.do("POST", w.path, w.token, body)
		if err != nil || status != http.StatusInsufficientStorage || string(b) != storageFullBody {
			t.Fatalf("POST %s on a full volume: %d %s %v, want 507 %s", w.path, status, b, err, storageFullBody)
		}
	}
	if status, b, _ := c.do("GET", "/readyz", "", nil); status != http.StatusServiceUnavailable {
		t.Fatalf("readyz on a full volume: %d %s, want 503", status, b)
	}

	// A socket is told, and stays open; its refusals are counted as the
	// REST ones are.
	storageRefusals := func() float64 {
		v, _ := metricValue(scrape(t, "http://"+metricsAddr+"/metrics")["livechat_refusals_total"], map[string]string{"kind": "storage_full"})
		return v
	}
	before := storageRefusals()
	ws := dialRoom(t, url, room.ID, alice.access)
	for range 2 {
		if err := ws.WriteJSON(map[string]string{"type": "chat.message", "message": "hello?"}); err != nil {
			t.Fatal(err)
		}
		if f := readFrame(t, ws); f["type"] != "chat.error" || f["error_type"] != "storage_full" {
			t.Fatalf("socket frame on a full volume: %v, want chat.error storage_full", f)
		}
	}
	if after := storageRefusals(); after != before+2 {
		t.Errorf("livechat_refusals_total{kind=\"storage_full\"} went from %v to %v over two refused socket messages, want +2", before, after)
	}

	// Every read works and every acknowledged message is there.
	c.login(t, alice.email)
	c.get(t, alice, fmt.Sprintf("/chat/v1/room/%d/", room.ID))
	checkHistory(t, c.history(t, alice, room.ID), acked)

	// Space returns: writes resume by themselves, the socket included.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		m, err := c.post(alice, room.ID, "space again")
		if err == nil {
			acked = append(acked, m)
		}
		return err
	})
	if f := readFrame(t, ws); f["type"] != "chat.message" || f["message"] != "space again" {
		t.Fatalf("socket after space returned: %v, want the new message", f)
	}
	c.must(t, http.StatusOK, "GET", "/readyz", "", nil, nil)
	_ = ws.Close()
	stop()

	// A restart on a volume filled to the last byte serves read-only.
	fillVolume(t, vol, 0)
	url, _ = startDataServer(t, data, func(c *serveConfig) { c.storageReserve = reserve })
	c = newCrashClient(url)
	alice.access = c.login(t, alice.email)
	checkHistory(t, c.history(t, alice, room.ID), acked)
	if status, b, _ := c.do("POST", "/chat/v1/message/", alice.access, map[string]any{"room": room.ID, "message": "no room"}); status != http.StatusInsufficientStorage {
		t.Fatalf("post after a restart on a full volume: %d %s, want 507", status, b)
	}
	if status, b, _ := c.do("GET", "/readyz", "", nil); status != http.StatusServiceUnavailable {
		t.Fatalf("readyz after a restart on a full volume: %d %s, want 503", status, b)
	}
}

// checkHistory fails unless history holds exactly the acknowledged
// messages, with seqs 1, 2, 3… (a refused message took no seq).
func checkHistory(t testing.TB, history, acked []crashMessage) {
	t.Helper()
	if len(history) != len(acked) {
		t.Fatalf("history holds %d messages, %d were acknowledged", len(history), len(acked))
	}
	for i, m := range acked {
		h := history[i]
		if h.Seq != int64(i+1) {
			t.Fatalf("history[%d] has seq %d: a gap", i, h.Seq)
		}
		if h.ID != m.ID || h.Seq != m.Seq || h.Message != m.Message {
			t.Fatalf("history[%d] = id %d seq %d, acknowledged id %d seq %d", i, h.ID, h.Seq, m.ID, m.Seq)
		}
	}
}

func randomText(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)[:n]
}

func dialRoom(t testing.TB, base string, room int64, token string) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/ws/chat/" + strconv.FormatInt(room, 10) + "/chat/?token=" + token
	conn, _, err := (&websocket.Dialer{HandshakeTimeout: 5 * time.Second}).Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// readFrame reads the next JSON frame, within 5 s.
func readFrame(t testing.TB, conn *websocket.Conn) map[string]any {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f map[string]any
	if err := conn.ReadJSON(&f); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

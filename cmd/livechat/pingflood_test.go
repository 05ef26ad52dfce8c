package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rssLimit is what one socket flooding pings may add to the server's
// resident memory.
const rssLimit = 64 << 20

// TestPingFloodMemoryBounded floods pings from one socket that never
// reads, against a `livechat serve` child. With the default ping limit
// the socket is closed with 1008; with pings unlimited it is answered, one
// pong pending at most. Either way the server's RSS grows by less than
// 64 MiB, and so it does when eight sockets flood empty pings and come
// back each time they are closed.
func TestPingFloodMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the livechat binary")
	}
	bin := buildLivechat(t, t.TempDir())
	t.Run("limit=default", func(t *testing.T) {
		f := runPingFlood(t, bin, 2*time.Second)
		if code, err := readCloseCode(f.conn); code != 1008 {
			t.Errorf("after %d pings: close code %d (%v), want 1008", f.sent, code, err)
		}
		f.checkRSS(t)
	})
	t.Run("limit=none", func(t *testing.T) {
		f := runPingFlood(t, bin, 2*time.Second, "--client-ping-rate", "1e9", "--client-ping-burst", "1000000000")
		f.checkRSS(t)
	})
	// Eight sockets of empty pings, the cheapest frames to read: the over-
	// rate ones are counted on the readers, not queued for an actor each.
	t.Run("limit=default/sockets=8/empty", func(t *testing.T) {
		f := runFloods(t, bin, 2*time.Second, 8, pings(0))
		f.checkRSS(t)
	})
}

// TestReadFloodMemoryBounded floods chat.read frames from eight sockets:
// past --read-rate the reader holds the highest mark instead of queueing
// each for the session actor, so the server's RSS grows by less than
// 64 MiB.
func TestReadFloodMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the livechat binary")
	}
	bin := buildLivechat(t, t.TempDir())
	f := runFloods(t, bin, 2*time.Second, 8, func(conn net.Conn, d time.Duration) int {
		return floodFrames(conn, d, 0x81, []byte(`{"type":"chat.read","seq":1}`))
	})
	f.checkRSS(t)
}

// BenchmarkPingFloodRSS floods pings for 15 s from one socket that never
// reads and reports the server's RSS growth in MiB: with the default ping
// limit (the socket is closed with 1008 at once, and its pings are read
// and dropped until the close times out) and with pings unlimited (every
// one is answered, one pong pending at most).
func BenchmarkPingFloodRSS(b *testing.B) {
	bin := buildLivechat(b, b.TempDir())
	for _, bc := range []struct {
		name  string
		flags []string
	}{
		{"limit=default", nil},
		{"limit=none", []string{"--client-ping-rate", "1e9", "--client-ping-burst", "1000000000"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const flood = 15 * time.Second
			var f pingFlood
			for b.Loop() {
				f = runPingFlood(b, bin, flood, bc.flags...)
			}
			b.ReportMetric(float64(f.peakRSS-f.startRSS)/(1<<20), "rss-growth-MiB")
			b.ReportMetric(float64(f.sent)/f.flooded.Seconds(), "pings/s")
			b.ReportMetric(f.flooded.Seconds(), "flood-s")
		})
	}
}

// pingFlood is what one flood did to the server.
type pingFlood struct {
	conn              net.Conn // the flooding socket, for what the server sent
	sent              int
	flooded           time.Duration // until d passed or the server closed the connection
	startRSS, peakRSS int64
}

func (f pingFlood) checkRSS(t testing.TB) {
	t.Helper()
	growth := f.peakRSS - f.startRSS
	t.Logf("%d pings; server RSS %d MiB -> peak %d MiB", f.sent, f.startRSS>>20, f.peakRSS>>20)
	if growth >= rssLimit {
		t.Errorf("server RSS grew by %d MiB, limit %d MiB", growth>>20, rssLimit>>20)
	}
}

// runPingFlood starts a server with flags, opens a socket and writes
// pings on it for d without reading, sampling the server's RSS.
func runPingFlood(t testing.TB, bin string, d time.Duration, flags ...string) pingFlood {
	t.Helper()
	return runFloods(t, bin, d, 1, pings(125), flags...)
}

// pings floods masked pings of size bytes (at most 125).
func pings(size int) func(net.Conn, time.Duration) int {
	return func(conn net.Conn, d time.Duration) int {
		return floodFrames(conn, d, 0x89, bytes.Repeat([]byte{'p'}, size))
	}
}

// runFloods is runPingFlood from sockets sockets at once, each writing
// what flood writes; every socket but the first reconnects when it is
// closed, until d passes. The pingFlood's conn is the first socket's, sent
// the sum.
func runFloods(t testing.TB, bin string, d time.Duration, sockets int, flood func(net.Conn, time.Duration) int, flags ...string) pingFlood {
	t.Helper()
	srv := startLivechat(t, bin, t.TempDir(), append([]string{"--in-memory"}, flags...)...)
	c := newCrashClient(srv.url)
	u := c.account(t, "pinger@example.com", "pinger")
	room := c.createRoom(t, u, map[string]any{"name": "pings"})
	conns := make([]net.Conn, sockets)
	for i := range conns {
		conns[i] = rawSocket(t, strings.TrimPrefix(srv.url, "http://"), room.ID, u.access)
	}

	var f pingFlood
	var err error
	if f.startRSS, err = processRSS(srv.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int64
	peak.Store(f.startRSS)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, err := processRSS(srv.cmd.Process.Pid); err == nil && rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	sent := make(chan int, sockets)
	for i, conn := range conns {
		go func() {
			n := flood(conn, d)
			// A socket closed for its flood comes back, as a flooder does.
			for end := start.Add(d); i > 0 && time.Now().Before(end); {
				again, err := dialRawSocket(strings.TrimPrefix(srv.url, "http://"), room.ID, u.access)
				if err != nil {
					break
				}
				n += flood(again, time.Until(end))
				_ = again.Close()
			}
			sent <- n
		}()
	}
	for range conns {
		f.sent += <-sent
	}
	f.flooded = time.Since(start)
	close(stop)
	<-sampled
	f.peakRSS, f.conn = peak.Load(), conns[0]
	return f
}

// rawSocket opens a WebSocket by hand and returns the TCP connection after
// the 101, nothing read past it.
func rawSocket(t testing.TB, addr string, room int64, token string) net.Conn {
	t.Helper()
	conn, err := dialRawSocket(addr, room, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// dialRawSocket is rawSocket for any goroutine: it returns what failed.
func dialRawSocket(addr string, room int64, token string) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /ws/chat/" + strconv.FormatInt(room, 10) + "/chat/?token=" + token + " HTTP/1.1\r\n" +
		"Host: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		_ = conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(oneByteReader{conn}, 16), nil)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_ = conn.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

// oneByteReader reads one byte at a time, so that a bufio.Reader over it
// consumes nothing past what its user asked for.
type oneByteReader struct{ r io.Reader }

func (b oneByteReader) Read(p []byte) (int, error) { return b.r.Read(p[:min(len(p), 1)]) }

// floodFrames writes masked frames of the first byte head (FIN and
// opcode) and payload (at most 125 bytes) on conn, never reading, until d
// passes or a write fails; it returns how many it wrote.
func floodFrames(conn net.Conn, d time.Duration, head byte, payload []byte) int {
	const perWrite = 64
	frame := append([]byte{head, 0x80 | byte(len(payload))}, 0, 0, 0, 0) // a zero mask
	frame = append(frame, payload...)
	batch := bytes.Repeat(frame, perWrite)
	sent, rest := 0, batch
	for end := time.Now().Add(d); time.Now().Before(end); {
		_ = conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		// A write that times out (the server is not reading now) may
		// have written part of a frame: the rest goes next, frames whole.
		n, err := conn.Write(rest)
		rest = rest[n:]
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			break
		}
		if len(rest) == 0 {
			sent += perWrite
			rest = batch
		}
	}
	return sent
}

// readCloseCode reads server frames until a close frame and returns its
// code, or 0 and the error that ended the connection first.
func readCloseCode(conn net.Conn) (int, error) {
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(r, e[:]); err != nil {
				return 0, err
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(r, e[:]); err != nil {
				return 0, err
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0, err
		}
		if h[0]&0x0f == 8 && n >= 2 {
			return int(binary.BigEndian.Uint16(payload)), nil
		}
	}
}

// processRSS is a process's resident set size in bytes, from /proc.
func processRSS(pid int) (int64, error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

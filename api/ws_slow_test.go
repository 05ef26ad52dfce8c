package api

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"livechat/actors"
)

// wsRawDial opens a socket by hand over a TCP connection whose receive
// buffer is tiny, and returns it after the 101: a client that will never
// read.
func wsRawDial(t testing.TB, ts *wsTestServer, u *wsUser, room int64) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: wsReadTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)
		}); err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(wsReadTimeout))
	req := "GET /ws/chat/" + strconv.FormatInt(room, 10) + "/chat/?token=" + u.token + " HTTP/1.1\r\n" +
		"Host: " + ts.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	// Read the response byte by byte so that nothing after it is consumed.
	resp, err := http.ReadResponse(bufio.NewReaderSize(wsByteReader{conn}, 16), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("raw handshake: %s", resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn
}

// wsByteReader reads one byte at a time.
type wsByteReader struct{ r io.Reader }

func (b wsByteReader) Read(p []byte) (int, error) { return b.r.Read(p[:min(len(p), 1)]) }

// wsRawCloseCode reads server frames from conn until a close frame (its
// code) or the end of the connection (0).
func wsRawCloseCode(conn net.Conn) (int, error) {
	_ = conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
	r := bufio.NewReader(conn)
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

// wsCollectUntil reads chat messages on its own goroutine until the one
// whose text is marker; acks, when not nil, receives each one's seq.
func wsCollectUntil(c *wsClient, marker string, acks chan<- int64) <-chan wsCollected {
	out := make(chan wsCollected, 1)
	go func() {
		var got wsCollected
		for {
			f, err := c.read(wsReadTimeout)
			if err != nil {
				got.err = fmt.Errorf("%s: %w", c.user.nickname, err)
				break
			}
			if f.Type != "chat.message" {
				continue
			}
			got.frames = append(got.frames, f)
			if acks != nil {
				acks <- f.Seq
			}
			if f.Message == marker {
				break
			}
		}
		out <- got
	}()
	return out
}

// TestWSSlowConsumerIsCutOff stops reading on one socket while another
// sends large messages: the stuck socket is closed (4008, or dropped when
// even the close cannot be written), the others receive everything, and
// connections and goroutines return to where they were. The kernel buffers
// several megabytes for a socket before its writes block, so the sender
// goes on until the stuck socket is gone.
func TestWSSlowConsumerIsCutOff(t *testing.T) {
	// The readers' limit holds 32 messages, the sender waits for its echo
	// after 3: a reader the test process starves for a moment stays within
	// it, and only the socket that never reads passes it.
	const size, window, most = 16000, 3, 3000
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) {
		c.MaxOutboundBytes, c.WriteTimeout, c.MaxMessageChars = 512<<10, time.Second, size
	})
	su := ts.newUser(t, "sender")
	room := ts.newRoom(t, su)
	fast := []*wsClient{ts.dial(t, ts.newUser(t, "fast1"), room, ""), ts.dial(t, ts.newUser(t, "fast2"), room, "")}
	s := ts.dial(t, su, room, "")
	wsRoundTrip(t, s, "warm up") // every socket has joined and gone idle
	for _, c := range fast {
		c.until(t, "warm up")
	}
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 3) })
	baseline := runtime.NumGoroutine()

	slow := wsRawDial(t, ts, ts.newUser(t, "slow"), room)
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 4) })
	// The sender keeps a window of unacknowledged messages, so the fast
	// sockets' queues never hold more than a few frames: only the stuck
	// one's grows.
	acks := make(chan int64, most+1)
	results := []<-chan wsCollected{wsCollectUntil(s, "end", acks)}
	for _, c := range fast {
		results = append(results, wsCollectUntil(c, "end", nil))
	}
	body := strings.Repeat("x", size-10)
	send := func(i int, text string) {
		if i >= window {
			select {
			case <-acks:
			case <-time.After(wsReadTimeout):
				for _, r := range results {
					select {
					case got := <-r:
						t.Logf("collector stopped after %d: %v", len(got.frames), got.err)
					default:
					}
				}
				t.Fatalf("no echo of message %d", i-window)
			}
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
		if err := s.conn.WriteJSON(map[string]string{"type": "chat.message", "message": text}); err != nil {
			t.Fatal(err)
		}
	}
	sent, after := 0, -1
	for ; after != 0; sent++ {
		if sent == most {
			t.Fatalf("the stuck socket is still open after %d messages of %d bytes", most, size)
		}
		send(sent, fmt.Sprintf("%05d%s", sent, body))
		if n := ts.srv.Connections(); n < 3 {
			t.Fatalf("%d connections after %d messages: a socket that reads was cut off too", n, sent+1)
		}
		if after < 0 && ts.srv.Connections() == 3 {
			after = 2 * window // delivery goes on once it is gone
		} else if after > 0 {
			after--
		}
	}
	send(sent, "end")
	for i, r := range results {
		wsCheckSeqs(t, "socket "+strconv.Itoa(i), (<-r).want(t, sent+1), 2)
	}

	if n := ts.srv.conns.slowConsumers(); n != 1 {
		t.Errorf("%d slow consumers counted, want 1", n)
	}
	code, err := wsRawCloseCode(slow)
	if code != 0 && code != actors.CloseSlowConsumer {
		t.Errorf("stuck socket closed with %d, want %d or a dropped connection", code, actors.CloseSlowConsumer)
	}
	if code == 0 && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("stuck socket: %v, want a close frame or the end of the connection", err)
	}
	wsEventually(t, wsReadTimeout, func() error {
		if n := runtime.NumGoroutine(); n > baseline+3 {
			return fmt.Errorf("%d goroutines, baseline %d", n, baseline)
		}
		return nil
	})
	// The room still works for those who stayed.
	wsRoundTrip(t, s, "still here")
	t.Logf("stuck socket cut off after %d messages of %d bytes", sent, size)
}

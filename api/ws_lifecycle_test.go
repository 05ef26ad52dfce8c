package api

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livechat/actors"
)

// wsChatter sends messages one after the other, each after its echo, and
// keeps every frame it receives until the server closes the socket.
type wsChatter struct {
	c        *wsClient
	received []wsFrame
	acked    atomic.Int64
	closed   int // the close code, 0 if the connection ended otherwise
	err      error
	done     chan struct{}
}

func wsStartChatter(c *wsClient) *wsChatter {
	ch := &wsChatter{c: c, done: make(chan struct{})}
	go ch.run()
	return ch
}

func (ch *wsChatter) run() {
	defer close(ch.done)
	for i := 0; ; i++ {
		text := ch.c.user.nickname + "-" + strconv.Itoa(i)
		_ = ch.c.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
		if err := ch.c.conn.WriteJSON(map[string]string{"type": "chat.message", "message": text}); err != nil {
			// The server's close may already be here: read it.
			text = ""
		}
		for {
			f, err := ch.c.read(wsReadTimeout)
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					ch.closed = ce.Code
				} else {
					ch.err = err
				}
				return
			}
			if f.Type == "chat.message" {
				ch.received = append(ch.received, f)
				if f.Message == text {
					ch.acked.Add(1)
					break
				}
			}
		}
	}
}

// TestWSShutdownClosesWith1001AndKeepsAcknowledged shuts the server down
// while clients chat: every socket is closed with 1001, and every message
// any client received (so every acknowledged one) is stored, gap-free.
func TestWSShutdownClosesWith1001AndKeepsAcknowledged(t *testing.T) {
	ts := newWSTestServer(t, nil)
	owner := ts.newUser(t, "owner")
	rooms := []int64{ts.newRoom(t, owner), ts.newRoom(t, owner)}
	var chatters []*wsChatter
	for i := range 4 {
		u := ts.newUser(t, "c"+strconv.Itoa(i))
		chatters = append(chatters, wsStartChatter(ts.dial(t, u, rooms[i%2], "")))
	}
	wsEventually(t, wsReadTimeout, func() error {
		for _, ch := range chatters {
			if n := ch.acked.Load(); n < 20 {
				return fmt.Errorf("%s has %d messages acknowledged", ch.c.user.nickname, n)
			}
		}
		return nil
	})
	ts.shutdown(t)
	for _, ch := range chatters {
		select {
		case <-ch.done:
		case <-time.After(wsReadTimeout):
			t.Fatalf("%s: socket still open after shutdown", ch.c.user.nickname)
		}
		if ch.closed != websocket.CloseGoingAway {
			t.Errorf("%s: closed with %d (%v), want 1001", ch.c.user.nickname, ch.closed, ch.err)
		}
	}
	if n := ts.srv.Connections(); n != 0 {
		t.Errorf("%d sockets open after shutdown", n)
	}
	for _, room := range rooms {
		stored, err := ts.store.MessagesAfter(room, 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		bySeq := make(map[int64]string, len(stored))
		for i, m := range stored {
			if m.Seq != int64(i+1) {
				t.Fatalf("room %d: stored seq %d at position %d", room, m.Seq, i)
			}
			bySeq[m.Seq] = strconv.FormatInt(m.Id, 10) + " " + m.Text
		}
		for _, ch := range chatters {
			for _, f := range ch.received {
				if f.Room != room {
					continue
				}
				if got, want := bySeq[f.Seq], strconv.FormatInt(f.ID, 10)+" "+f.Message; got != want {
					t.Fatalf("room %d seq %d: received %q, stored %q", room, f.Seq, want, got)
				}
			}
		}
	}
}

// TestWSKeepAlive pings quiet sockets: one that answers stays open, one that
// does not is closed once IdleTimeout has passed without a pong.
func TestWSKeepAlive(t *testing.T) {
	const idle = 400 * time.Millisecond
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.PingInterval, c.IdleTimeout = 50*time.Millisecond, idle })
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)

	// a answers pings (as the websocket library does by default) while it
	// reads; it counts them.
	a := ts.dial(t, u, room, "")
	var pings atomic.Int64
	a.conn.SetPingHandler(func(data string) error {
		pings.Add(1)
		return a.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wsReadTimeout))
	})
	frames := make(chan wsFrame, 16)
	go func() {
		defer close(frames)
		for {
			f, err := a.read(time.Minute)
			if err != nil {
				return
			}
			frames <- f
		}
	}()

	// b reads too, but never answers a ping.
	start := time.Now()
	b := ts.dial(t, u, room, "")
	b.conn.SetPingHandler(func(string) error { return nil })
	b.expectClose(t, websocket.CloseGoingAway)
	if quiet := time.Since(start); quiet < idle {
		t.Errorf("silent socket closed after %v, before the idle timeout %v", quiet, idle)
	}
	if n := pings.Load(); n < 2 {
		t.Fatalf("answering socket got %d pings", n)
	}
	// a has been connected longer than b was, and is still open.
	_ = a.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
	if err := a.conn.WriteJSON(map[string]string{"type": "chat.message", "message": "still here"}); err != nil {
		t.Fatal(err)
	}
	for f := range frames {
		if f.Type == "chat.message" && f.Message == "still here" {
			return
		}
	}
	t.Fatal("answering socket was closed")
}

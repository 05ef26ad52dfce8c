package api

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"livechat/actors"
)

// wsPacedSender sends numbered messages from c, one every interval, each
// after the echo of the last, until stop is called. last is the seq of the
// newest echo.
type wsPacedSender struct {
	last atomic.Int64
	stop chan struct{}
	done chan error
}

func wsStartSender(c *wsClient, interval time.Duration) *wsPacedSender {
	s := &wsPacedSender{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { s.done <- s.run(c, interval) }()
	return s
}

func (s *wsPacedSender) run(c *wsClient, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-s.stop:
			return nil
		case <-tick.C:
		}
		text := "paced-" + strconv.Itoa(i)
		_ = c.conn.SetWriteDeadline(time.Now().Add(wsReadTimeout))
		if err := c.conn.WriteJSON(map[string]string{"type": "chat.message", "message": text}); err != nil {
			return err
		}
		for {
			f, err := c.read(wsReadTimeout)
			if err != nil {
				return err
			}
			if f.Type == "chat.message" && f.Message == text {
				s.last.Store(f.Seq)
				break
			}
			if f.Type == "chat.error" {
				return errors.New("sender got " + f.String())
			}
		}
	}
}

// halt stops the sender and reports whether it failed.
func (s *wsPacedSender) halt(t testing.TB) {
	t.Helper()
	close(s.stop)
	if err := <-s.done; err != nil {
		t.Fatalf("sender: %v", err)
	}
}

func (s *wsPacedSender) waitFor(t testing.TB, seq int64) {
	t.Helper()
	wsEventually(t, wsReadTimeout, func() error {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("sender stopped: %v", err)
		default:
		}
		if got := s.last.Load(); got < seq {
			return fmt.Errorf("sender at seq %d, waiting for %d", got, seq)
		}
		return nil
	})
}

// TestWSSinceRecovery cuts a client off while another keeps sending, then
// reconnects it with since=<last seq it saw>: it must receive every message
// after that, stored ones then live ones, with no gap and no duplicate —
// from the room's ring for a short absence, from the store (in chunks,
// while live frames are held) for a long one.
func TestWSSinceRecovery(t *testing.T) {
	const ring = 64
	for _, tc := range []struct {
		name string
		gap  int64
	}{{"ring", 10}, {"store", 3 * ring}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newWSTestServer(t, func(_ *Config, a *actors.Config) {
				a.RecentMessages, a.DetailMessages, a.BacklogChunk = ring, 10, 16
			})
			su, ru := ts.newUser(t, "sender"), ts.newUser(t, "reader")
			room := ts.newRoom(t, su)
			r := ts.dial(t, ru, room, "")
			sender := wsStartSender(ts.dial(t, su, room, ""), 2*time.Millisecond)
			defer func() {
				select {
				case <-sender.stop:
				default:
					sender.halt(t)
				}
			}()

			seen := r.messages(t, 5)
			k := wsCheckSeqs(t, "reader", seen, 1)
			r.closeNormally(t)
			sender.waitFor(t, k+tc.gap)

			r = ts.dial(t, ru, room, "since="+strconv.FormatInt(k, 10))
			target := sender.last.Load() + 20
			var got []wsFrame
			for len(got) == 0 || got[len(got)-1].Seq < target {
				got = append(got, r.messages(t, 1)...)
			}
			sender.halt(t)
			last := wsCheckSeqs(t, "reconnected reader", got, k+1)

			stored, err := ts.store.MessagesAfter(room, k, int(last-k))
			if err != nil || len(stored) != int(last-k) {
				t.Fatalf("stored %d messages after %d: %v", len(stored), k, err)
			}
			for i, m := range stored {
				if f := got[i]; f.ID != m.Id || f.Message != m.Text || f.Seq != m.Seq {
					t.Fatalf("frame %s differs from stored %v", f, m)
				}
			}
		})
	}
}

func TestWSSinceEdges(t *testing.T) {
	ts := newWSTestServer(t, nil)
	u := ts.newUser(t, "u")
	room := ts.newRoom(t, u)
	c := ts.dial(t, u, room, "")
	for i := range 3 {
		c.send(t, "m"+strconv.Itoa(i))
	}
	wsCheckSeqs(t, "writer", c.messages(t, 3), 1)

	all := ts.dial(t, u, room, "since=0")
	wsCheckSeqs(t, "since=0", all.messages(t, 3), 1)

	none := ts.dial(t, u, room, "since=3")
	beyond := ts.dial(t, u, room, "since=1000")
	c.send(t, "live")
	for name, cl := range map[string]*wsClient{"since=3": none, "since=1000": beyond, "since=0": all} {
		if f := cl.messages(t, 1)[0]; f.Seq != 4 || f.Message != "live" {
			t.Errorf("%s: got %s, want only the live message", name, f)
		}
	}
}

// A reconnect whose backlog is all in the room's ring but larger than the
// socket's outbound limit streams at the client's pace, like a backlog read
// from the store, instead of closing the socket as a slow consumer (which
// would repeat on every reconnect).
func TestWSSinceRingBacklogLargerThanOutboundLimit(t *testing.T) {
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.MaxOutboundBytes = 16 << 10 })
	u := ts.newUser(t, "big")
	room := ts.newRoom(t, u)
	text := strings.Repeat("가", 1000) // 3,000 bytes a frame
	const n = 40                      // 120 KB in all, well inside the ring
	for i := range n {
		if status, body := ts.rest(t, "POST", "/chat/v1/message/", u, map[string]any{"message": text + strconv.Itoa(i), "room": room}); status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
	}
	c := ts.dial(t, u, room, "since=0")
	for i, f := range c.messages(t, n) {
		if f.Seq != int64(i+1) || f.Message != text+strconv.Itoa(i) {
			t.Fatalf("frame %d: seq %d %.20q", i, f.Seq, f.Message)
		}
	}
	c.closeNormally(t)
}

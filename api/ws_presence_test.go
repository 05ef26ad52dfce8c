package api

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"livechat/actors"
)

// wsPresence returns the presence frames among frames, as "join:nick" or
// "leave:nick".
func wsPresence(frames []wsFrame) []string {
	var out []string
	for _, f := range frames {
		switch f.Type {
		case "chat.user.join":
			out = append(out, "join:"+f.Username)
		case "chat.user.leave":
			out = append(out, "leave:"+f.Username)
		}
	}
	return out
}

func wsExpectPresence(t *testing.T, who string, frames []wsFrame, want ...string) {
	t.Helper()
	got := wsPresence(frames)
	if len(got) != len(want) {
		t.Fatalf("%s saw presence %q, want %q", who, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s saw presence %q, want %q", who, got, want)
		}
	}
}

func TestWSPresenceOncePerUser(t *testing.T) {
	ts := newWSTestServer(t, nil)
	alice, bob := ts.newUser(t, "앨리스"), ts.newUser(t, "bob 🐻")
	room := ts.newRoom(t, alice)

	a := ts.dial(t, alice, room, "")
	ts.waitOnline(t, alice, room, "앨리스")

	// Bob's first socket: alice sees one join; bob sees none for himself.
	b1 := ts.dial(t, bob, room, "")
	b1.send(t, "b1 here")
	wsExpectPresence(t, "alice", a.until(t, "b1 here"), "join:bob 🐻")
	wsExpectPresence(t, "bob", b1.until(t, "b1 here"))
	ts.waitOnline(t, alice, room, "앨리스", "bob 🐻")

	// Bob's second socket: no second join, for anyone.
	b2 := ts.dial(t, bob, room, "")
	b2.send(t, "b2 here") // behind b2's join in the room's mailbox
	wsExpectPresence(t, "alice", a.until(t, "b2 here"))
	wsExpectPresence(t, "bob's first socket", b1.until(t, "b2 here"))
	wsExpectPresence(t, "bob's second socket", b2.until(t, "b2 here"))
	ts.waitOnline(t, alice, room, "앨리스", "bob 🐻")

	// Closing one of bob's sockets announces nothing.
	b1.closeNormally(t)
	wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 2) })
	b2.send(t, "b1 gone")
	wsExpectPresence(t, "alice", a.until(t, "b1 gone"))
	ts.waitOnline(t, alice, room, "앨리스", "bob 🐻")

	// Closing the last one announces one leave; bob is no longer online.
	b2.closeNormally(t)
	ts.waitOnline(t, alice, room, "앨리스") // both leaves processed
	a.send(t, "after")
	wsExpectPresence(t, "alice", a.until(t, "after"), "leave:bob 🐻")

	// A socket that vanishes without a close frame leaves too.
	b3 := ts.dial(t, bob, room, "")
	b3.send(t, "b3 here")
	wsExpectPresence(t, "alice", a.until(t, "b3 here"), "join:bob 🐻")
	_ = b3.conn.NetConn().Close()
	ts.waitOnline(t, alice, room, "앨리스")
	a.send(t, "after b3")
	wsExpectPresence(t, "alice", a.until(t, "after b3"), "leave:bob 🐻")
}

func wsConnections(ts *wsTestServer, want int) error {
	if n := ts.srv.Connections(); n != want {
		return fmt.Errorf("%d sockets open, want %d", n, want)
	}
	return nil
}

// presenceStorm has each of users users, connected to room once, close and
// reopen its socket until reconnects reconnects were made in all, the
// users in parallel. Then watcher (connected before) sends a marker and
// the presence frames it received meanwhile are returned, with how long
// the storm took.
func presenceStorm(t testing.TB, ts *wsTestServer, watcher *wsClient, room int64, users, reconnects int) (frames []string, took time.Duration) {
	t.Helper()
	ts.waitOnline(t, watcher.user, room, watcher.user.nickname) // joined before the others
	socks := make([]*wsClient, users)
	for i := range socks {
		socks[i] = ts.dial(t, ts.newUser(t, fmt.Sprintf("storm %d", i)), room, "")
	}
	socks[users-1].send(t, "all here") // behind every join but maybe not their broadcast
	watcher.until(t, "all here")
	ts.waitOnline(t, watcher.user, room, append([]string{watcher.user.nickname}, stormNames(users)...)...)
	ready := watcher.user.nickname + " ready"
	watcher.send(t, ready)
	watcher.until(t, ready) // every join of the setup is behind us

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for i, s := range socks {
		n := reconnects / users
		if i < reconnects%users {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				_ = s.conn.Close()
				conn, resp, err := ts.dialWS(ts.wsURL(room, "token="+s.user.token), nil)
				if err != nil {
					errs <- fmt.Errorf("redial %s: %v (%s)", s.user.nickname, err, wsResponseBody(resp))
					return
				}
				s.conn = conn
			}
		}()
	}
	wg.Wait()
	took = time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range socks {
		t.Cleanup(func() { _ = s.conn.Close() })
	}
	ts.waitOnline(t, watcher.user, room, append([]string{watcher.user.nickname}, stormNames(users)...)...)
	watcher.send(t, "after the storm")
	return wsPresence(watcher.until(t, "after the storm")), took
}

func stormNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("storm %d", i)
	}
	return names
}

// Reconnecting sockets do not flood the room with presence: a user that
// comes back within the grace is not announced at all, and no user causes
// more than one join and one leave per grace whatever it does.
func TestWSPresenceReconnectStorm(t *testing.T) {
	const users, reconnects = 10, 200
	ts := newWSTestServer(t, nil)
	alice := ts.newUser(t, "alice")
	room := ts.newRoom(t, alice)
	a := ts.dial(t, alice, room, "")
	frames, took := presenceStorm(t, ts, a, room, users, reconnects)
	grace := time.Second // actors.Config's default
	bound := users * 2 * (int(took/grace) + 1)
	t.Logf("%d reconnects by %d users in %v: the watcher saw %d presence frames (bound %d)", reconnects, users, took, len(frames), bound)
	if len(frames) > bound {
		t.Fatalf("%d reconnects by %d users in %v sent %d presence frames, more than one join and one leave per user per second (%d): %q",
			reconnects, users, took, len(frames), bound, frames)
	}
}

// BenchmarkPresenceReconnectStorm counts the presence frames a member
// receives while 100 users reconnect b.N times in all as fast as they can:
// go test -run '^$' -bench PresenceReconnectStorm -benchtime 1000x ./api
func BenchmarkPresenceReconnectStorm(b *testing.B) {
	const users = 100
	ts := newWSTestServer(b, nil)
	alice := ts.newUser(b, "alice")
	room := ts.newRoom(b, alice)
	a := ts.dial(b, alice, room, "")
	b.ResetTimer()
	frames, took := presenceStorm(b, ts, a, room, users, max(b.N, users))
	b.ReportMetric(float64(len(frames)), "presence-frames")
	b.ReportMetric(took.Seconds()*1000, "storm-ms")
}

// A real leave is announced once the grace has passed, not before, and the
// room's online list drops the user when it is.
func TestWSPresenceLeaveAfterGrace(t *testing.T) {
	const grace = 500 * time.Millisecond
	ts := newWSTestServer(t, func(_ *Config, ac *actors.Config) { ac.PresenceGrace = grace })
	alice, bob := ts.newUser(t, "alice"), ts.newUser(t, "bob")
	room := ts.newRoom(t, alice)
	a := ts.dial(t, alice, room, "")
	ts.waitOnline(t, alice, room, "alice")
	b := ts.dial(t, bob, room, "")
	b.send(t, "hi")
	wsExpectPresence(t, "alice", a.until(t, "hi"), "join:bob")

	closed := time.Now()
	b.closeNormally(t)
	if f := a.next(t); f.Type != "chat.user.leave" || f.Username != "bob" {
		t.Fatalf("alice got %s, want bob's leave", f)
	}
	// The grace starts once the server has seen the close, after closed.
	if d := time.Since(closed); d < grace {
		t.Fatalf("bob's leave came %v after his socket closed, within the %v grace", d, grace)
	}
	if got := ts.online(t, alice, room); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("online after bob's leave: %q, want only alice", got)
	}
}

// A user whose socket drops and comes back within the grace is neither
// announced as leaving nor as joining, and stays in the online list.
func TestWSPresenceReconnectWithinGrace(t *testing.T) {
	ts := newWSTestServer(t, func(_ *Config, ac *actors.Config) { ac.PresenceGrace = 5 * time.Second })
	alice, bob := ts.newUser(t, "alice"), ts.newUser(t, "bob")
	room := ts.newRoom(t, alice)
	a := ts.dial(t, alice, room, "")
	ts.waitOnline(t, alice, room, "alice")
	b := ts.dial(t, bob, room, "")
	b.send(t, "hi")
	wsExpectPresence(t, "alice", a.until(t, "hi"), "join:bob")

	for i := range 3 {
		b.closeNormally(t)
		wsEventually(t, wsReadTimeout, func() error { return wsConnections(ts, 1) })
		if got := ts.online(t, alice, room); !slices.Equal(got, []string{"alice", "bob"}) {
			t.Fatalf("online while bob reconnects: %q, want alice and bob", got)
		}
		b = ts.dial(t, bob, room, "")
		marker := fmt.Sprintf("back %d", i)
		b.send(t, marker) // behind this socket's join
		wsExpectPresence(t, "alice", a.until(t, marker))
		wsExpectPresence(t, "bob", b.until(t, marker))
	}
	ts.waitOnline(t, alice, room, "alice", "bob")
}

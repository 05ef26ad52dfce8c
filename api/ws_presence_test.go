package api

import (
	"fmt"
	"testing"
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

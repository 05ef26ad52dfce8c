package clustertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestNodesStopRestartAndPause stops a node (SIGTERM: exit status 0) and
// restarts it: it replays what it missed before it serves, so an account
// registered meanwhile logs in on it at once. A node paused (SIGSTOP)
// for a few seconds, well under the isolation exit, resumes and catches
// up with what was written meanwhile; a socket that resumes on it at once
// after the newest message, which the node may not have applied yet, gets
// the next message and nothing it already had.
func TestNodesStopRestartAndPause(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]

	if err := n3.Stop(); err != nil {
		t.Fatalf("node3 stopped with %v, want status 0", err)
	}
	bob := registerThroughFault(t, n1, uniqueEmail("bob"), "bob")
	n3.Restart()
	login(t, n3, bob)

	login(t, n1, bob)
	var room struct{ ID int64 }
	mustCall(t, n1, "POST", "/chat/v1/room/", bob.Access, map[string]any{"name": "lag"}, 201, &room)
	post := func(text string) int64 {
		var m message
		mustCall(t, n1, "POST", "/chat/v1/message/", bob.Access, map[string]any{"room": room.ID, "message": text}, 201, &m)
		return m.Seq
	}
	post("before the pause")

	n2.Pause()
	carol := registerThroughFault(t, n1, uniqueEmail("carol"), "carol")
	var last int64
	for i := range 30 {
		last = post(fmt.Sprintf("during the pause %d", i))
	}
	time.Sleep(3 * time.Second) // the pause itself: what is tested is the node after it
	n2.Resume()
	resumed := openSocketSince(t, n2, bob.Access, room.ID, last)
	next := post("after the pause")
	for deadline := time.Now().Add(20 * time.Second); ; {
		got := resumed.received()
		if len(got) > 0 {
			if len(got) != 1 || got[0].Seq != next {
				t.Fatalf("a socket resuming after seq %d on the node just resumed got seqs %v, want only %d", last, seqsOf(got), next)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a socket resuming after seq %d got nothing in 20 s", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A resumed node reads its replica, which applies what it missed
	// within moments: a login there may be refused until it has.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := call(n2, "POST", "/user/v1/login/", "", map[string]string{"email": carol.Email, "password": testPassword})
		if err == nil && r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("carol cannot log in on node2 20 s after its resume: %v %d %s", err, r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !n2.Running() {
		t.Fatalf("node2 exited after a 3 s pause:\n%s", n2.LogTail(logTail))
	}
}

// seqsOf is the seqs of msgs.
func seqsOf(msgs []message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// faultWrites bounds the retries of a write during a fault: a leader
// election and a reader moving to another server, with room to spare.
const faultWrites = 30 * time.Second

// registerThroughFault registers an account on n, retrying while the
// log answers 503. A 503 may still have been stored, so a retry refused
// with "email taken" after one means the account exists: it is read back
// by logging in.
func registerThroughFault(t testing.TB, n *Node, email, nickname string) *user {
	t.Helper()
	began := time.Now()
	unavailable := 0
	for {
		r, err := call(n, "POST", "/user/v1/register/", "", registerBody(email, nickname))
		switch {
		case err == nil && r.status == 201:
			u := &user{}
			if err := json.Unmarshal(r.body, u); err != nil {
				t.Fatal(err)
			}
			if unavailable > 0 {
				t.Logf("register on %s: %d answers 503 for %s", n.Name(), unavailable, time.Since(began).Round(time.Millisecond))
			}
			return u
		case err == nil && r.status == 400 && unavailable > 0 && strings.Contains(string(r.body), "already registered"):
			t.Logf("register on %s: stored by an attempt answered 503", n.Name())
			u := &user{Email: email}
			login(t, n, u)
			return u
		case (err != nil || r.status == 503) && time.Since(began) < faultWrites:
			// A request cut by the client's timeout is a 503 not yet
			// answered: the write may be stored, and is resent.
			unavailable++
			time.Sleep(250 * time.Millisecond)
		default:
			t.Fatalf("register on %s: %d %s (%v), after %d answers 503 in %s", n.Name(), r.status, r.body, err, unavailable, time.Since(began).Round(time.Millisecond))
		}
	}
}

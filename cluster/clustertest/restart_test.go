package clustertest

import (
	"testing"
	"time"
)

// TestNodesStopRestartAndPause stops a node (SIGTERM: exit status 0) and
// restarts it: it replays what it missed before it serves, so an account
// registered meanwhile logs in on it at once. A node paused (SIGSTOP)
// for a few seconds, well under the isolation exit, resumes and catches
// up with what was written meanwhile.
func TestNodesStopRestartAndPause(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]

	if err := n3.Stop(); err != nil {
		t.Fatalf("node3 stopped with %v, want status 0", err)
	}
	bob := register(t, n1, uniqueEmail("bob"), "bob")
	n3.Restart()
	login(t, n3, bob)

	n2.Pause()
	carol := register(t, n1, uniqueEmail("carol"), "carol")
	time.Sleep(3 * time.Second) // the pause itself: what is tested is the node after it
	n2.Resume()
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

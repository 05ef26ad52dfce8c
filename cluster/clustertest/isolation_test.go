package clustertest

import (
	"strings"
	"testing"
	"time"
)

// TestIsolatedNodeExits kills two nodes of three: the last one cannot
// reach a quorum of the log, answers writes 503 meanwhile, and exits with
// a non-zero status once --cluster-isolation-exit has passed, saying why.
func TestIsolatedNodeExits(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: append([]string{"--cluster-isolation-exit", "5s"}, nodeArgs...)})
	n1 := c.Nodes[0]
	c.Nodes[1].Kill()
	c.Nodes[2].Kill()

	r, err := call(n1, "POST", "/user/v1/register/", "", registerBody(uniqueEmail("alone"), "alone"))
	if err != nil {
		t.Fatal(err)
	}
	expectJSON(t, "a registration without a quorum", r, 503, `{"detail": "Service temporarily unavailable, try again."}`)

	// 5 s of failed probes, each up to 2 s, after the first failure.
	exited, err := n1.Exited(30 * time.Second)
	if !exited {
		t.Fatal("the isolated node still runs 30 s after losing its quorum")
	}
	if err == nil {
		t.Fatal("the isolated node exited with status 0; a supervisor restarts only a failure")
	}
	if log := n1.LogTail(logTail); !strings.Contains(log, "out of reach too long") {
		t.Fatalf("the isolated node's log does not say why it exited:\n%s", log)
	}
}

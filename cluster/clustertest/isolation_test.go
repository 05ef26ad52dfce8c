package clustertest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestIsolatedNodeExits kills two nodes of three: the last one cannot
// reach a quorum of the log, answers a write 503 meanwhile, and exits
// with a non-zero status once --cluster-isolation-exit has passed, saying
// why. The write's answer waits for the log's timeouts, so the isolation
// exit is kept long enough for it to come first.
func TestIsolatedNodeExits(t *testing.T) {
	const isolationExit = 20 * time.Second
	c := Start(t, Options{Nodes: 3, Args: append([]string{"--cluster-isolation-exit", isolationExit.String()}, nodeArgs...)})
	n1 := c.Nodes[0]
	c.Nodes[1].Kill()
	c.Nodes[2].Kill()

	began := time.Now()
	r, err := callWith(&http.Client{Timeout: isolationExit}, n1, "POST", "/user/v1/register/", "", registerBody(uniqueEmail("alone"), "alone"))
	if err != nil {
		t.Fatalf("a registration without a quorum, after %s: %v", time.Since(began).Round(time.Millisecond), err)
	}
	expectJSON(t, "a registration without a quorum", r, 503, `{"detail": "Service temporarily unavailable, try again."}`)
	t.Logf("a registration without a quorum answered 503 after %s", time.Since(began).Round(time.Millisecond))

	// The grace period from the first failed probe (each probe up to 2 s).
	exited, err := n1.Exited(isolationExit + 15*time.Second)
	if !exited {
		t.Fatalf("the isolated node still runs %s after losing its quorum", time.Since(began).Round(time.Second))
	}
	if err == nil {
		t.Fatal("the isolated node exited with status 0; a supervisor restarts only a failure")
	}
	t.Logf("the isolated node exited %s after the kills: %v", time.Since(began).Round(time.Millisecond), err)
	if log := n1.LogTail(logTail); !strings.Contains(log, "out of reach too long") {
		t.Fatalf("the isolated node's log does not say why it exited:\n%s", log)
	}
}

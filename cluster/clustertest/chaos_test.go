//go:build chaos

package clustertest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The fault matrix of cluster mode, run by `make chaos` (build tag chaos:
// minutes of traffic, not for every `make test`). Each test runs the smoke
// traffic through one fault and checks what TestSmokeKillOneNode checks
// (underFault): no acknowledged message lost or doubled, seq gap-free and
// the same on every node up at the end, sockets that stayed connected
// complete and in order.

// logLeader is the node that leads the cluster's log now.
func logLeader(t *testing.T, c *Cluster) *Node {
	t.Helper()
	nc, err := nats.Connect("nats://" + c.Nodes[0].local.Client)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "LC_LOG")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil {
		t.Fatalf("log info: %v", err)
	}
	for _, n := range c.Nodes {
		if n.Name() == info.Cluster.Leader {
			return n
		}
	}
	t.Fatalf("the log's leader %q is none of the nodes", info.Cluster.Leader)
	return nil
}

// TestChaosKillLogLeader SIGKILLs the node leading the log.
func TestChaosKillLogLeader(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	underFault(t, c, fault{traffic: 15 * time.Second, after: 3 * time.Second, do: func() []*Node {
		n := logLeader(t, c)
		t.Logf("killing the log's leader, %s", n.Name())
		n.Kill()
		return []*Node{n}
	}})
}

// TestChaosKillFollower SIGKILLs a node that does not lead the log.
func TestChaosKillFollower(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	underFault(t, c, fault{traffic: 15 * time.Second, after: 3 * time.Second, do: func() []*Node {
		leader := logLeader(t, c)
		for _, n := range c.Nodes {
			if n != leader {
				t.Logf("killing %s (the log's leader is %s)", n.Name(), leader.Name())
				n.Kill()
				return []*Node{n}
			}
		}
		return nil
	}})
}

// TestChaosKillLeaderThenRestart SIGKILLs the log's leader and starts it
// again 5 s later: it replays what it missed and serves the same history.
func TestChaosKillLeaderThenRestart(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	underFault(t, c, fault{traffic: 30 * time.Second, after: 3 * time.Second, do: func() []*Node {
		n := logLeader(t, c)
		t.Logf("killing the log's leader, %s, then restarting it", n.Name())
		n.Kill()
		time.Sleep(5 * time.Second)
		began := time.Now()
		n.Restart()
		t.Logf("%s serves again %v after its restart", n.Name(), time.Since(began).Round(time.Millisecond))
		return nil
	}})
}

// TestChaosPauseLeader stops the log's leader for 10 s (SIGSTOP), then
// lets it go on (SIGCONT): it must not write anything that diverges, and
// catches up.
func TestChaosPauseLeader(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	underFault(t, c, fault{traffic: 25 * time.Second, after: 3 * time.Second, do: func() []*Node {
		n := logLeader(t, c)
		t.Logf("pausing the log's leader, %s, for 10 s", n.Name())
		n.Pause()
		time.Sleep(10 * time.Second)
		n.Resume()
		return nil
	}})
}

// TestChaosRollingRestart restarts every node in turn (SIGTERM, start,
// wait until it serves) under traffic.
func TestChaosRollingRestart(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Args: nodeArgs})
	underFault(t, c, fault{traffic: 60 * time.Second, after: 3 * time.Second, do: func() []*Node {
		for _, n := range c.Nodes {
			began := time.Now()
			if err := n.Stop(); err != nil {
				t.Errorf("%s stopped with %v", n.Name(), err)
			}
			n.Restart()
			t.Logf("%s restarted in %v", n.Name(), time.Since(began).Round(time.Millisecond))
		}
		return nil
	}})
}

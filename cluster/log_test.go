package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"livechat/cluster/internal/loopback"
)

// freeAddr is a loopback address with a port free now, outside the
// range client sockets take their ports from.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := loopback.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// testCluster is the configuration of n embedded nodes on loopback.
func testCluster(t testing.TB, n int) []Config {
	t.Helper()
	dir := t.TempDir()
	routes := make([]string, n)
	for i := range routes {
		routes[i] = freeAddr(t)
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		var peers []string
		for j, r := range routes {
			if j != i {
				peers = append(peers, r)
			}
		}
		cfgs[i] = Config{Node: fmt.Sprintf("n%d", i+1), Dir: filepath.Join(dir, fmt.Sprint(i)),
			Listen: freeAddr(t), RouteListen: routes[i], Peers: peers, Timeout: 10 * time.Second}
	}
	return cfgs
}

// startAll starts every node at once: each waits for a quorum.
func startAll(t testing.TB, cfgs []Config) []*Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nodes := make([]*Node, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i := range cfgs {
		wg.Go(func() { nodes[i], errs[i] = Start(ctx, cfgs[i]) })
	}
	wg.Wait()
	for _, n := range nodes {
		if n != nil {
			t.Cleanup(n.Close)
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i+1, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return nodes
}

// readLog follows node's log from the start until it has want entries.
func readLog(t *testing.T, n *Node, want int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []string
	var last uint64
	err := n.Follow(ctx, 1, func(seq uint64, entry []byte) error {
		if seq <= last {
			return fmt.Errorf("entry %d after %d: out of order", seq, last)
		}
		last = seq
		got = append(got, string(entry))
		if len(got) == want {
			cancel()
		}
		return nil
	})
	if len(got) != want {
		t.Fatalf("%s read %d entries of %d: %v", n.cfg.Node, len(got), want, err)
	}
	return got
}

// TestLogReplicatedInOneOrder appends through every node of three and
// reads the same log, in the same order, from each; with one node down
// the other two keep appending, and the node back reads it all.
func TestLogReplicatedInOneOrder(t *testing.T) {
	cfgs := testCluster(t, 3)
	nodes := startAll(t, cfgs)
	ctx := context.Background()
	var want []string
	for i := range 30 {
		e := fmt.Sprintf("entry %d", i)
		if _, err := nodes[i%3].Append(ctx, e, []byte(e)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		want = append(want, e)
	}
	// A retried append (same id) is stored once.
	if _, err := nodes[1].Append(ctx, "entry 29", []byte("entry 29")); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if got := readLog(t, n, len(want)); !slices.Equal(got, want) {
			t.Fatalf("%s read %q, want %q", n.cfg.Node, got, want)
		}
	}
	info, err := nodes[0].stream.Info(ctx)
	if err != nil || info.Config.Replicas != 3 {
		t.Fatalf("the log's replicas: %v, %v; want 3", info, err)
	}
	last, err := nodes[2].LastSeq(ctx)
	if err != nil || last != uint64(len(want)) {
		t.Fatalf("last seq %d, %v; want %d", last, err, len(want))
	}

	nodes[2].Close()
	for i := 30; i < 40; i++ {
		e := fmt.Sprintf("entry %d", i)
		if _, err := nodes[i%2].Append(ctx, e, []byte(e)); err != nil {
			t.Fatalf("append %d with a node down: %v", i, err)
		}
		want = append(want, e)
	}
	back := startAll(t, cfgs[2:])[0]
	if got := readLog(t, back, len(want)); !slices.Equal(got, want) {
		t.Fatalf("restarted node read %q, want %q", got, want)
	}
}

// TestConfigCheck refuses a node without a usable name or addresses.
func TestConfigCheck(t *testing.T) {
	for _, c := range []Config{
		{Node: "", Dir: "d", Listen: "127.0.0.1:1", RouteListen: "127.0.0.1:2"},
		{Node: "a.b", Dir: "d", Listen: "127.0.0.1:1", RouteListen: "127.0.0.1:2"},
		{Node: "a", Dir: "", Listen: "127.0.0.1:1", RouteListen: "127.0.0.1:2"},
		{Node: "a", Dir: "d", Listen: "nope", RouteListen: "127.0.0.1:2"},
		{Node: "a", Dir: "d", Listen: "127.0.0.1:1", RouteListen: "127.0.0.1:2", Replicas: 7},
	} {
		if err := c.Check(); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
	ok := Config{Node: "a", Dir: "d", Listen: "127.0.0.1:1", RouteListen: "127.0.0.1:2", Peers: []string{"127.0.0.1:3"}}
	if err := ok.Check(); err != nil {
		t.Errorf("%+v: %v", ok, err)
	}
}

// TestFenceEndsWaitingAppends checks that an append waiting on a log with
// no quorum fails once its node is fenced, well before the log's
// timeout, and that later appends fail at once: an isolated node's
// shutdown is not held by the writes it cannot make.
func TestFenceEndsWaitingAppends(t *testing.T) {
	cfgs := testCluster(t, 3)
	for i := range cfgs {
		cfgs[i].Timeout = time.Minute
	}
	nodes := startAll(t, cfgs)
	if _, err := nodes[0].Append(context.Background(), "first", []byte("x")); err != nil {
		t.Fatal(err)
	}
	nodes[1].Close()
	nodes[2].Close()

	failed := make(chan error, 1)
	go func() {
		_, err := nodes[0].Append(context.Background(), "cut-off", []byte("y"))
		failed <- err
	}()
	select {
	case err := <-failed:
		t.Fatalf("an append without a quorum answered before the fence: %v", err)
	case <-time.After(2 * time.Second):
	}
	nodes[0].Fence()
	select {
	case err := <-failed:
		if err == nil {
			t.Fatal("an append without a quorum succeeded")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the append still waits 20 s after the fence (its timeout is a minute)")
	}
	if _, err := nodes[0].Append(context.Background(), "after", []byte("z")); err == nil {
		t.Fatal("an append after the fence succeeded")
	}
}

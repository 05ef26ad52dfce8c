package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"livechat/cluster"
	"livechat/cluster/internal/loopback"
)

// Options shape a test cluster.
type Options struct {
	// Nodes is how many nodes. Default 3.
	Nodes int
	// Args are extra `livechat serve` flags given to every node, after
	// the cluster's own (so they may override them).
	Args []string
	// ReadyWait bounds a node's start, until it answers /healthz: it
	// waits for a majority of the nodes first. Default 60 s.
	ReadyWait time.Duration
	// Netns runs each node in a network namespace of its own, on an
	// address of its own (netns.go), so that the test can cut the
	// network between nodes (Partition). It takes root and the ip
	// command: the test fails without them.
	Netns bool
}

// baseArgs are every test node's flags before Options.Args: metrics
// off (no port to share), quick shutdown, no fsync (tests kill
// processes, they do not cut power).
var baseArgs = []string{"--metrics-addr", "", "--shutdown-timeout", "5s", "--durability", "os"}

// Cluster is a running test cluster.
type Cluster struct {
	Nodes []*Node
	t     testing.TB
	dir   string
	net   *network // with Options.Netns; else nil
}

// Start starts a cluster of opts.Nodes nodes and returns once every node
// answers /healthz. The nodes are killed when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.ReadyWait == 0 {
		opts.ReadyWait = 60 * time.Second
	}
	bin := Binary(t)
	c := &Cluster{t: t, dir: t.TempDir()}
	if opts.Netns {
		// Made before the nodes' cleanup is registered, so torn down
		// after they are killed.
		c.net = newNetwork(t, opts.Nodes)
	}
	local := make([]cluster.LocalNode, opts.Nodes)
	for i := range local {
		if c.net != nil {
			local[i] = c.net.localNode(i)
			continue
		}
		local[i] = cluster.LocalNode{Name: fmt.Sprintf("node%d", i+1),
			HTTP: freeAddr(t), Client: freeAddr(t), Route: freeAddr(t)}
	}
	for i, l := range local {
		args := l.ServeArgs(local, c.dir)
		var space string
		if c.net != nil {
			space = c.net.spaces[i]
			args = append(args, c.net.serveArgs(i)...)
		}
		args = append(append(args, baseArgs...), opts.Args...)
		n := &Node{t: t, local: l, bin: bin, args: args, space: space,
			logPath: filepath.Join(c.dir, l.Name+".log"), readyWait: opts.ReadyWait}
		c.Nodes = append(c.Nodes, n)
	}
	t.Cleanup(func() { c.cleanup(t) })
	for _, n := range c.Nodes {
		n.start()
	}
	for _, n := range c.Nodes {
		n.waitReady()
	}
	return c
}

// Partition cuts the network between groups of nodes, both ways: a node
// of one group reaches no node of another (its packets to them are
// dropped), while the test still reaches every node and nodes of one
// group reach each other. A node in no group keeps all its links. It
// needs Options.Netns; Heal undoes it.
func (c *Cluster) Partition(groups ...[]*Node) {
	c.t.Helper()
	if c.net == nil {
		c.t.Fatal("clustertest: Partition needs a cluster started with Options.Netns")
	}
	idx := make([][]int, len(groups))
	for g, group := range groups {
		for _, n := range group {
			i := slices.Index(c.Nodes, n)
			if i < 0 {
				c.t.Fatalf("clustertest: Partition: %s is not a node of this cluster", n.Name())
			}
			idx[g] = append(idx[g], i)
		}
	}
	c.net.partition(idx)
}

// Heal undoes every Partition: each node reaches every other again.
func (c *Cluster) Heal() {
	c.t.Helper()
	if c.net != nil {
		c.net.heal()
	}
}

// cleanup kills every node and, when the test failed (or
// LIVECHAT_CLUSTERTEST_LOGS is set), shows the end of their logs.
func (c *Cluster) cleanup(t testing.TB) {
	for _, n := range c.Nodes {
		n.kill()
	}
	if !t.Failed() && os.Getenv("LIVECHAT_CLUSTERTEST_LOGS") == "" {
		return
	}
	for _, n := range c.Nodes {
		t.Logf("--- %s log (last %d lines) ---\n%s", n.Name(), logTail, n.LogTail(logTail))
	}
}

// logTail is how many lines of each node's log a failed test shows.
const logTail = 120

// freeAddr is a loopback address with a port free now, outside the
// range client sockets take their ports from, let go for the node to
// take.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := loopback.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// healthy reports whether addr answers GET /healthz with 200.
func healthy(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// tail is the last n lines of b.
func tail(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// readLog is a node's whole log file so far.
func readLog(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return []byte("(no log: " + err.Error() + ")")
	}
	return b
}

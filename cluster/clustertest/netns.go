package clustertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"livechat/cluster"
)

// A cluster started with Options.Netns runs each node in a Linux network
// namespace of its own, with an address of its own, and joins them by a
// bridge in the test's namespace: node i (from 0) is 10.A.B.(i+1) on a
// veth whose other end is on the bridge, and the bridge is 10.A.B.254, so
// the test reaches every node and the nodes reach each other through it.
// A partition is then a blackhole route in a node's namespace to each
// node it must not reach: the node's packets to them are dropped (its
// connections to them stall, new ones fail), while its links to the test,
// and the other nodes' to the test, stay up. It takes root and the ip
// command (iproute2); nothing of it runs unless a test asks for it.

// Fixed ports of a namespaced node: each has an address of its own, so
// they never collide, and a restarted node keeps them.
const (
	netnsHTTPPort   = 8080
	netnsClientPort = 4222
	netnsRoutePort  = 6222
)

// netnsSeq numbers the networks this test process made, so that tests
// that run one after the other never reuse a name before its teardown.
var netnsSeq atomic.Int64

// network is one test cluster's namespaces, veths and bridge.
type network struct {
	t      testing.TB
	tag    string   // prefix of every name: lc<pid>-<seq>
	subnet string   // 10.A.B: node i is subnet.(i+1)
	spaces []string // node i's namespace
	// undo are the ip commands that delete what was made, in the order
	// it was made; teardown runs them newest first.
	undo [][]string
	cuts []cut // the blackhole routes in place
}

// cut is a blackhole route in one namespace, to one address.
type cut struct{ space, ip string }

// requireNetns fails the test unless it can make namespaces: chaos is
// run deliberately, so a partition test that cannot run fails rather
// than skips.
func requireNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("clustertest: a partition test runs its nodes in network namespaces (ip netns), which takes root; run it as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("clustertest: a partition test needs the ip command (iproute2) for its network namespaces: %v", err)
	}
}

// newNetwork makes a bridge and one namespace per node, torn down when
// the test ends (after the nodes are killed, when registered before
// them), whether it passed or not.
func newNetwork(t testing.TB, nodes int) *network {
	t.Helper()
	requireNetns(t)
	if nodes > 250 {
		t.Fatalf("clustertest: %d nodes do not fit a namespaced cluster's /24", nodes)
	}
	// The pid keeps names and subnets of concurrent test processes
	// apart; interface names are at most 15 bytes.
	seq := netnsSeq.Add(1)
	w := &network{t: t, tag: fmt.Sprintf("lc%d-%d", os.Getpid()%100000, seq)}
	if len(w.veth(nodes-1)) > 15 {
		t.Fatalf("clustertest: interface name %q too long", w.veth(nodes-1))
	}
	t.Cleanup(w.teardown)
	w.subnet = w.freeSubnet(seq)
	bridge := w.tag + "b"
	w.ip("link", "add", bridge, "type", "bridge")
	w.undo = append(w.undo, []string{"link", "del", bridge})
	w.ip("addr", "add", w.subnet+".254/24", "dev", bridge)
	w.ip("link", "set", bridge, "up")
	for i := range nodes {
		space, host, peer := w.tag+"-node"+strconv.Itoa(i+1), w.veth(i), w.tag+"p"+strconv.Itoa(i)
		w.ip("netns", "add", space)
		w.undo = append(w.undo, []string{"netns", "del", space})
		w.spaces = append(w.spaces, space)
		// Deleting either end of a veth deletes both, wherever the
		// other end is.
		w.ip("link", "add", host, "type", "veth", "peer", "name", peer)
		w.undo = append(w.undo, []string{"link", "del", host})
		w.ip("link", "set", peer, "netns", space)
		w.ip("-n", space, "link", "set", peer, "name", "eth0")
		w.ip("-n", space, "addr", "add", w.nodeIP(i)+"/24", "dev", "eth0")
		w.ip("-n", space, "link", "set", "eth0", "up")
		w.ip("-n", space, "link", "set", "lo", "up")
		w.ip("link", "set", host, "master", bridge, "up")
	}
	return w
}

// veth is the name of node i's veth end on the bridge.
func (w *network) veth(i int) string { return w.tag + "v" + strconv.Itoa(i) }

// nodeIP is node i's address.
func (w *network) nodeIP(i int) string { return fmt.Sprintf("%s.%d", w.subnet, i+1) }

// localNode is node i's name and addresses: its own IP, fixed ports.
func (w *network) localNode(i int) cluster.LocalNode {
	ip := w.nodeIP(i)
	return cluster.LocalNode{Name: fmt.Sprintf("node%d", i+1),
		HTTP:   net.JoinHostPort(ip, strconv.Itoa(netnsHTTPPort)),
		Client: net.JoinHostPort(ip, strconv.Itoa(netnsClientPort)),
		Route:  net.JoinHostPort(ip, strconv.Itoa(netnsRoutePort))}
}

// serveArgs are node i's flags besides its addresses: its HTTP server
// refuses a Host header it does not know, and the test addresses it by
// its IP.
func (w *network) serveArgs(i int) []string { return []string{"--allowed-hosts", w.nodeIP(i)} }

// freeSubnet is a 10.A.B/24 that no address of the test's namespace is
// in: A from the pid, B from seq on, so that test processes running at
// once start from different subnets.
func (w *network) freeSubnet(seq int64) string {
	w.t.Helper()
	a := 16 + os.Getpid()%200
	for k := range int64(256) {
		subnet := fmt.Sprintf("10.%d.%d", a, (seq+k)%256)
		out, err := exec.Command("ip", "-o", "addr", "show", "to", subnet+".0/24").CombinedOutput()
		if err != nil {
			w.t.Fatalf("clustertest: ip addr show: %v\n%s", err, out)
		}
		if len(strings.TrimSpace(string(out))) == 0 {
			return subnet
		}
	}
	w.t.Fatalf("clustertest: no free subnet 10.%d.*.0/24", a)
	return ""
}

// ip runs the ip command, failing the test if it fails.
func (w *network) ip(args ...string) {
	w.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		w.t.Fatalf("clustertest: ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// teardown deletes what newNetwork made, newest first; a failure is an
// error (something is left behind for the next run), not a stop.
func (w *network) teardown() {
	for i := len(w.undo) - 1; i >= 0; i-- {
		if out, err := exec.Command("ip", w.undo[i]...).CombinedOutput(); err != nil {
			w.t.Errorf("clustertest: teardown: ip %s: %v\n%s", strings.Join(w.undo[i], " "), err, out)
		}
	}
	w.undo = nil
}

// netnsCommand is the command that runs bin with args in the namespace
// space. `ip netns exec` enters it and execs bin, so the process it
// starts becomes the node itself (same pid): signals sent to it reach
// the node, once the exec is done (Node.waitReady checks it).
func netnsCommand(space, bin string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", space, bin}, args...)...)
}

// partition blackholes, in each node's namespace, the address of every
// node of another group.
func (w *network) partition(groups [][]int) {
	w.t.Helper()
	for g, group := range groups {
		for h, other := range groups {
			if g == h {
				continue
			}
			for _, i := range group {
				for _, j := range other {
					k := cut{w.spaces[i], w.nodeIP(j)}
					w.ip("-n", k.space, "route", "add", "blackhole", k.ip+"/32")
					w.cuts = append(w.cuts, k)
				}
			}
		}
	}
}

// heal removes every blackhole route.
func (w *network) heal() {
	w.t.Helper()
	for len(w.cuts) > 0 {
		k := w.cuts[len(w.cuts)-1]
		w.ip("-n", k.space, "route", "del", "blackhole", k.ip+"/32")
		w.cuts = w.cuts[:len(w.cuts)-1]
	}
}

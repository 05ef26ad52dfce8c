package cluster

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// LocalNode is one node of a cluster run as processes on one machine
// (`livechat cluster local`, and the subprocess tests): its name and the
// addresses its `livechat serve` listens on.
type LocalNode struct {
	Name string
	// HTTP is the REST and WebSocket address (--addr).
	HTTP string
	// Client is the embedded NATS server's client address (--cluster-listen).
	Client string
	// Route is the address the other nodes' NATS servers connect to
	// (--cluster-routes).
	Route string
	// Metrics is the Prometheus address (--metrics-addr); empty: off.
	Metrics string
}

// Port offsets of LocalCluster: node i (from 0) of a cluster based at
// port P listens on P+i (HTTP), P+100+i (NATS clients), P+200+i (NATS
// routes) and P+300+i (metrics), so up to 100 nodes never collide.
const (
	localClientOffset  = 100
	localRouteOffset   = 200
	localMetricsOffset = 300
	// MaxLocalNodes is the most nodes LocalCluster lays out.
	MaxLocalNodes = 100
)

// LocalCluster lays out n nodes named node1…nodeN on host, from base
// port on (see the offsets above).
func LocalCluster(n int, host string, base int) []LocalNode {
	addr := func(port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
	nodes := make([]LocalNode, n)
	for i := range nodes {
		nodes[i] = LocalNode{
			Name:    fmt.Sprintf("node%d", i+1),
			HTTP:    addr(base + i),
			Client:  addr(base + localClientOffset + i),
			Route:   addr(base + localRouteOffset + i),
			Metrics: addr(base + localMetricsOffset + i),
		}
	}
	return nodes
}

// ServeArgs are the `livechat serve` flags that run n as a member of
// nodes (which includes n), with its data in dir/<name>. Flags given
// after them override them (the flag package keeps the last value).
func (n LocalNode) ServeArgs(nodes []LocalNode, dir string) []string {
	var peers []string
	for _, p := range nodes {
		if p.Name != n.Name {
			peers = append(peers, p.Route)
		}
	}
	return []string{
		"--addr", n.HTTP,
		"--data", filepath.Join(dir, n.Name),
		"--metrics-addr", n.Metrics,
		"--cluster-node", n.Name,
		"--cluster-listen", n.Client,
		"--cluster-routes", n.Route,
		"--cluster-peers", strings.Join(peers, ","),
	}
}

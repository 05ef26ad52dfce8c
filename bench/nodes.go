package bench

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/fasthttp/websocket"
)

// A run targets one server or several nodes of a cluster, any of which
// serves every REST call and every room's socket. The generator spreads
// its work over them by index: socket i of a run goes to node i mod N (so
// each room's members, numbered consecutively, span every node), user i
// registers and logs in on node i mod N, room i is created there, and REST
// posts go round the nodes too. Messages are accounted as with one server:
// every member must receive every message of its room once, whichever node
// it is on.

// Target is one server node to drive: its base URL and, when known, its
// process id, whose CPU, RSS and open files are sampled from /proc.
type Target struct {
	// Name names the node in the report ("node1"); default "node<i+1>".
	Name string `json:"name"`
	// URL is the node's base URL, http://host:port.
	URL string `json:"url"`
	// PID is the node's process id on this machine; 0: not sampled.
	PID int `json:"pid,omitempty"`
	// Metrics is the node's Prometheus URL (http://host:port/metrics),
	// read for the traffic between nodes; empty: not read.
	Metrics string `json:"metrics,omitempty"`
}

// nodesFileEntry is one entry of a nodes.json, as written by
// `livechat cluster local`: {"name": "node1", "http": "127.0.0.1:8001",
// "pid": 123, "metrics": "127.0.0.1:8301"}.
type nodesFileEntry struct {
	Name    string `json:"name"`
	HTTP    string `json:"http"`
	PID     int    `json:"pid"`
	Metrics string `json:"metrics,omitempty"`
}

// ReadNodes reads a nodes.json (a list of {"name", "http", "pid"}) into
// targets: each http address becomes a base URL (http:// is added when it
// has no scheme), each pid the process sampled for that node.
func ReadNodes(path string) ([]Target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: read nodes: %w", err)
	}
	var ents []nodesFileEntry
	if err := json.Unmarshal(b, &ents); err != nil {
		return nil, fmt.Errorf("bench: decode nodes %s: %w", path, err)
	}
	if len(ents) == 0 {
		return nil, fmt.Errorf("bench: nodes %s: no node", path)
	}
	ts := make([]Target, len(ents))
	for i, n := range ents {
		if n.HTTP == "" {
			return nil, fmt.Errorf("bench: nodes %s: node %d has no http address", path, i+1)
		}
		u := n.HTTP
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		ts[i] = Target{Name: n.Name, URL: u, PID: n.PID}
		if n.Metrics != "" {
			ts[i].Metrics = "http://" + n.Metrics + "/metrics"
		}
	}
	return ts, nil
}

// targetsOf returns the targets of c: Targets when set, else the
// comma-separated base URLs of Server, the only one with ServerPID.
func (c Config) targetsOf() []Target {
	if len(c.Targets) > 0 {
		return c.Targets
	}
	var ts []Target
	for u := range strings.SplitSeq(c.Server, ",") {
		if u = strings.TrimSpace(u); u != "" {
			ts = append(ts, Target{URL: u})
		}
	}
	if len(ts) == 1 {
		ts[0].PID = c.ServerPID
	}
	return ts
}

// validateTargets checks every target's URL.
func (c Config) validateTargets() error {
	if len(c.Targets) == 0 {
		return fmt.Errorf("bench: no server")
	}
	if c.ServerPID != 0 && len(c.Targets) > 1 {
		return fmt.Errorf("bench: --server-pid samples one process but %d servers are given: "+
			"pass --nodes FILE, whose pids are sampled", len(c.Targets))
	}
	for _, t := range c.Targets {
		u, err := url.Parse(t.URL)
		if err != nil {
			return fmt.Errorf("bench: server url: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("bench: server url %q: want http://host:port", t.URL)
		}
	}
	return nil
}

// node is one target of a run with its clients and its socket counts.
type node struct {
	Target
	wsBase string
	rest   *restClient
	ws     *websocket.Dialer
	c      nodeCounters
}

// nodeCounters count one node's sockets; the run's totals are in counters.
type nodeCounters struct {
	ok, failed, live, dropped atomic.Int64
}

// nodeCount is a snapshot of one node's socket counts, as a capacity
// worker reports them to its parent (by the node's index).
type nodeCount struct {
	OK      int64 `json:"ok"`
	Failed  int64 `json:"failed"`
	Live    int64 `json:"live"`
	Dropped int64 `json:"dropped"`
}

// newNode prepares the clients of target t.
func newNode(cfg Config, t Target) (*node, error) {
	base, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("bench: server url: %w", err)
	}
	d := newDialer(base.Hostname(), cfg.LocalAddrs, cfg.DialTimeout)
	return &node{
		Target: t,
		wsBase: wsBase(t.URL),
		rest:   newRESTClient(base, cfg.Concurrency, d, cfg.DialTimeout),
		ws:     newWSDialer(d, cfg.DialTimeout, cfg.Scenario == ScenarioCapacity || cfg.Scenario == ScenarioChurn),
	}, nil
}

// node is the node that work item i goes to: round-robin over the nodes.
func (e *environment) node(i int) *node {
	return e.nodes[i%len(e.nodes)]
}

// multiNode reports whether the run targets several nodes: only then does
// the report have a per-node section, so one server's report is unchanged.
func (e *environment) multiNode() bool { return len(e.nodes) > 1 }

// nodeCounts snapshots every node's socket counts.
func (e *environment) nodeCounts() []nodeCount {
	out := make([]nodeCount, len(e.nodes))
	for i, n := range e.nodes {
		out[i] = nodeCount{OK: n.c.ok.Load(), Failed: n.c.failed.Load(), Live: n.c.live.Load(), Dropped: n.c.dropped.Load()}
	}
	return out
}

// closed accounts a socket to nd that stopped being read; dropped says
// the server or the network closed it, not the run. nd may be nil.
func (nd *node) closed(dropped bool) {
	if nd == nil {
		return
	}
	nd.c.live.Add(-1)
	if dropped {
		nd.c.dropped.Add(1)
	}
}

package bench

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// fakeCluster is one fakeServer served on several listeners: nodes that
// share every room and account, as a cluster's nodes do. It records which
// node each registration and each room socket came to. With lag, nodes
// other than the first serve a room only lag after its creation, as a
// cluster's replicas apply its log a moment apart.
type fakeCluster struct {
	fs        *fakeServer
	urls      []string
	lag       time.Duration
	mu        sync.Mutex
	registers []int             // per node
	sockets   []int             // per node
	roomNodes map[string][]bool // room id → nodes with a socket in it
	created   map[string]time.Time
	lagged    int // requests answered 404 for lag
}

// startFakeCluster serves a fakeServer on n listeners until the test ends.
func startFakeCluster(t *testing.T, n int) *fakeCluster {
	t.Helper()
	_, fs := startFakeServer(t) // its own listener is not used
	fc := &fakeCluster{fs: fs, registers: make([]int, n), sockets: make([]int, n), roomNodes: map[string][]bool{},
		created: map[string]time.Time{}}
	for i := range n {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { fc.handle(i, ctx) }}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Shutdown() })
		fc.urls = append(fc.urls, "http://"+ln.Addr().String())
	}
	return fc
}

// handle serves a request to node i.
func (fc *fakeCluster) handle(i int, ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	if fc.notYet(i, path) {
		reply(ctx, 404, map[string]any{"detail": "Not found."})
		return
	}
	fc.seen(i, path)
	fc.fs.handle(ctx)
	if path == "/chat/v1/room/" && ctx.Response.StatusCode() == 201 {
		var out struct {
			ID int64 `json:"id"`
		}
		_ = json.Unmarshal(ctx.Response.Body(), &out)
		fc.mu.Lock()
		fc.created[strconv.FormatInt(out.ID, 10)] = time.Now()
		fc.mu.Unlock()
	}
}

// notYet reports whether node i does not serve the room of path yet.
func (fc *fakeCluster) notYet(i int, path string) bool {
	parts := strings.Split(path, "/")
	var room string
	switch {
	case i == 0 || fc.lag == 0:
		return false
	case strings.HasPrefix(path, "/ws/chat/") && len(parts) > 3:
		room = parts[3]
	case strings.HasPrefix(path, "/chat/v1/room/") && len(parts) == 6 && parts[5] == "":
		room = parts[4]
	default:
		return false
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if time.Since(fc.created[room]) < fc.lag {
		fc.lagged++
		return true
	}
	return false
}

// seen records a request to node i.
func (fc *fakeCluster) seen(i int, path string) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	switch {
	case path == "/user/v1/register/":
		fc.registers[i]++
	case strings.HasPrefix(path, "/ws/chat/"):
		fc.sockets[i]++
		room := strings.Split(path, "/")[3]
		if fc.roomNodes[room] == nil {
			fc.roomNodes[room] = make([]bool, len(fc.sockets))
		}
		fc.roomNodes[room][i] = true
	}
}

// targets are the cluster's nodes, all sampled as this process.
func (fc *fakeCluster) targets() []Target {
	ts := make([]Target, len(fc.urls))
	for i, u := range fc.urls {
		ts[i] = Target{Name: "n" + strconv.Itoa(i+1), URL: u, PID: os.Getpid()}
	}
	return ts
}

// runCluster runs cfg against fc's nodes with test-sized defaults.
func runCluster(t *testing.T, fc *fakeCluster, cfg Config) *Report {
	t.Helper()
	cfg.Targets = fc.targets()
	if cfg.Duration == 0 {
		cfg.Duration = time.Second
	}
	cfg.Drain = 3 * time.Second
	cfg.LocalAddrs = 4
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

// assertNodes checks the per-node section: sockets held per node as
// want, every node's process read with the sockets held, and the totals.
func assertNodes(t *testing.T, rep *Report, want []int64) {
	t.Helper()
	if len(rep.Nodes) != len(want) || rep.NodesTotal == nil {
		t.Fatalf("nodes %+v total %+v", rep.Nodes, rep.NodesTotal)
	}
	var sum int64
	var rss float64
	for i, n := range rep.Nodes {
		if n.Name != "n"+strconv.Itoa(i+1) || n.SocketsHeld != want[i] || n.SocketsOK != want[i] || n.SocketsFailed != 0 || n.Dropped != 0 {
			t.Fatalf("node %d: %+v, want %d sockets held", i, n, want[i])
		}
		if !n.Sampled || n.PID != os.Getpid() || n.RSSHeldMB <= 0 || n.FDsHeld <= 0 || n.MaxOpenFiles <= 0 || n.Died {
			t.Fatalf("node %d process figures: %+v", i, n)
		}
		if got := n.RSSHeldMB * (1 << 20) / float64(n.SocketsHeld); got < 0.99*n.RSSPerSocketBytes || got > 1.01*n.RSSPerSocketBytes {
			t.Fatalf("node %d: %.0f bytes per socket, want RSS held / sockets held = %.0f", i, n.RSSPerSocketBytes, got)
		}
		sum += n.SocketsHeld
		rss += n.RSSHeldMB
	}
	tot := rep.NodesTotal
	if tot.SocketsHeld != sum || tot.RSSHeldMB < 0.99*rss || tot.RSSHeldMB > 1.01*rss || tot.RSSPerSocketBytes <= 0 {
		t.Fatalf("totals %+v, want %d sockets and %.1f MB", tot, sum, rss)
	}
	if s := rep.Server; s == nil || s.PID != 0 || len(s.PIDs) != len(want) || s.RSSStartMB <= 0 {
		t.Fatalf("server totals %+v", rep.Server)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"node n1", "node n2", "all nodes", "held (peak", "/socket"} {
		if !strings.Contains(table.String(), s) {
			t.Fatalf("table has no %q:\n%s", s, table.String())
		}
	}
}

func TestManyRoomsOverTwoNodes(t *testing.T) {
	fc := startFakeCluster(t, 2)
	rep := runCluster(t, fc, Config{Scenario: ScenarioManyRooms, Rooms: 3, Members: 4, Rate: 10})
	// Every member of every room gets every message, whichever node it is on.
	assertClean(t, rep)
	if want := rep.Messages.Sent * 4; rep.Messages.Expected != want {
		t.Fatalf("expected %d, want sent×members = %d", rep.Messages.Expected, want)
	}
	assertNodes(t, rep, []int64{6, 6})
	for i, n := range rep.Nodes {
		if n.Expected == 0 || n.Received != n.Expected || n.Lost != 0 || n.Duplicates != 0 {
			t.Fatalf("node %d deliveries %+v", i, n)
		}
	}
	if tot := rep.NodesTotal; tot.Expected != rep.Messages.Expected || tot.Received != rep.Messages.Received {
		t.Fatalf("node totals %+v, messages %+v", tot, rep.Messages)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.sockets[0] != 6 || fc.sockets[1] != 6 || fc.registers[0] != 6 || fc.registers[1] != 6 {
		t.Fatalf("sockets per node %v, registrations per node %v: want 6 and 6", fc.sockets, fc.registers)
	}
	if len(fc.roomNodes) != 3 {
		t.Fatalf("sockets in %d rooms", len(fc.roomNodes))
	}
	for room, on := range fc.roomNodes {
		if !on[0] || !on[1] {
			t.Fatalf("room %s has sockets on nodes %v: want every room to span both", room, on)
		}
	}
	if ok := strings.Contains(rep.ServerURL, fc.urls[0]) && strings.Contains(rep.ServerURL, fc.urls[1]); !ok {
		t.Fatalf("server url %q", rep.ServerURL)
	}
}

func TestLossIsCountedPerNode(t *testing.T) {
	fc := startFakeCluster(t, 2)
	fc.fs.dropEvery = 3 // the room's last socket misses every third message
	rep := runCluster(t, fc, Config{Scenario: ScenarioFanout, Members: 5, Rate: 30})
	m := rep.Messages
	if m.Lost == 0 || m.Received+m.Lost != m.Expected {
		t.Fatalf("loss not accounted: %+v", m)
	}
	var lost, expected int64
	for _, n := range rep.Nodes {
		lost, expected = lost+n.Lost, expected+n.Expected
	}
	if lost != m.Lost || expected != m.Expected || rep.NodesTotal.Lost != m.Lost {
		t.Fatalf("per-node loss %d of %d expected, want %d of %d: %+v", lost, expected, m.Lost, m.Expected, rep.Nodes)
	}
}

func TestSocketsWaitForEveryNodeToServeTheRooms(t *testing.T) {
	fc := startFakeCluster(t, 2)
	fc.lag = 700 * time.Millisecond
	rep := runCluster(t, fc, Config{Scenario: ScenarioFanout, Members: 6, Rate: 10})
	assertClean(t, rep) // no socket failed with the lagging node's 404
	assertNodes(t, rep, []int64{3, 3})
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.lagged == 0 {
		t.Fatal("the lagging node was never asked before it served the room")
	}
}

func TestCapacityWorkersOverTwoNodes(t *testing.T) {
	t.Setenv(workerEnv, "1")
	fc := startFakeCluster(t, 2)
	rep := runCluster(t, fc, Config{Scenario: ScenarioCapacity, Conns: 61, Procs: 2, Duration: 500 * time.Millisecond,
		WorkerCommand: []string{os.Args[0]}})
	if c := rep.Capacity; c == nil || c.Held != 61 || c.Processes != 2 || c.BytesPerConn == 0 {
		t.Fatalf("capacity %+v", rep.Capacity)
	}
	// Sockets 0, 2, 4 … go to the first node whichever worker opens them.
	assertNodes(t, rep, []int64{31, 30})
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.sockets[0] != 31 || fc.sockets[1] != 30 {
		t.Fatalf("sockets per node %v", fc.sockets)
	}
	if len(rep.Timeline) == 0 || len(rep.Timeline[0].NodeRSSMB) != 2 || rep.Timeline[0].NodeRSSMB[1] <= 0 {
		t.Fatalf("timeline %+v", rep.Timeline)
	}
	var page strings.Builder
	if err := rep.WriteHTML(&page); err != nil || !strings.Contains(page.String(), "Server RSS per node") ||
		!strings.Contains(page.String(), "server RSS per socket, all nodes") {
		t.Fatalf("html: %v", err)
	}
}

func TestOneServerHasNoNodeSection(t *testing.T) {
	rep := runFake(t, Config{Scenario: ScenarioCapacity, Conns: 10, Duration: 100 * time.Millisecond}, nil)
	if rep.Nodes != nil || rep.NodesTotal != nil || rep.Server == nil || rep.Server.PID != os.Getpid() || rep.Server.PIDs != nil {
		t.Fatalf("nodes %+v, server %+v", rep.Nodes, rep.Server)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil || strings.Contains(table.String(), "node ") {
		t.Fatalf("table: %v\n%s", err, table.String())
	}
}

func TestTargets(t *testing.T) {
	c := Config{Scenario: ScenarioFanout, Server: "http://127.0.0.1:1, http://127.0.0.1:2"}.withDefaults()
	if len(c.Targets) != 2 || c.Targets[1] != (Target{Name: "node2", URL: "http://127.0.0.1:2"}) || c.validate() != nil {
		t.Fatalf("targets %+v: %v", c.Targets, c.validate())
	}
	one := Config{Scenario: ScenarioFanout, Server: "http://127.0.0.1:1", ServerPID: 7}.withDefaults()
	if len(one.Targets) != 1 || one.Targets[0].PID != 7 || one.Server != "http://127.0.0.1:1" {
		t.Fatalf("one target %+v", one)
	}
	for _, bad := range []Config{
		{Scenario: ScenarioFanout, Server: "http://127.0.0.1:1,http://127.0.0.1:2", ServerPID: 7},
		{Scenario: ScenarioFanout, Server: "http://127.0.0.1:1,ftp://x"},
		{Scenario: ScenarioFanout, Targets: []Target{{URL: "127.0.0.1:1"}}},
	} {
		if err := bad.withDefaults().validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "nodes.json")
	nodes := `[{"name":"node1","http":"127.0.0.1:8001","pid":11,"metrics":"127.0.0.1:8301"},{"name":"node2","http":"http://127.0.0.1:8002","pid":12}]`
	if err := os.WriteFile(path, []byte(nodes), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := ReadNodes(path)
	want := []Target{{"node1", "http://127.0.0.1:8001", 11, "http://127.0.0.1:8301/metrics"}, {"node2", "http://127.0.0.1:8002", 12, ""}}
	if err != nil || len(ts) != 2 || ts[0] != want[0] || ts[1] != want[1] {
		t.Fatalf("ReadNodes: %+v, %v", ts, err)
	}
	for _, bad := range []string{`[]`, `{"name":"x"}`, `[{"name":"node1","pid":1}]`} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadNodes(path); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestNodeWithoutProcess(t *testing.T) {
	fc := startFakeCluster(t, 2)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil { // its pid is free once it has been reaped
		t.Fatal(err)
	}
	cfg := Config{Scenario: ScenarioCapacity, Conns: 10, Duration: 100 * time.Millisecond, LocalAddrs: 4,
		Targets: []Target{{URL: fc.urls[0], PID: os.Getpid()}, {URL: fc.urls[1], PID: gone.Process.Pid}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Nodes[0], rep.Nodes[1]
	if !a.Sampled || a.Died || a.RSSHeldMB <= 0 || a.SocketsHeld != 5 || b.Sampled || b.SocketsHeld != 5 || a.Name != "node1" {
		t.Fatalf("nodes %+v", rep.Nodes)
	}
	if rep.Server != nil { // a sum over some of the nodes would pass for all of them
		t.Fatalf("server totals %+v from one node of two", rep.Server)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "node2's process") {
		t.Fatalf("notes %q", rep.Notes)
	}
}

func TestNodeThatDiedIsNamed(t *testing.T) {
	e := &environment{nodes: []*node{{Target: Target{Name: "a", PID: 10}}, {Target: Target{Name: "b", PID: 11}}}}
	start := procSample{At: time.Now(), RSS: 10 << 20, CPU: time.Second}
	last := procSample{At: start.At.Add(time.Second), RSS: 20 << 20, CPU: 2 * time.Second}
	p := &phase{e: e, pids: []int{10, 11}, nodeStart: []procSample{start, start}, nodeFiles: []int64{100, 100},
		s: &sampler{nodePeak: []int64{0, 30 << 20}, nodeLast: []procSample{last, last}}}
	end := []procSample{last, {}}
	if note := p.diedNote(end); !strings.Contains(note, "b (pid 11)") || strings.Contains(note, "a (pid") {
		t.Fatalf("note %q", note)
	}
	var ns NodeStats
	ns.PID = 11
	p.nodeServer(&ns, 1, end)
	if !ns.Died || !ns.Sampled || ns.RSSEndMB != 20 || ns.RSSPeakMB != 30 || ns.CPUSeconds != 1 {
		t.Fatalf("died node %+v", ns)
	}
}

func TestInboxOverTwoNodes(t *testing.T) {
	fc := startFakeCluster(t, 2)
	rep := runCluster(t, fc, Config{Scenario: ScenarioInbox, Users: 6, RoomsPerUser: 3, Members: 3, Rate: 30, RoomSockets: 0.5})
	assertInboxClean(t, rep)
	tot := rep.NodesTotal
	if tot == nil || tot.SocketsHeld != 18 || tot.Expected != rep.Messages.Expected+rep.Inbox.Expected || tot.Lost != 0 {
		t.Fatalf("totals %+v, messages %+v, inbox %+v", tot, rep.Messages, rep.Inbox)
	}
	for i, n := range rep.Nodes {
		if n.SocketsHeld == 0 || n.Expected == 0 || n.Received != n.Expected {
			t.Fatalf("node %d %+v", i, n)
		}
	}
}

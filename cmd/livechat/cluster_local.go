package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"livechat/cluster"
)

const clusterUsage = `usage: livechat cluster local --nodes N --dir DIR [--base-port P] [-- serve flags]
       livechat cluster import --from DIR --nats-url URL   (see cluster import --help)

Runs a cluster of N nodes on this machine: N livechat serve processes on
127.0.0.1, node1 … nodeN, each with its data in DIR/nodeI. With base port P
(default 8000), node1 listens on
  P        HTTP and WebSocket (--addr)
  P+100    NATS clients (--cluster-listen)
  P+200    NATS routes (--cluster-routes)
  P+300    Prometheus metrics (--metrics-addr)
node2 on P+1, P+101, P+201, P+301, and so on.
Each node has every other as a peer. Once every node answers /healthz,
DIR/nodes.json lists them ([{"name","http","pid","metrics"}]). It stays in the
foreground, prefixing each node's log lines with its name; Ctrl-C or
SIGTERM stops every node (SIGTERM, then waits). A node that dies is
reported, not restarted. Flags after -- go to every node's serve.
`

// localReadyWait bounds the wait for every node to answer: each waits
// for a majority of the others before it serves.
const localReadyWait = 90 * time.Second

// runCluster is `livechat cluster`.
func runCluster(args []string) int {
	if len(args) > 0 && args[0] == "import" {
		return runClusterImport(args[1:])
	}
	if len(args) == 0 || args[0] != "local" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Print(clusterUsage)
			return 0
		}
		fmt.Fprint(os.Stderr, clusterUsage)
		return 2
	}
	fs := flag.NewFlagSet("cluster local", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("nodes", 3, "how many nodes")
	dir := fs.String("dir", "", "the nodes' data directories go under it")
	base := fs.Int("base-port", 8000, "the first node's HTTP port; the other ports follow from it")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(clusterUsage)
			return 0
		}
		fmt.Fprintln(os.Stderr, "livechat cluster local:", err)
		return 2
	}
	switch {
	case *n < 1 || *n > cluster.MaxLocalNodes:
		fmt.Fprintf(os.Stderr, "livechat cluster local: --nodes %d: must be between 1 and %d\n", *n, cluster.MaxLocalNodes)
		return 2
	case *dir == "":
		fmt.Fprintln(os.Stderr, "livechat cluster local: --dir is needed")
		return 2
	case *base < 1 || *base+cluster.MaxLocalNodes*4 > 65535:
		fmt.Fprintf(os.Stderr, "livechat cluster local: --base-port %d: must leave room for %d ports above it\n", *base, cluster.MaxLocalNodes*4)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runLocal(ctx, *n, *dir, *base, fs.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "livechat cluster local:", err)
		return 1
	}
	return 0
}

// localChild is one running node of `cluster local`.
type localChild struct {
	node   cluster.LocalNode
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process is reaped
	err    error         // its exit, once exited is closed
}

// runLocal starts the nodes, waits for them, and keeps them until ctx
// ends or every node has died.
func runLocal(ctx context.Context, n int, dir string, base int, extra []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	nodes := cluster.LocalCluster(n, "127.0.0.1", base)
	var logMu sync.Mutex // one line at a time from every node
	children := make([]*localChild, 0, n)
	defer func() { stopChildren(children) }()
	for _, node := range nodes {
		c, err := startChild(exe, node, append(node.ServeArgs(nodes, dir), extra...), &logMu)
		if err != nil {
			return err
		}
		children = append(children, c)
	}
	if err := waitHealthy(ctx, children); err != nil {
		return err
	}
	if err := writeNodesFile(filepath.Join(dir, "nodes.json"), children); err != nil {
		return err
	}
	for _, c := range children {
		fmt.Printf("%s  http://%s  pid %d\n", c.node.Name, c.node.HTTP, c.cmd.Process.Pid)
	}
	fmt.Printf("%d nodes up; nodes in %s; Ctrl-C stops them\n", n, filepath.Join(dir, "nodes.json"))
	return watchChildren(ctx, children)
}

// startChild starts one node, its stdout and stderr copied to ours line
// by line behind its name.
func startChild(exe string, node cluster.LocalNode, args []string, logMu *sync.Mutex) (*localChild, error) {
	cmd := exec.Command(exe, append([]string{"serve"}, args...)...)
	cmd.SysProcAttr = cluster.LocalProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // one pipe: lines keep their order
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", node.Name, err)
	}
	c := &localChild{node: node, cmd: cmd, exited: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logMu.Lock()
			fmt.Fprintf(os.Stderr, "[%s] %s\n", node.Name, sc.Bytes())
			logMu.Unlock()
		}
	}()
	go func() {
		<-copied // Wait closes the pipe: read it all first
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// waitHealthy polls every node's /healthz until each answers 200.
func waitHealthy(ctx context.Context, children []*localChild) error {
	ctx, cancel := context.WithTimeout(ctx, localReadyWait)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for _, c := range children {
		for !healthy(ctx, client, c.node.HTTP) {
			select {
			case <-c.exited:
				return fmt.Errorf("%s exited before it served: %v", c.node.Name, c.err)
			case <-ctx.Done():
				return fmt.Errorf("%s did not answer /healthz: %w", c.node.Name, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func healthy(ctx context.Context, client *http.Client, addr string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// writeNodesFile writes the running nodes, for scripts and tests.
func writeNodesFile(path string, children []*localChild) error {
	type entry struct {
		Name    string `json:"name"`
		HTTP    string `json:"http"`
		PID     int    `json:"pid"`
		Metrics string `json:"metrics,omitempty"`
	}
	list := make([]entry, len(children))
	for i, c := range children {
		list[i] = entry{c.node.Name, c.node.HTTP, c.cmd.Process.Pid, c.node.Metrics}
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// watchChildren reports each node that dies, until ctx ends (nil) or
// none is left (an error).
func watchChildren(ctx context.Context, children []*localChild) error {
	reported := make([]bool, len(children))
	for {
		alive := 0
		for i, c := range children {
			select {
			case <-c.exited:
				if !reported[i] {
					reported[i] = true
					fmt.Fprintf(os.Stderr, "livechat cluster local: %s (pid %d) died: %v; not restarted\n", c.node.Name, c.cmd.Process.Pid, c.err)
				}
			default:
				alive++
			}
		}
		if alive == 0 {
			return errors.New("every node died")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// localStopWait bounds a node's shutdown after SIGTERM: its own
// --shutdown-timeout (15 s) and some; past it, SIGKILL.
const localStopWait = 30 * time.Second

// stopChildren sends SIGTERM to every node still running and waits for
// each, killing those that outlast localStopWait.
func stopChildren(children []*localChild) {
	for _, c := range children {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(localStopWait)
	for _, c := range children {
		select {
		case <-c.exited:
		case <-time.After(time.Until(deadline)):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
}

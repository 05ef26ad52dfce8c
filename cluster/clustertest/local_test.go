package clustertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"livechat/cluster"
)

// lockedBuffer is a bytes.Buffer written by a process and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeBase is a base port whose whole `cluster local` layout for n nodes
// is free now.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	for range 20 {
		base := 20000 + rand.IntN(30000)
		ok := true
		for _, l := range cluster.LocalCluster(n, "127.0.0.1", base) {
			for _, a := range []string{l.HTTP, l.Client, l.Route, l.Metrics} {
				ln, err := net.Listen("tcp", a)
				if err != nil {
					ok = false
					break
				}
				_ = ln.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free range of ports for cluster local")
	return 0
}

// TestClusterLocal runs `livechat cluster local` as an operator would:
// three nodes that serve one cluster, nodes.json naming them, a node
// killed reported without stopping the rest, and SIGTERM stopping every
// node with exit status 0.
func TestClusterLocal(t *testing.T) {
	bin := Binary(t)
	dir := t.TempDir()
	base := freeBase(t, 3)
	var stderr lockedBuffer
	cmd := exec.Command(bin, "cluster", "local", "--nodes", "3", "--dir", dir, "--base-port", strconv.Itoa(base), "--", "--bcrypt-cost", "4", "--durability", "os")
	cmd.Stderr = &stderr
	cmd.SysProcAttr = cluster.LocalProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var pids []int
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("cluster local's output:\n%s", tail([]byte(stderr.String()), logTail))
		}
	})

	var nodes []struct {
		Name, HTTP, Metrics string
		PID                 int
	}
	for deadline := time.Now().Add(90 * time.Second); ; {
		b, err := os.ReadFile(filepath.Join(dir, "nodes.json"))
		if err == nil && json.Unmarshal(b, &nodes) == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("cluster local exited before nodes.json: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no nodes.json after 90 s")
		}
	}
	want := cluster.LocalCluster(3, "127.0.0.1", base)
	if len(nodes) != 3 {
		t.Fatalf("nodes.json lists %+v", nodes)
	}
	for i, n := range nodes {
		pids = append(pids, n.PID)
		if n.Name != want[i].Name || n.HTTP != want[i].HTTP || n.Metrics != want[i].Metrics || syscall.Kill(n.PID, 0) != nil {
			t.Fatalf("nodes.json entry %+v: want %s at %s, metrics at %s, a running pid", n, want[i].Name, want[i].HTTP, want[i].Metrics)
		}
	}
	// One cluster: an account registered on node1 logs in on node3.
	n1 := &Node{local: want[0]}
	n3 := &Node{local: want[2]}
	email := uniqueEmail("local")
	register(t, n1, email, "local")
	eventually(t, "node3 logs in the account registered on node1", func() (reply, error) {
		return call(n3, "POST", "/user/v1/login/", "", map[string]string{"email": email, "password": testPassword})
	}, 200, nil)
	// What crossed between the nodes is in each node's metrics.
	if sent := routeMessagesSent(t, nodes[0].Metrics); sent <= 0 {
		t.Fatalf("node1's metrics: %d route messages sent after a registration went through the cluster", sent)
	}

	if err := syscall.Kill(nodes[1].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	report := fmt.Sprintf("node2 (pid %d) died", nodes[1].PID)
	for deadline := time.Now().Add(10 * time.Second); !bytes.Contains([]byte(stderr.String()), []byte(report)); {
		if time.Now().After(deadline) {
			t.Fatalf("no %q reported within 10 s", report)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !healthy(t.Context(), want[0].HTTP) {
		t.Fatal("node1 stopped answering after node2 died")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("cluster local after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("cluster local still runs 45 s after SIGTERM")
	}
	for _, n := range nodes {
		if syscall.Kill(n.PID, 0) == nil {
			t.Errorf("%s (pid %d) outlived cluster local", n.Name, n.PID)
		}
	}
}

// routeMessagesSent reads livechat_cluster_route_messages_total{direction="sent"}
// from the metrics at addr (-1 when absent).
func routeMessagesSent(t *testing.T, addr string) int64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	const series = `livechat_cluster_route_messages_total{direction="sent"} `
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return int64(f)
		}
	}
	return -1
}

package clustertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"livechat/cluster"
)

// Node is one `livechat serve` process of a test cluster.
type Node struct {
	t         testing.TB
	local     cluster.LocalNode
	bin       string
	args      []string
	logPath   string
	readyWait time.Duration
	// space is the node's network namespace (Options.Netns); "" runs it
	// in the test's own.
	space string

	mu   sync.Mutex
	proc *process // the current run; nil before the first start
}

// process is one run of a node.
type process struct {
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{} // closed once reaped
	err    error         // its exit, once exited is closed
}

// stopWait bounds a node's exit after SIGTERM (its --shutdown-timeout
// is 5 s) or SIGKILL.
const stopWait = 20 * time.Second

// Name is the node's name, node1…nodeN.
func (n *Node) Name() string { return n.local.Name }

// Addr is the node's HTTP address, host:port.
func (n *Node) Addr() string { return n.local.HTTP }

// URL is the node's HTTP base URL, http://host:port.
func (n *Node) URL() string { return "http://" + n.local.HTTP }

// Running reports whether the node's process has not exited (a paused
// node is running).
func (n *Node) Running() bool {
	p := n.current()
	if p == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (n *Node) current() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// start runs the node's process, its output appended to its log file.
func (n *Node) start() {
	n.t.Helper()
	log, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		n.t.Fatal(err)
	}
	fmt.Fprintf(log, "=== clustertest: %s %v\n", n.bin, n.args)
	cmd := exec.Command(n.bin, append([]string{"serve"}, n.args...)...)
	if n.space != "" {
		cmd = netnsCommand(n.space, n.bin, append([]string{"serve"}, n.args...)...)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = cluster.LocalProcAttr()
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		n.t.Fatalf("start %s: %v", n.Name(), err)
	}
	p := &process{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = log.Close()
		close(p.exited)
	}()
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
}

// waitReady waits until the node answers /healthz, failing the test if
// it exits first or takes longer than its ready wait.
func (n *Node) waitReady() {
	n.t.Helper()
	p := n.current()
	ctx, cancel := context.WithTimeout(context.Background(), n.readyWait)
	defer cancel()
	for !healthy(ctx, n.local.HTTP) {
		select {
		case <-p.exited:
			n.t.Fatalf("%s exited before it served: %v\n%s", n.Name(), p.err, n.LogTail(logTail))
		case <-ctx.Done():
			n.t.Fatalf("%s did not answer /healthz within %s\n%s", n.Name(), n.readyWait, n.LogTail(logTail))
		case <-time.After(100 * time.Millisecond):
		}
	}
	if n.space != "" {
		// Started through `ip netns exec`, the process must have become
		// the node by now, or Kill, Pause and the rest would hit ip.
		bin, _ := filepath.EvalSymlinks(n.bin) // as /proc shows it
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.cmd.Process.Pid)); err != nil || exe != bin {
			n.t.Fatalf("%s: pid %d runs %q (%v), not %s: signals would miss the node", n.Name(), p.cmd.Process.Pid, exe, err, n.bin)
		}
	}
}

// signal sends sig to the running process.
func (n *Node) signal(sig syscall.Signal) {
	n.t.Helper()
	p := n.current()
	if p == nil || !n.Running() {
		n.t.Fatalf("%s: %v sent to a node that is not running", n.Name(), sig)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		n.t.Fatalf("%s: %v: %v", n.Name(), sig, err)
	}
}

// waitExit waits for the process to exit, at most stopWait.
func (n *Node) waitExit(what string) error {
	n.t.Helper()
	p := n.current()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(stopWait):
		_ = p.cmd.Process.Kill()
		<-p.exited
		n.t.Fatalf("%s did not exit within %s of %s", n.Name(), stopWait, what)
		return nil
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (n *Node) Kill() {
	n.t.Helper()
	n.signal(syscall.SIGKILL)
	_ = n.waitExit("SIGKILL")
}

// Stop sends SIGTERM and waits for the node's shutdown; it returns how
// the process exited (nil: status 0).
func (n *Node) Stop() error {
	n.t.Helper()
	n.signal(syscall.SIGTERM)
	return n.waitExit("SIGTERM")
}

// Pause stops the process (SIGSTOP): it holds its sockets and answers
// nothing until Resume.
func (n *Node) Pause() {
	n.t.Helper()
	n.signal(syscall.SIGSTOP)
}

// Resume continues a paused process (SIGCONT).
func (n *Node) Resume() {
	n.t.Helper()
	n.signal(syscall.SIGCONT)
}

// Restart starts a node that was killed or stopped, with its data and
// ports, and waits until it answers /healthz.
func (n *Node) Restart() {
	n.t.Helper()
	if n.Running() {
		n.t.Fatalf("%s: restart of a node still running", n.Name())
	}
	n.start()
	n.waitReady()
}

// Exited waits at most d for the node's process to exit by itself:
// exited is false if it still runs, else err is its exit (nil: status 0).
func (n *Node) Exited(d time.Duration) (exited bool, err error) {
	p := n.current()
	select {
	case <-p.exited:
		return true, p.err
	case <-time.After(d):
		return false, nil
	}
}

// LogTail is the last lines of the node's log, every run of it.
func (n *Node) LogTail(lines int) string { return tail(readLog(n.logPath), lines) }

// kill ends the process however it is (paused included), for cleanup.
func (n *Node) kill() {
	p := n.current()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(stopWait):
		n.t.Errorf("%s (pid %d) still running %s after SIGKILL", n.Name(), p.cmd.Process.Pid, stopWait)
	}
}

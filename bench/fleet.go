package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// workerStopWait bounds how long a worker may take to close its sockets
// and exit once told to; after it the worker is killed.
const workerStopWait = 30 * time.Second

// workerProc is one capacity worker process seen from its parent.
type workerProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	last   workerEvent
	ready  chan workerEvent // the "ready" event, once
	done   chan workerEvent // the "done" event, once
	exited chan error       // the process's exit, once stdout is drained
}

// workerCommand is the command line that starts a worker.
func (e *environment) workerCommand() ([]string, error) {
	if len(e.cfg.WorkerCommand) > 0 {
		return e.cfg.WorkerCommand, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: find own executable for workers: %w", err)
	}
	return append([]string{exe}, WorkerArgs...), nil
}

// startWorker starts one worker process and sends it spec.
func (e *environment) startWorker(spec workerSpec) (*workerProc, error) {
	argv, err := e.workerCommand()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: worker stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: worker stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start worker %s: %w", argv[0], err)
	}
	w := &workerProc{cmd: cmd, stdin: stdin, ready: make(chan workerEvent, 1),
		done: make(chan workerEvent, 1), exited: make(chan error, 1)}
	go w.readEvents(stdout)
	b, _ := json.Marshal(spec) // plain data: cannot fail
	if _, err := stdin.Write(append(b, '\n')); err != nil {
		w.kill()
		return nil, fmt.Errorf("bench: send worker its spec: %w", err)
	}
	return w, nil
}

// readEvents decodes the worker's stdout until EOF, then reaps it.
func (w *workerProc) readEvents(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // a "ready" line carries a histogram
	for sc.Scan() {
		var ev workerEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue // not an event (a stray print): ignore it
		}
		w.mu.Lock()
		w.last = ev
		w.mu.Unlock()
		switch ev.Type {
		case "ready":
			w.ready <- ev
		case "done":
			w.done <- ev
		}
	}
	_, _ = io.Copy(io.Discard, r)
	w.exited <- w.cmd.Wait()
}

// lastEvent is the latest event the worker reported.
func (w *workerProc) lastEvent() workerEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// waitReady waits for the worker's "ready" event.
func (w *workerProc) waitReady(ctx context.Context, timeout time.Duration) (workerEvent, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case ev := <-w.ready:
		return ev, nil
	case err := <-w.exited:
		w.exited <- err
		return workerEvent{}, fmt.Errorf("bench: worker exited before it was ready: %w", errors.Join(err, errors.New("see its stderr")))
	case <-ctx.Done():
		return workerEvent{}, fmt.Errorf("bench: wait for worker: %w", ctx.Err())
	case <-t.C:
		return workerEvent{}, fmt.Errorf("bench: worker not ready after %s", timeout)
	}
}

// stop tells the worker to close its sockets and returns its "done" event;
// a worker that does not exit within workerStopWait is killed.
func (w *workerProc) stop() (workerEvent, error) {
	_ = w.stdin.Close()
	t := time.NewTimer(workerStopWait)
	defer t.Stop()
	var ev workerEvent
	var got bool
	for {
		select {
		case ev = <-w.done:
			got = true
		case err := <-w.exited:
			if !got {
				return w.lastEvent(), fmt.Errorf("bench: worker exited without a final report: %w", err)
			}
			return ev, err
		case <-t.C:
			w.kill()
			return w.lastEvent(), fmt.Errorf("bench: worker did not stop within %s; killed", workerStopWait)
		}
	}
}

// kill ends the worker process now.
func (w *workerProc) kill() {
	if w.cmd.Process != nil {
		_ = w.cmd.Process.Kill()
	}
}

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// WorkerArgs are the arguments, after the executable, that start a
// capacity worker process; cmd's bench command hands such a process to
// RunWorker.
var WorkerArgs = []string{"bench", ScenarioCapacity, "--worker"}

// workerSpec is what a capacity worker is told on its first stdin line.
type workerSpec struct {
	Server string `json:"server"`
	// Targets are the run's nodes: the worker spreads its sockets over
	// them by their global index, as the parent would.
	Targets     []Target      `json:"targets,omitempty"`
	Concurrency int           `json:"concurrency"`
	LocalAddrs  int           `json:"local_addrs"`
	DialTimeout time.Duration `json:"dial_timeout"`
	Rooms       []int64       `json:"rooms"`
	Accounts    []account     `json:"accounts"`
	Offset      int           `json:"offset"`
	Count       int           `json:"count"`
	// Lifetime bounds the worker even if its parent never tells it to stop.
	Lifetime time.Duration `json:"lifetime"`
}

// workerEvent is one stdout line of a worker: "progress" every second
// while opening and holding, "ready" once its sockets are open, "done"
// after it closed them.
type workerEvent struct {
	Type        string                 `json:"type"`
	OK          int64                  `json:"ok"`
	Failed      int64                  `json:"failed"`
	Live        int64                  `json:"live"`
	Dropped     int64                  `json:"dropped"`
	Nodes       []nodeCount            `json:"nodes,omitempty"` // by node index
	Failures    map[string]int64       `json:"failures,omitempty"`
	DropReasons map[string]int64       `json:"drop_reasons,omitempty"`
	OpenSec     float64                `json:"open_s,omitempty"`
	OpenLatency *hdrhistogram.Snapshot `json:"open_latency,omitempty"`
	SoftLimit   uint64                 `json:"soft_limit,omitempty"`
	CPUSeconds  float64                `json:"cpu_s,omitempty"`
	RSSMB       float64                `json:"rss_mb,omitempty"`
	Error       string                 `json:"error,omitempty"`
	// Renewals and RenewFailures count the worker's token renewals ("done").
	Renewals      int64 `json:"renewals,omitempty"`
	RenewFailures int64 `json:"renew_failures,omitempty"`
}

// RunWorker is the body of a capacity worker process: it reads its spec
// from in, opens and holds its sockets, reports on out as JSON lines, and
// closes everything when in reaches EOF (or a "stop" line), ctx ends or
// its lifetime passes.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger) error {
	limit, err := RaiseFileLimit()
	if err != nil {
		log.Warn("cannot raise the open files limit", slog.Any("err", err))
	}
	br := bufio.NewReader(in)
	line, err := br.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("bench worker: read spec: %w", err)
	}
	var spec workerSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("bench worker: decode spec: %w", err)
	}
	if len(spec.Rooms) == 0 || len(spec.Accounts) == 0 {
		return errors.New("bench worker: spec without rooms or accounts")
	}
	ctx, cancel := context.WithTimeout(ctx, max(spec.Lifetime, time.Second))
	defer cancel()
	go func() { // EOF or "stop" on stdin: the parent wants the sockets closed
		_, _ = br.ReadString('\n')
		cancel()
	}()
	cfg := Config{Scenario: ScenarioCapacity, Server: spec.Server, Targets: spec.Targets, Concurrency: spec.Concurrency,
		LocalAddrs: spec.LocalAddrs, DialTimeout: spec.DialTimeout, Logger: log}.withDefaults()
	e, err := newEnvironment(cfg, limit)
	if err != nil {
		return err
	}
	return e.workerHold(ctx, spec, &eventWriter{w: out})
}

// workerHold opens, reports, holds until ctx ends, then releases.
func (e *environment) workerHold(ctx context.Context, spec workerSpec, ew *eventWriter) error {
	o := &opens{lat: newLockedHist()}
	stopTicks := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { e.tickEvents(ew, stopTicks) })
	keys := e.newKeyring(spec.Accounts)
	defer keys.stop()
	h := e.hold(ctx, o, spec.Rooms, keys, spec.Offset, spec.Count, time.Now().Add(spec.Lifetime))
	ready := e.event("ready", o, h)
	ready.OpenSec = round3(h.openTime.Seconds())
	o.lat.mu.Lock()
	ready.OpenLatency = o.lat.h.Export()
	o.lat.mu.Unlock()
	ready.SoftLimit = e.limit.Soft
	ew.write(ready)
	<-ctx.Done()
	close(stopTicks)
	wg.Wait()
	keys.stop()
	h.release()
	done := e.event("done", o, h)
	done.Renewals, done.RenewFailures = keys.renewals.Load(), keys.failures.Load()
	var own Report
	e.clientStats(&own)
	done.CPUSeconds, done.RSSMB = own.Client.CPUSeconds, own.Client.RSSMB
	ew.write(done)
	return ew.err
}

// event snapshots the worker's counts.
func (e *environment) event(typ string, o *opens, h *held) workerEvent {
	return workerEvent{
		Type: typ, OK: e.c.connsOK.Load(), Failed: e.c.connsFailed.Load(), Live: e.c.connsLive.Load(),
		Dropped: e.c.dropped.Load(), Nodes: e.nodeCounts(), Failures: o.fails.snapshot(), DropReasons: h.drops.snapshot(),
	}
}

// tickEvents writes a progress event every second until stop closes.
func (e *environment) tickEvents(ew *eventWriter, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ew.write(workerEvent{Type: "progress", OK: e.c.connsOK.Load(), Failed: e.c.connsFailed.Load(),
				Live: e.c.connsLive.Load(), Dropped: e.c.dropped.Load(), Nodes: e.nodeCounts()})
		}
	}
}

// eventWriter writes JSON lines from several goroutines.
type eventWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (ew *eventWriter) write(ev workerEvent) {
	b, err := json.Marshal(ev)
	ew.mu.Lock()
	defer ew.mu.Unlock()
	if err == nil {
		_, err = ew.w.Write(append(b, '\n'))
	}
	if err != nil && ew.err == nil {
		ew.err = fmt.Errorf("bench worker: write event: %w", err)
	}
}

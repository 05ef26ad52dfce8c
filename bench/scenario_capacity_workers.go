package bench

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// capacityWorkers holds the sockets in procs worker processes: each gets a
// share, opens it, reports "ready", and holds until told to stop. Their
// progress is summed into this process's counters for the live line.
func (e *environment) capacityWorkers(ctx context.Context, procs int, rooms []int64, users []account, during func()) (capResult, error) {
	e.log.Info("spreading sockets over worker processes", slog.Int("procs", procs), slog.Int("conns", e.cfg.Conns))
	var workers []*workerProc
	sum := func() { e.sumWorkers(workers) }
	var errs []error
	offset := 0
	for i := range procs {
		count := e.cfg.Conns/procs + boolInt(i < e.cfg.Conns%procs)
		spec := workerSpec{Server: e.cfg.Server, Targets: e.cfg.Targets, Concurrency: e.cfg.Concurrency, LocalAddrs: e.cfg.LocalAddrs,
			DialTimeout: e.cfg.DialTimeout, Rooms: rooms, Accounts: users, Offset: offset, Count: count,
			Lifetime: time.Until(e.holdDeadline())}
		offset += count
		w, err := e.startWorker(spec)
		if err != nil {
			errs = append(errs, err)
			break
		}
		workers = append(workers, w)
	}
	res := capResult{procs: len(workers), openLat: newHist()}
	t0 := time.Now()
	readyTimeout := e.cfg.DialTimeout*time.Duration(e.cfg.Conns/(procs*e.cfg.Concurrency)+1) + time.Minute
	stopSum := e.pollWorkers(sum)
	for _, w := range workers {
		ev, err := w.waitReady(ctx, readyTimeout-time.Since(t0))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res.addReady(ev)
	}
	res.openTime = time.Since(t0)
	if len(errs) == 0 && ctx.Err() == nil {
		during()
	}
	stopSum()
	for _, w := range workers {
		ev, err := w.stop()
		errs = append(errs, err)
		res.ok, res.failed, res.dropped = res.ok+ev.OK, res.failed+ev.Failed, res.dropped+ev.Dropped
		res.failures, res.drops = addCounts(res.failures, ev.Failures), addCounts(res.drops, ev.DropReasons)
		res.workerCPU, res.workerMB = res.workerCPU+ev.CPUSeconds, res.workerMB+ev.RSSMB
		res.renewals, res.renewFailures = res.renewals+ev.Renewals, res.renewFailures+ev.RenewFailures
	}
	sum() // the final counts, by node too
	return res, errors.Join(errs...)
}

// addReady merges a worker's open latencies and limit into res.
func (res *capResult) addReady(ev workerEvent) {
	if ev.OpenLatency != nil {
		res.openLat.Merge(hdrhistogram.Import(ev.OpenLatency))
	}
	if res.softLimit == 0 || ev.SoftLimit < res.softLimit {
		res.softLimit = ev.SoftLimit
	}
}

// pollWorkers calls sum every 200 ms until the returned stop is called.
func (e *environment) pollWorkers(sum func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sum()
			}
		}
	}()
	return func() { close(done); <-finished; sum() }
}

// sumWorkers stores the sum of the workers' latest counts in e's counters
// and its nodes'.
func (e *environment) sumWorkers(workers []*workerProc) {
	var ok, failed, live, dropped int64
	nodes := make([]nodeCount, len(e.nodes))
	for _, w := range workers {
		ev := w.lastEvent()
		ok, failed, live, dropped = ok+ev.OK, failed+ev.Failed, live+ev.Live, dropped+ev.Dropped
		for i, n := range ev.Nodes {
			if i < len(nodes) {
				nodes[i].OK, nodes[i].Failed = nodes[i].OK+n.OK, nodes[i].Failed+n.Failed
				nodes[i].Live, nodes[i].Dropped = nodes[i].Live+n.Live, nodes[i].Dropped+n.Dropped
			}
		}
	}
	for i, n := range e.nodes {
		n.c.ok.Store(nodes[i].OK)
		n.c.failed.Store(nodes[i].Failed)
		n.c.live.Store(nodes[i].Live)
		n.c.dropped.Store(nodes[i].Dropped)
	}
	e.c.connsOK.Store(ok)
	e.c.connsFailed.Store(failed)
	e.c.connsLive.Store(live)
	e.c.dropped.Store(dropped)
}

// addCounts adds b's counts into a (allocating a when needed).
func addCounts(a, b map[string]int64) map[string]int64 {
	for k, v := range b {
		if a == nil {
			a = make(map[string]int64)
		}
		a[k] += v
	}
	return a
}

// boolInt is 1 for true.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

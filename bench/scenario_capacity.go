package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// capacitySettle is how long capacity waits after the last open before it
// reads the server's memory, so that per-socket state has been allocated.
const capacitySettle = 2 * time.Second

// maxWorkers bounds the number of capacity worker processes.
const maxWorkers = 64

// capResult is what holding the sockets gave, in one process or several.
type capResult struct {
	ok, failed, dropped int64
	failures, drops     map[string]int64
	openLat             *hdrhistogram.Histogram
	openTime            time.Duration
	procs               int
	softLimit           uint64
	workerCPU, workerMB float64 // the worker processes' own use
	renewals            int64   // token renewals, summed over processes
	renewFailures       int64
}

// runCapacity runs the capacity scenario: open Conns idle authenticated
// sockets, hold them for Duration, and report how many held and what they
// cost the server in memory. It spreads the sockets over worker processes
// when one process may not open that many.
func (e *environment) runCapacity(ctx context.Context, rep *Report) error {
	users, rooms, err := e.setup(ctx, rep)
	if err != nil {
		return err
	}
	procs := e.capacityProcs()
	ph := e.startPhase()
	cs := &CapacityStats{Target: int64(e.cfg.Conns), ServerRSSBeforeMB: mb(ph.serverRSS())}
	holdPhase := func() {
		time.Sleep(capacitySettle)
		cs.Held = e.c.connsLive.Load()
		cs.ServerRSSHeldMB = mb(ph.markHeld())
		t0 := time.Now()
		waitFor(ctx, e.cfg.Duration, func() bool { return false })
		cs.HoldSec = round3(time.Since(t0).Seconds())
	}
	var res capResult
	if procs == 0 {
		res = e.capacityInProcess(ctx, rooms, users, holdPhase)
	} else {
		res, err = e.capacityWorkers(ctx, procs, rooms, users, holdPhase)
	}
	ph.stop(rep)
	e.capacityReport(rep, cs, res)
	return errors.Join(err, ctx.Err())
}

// capacityProcs is the number of worker processes to use; 0 means this
// process holds every socket itself.
func (e *environment) capacityProcs() int {
	if e.cfg.Procs > 0 {
		return min(e.cfg.Procs, maxWorkers)
	}
	if e.cfg.Conns <= min(e.cfg.PerProcess, e.limit.socketBudget()) {
		return 0
	}
	hard := FileLimit{Soft: e.limit.Hard}
	per := max(min(e.cfg.PerProcess, hard.socketBudget()), 1)
	return min((e.cfg.Conns+per-1)/per, maxWorkers)
}

// capacityInProcess holds every socket in this process.
func (e *environment) capacityInProcess(ctx context.Context, rooms []int64, users []account, during func()) capResult {
	o := &opens{lat: newLockedHist()}
	keys := e.newKeyring(users)
	defer keys.stop()
	h := e.hold(ctx, o, rooms, keys, 0, e.cfg.Conns, e.holdDeadline())
	if ctx.Err() == nil {
		during()
	}
	res := capResult{
		ok: e.c.connsOK.Load(), failed: e.c.connsFailed.Load(), dropped: e.c.dropped.Load(),
		failures: o.fails.snapshot(), drops: h.drops.snapshot(), openLat: o.lat.h,
		openTime: h.openTime, softLimit: e.limit.Soft,
	}
	keys.stop()
	res.renewals, res.renewFailures = keys.renewals.Load(), keys.failures.Load()
	h.release()
	return res
}

// holdDeadline bounds how long any held socket is read.
func (e *environment) holdDeadline() time.Time {
	return time.Now().Add(e.cfg.Duration + capacitySettle + 30*time.Minute)
}

// capacityReport fills the report of a capacity run.
func (e *environment) capacityReport(rep *Report, cs *CapacityStats, res capResult) {
	cs.Processes = max(res.procs, 1)
	if cs.Held > 0 && cs.ServerRSSHeldMB > 0 {
		cs.BytesPerConn = round3((cs.ServerRSSHeldMB - cs.ServerRSSBeforeMB) * (1 << 20) / float64(cs.Held))
	}
	for _, p := range rep.Timeline {
		cs.PeakLive = max(cs.PeakLive, p.ConnsLive)
	}
	cs.PeakLive = max(cs.PeakLive, cs.Held)
	rep.Capacity = cs
	rep.Client.Processes = cs.Processes
	rep.Client.WorkerCPUSeconds, rep.Client.WorkerRSSMB = round3(res.workerCPU), round3(res.workerMB)
	rep.Conns = ConnStats{
		Attempted: int64(e.cfg.Conns), OK: res.ok, Failed: res.failed, Failures: res.failures,
		OpenLatency: statsOf(res.openLat), Dropped: res.dropped, DropReasons: res.drops,
	}
	if s := res.openTime.Seconds(); s > 0 {
		rep.Conns.PerSec = round3(float64(res.ok) / s)
	}
	rep.Distribution = distribution(res.openLat)
	rep.TokenRenewals = res.renewals
	if note := renewNote(res.renewFailures); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	if res.procs > 1 && e.cfg.Procs == 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d sockets are more than one process may open (RLIMIT_NOFILE %d, "+
			"at most %d per process): spread over %d worker processes", e.cfg.Conns, e.limit.Hard, e.cfg.PerProcess, res.procs))
	}
	if note := e.fdLimitNote(rep.Conns); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	// With several nodes, each node's limit is checked in the per-node section.
	if s := rep.Server; s != nil && !e.multiNode() && s.MaxOpenFiles > 0 && max(cs.PeakLive, res.ok)+int64(fdReserve) >= s.MaxOpenFiles {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the SERVER's open files limit (%d), not memory, capped this run: "+
			"%d sockets opened; raise its RLIMIT_NOFILE (ulimit -n) to measure further", s.MaxOpenFiles, res.ok))
	}
	switch {
	case !e.multiNode() && e.cfg.Targets[0].PID == 0:
		rep.Notes = append(rep.Notes, "server memory per socket unknown: pass --server-pid")
	case !hasPID(e.serverPIDs()):
		rep.Notes = append(rep.Notes, "server memory per socket unknown: pass --nodes FILE with the nodes' pids")
	}
}

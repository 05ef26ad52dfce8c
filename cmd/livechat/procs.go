package main

import (
	"context"
	"log/slog"
	"runtime"
	"syscall"
	"time"
)

// A quiet server runs its Go code on one processor; a busy one on all of
// them. With two or more, every hand-off between goroutines (socket
// reader, session, room, storage writer, socket writer) wakes a thread on
// an idle processor that mostly finds nothing to do and parks again: at a
// few hundred messages a second that is a fifth to a third of the
// server's CPU. One processor avoids them, and its disk syncs keep it
// while the disk works (persistence's raw sync) instead of handing it to
// another thread. Past a third of a core of work the server needs the
// other processors: for throughput, and for latency, since a lone
// processor's queue makes every request wait longer (a reconnect storm
// served on one processor connected a fifth fewer sockets a second while
// using 0.5-0.7 of a core).
const (
	procsSample = 250 * time.Millisecond
	// procsUp is the CPU use, in cores, over one sample on one processor
	// that brings every processor back. CPU use does not count the time a
	// raw disk sync holds the processor (0.2-0.4 ms each): the mark keeps
	// room for it.
	procsUp = 0.35
	// procsDown is the CPU use on every processor, averaged over the last
	// procsDownSamples samples, that brings the server to one. One
	// processor costs a fifth less for the same work, so a load just
	// under procsDown is well under procsUp there: the two marks do not
	// chase each other.
	procsDown        = 0.25
	procsDownSamples = 8
)

// procGovernor decides how many processors the Go scheduler gets from
// the server's CPU use, sample by sample.
type procGovernor struct {
	max, cur int
	recent   [procsDownSamples]float64 // the last samples on max, a ring
	n        int                       // samples in recent since the last change
}

// next is the processor count for the next sample, after one in which the
// process used cores of CPU.
func (g *procGovernor) next(cores float64) int {
	if g.cur == 1 {
		if cores > procsUp {
			g.cur, g.n = g.max, 0
		}
		return g.cur
	}
	g.recent[g.n%procsDownSamples] = cores
	g.n++
	if g.n < procsDownSamples {
		return g.cur
	}
	var sum float64
	for _, c := range g.recent {
		sum += c
	}
	if sum/procsDownSamples < procsDown {
		g.cur, g.n = 1, 0
	}
	return g.cur
}

// governProcs applies --procs: n > 0 fixes the processor count; 0 moves
// it between one and the runtime's own count (GOMAXPROCS, or the CPUs the
// process may use) by load until ctx ends. A machine with one CPU has
// nothing to move between.
func governProcs(ctx context.Context, n int, log *slog.Logger) {
	if n > 0 {
		runtime.GOMAXPROCS(n)
		return
	}
	g := &procGovernor{max: runtime.GOMAXPROCS(0)}
	if g.max < 2 {
		return
	}
	g.cur = g.max
	go func() {
		t := time.NewTicker(procsSample)
		defer t.Stop()
		lastCPU, lastAt := processCPU(), time.Now()
		for {
			select {
			case <-ctx.Done():
				runtime.GOMAXPROCS(g.max)
				return
			case now := <-t.C:
				cpu := processCPU()
				was := g.cur
				cores := (cpu - lastCPU).Seconds() / now.Sub(lastAt).Seconds()
				if n := g.next(cores); n != was {
					runtime.GOMAXPROCS(n)
					log.Debug("processors", "procs", n, "was", was, "cores", cores)
				}
				lastCPU, lastAt = cpu, now
			}
		}
	}()
}

// processCPU is the CPU time the process has used, user and system, every
// thread together. getrusage fails only for a bad buffer or target, and
// neither can happen here.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

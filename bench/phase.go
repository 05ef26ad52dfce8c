package bench

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// phase measures the load part of a run: it samples the counters and the
// servers' /proc once per second from start to stop. With several nodes
// the server figures are sums over the nodes with a known pid, and each
// node's own figures go to the report's per-node section.
type phase struct {
	e           *environment
	start       time.Time
	s           *sampler
	done        chan struct{}
	wg          sync.WaitGroup
	pids        []int // per node; 0: unknown
	serverStart procSample
	serverOK    bool
	serverFiles int64 // the least open files limit of the servers, read at start
	nodeStart   []procSample
	nodeFiles   []int64
	held        *heldMark
}

// heldMark is what the servers held once the run's sockets were open.
type heldMark struct {
	each   []procSample // per node; At is zero when unknown
	counts []nodeCount
}

// startPhase starts sampling.
func (e *environment) startPhase() *phase {
	p := &phase{e: e, start: time.Now(), done: make(chan struct{}), pids: e.serverPIDs()}
	if hasPID(p.pids) {
		sum, each, err := readProcs(p.pids)
		if err != nil {
			e.log.Warn("cannot read the server's /proc", slog.Any("pids", p.pids), slog.Any("err", err))
		}
		p.serverStart, p.serverOK, p.nodeStart = sum, err == nil, each
		p.nodeFiles = make([]int64, len(p.pids))
		for i, pid := range p.pids {
			if pid > 0 {
				p.nodeFiles[i], _ = readMaxOpenFiles(pid)
				if p.serverFiles == 0 || p.nodeFiles[i] > 0 && p.nodeFiles[i] < p.serverFiles {
					p.serverFiles = p.nodeFiles[i]
				}
			}
		}
	}
	p.s = newSampler(p.start, &e.c, e.cfg, p.pids)
	p.wg.Go(func() { p.s.run(p.done) })
	return p
}

// serverRSS reads the servers' RSS now, or 0 when unknown.
func (p *phase) serverRSS() int64 {
	if !p.serverOK {
		return 0
	}
	ps, _, err := readProcs(p.pids)
	if err != nil {
		return 0
	}
	return ps.RSS
}

// markHeld records the servers' memory and open files, and the sockets
// each node holds, now that the run's sockets are open; it returns the
// servers' total RSS (0 when unknown). The per-node report divides each
// node's RSS at this mark by the sockets it then held.
func (p *phase) markHeld() int64 {
	m := &heldMark{counts: p.e.nodeCounts()}
	var rss int64
	if hasPID(p.pids) {
		sum, each, err := readProcs(p.pids)
		m.each = each
		if err == nil && p.serverOK {
			rss = sum.RSS
		}
	}
	p.held = m
	return rss
}

// stop ends sampling and fills the report's timeline and server figures.
func (p *phase) stop(rep *Report) {
	close(p.done)
	p.wg.Wait()
	rep.Timeline = p.s.timeline
	end, each, err := readProcs(p.pids)
	defer p.nodesReport(rep, each)
	if !p.serverOK {
		return
	}
	if err != nil {
		rep.Notes = append(rep.Notes, p.diedNote(each))
		end = p.s.prevProc // the last sample taken while they all ran
	}
	cpu := (end.CPU - p.serverStart.CPU).Seconds()
	wall := end.At.Sub(p.serverStart.At).Seconds()
	st := &ServerStats{
		PID:        p.pids[0],
		CPUSeconds: round3(cpu),
		RSSStartMB: mb(p.serverStart.RSS),
		RSSPeakMB:  mb(max(p.s.peakRSS, end.RSS)),
		RSSEndMB:   mb(end.RSS),
		AnonPeakMB: mb(max(p.s.peakAnon, end.Anon)),
		FDsStart:   p.serverStart.FDs,
		FDsEnd:     end.FDs,
	}
	if p.e.multiNode() {
		st.PID, st.PIDs = 0, p.pids
	}
	if wall > 0 {
		st.CPUPct = round3(100 * cpu / wall)
	}
	peak := p.s.peak
	if end.RSS > peak.RSS {
		peak = end
	}
	st.RSSPeakAnonMB, st.RSSPeakFileMB = mb(peak.Anon), mb(peak.File)
	st.MaxOpenFiles = p.serverFiles
	rep.Server = st
}

// diedNote says which server process died, from the end samples each
// (zero for a process that could not be read).
func (p *phase) diedNote(each []procSample) string {
	if !p.e.multiNode() {
		return "THE SERVER PROCESS DIED during the run: its figures stop at its last sample; see its log"
	}
	var dead []string
	for i, pid := range p.pids {
		if pid > 0 && each[i].At.IsZero() {
			dead = append(dead, fmt.Sprintf("%s (pid %d)", p.e.nodes[i].Name, pid))
		}
	}
	return "SERVER NODES DIED during the run: " + strings.Join(dead, ", ") +
		"; the server totals stop at the last sample where every node ran; see their logs"
}

// serverCPU reads the servers' CPU time now; ok is false when unknown.
func (p *phase) serverCPU() (time.Duration, bool) {
	if !p.serverOK {
		return 0, false
	}
	ps, _, err := readProcs(p.pids)
	if err != nil {
		return 0, false
	}
	return ps.CPU, true
}

// mb converts bytes to megabytes (MiB), rounded.
func mb(b int64) float64 { return round3(float64(b) / (1 << 20)) }

package bench

import (
	"log/slog"
	"sync"
	"time"
)

// phase measures the load part of a run: it samples the counters and the
// server's /proc once per second from start to stop.
type phase struct {
	e           *environment
	start       time.Time
	s           *sampler
	done        chan struct{}
	wg          sync.WaitGroup
	serverStart procSample
	serverOK    bool
	serverFiles int64 // the server's open files limit, read at start
}

// startPhase starts sampling.
func (e *environment) startPhase() *phase {
	p := &phase{e: e, start: time.Now(), done: make(chan struct{})}
	if pid := e.cfg.ServerPID; pid > 0 {
		ps, err := readProc(pid)
		if err != nil {
			e.log.Warn("cannot read the server's /proc", slog.Int("pid", pid), slog.Any("err", err))
		}
		p.serverStart, p.serverOK = ps, err == nil
		p.serverFiles, _ = readMaxOpenFiles(pid)
	}
	p.s = newSampler(p.start, &e.c, e.cfg)
	p.wg.Go(func() { p.s.run(p.done) })
	return p
}

// serverRSS reads the server's RSS now, or 0 when unknown.
func (p *phase) serverRSS() int64 {
	if !p.serverOK {
		return 0
	}
	ps, err := readProc(p.e.cfg.ServerPID)
	if err != nil {
		return 0
	}
	return ps.RSS
}

// stop ends sampling and fills the report's timeline and server figures.
func (p *phase) stop(rep *Report) {
	close(p.done)
	p.wg.Wait()
	rep.Timeline = p.s.timeline
	if !p.serverOK {
		return
	}
	pid := p.e.cfg.ServerPID
	end, err := readProc(pid)
	if err != nil {
		rep.Notes = append(rep.Notes, "THE SERVER PROCESS DIED during the run: its figures stop at its last sample; see its log")
		end = p.s.prevProc // the last sample taken while it ran
	}
	cpu := (end.CPU - p.serverStart.CPU).Seconds()
	wall := end.At.Sub(p.serverStart.At).Seconds()
	st := &ServerStats{
		PID:        pid,
		CPUSeconds: round3(cpu),
		RSSStartMB: mb(p.serverStart.RSS),
		RSSPeakMB:  mb(max(p.s.peakRSS, end.RSS)),
		RSSEndMB:   mb(end.RSS),
		AnonPeakMB: mb(max(p.s.peakAnon, end.Anon)),
		FDsStart:   p.serverStart.FDs,
		FDsEnd:     end.FDs,
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

// serverCPU reads the server's CPU time now; ok is false when unknown.
func (p *phase) serverCPU() (time.Duration, bool) {
	if !p.serverOK {
		return 0, false
	}
	ps, err := readProc(p.e.cfg.ServerPID)
	if err != nil {
		return 0, false
	}
	return ps.CPU, true
}

// mb converts bytes to megabytes (MiB), rounded.
func mb(b int64) float64 { return round3(float64(b) / (1 << 20)) }

package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// counters are the live totals of a run, shared by its goroutines.
type counters struct {
	connsOK     atomic.Int64
	connsFailed atomic.Int64
	connsLive   atomic.Int64
	dropped     atomic.Int64
	sent        atomic.Int64
	received    atomic.Int64
	duplicates  atomic.Int64
	requests    atomic.Int64
	reqErrors   atomic.Int64
}

// TimePoint is one second of a run's timeline.
type TimePoint struct {
	// T is the end of the second, in seconds since the run started.
	T float64 `json:"t"`
	// ConnsLive is the number of sockets open at T.
	ConnsLive int64 `json:"conns_live"`
	// SentPerSec, DeliveredPerSec and RequestsPerSec are rates over the second.
	SentPerSec      float64 `json:"sent_per_s"`
	DeliveredPerSec float64 `json:"delivered_per_s"`
	RequestsPerSec  float64 `json:"requests_per_s"`
	// ConnectsPerSec is the rate of successful opens over the second.
	ConnectsPerSec float64 `json:"connects_per_s"`
	// ServerRSSMB and ServerCPUPct are the server's memory and CPU use
	// (100 = one core), when its pid is known.
	ServerRSSMB  float64 `json:"server_rss_mb,omitempty"`
	ServerCPUPct float64 `json:"server_cpu_pct,omitempty"`
	// ServerAnonMB and ServerFileMB split ServerRSSMB: anonymous memory
	// and pages of files mapped from disk.
	ServerAnonMB float64 `json:"server_rss_anon_mb,omitempty"`
	ServerFileMB float64 `json:"server_rss_file_mb,omitempty"`
	// NodeRSSMB is each node's RSS, by node (0 where unread), in a run
	// against several nodes; ServerRSSMB is their sum.
	NodeRSSMB []float64 `json:"node_rss_mb,omitempty"`
}

// sampler reads the counters (and the server's /proc) once per second,
// builds the timeline and prints the progress line.
type sampler struct {
	start    time.Time
	c        *counters
	pids     []int // per node; 0: unknown
	out      io.Writer
	newlines bool
	label    string

	timeline []TimePoint
	prev     snapshot
	prevProc procSample // the servers' sum
	peakRSS  int64
	peak     procSample // the sample of the peak RSS
	peakAnon int64
	// nodePeak and nodeLast are each node's peak RSS and last good sample.
	nodePeak []int64
	nodeLast []procSample
}

// snapshot is a copy of the counters at one instant.
type snapshot struct {
	at                                              time.Time
	ok, failed, live, sent, recv, dups, req, reqErr int64
}

func (c *counters) snapshot() snapshot {
	return snapshot{
		at: time.Now(), ok: c.connsOK.Load(), failed: c.connsFailed.Load(), live: c.connsLive.Load(),
		sent: c.sent.Load(), recv: c.received.Load(), dups: c.duplicates.Load(),
		req: c.requests.Load(), reqErr: c.reqErrors.Load(),
	}
}

// newSampler starts measuring now, the servers pids (per node, 0 when
// unknown) included.
func newSampler(start time.Time, c *counters, cfg Config, pids []int) *sampler {
	s := &sampler{start: start, c: c, pids: pids, out: cfg.Progress, newlines: cfg.ProgressNewlines, label: cfg.Scenario}
	s.prev = c.snapshot()
	s.nodePeak, s.nodeLast = make([]int64, len(pids)), make([]procSample, len(pids))
	if hasPID(pids) {
		var each []procSample
		s.prevProc, each, _ = readProcs(pids)
		s.peakRSS, s.peak, s.peakAnon = s.prevProc.RSS, s.prevProc, s.prevProc.Anon
		s.nodeSeen(each)
	}
	return s
}

// nodeSeen keeps each node's peak RSS and last good sample.
func (s *sampler) nodeSeen(each []procSample) {
	for i, ps := range each {
		if !ps.At.IsZero() {
			s.nodePeak[i], s.nodeLast[i] = max(s.nodePeak[i], ps.RSS), ps
		}
	}
}

// run samples every second until done is closed.
func (s *sampler) run(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			if s.out != nil && !s.newlines {
				fmt.Fprintln(s.out)
			}
			return
		case <-t.C:
			s.tick()
		}
	}
}

// tick records one point and prints the progress line.
func (s *sampler) tick() {
	now := s.c.snapshot()
	dt := now.at.Sub(s.prev.at).Seconds()
	if dt <= 0 {
		return
	}
	p := TimePoint{
		T:               math.Round(now.at.Sub(s.start).Seconds()*10) / 10,
		ConnsLive:       now.live,
		SentPerSec:      float64(now.sent-s.prev.sent) / dt,
		DeliveredPerSec: float64(now.recv-s.prev.recv) / dt,
		RequestsPerSec:  float64(now.req-s.prev.req) / dt,
		ConnectsPerSec:  float64(now.ok-s.prev.ok) / dt,
	}
	if hasPID(s.pids) {
		ps, each, err := readProcs(s.pids)
		s.nodeSeen(each)
		if len(each) > 1 {
			p.NodeRSSMB = make([]float64, len(each))
			for i, n := range each {
				p.NodeRSSMB[i] = mb(n.RSS)
			}
		}
		if err == nil {
			p.ServerRSSMB = float64(ps.RSS) / (1 << 20)
			p.ServerCPUPct = 100 * (ps.CPU - s.prevProc.CPU).Seconds() / ps.At.Sub(s.prevProc.At).Seconds()
			p.ServerAnonMB, p.ServerFileMB = float64(ps.Anon)/(1<<20), float64(ps.File)/(1<<20)
			if ps.RSS > s.peakRSS {
				s.peakRSS, s.peak = ps.RSS, ps
			}
			s.prevProc, s.peakAnon = ps, max(s.peakAnon, ps.Anon)
		}
	}
	s.timeline = append(s.timeline, p)
	s.prev = now
	switch {
	case s.out == nil:
	case s.newlines:
		fmt.Fprintln(s.out, progressLine(s.label, now, p))
	default:
		fmt.Fprintf(s.out, "\r%s", progressLine(s.label, now, p))
	}
}

// progressLine is the one-line live status: only the figures that move in
// this kind of run.
func progressLine(label string, n snapshot, p TimePoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s %5.0fs]", label, p.T)
	if n.ok+n.failed > 0 {
		fmt.Fprintf(&b, " conns %d ok", n.ok)
		if n.failed > 0 {
			fmt.Fprintf(&b, " %d failed", n.failed)
		}
		fmt.Fprintf(&b, " %d live", n.live)
	}
	if n.sent > 0 {
		fmt.Fprintf(&b, " | sent %d (%.0f/s) delivered %d (%.0f/s)", n.sent, p.SentPerSec, n.recv, p.DeliveredPerSec)
	}
	if n.dups > 0 {
		fmt.Fprintf(&b, " dups %d", n.dups)
	}
	if n.req > 0 {
		fmt.Fprintf(&b, " | req %d (%.0f/s) err %d", n.req, p.RequestsPerSec, n.reqErr)
	}
	if p.ServerRSSMB > 0 {
		fmt.Fprintf(&b, " | server %.0f MB %.0f%% cpu", p.ServerRSSMB, p.ServerCPUPct)
	}
	b.WriteString("   ")
	return b.String()
}

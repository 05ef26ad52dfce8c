package bench

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// maxSeconds bounds the per-second series (one hour), so a long or stuck
// run cannot grow it without limit.
const maxSeconds = 3600

// recorder collects latencies from many goroutines: a total histogram and
// one coarse histogram per second since start. It is sharded so that
// receivers rarely wait for each other; each caller names its shard.
type recorder struct {
	start  time.Time
	shards []recShard
}

type recShard struct {
	mu     sync.Mutex
	total  *hdrhistogram.Histogram
	perSec []*hdrhistogram.Histogram
}

// newRecorder returns a recorder with n shards measuring from start.
func newRecorder(start time.Time, n int) *recorder {
	r := &recorder{start: start, shards: make([]recShard, max(n, 1))}
	for i := range r.shards {
		r.shards[i].total = newHist()
	}
	return r
}

// record adds one latency observed at time at. Safe for concurrent use.
func (r *recorder) record(shard int, at time.Time, d time.Duration) {
	s := &r.shards[shard%len(r.shards)]
	sec := int(at.Sub(r.start) / time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	recordLatency(s.total, d)
	if sec < 0 || sec >= maxSeconds {
		return
	}
	for len(s.perSec) <= sec {
		s.perSec = append(s.perSec, nil)
	}
	if s.perSec[sec] == nil {
		s.perSec[sec] = newCoarseHist()
	}
	recordLatency(s.perSec[sec], d)
}

// SecondLatency is the latency of the deliveries received in one second.
type SecondLatency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// merge returns the total histogram and the per-second summaries.
func (r *recorder) merge() (*hdrhistogram.Histogram, []SecondLatency) {
	total := newHist()
	var secs []*hdrhistogram.Histogram
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		total.Merge(s.total)
		for sec, h := range s.perSec {
			if h == nil {
				continue
			}
			for len(secs) <= sec {
				secs = append(secs, newCoarseHist())
			}
			secs[sec].Merge(h)
		}
		s.mu.Unlock()
	}
	out := make([]SecondLatency, len(secs))
	for i, h := range secs {
		if h.TotalCount() == 0 {
			continue
		}
		out[i] = SecondLatency{
			Count: h.TotalCount(),
			P50:   usToMS(h.ValueAtPercentile(50)),
			P99:   usToMS(h.ValueAtPercentile(99)),
			Max:   usToMS(h.Max()),
		}
	}
	return total, out
}

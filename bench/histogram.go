package bench

import (
	"math"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to one minute; anything
// slower is clamped to the top (and counts as "over a minute" in practice).
const (
	histLowest  = 1
	histHighest = int64(time.Minute / time.Microsecond)
)

// newHist returns a histogram with 3 significant digits, for run totals.
func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, 3)
}

// newCoarseHist returns a histogram with 2 significant digits, ten times
// smaller, for the per-second series.
func newCoarseHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, 2)
}

// recordLatency records d into h, clamped to the histogram's range.
func recordLatency(h *hdrhistogram.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	us = min(max(us, histLowest), histHighest)
	_ = h.RecordValue(us) // cannot fail: the value is in range
}

// LatencyStats summarises a latency distribution, in milliseconds.
type LatencyStats struct {
	// Count is the number of samples.
	Count int64   `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// statsOf summarises h, recorded in microseconds.
func statsOf(h *hdrhistogram.Histogram) LatencyStats {
	if h == nil || h.TotalCount() == 0 {
		return LatencyStats{}
	}
	q := h.ValueAtPercentiles([]float64{50, 90, 99, 99.9})
	return LatencyStats{
		Count: h.TotalCount(),
		Min:   usToMS(h.Min()),
		Mean:  round3(h.Mean() / 1000),
		P50:   usToMS(q[50]),
		P90:   usToMS(q[90]),
		P99:   usToMS(q[99]),
		P999:  usToMS(q[99.9]),
		Max:   usToMS(h.Max()),
	}
}

// PercentilePoint is one point of a latency distribution curve.
type PercentilePoint struct {
	// Percentile is in 0..100.
	Percentile float64 `json:"percentile"`
	// Millis is the latency at that percentile.
	Millis float64 `json:"ms"`
}

// distribution returns the latency at percentiles spaced evenly on the
// "number of nines" scale (0, 68, 90, 97, 99, 99.7, 99.9 …), up to the
// resolution the sample count supports, then the maximum: the classic
// HDR percentile plot.
func distribution(h *hdrhistogram.Histogram) []PercentilePoint {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	var pts []PercentilePoint
	maxNines := math.Log10(float64(h.TotalCount()))
	for k := 0.0; k <= maxNines && k <= 6; k += 0.25 {
		p := 100 * (1 - math.Pow(10, -k))
		pts = append(pts, PercentilePoint{Percentile: round3(p), Millis: usToMS(h.ValueAtPercentile(p))})
	}
	return append(pts, PercentilePoint{Percentile: 100, Millis: usToMS(h.Max())})
}

// usToMS converts microseconds to milliseconds, rounded to 1 µs.
func usToMS(us int64) float64 { return float64(us) / 1000 }

// round3 rounds to three decimals, keeping reports readable.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// lockedHist is a histogram safe for concurrent use, for rare events
// (socket opens, REST calls on a few workers).
type lockedHist struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// newLockedHist returns an empty lockedHist.
func newLockedHist() *lockedHist { return &lockedHist{h: newHist()} }

// record adds one latency.
func (l *lockedHist) record(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	recordLatency(l.h, d)
}

// stats summarises what was recorded.
func (l *lockedHist) stats() LatencyStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return statsOf(l.h)
}

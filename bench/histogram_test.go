package bench

import (
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
)

func nowForTest() time.Time { return time.Unix(1764115863, 0) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestStatsOfUniform(t *testing.T) {
	h := newHist()
	for i := 1; i <= 1000; i++ {
		recordLatency(h, time.Duration(i)*time.Millisecond)
	}
	s := statsOf(h)
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > want*0.002+0.001 {
			t.Errorf("%s = %v, want about %v", name, got, want)
		}
	}
	near("p50", s.P50, 500)
	near("p90", s.P90, 900)
	near("p99", s.P99, 990)
	near("p99.9", s.P999, 999)
	near("max", s.Max, 1000)
	near("min", s.Min, 1)
	near("mean", s.Mean, 500.5)
	if s.Count != 1000 {
		t.Errorf("count %d", s.Count)
	}
	if statsOf(newHist()) != (LatencyStats{}) {
		t.Error("empty histogram has stats")
	}
}

func TestRecordLatencyClamps(t *testing.T) {
	h := newHist()
	recordLatency(h, -time.Second)
	recordLatency(h, time.Hour)
	if h.TotalCount() != 2 || h.Min() != histLowest || !h.ValuesAreEquivalent(h.Max(), histHighest) {
		t.Fatalf("min %d max %d count %d", h.Min(), h.Max(), h.TotalCount())
	}
}

func TestRecorderMergesShardsAndSeconds(t *testing.T) {
	start := nowForTest()
	r := newRecorder(start, 4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				at := start.Add(time.Duration(i%3) * time.Second)
				r.record(g, at, time.Duration(g+1)*time.Millisecond)
			}
		})
	}
	wg.Wait()
	r.record(0, start.Add(-time.Second), time.Millisecond)           // before start: total only
	r.record(0, start.Add(maxSeconds*time.Second), time.Millisecond) // past the series: total only
	total, secs := r.merge()
	if total.TotalCount() != 802 {
		t.Fatalf("total %d", total.TotalCount())
	}
	if len(secs) != 3 {
		t.Fatalf("%d seconds", len(secs))
	}
	var n int64
	for _, s := range secs {
		n += s.Count
		if s.Max < 7.9 || s.Max > 8.1 || s.P50 <= 0 {
			t.Fatalf("second %+v", s)
		}
	}
	if n != 800 {
		t.Fatalf("per-second counts add to %d", n)
	}
}

func TestDistributionIsMonotonic(t *testing.T) {
	h := newHist()
	for i := 1; i <= 100000; i++ {
		recordLatency(h, time.Duration(i)*time.Microsecond)
	}
	d := distribution(h)
	if len(d) < 10 || d[0].Percentile != 0 || d[len(d)-1].Percentile != 100 {
		t.Fatalf("distribution %+v", d)
	}
	for i := 1; i < len(d); i++ {
		if d[i].Percentile < d[i-1].Percentile || d[i].Millis < d[i-1].Millis {
			t.Fatalf("not monotonic at %d: %+v %+v", i, d[i-1], d[i])
		}
	}
}

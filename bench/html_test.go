package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

// sampleReport is a chat report with every section filled.
func sampleReport() *Report {
	h := newHist()
	for i := 1; i <= 5000; i++ {
		recordLatency(h, time.Duration(i)*time.Microsecond*3)
	}
	r := &Report{
		Scenario: ScenarioFanout, ServerURL: "http://127.0.0.1:8000", RunID: "abc123", Started: nowForTest(),
		ElapsedSec: 12.5, Conns: ConnStats{Attempted: 100, OK: 99, Failed: 1, Failures: map[string]int64{"http 401": 1}, PerSec: 850},
		Messages: &MessageStats{Sent: 100, Expected: 9900, Received: 9899, Lost: 1, LossPct: 0.0101,
			DeliveriesPerSec: 990, Latency: statsOf(h), deliveryCounts: deliveryCounts{Unique: 9899, Duplicates: 2}},
		Server:       &ServerStats{PID: 42, CPUSeconds: 1.5, CPUPct: 15, RSSPeakMB: 64.5},
		Distribution: distribution(h),
		Notes:        []string{"a note with <markup> & more"},
	}
	for i := range 10 {
		r.Timeline = append(r.Timeline, TimePoint{T: float64(i + 1), SentPerSec: 10, DeliveredPerSec: 990,
			ConnsLive: 99, ServerRSSMB: 60 + float64(i), ServerCPUPct: 15})
		r.LatencyTimeline = append(r.LatencyTimeline, SecondLatency{Count: 990, P50: 7.5, P99: 14.8, Max: 15})
	}
	return r
}

func TestHTMLReportIsWellFormedAndComplete(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	svgs := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("malformed page: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" {
			svgs++
		}
	}
	if svgs != 6 {
		t.Fatalf("%d charts, want 6 (latency over time, distribution, deliveries, sends, sockets, server)", svgs)
	}
	for _, want := range []string{"Latency over time", "Latency distribution", "Messages sent per second", "Server resources", "9899 / 9900", "0.010%",
		"a note with &lt;markup&gt; &amp; more", "p99.9", "64.5 MB", "http 401: 1"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://cdn") {
		t.Error("page is not self-contained")
	}
}

func TestSVGChartIsValidXML(t *testing.T) {
	for _, c := range sampleReport().charts() {
		var v any
		if err := xml.Unmarshal([]byte(c.svg()), &v); err != nil {
			t.Fatalf("%s: %v", c.title, err)
		}
	}
	empty := chart{title: "empty <&>"}
	if err := xml.Unmarshal([]byte(empty.svg()), new(any)); err != nil {
		t.Fatalf("empty chart: %v", err)
	}
}

func TestJSONAndTableReport(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	msgs := back["messages"].(map[string]any)
	if msgs["expected"].(float64) != 9900 || msgs["duplicates"].(float64) != 2 {
		t.Fatalf("messages %v", msgs)
	}
	buf.Reset()
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"9899 of 9900 expected", "duplicates", "server cpu"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestNiceTicks(t *testing.T) {
	ticks := niceTicks(0, 97)
	if len(ticks) < 4 || ticks[0].at != 0 || ticks[len(ticks)-1].at < 97 {
		t.Fatalf("ticks %+v", ticks)
	}
	if got := niceTicks(5, 5); len(got) != 1 {
		t.Fatalf("degenerate range: %+v", got)
	}
}

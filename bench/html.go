package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// pageTemplate is the self-contained HTML report: inline CSS and SVG, no
// script, nothing fetched, so it opens from a file anywhere.
var pageTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>livechat bench {{.R.Scenario}} — {{.R.RunID}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:820px;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}
.note{background:#fff3cd;padding:.5em 1em;border-left:4px solid #e0a800}
figure{margin:1.5em 0}
</style></head><body>
<h1>livechat bench: {{.R.Scenario}}</h1>
<p>Server {{.R.ServerURL}}, run {{.R.RunID}}, started {{.R.Started.UTC.Format "2006-01-02 15:04:05 MST"}}, {{printf "%.1f" .R.ElapsedSec}} s.</p>
{{range .R.Notes}}<p class="note">{{.}}</p>{{end}}
<h2>Key figures</h2>
<table>{{range .Figures}}<tr><th>{{index . 0}}</th><td class="n">{{index . 1}}</td></tr>{{end}}</table>
{{range .Charts}}<figure>{{.}}</figure>{{end}}
<h2>Full report</h2>
<pre>{{.Table}}</pre>
</body></html>
`))

// WriteHTML writes r as a self-contained HTML page with SVG charts.
func (r *Report) WriteHTML(w io.Writer) error {
	var table strings.Builder
	if err := r.WriteTable(&table); err != nil {
		return err
	}
	var charts []template.HTML
	for _, c := range r.charts() {
		charts = append(charts, template.HTML(c.svg())) // #nosec: svg() escapes every text it draws
	}
	data := struct {
		R       *Report
		Figures [][2]string
		Charts  []template.HTML
		Table   string
	}{r, r.keyFigures(), charts, table.String()}
	if err := pageTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("bench: write html report: %w", err)
	}
	return nil
}

// keyFigures are the few numbers a reader looks for first.
func (r *Report) keyFigures() [][2]string {
	var f [][2]string
	if r.Conns.Attempted > 0 {
		f = append(f,
			[2]string{"connections ok / failed", fmt.Sprintf("%d / %d", r.Conns.OK, r.Conns.Failed)},
			[2]string{"connect rate", fmt.Sprintf("%.0f /s", r.Conns.PerSec)})
	}
	if m := r.Messages; m != nil {
		f = append(f,
			[2]string{"messages sent", fmt.Sprintf("%d (%.1f /s)", m.Sent, m.SendRate)},
			[2]string{"deliveries received / expected", fmt.Sprintf("%d / %d", m.Received, m.Expected)},
			[2]string{"lost", fmt.Sprintf("%d (%.3f%%)", m.Lost, m.LossPct)},
			[2]string{"duplicates / out of order", fmt.Sprintf("%d / %d", m.Duplicates, m.OutOfOrder)},
			[2]string{"deliveries /s", fmt.Sprintf("%.0f", m.DeliveriesPerSec)},
			[2]string{"latency p50 / p99 / p99.9 / max", latencyText(m.Latency)})
	}
	if x := r.Inbox; x != nil {
		f = append(f,
			[2]string{"inbox deliveries received / expected", fmt.Sprintf("%d / %d", x.Received, x.Expected)},
			[2]string{"inbox lost", fmt.Sprintf("%d (%.3f%%)", x.Lost, x.LossPct)},
			[2]string{"inbox duplicates / out of order", fmt.Sprintf("%d / %d", x.Duplicates, x.OutOfOrder)},
			[2]string{"inbox latency p50 / p99 / p99.9 / max", latencyText(x.Latency)})
	}
	if x := r.Extras; x != nil {
		f = append(f,
			[2]string{"server CPU / 1k deliveries plain / with extras", fmt.Sprintf("%.2f / %.2f ms (%+.1f%%)",
				x.Plain.CPUMsPer1kDeliveries, x.With.CPUMsPer1kDeliveries, x.ExtraPct)},
			[2]string{"typing frames sent / received", fmt.Sprintf("%d / %d", x.TypingSent, x.TypingReceived)},
			[2]string{"chat.read sent / receipt frames received", fmt.Sprintf("%d / %d", x.ReadsSent, x.ReceiptsReceived)})
	}
	if x := r.REST; x != nil {
		f = append(f,
			[2]string{"requests (errors)", fmt.Sprintf("%d (%d)", x.Requests, x.Errors)},
			[2]string{"requests /s", fmt.Sprintf("%.0f", x.PerSec)},
			[2]string{"POST message p50 / p99 / p99.9 / max", latencyText(x.Post)},
			[2]string{"GET room p50 / p99 / p99.9 / max", latencyText(x.Get)})
	}
	if c := r.Capacity; c != nil {
		f = append(f, [2]string{"sockets held", fmt.Sprintf("%d of %d", c.Held, c.Target)})
		if c.BytesPerConn > 0 {
			f = append(f, [2]string{"server memory per socket", fmt.Sprintf("%.0f bytes", c.BytesPerConn)})
		}
	}
	if t := r.NodesTotal; t != nil {
		f = append(f, [2]string{"sockets held", fmt.Sprintf("%d on %d nodes", t.SocketsHeld, len(r.Nodes))})
		if t.RSSPerSocketBytes > 0 {
			f = append(f, [2]string{"server RSS per socket, all nodes", fmt.Sprintf("%s (growth %s)", kib(t.RSSPerSocketBytes), kib(t.GrowthPerSocketBytes))})
		}
	}
	if in := r.InterNode; in != nil {
		f = append(f, [2]string{"between nodes per chat message", fmt.Sprintf("%.2f messages, %.0f bytes", in.PerMessage, in.BytesPerMessage)})
	}
	if s := r.Server; s != nil {
		f = append(f,
			[2]string{"server CPU", fmt.Sprintf("%.2f s (%.0f%% of a core)", s.CPUSeconds, s.CPUPct)},
			[2]string{"server RSS peak", fmt.Sprintf("%.1f MB", s.RSSPeakMB)})
	}
	return f
}

// latencyText prints the headline percentiles of l.
func latencyText(l LatencyStats) string {
	return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f ms", l.P50, l.P99, l.P999, l.Max)
}

// charts picks the charts this report has data for.
func (r *Report) charts() []chart {
	var cs []chart
	if len(r.LatencyTimeline) > 0 {
		cs = append(cs, r.latencyOverTime())
	}
	if len(r.Distribution)+len(r.InboxDistribution) > 0 {
		cs = append(cs, r.latencyDistribution())
	}
	if len(r.Timeline) > 0 {
		cs = append(cs, r.throughput()...)
		if r.Server != nil {
			cs = append(cs, r.serverOverTime())
		}
		if c := r.nodesOverTime(); len(c.series) > 0 {
			cs = append(cs, c)
		}
	}
	return cs
}

// latencyOverTime charts p50, p99 and max of each second.
func (r *Report) latencyOverTime() chart {
	var p50, p99, mx series
	p50.name, p99.name, mx.name = "p50", "p99", "max"
	for i, s := range r.LatencyTimeline {
		if s.Count == 0 {
			continue
		}
		t := float64(i + 1) // the end of the second, as in the timeline
		p50.xs, p50.ys = append(p50.xs, t), append(p50.ys, s.P50)
		p99.xs, p99.ys = append(p99.xs, t), append(p99.ys, s.P99)
		mx.xs, mx.ys = append(mx.xs, t), append(mx.ys, s.Max)
	}
	title := "Latency over time"
	if r.Inbox != nil {
		title = "Inbox latency over time (inbox.message)"
	}
	return chart{title: title, xLabel: "seconds since start", yLabel: "latency (ms)",
		series: []series{p50, p99, mx}}
}

// latencyDistribution is the HDR percentile plot: x in "nines".
func (r *Report) latencyDistribution() chart {
	curve := func(name string, pts []PercentilePoint) series {
		s := series{name: name}
		last := 0.0
		for _, p := range pts {
			x := nines(p.Percentile, last)
			last = x
			s.xs, s.ys = append(s.xs, x), append(s.ys, p.Millis)
		}
		return s
	}
	var ss []series
	if len(r.Distribution) > 0 {
		name := "latency"
		if r.Inbox != nil {
			name = "room sockets"
		}
		ss = append(ss, curve(name, r.Distribution))
	}
	if len(r.InboxDistribution) > 0 {
		ss = append(ss, curve("inbox", r.InboxDistribution))
	}
	var ticks []axisTick
	for k, lbl := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "max"} {
		ticks = append(ticks, axisTick{at: float64(k), label: lbl})
	}
	title := "Latency distribution"
	if r.REST != nil {
		title = "Request latency distribution"
	} else if r.Capacity != nil {
		title = "Connect latency distribution"
	}
	return chart{title: title, xLabel: "percentile", yLabel: "latency (ms)", series: ss, xTicks: ticks}
}

// nines maps a percentile to -log10(1-p): 90% → 1, 99% → 2; 100% is put a
// quarter step after the previous point.
func nines(pct, prev float64) float64 {
	if pct >= 100 {
		return prev + 0.25
	}
	return -math.Log10(1 - pct/100)
}

// timelineSeries is one per-second figure of the timeline.
type timelineSeries struct {
	name string
	get  func(TimePoint) float64
}

// throughput charts the per-second figures that moved in this run, in
// groups of like magnitude so that a small line is not flattened by a big
// one: deliveries and requests, sends, sockets.
func (r *Report) throughput() []chart {
	groups := []struct {
		title, yLabel string
		series        []timelineSeries
	}{
		{"Deliveries and requests per second", "per second", []timelineSeries{
			{"delivered/s", func(p TimePoint) float64 { return p.DeliveredPerSec }},
			{"requests/s", func(p TimePoint) float64 { return p.RequestsPerSec }}}},
		{"Messages sent per second", "per second", []timelineSeries{
			{"sent/s", func(p TimePoint) float64 { return p.SentPerSec }}}},
		{"Sockets", "sockets / opens per second", []timelineSeries{
			{"open sockets", func(p TimePoint) float64 { return float64(p.ConnsLive) }},
			{"opens/s", func(p TimePoint) float64 { return p.ConnectsPerSec }}}},
	}
	var cs []chart
	for _, g := range groups {
		var ss []series
		for _, k := range g.series {
			if s, moved := r.timelineSeries(k); moved {
				ss = append(ss, s)
			}
		}
		if len(ss) > 0 {
			cs = append(cs, chart{title: g.title, xLabel: "seconds since start", yLabel: g.yLabel, series: ss})
		}
	}
	return cs
}

// timelineSeries extracts one figure and reports whether it ever moved.
func (r *Report) timelineSeries(k timelineSeries) (series, bool) {
	s := series{name: k.name}
	moved := false
	for _, p := range r.Timeline {
		v := k.get(p)
		moved = moved || v != 0
		s.xs, s.ys = append(s.xs, p.T), append(s.ys, v)
	}
	return s, moved
}

// serverOverTime charts the server's RSS and CPU.
func (r *Report) serverOverTime() chart {
	rss, cpu := series{name: "RSS (MB)"}, series{name: "CPU (% of a core)"}
	anon, file := series{name: "anonymous (MB)"}, series{name: "mapped files (MB)"}
	split := false
	for _, p := range r.Timeline {
		rss.xs, rss.ys = append(rss.xs, p.T), append(rss.ys, p.ServerRSSMB)
		cpu.xs, cpu.ys = append(cpu.xs, p.T), append(cpu.ys, p.ServerCPUPct)
		anon.xs, anon.ys = append(anon.xs, p.T), append(anon.ys, p.ServerAnonMB)
		file.xs, file.ys = append(file.xs, p.T), append(file.ys, p.ServerFileMB)
		split = split || p.ServerAnonMB > 0
	}
	all := []series{rss, cpu}
	if split {
		all = []series{rss, anon, file, cpu}
	}
	return chart{title: "Server resources", xLabel: "seconds since start", yLabel: "MB / %", series: all}
}

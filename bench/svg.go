package bench

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH                       = 760, 320
	padLeft, padRight, padTop, padBottom = 64, 20, 34, 46
)

// palette colours series in order; chosen to stay apart for common colour
// blindness.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// series is one line of a chart.
type series struct {
	name   string
	xs, ys []float64
}

// axisTick is one labelled tick.
type axisTick struct {
	at    float64
	label string
}

// chart is a line chart drawn as a self-contained SVG element.
type chart struct {
	title, xLabel, yLabel string
	series                []series
	// xTicks overrides the automatic ticks of the x axis.
	xTicks []axisTick
}

// bounds returns the data range over every series, with y starting at 0.
func (c chart) bounds() (x0, x1, y1 float64) {
	x0, x1 = math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for i, x := range s.xs {
			x0, x1, y1 = math.Min(x0, x), math.Max(x1, x), math.Max(y1, s.ys[i])
		}
	}
	if x0 > x1 {
		x0, x1 = 0, 1
	}
	if x1 == x0 {
		x1 = x0 + 1
	}
	if y1 <= 0 {
		y1 = 1
	}
	return x0, x1, y1
}

// svg renders the chart.
func (c chart) svg() string {
	x0, x1, y1 := c.bounds()
	yTicks := niceTicks(0, y1)
	y1 = math.Max(y1, yTicks[len(yTicks)-1].at)
	pw, ph := float64(chartW-padLeft-padRight), float64(chartH-padTop-padBottom)
	px := func(x float64) float64 { return padLeft + (x-x0)/(x1-x0)*pw }
	py := func(y float64) float64 { return padTop + ph - y/y1*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, esc(c.title))
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`, padLeft, esc(c.title))
	for _, t := range yTicks {
		y := py(t.at)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, padLeft, y, padLeft+pw, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end">%s</text>`, padLeft-6, y+4, esc(t.label))
	}
	xTicks := c.xTicks
	if xTicks == nil {
		xTicks = niceTicks(x0, x1)
	}
	for _, t := range xTicks {
		if t.at < x0 || t.at > x1 {
			continue
		}
		x := px(t.at)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#eee"/>`, x, padTop, x, padTop+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`, x, padTop+ph+16, esc(t.label))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`, padLeft, padTop, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" text-anchor="middle">%s</text>`, padLeft+pw/2, chartH-6, esc(c.xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.1f" font-size="12" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`,
		padTop+ph/2, padTop+ph/2, esc(c.yLabel))
	c.drawSeries(&b, px, py)
	b.WriteString(`</svg>`)
	return b.String()
}

// drawSeries draws each series as a polyline and its legend entry.
func (c chart) drawSeries(b *strings.Builder, px, py func(float64) float64) {
	lx := float64(padLeft + 10)
	for i, s := range c.series {
		color := palette[i%len(palette)]
		var pts strings.Builder
		for j, x := range s.xs {
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(x), py(s.ys[j]))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`, color, strings.TrimSpace(pts.String()))
		if len(s.xs) == 1 {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, px(s.xs[0]), py(s.ys[0]), color)
		}
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="12" height="3" fill="%s"/>`, lx, padTop+8, color)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="11">%s</text>`, lx+16, padTop+13, esc(s.name))
		lx += 16 + 7*float64(len(s.name)) + 18
	}
}

// niceTicks returns about five ticks at round values covering [lo, hi].
func niceTicks(lo, hi float64) []axisTick {
	span := hi - lo
	if span <= 0 || math.IsInf(span, 0) || math.IsNaN(span) {
		return []axisTick{{at: lo, label: fmtNum(lo)}}
	}
	raw := span / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []axisTick
	for v := math.Floor(lo/step) * step; v <= hi+step*0.999 && len(ticks) < 20; v += step {
		if v >= lo-step*1e-9 {
			ticks = append(ticks, axisTick{at: v, label: fmtNum(v)})
		}
	}
	return ticks
}

// fmtNum prints a tick value compactly.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.4gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.4gk", v/1e3)
	default:
		return fmt.Sprintf("%.4g", v)
	}
}

// esc escapes text for SVG inside HTML.
func esc(s string) string { return html.EscapeString(s) }

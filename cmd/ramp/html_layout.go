package main

// The timeline's geometry: label boxes that never collide, round time
// ticks, commit positions and the gate panels' scales.

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ramp-dev/ramp/policy"
)

// box is the extent of a label, in SVG user units.
type box struct{ x0, x1, y0, y1 float64 }

// textBox is the box of an 11px label drawn at x (its start, or its end
// with end set) with its baseline at y.
func textBox(label string, x, y float64, end bool) box {
	w := float64(len([]rune(label))) * labelCharW
	if end {
		return box{x - w, x, y - 11, y + 3}
	}
	return box{x, x + w, y - 11, y + 3}
}

// labelW and labelH bound a point label's box (11px text): a label is
// drawn only where its box overlaps none drawn before it.
const (
	labelCharW = 6.5
	labelH     = 14.0
)

// placeLabels drops the labels of points whose label box would overlap
// one already placed (the point's title still says it). A label is drawn
// at X+8, or centred above the point for weight points.
func placeLabels(pts []point, reserved ...box) {
	placed := reserved
	for i := range pts {
		p := &pts[i]
		if p.Label == "" {
			continue
		}
		w := float64(len([]rune(p.Label))) * labelCharW
		p.LabelX = p.X + 8
		b := box{p.X + 8, p.X + 8 + w, p.Y - labelH/2, p.Y + labelH/2}
		if strings.HasPrefix(p.Class, "weight") {
			// Centred above the point, kept inside the plot (clear of the
			// axis labels on the left).
			p.LabelX = min(max(p.X, plotLeft+2+w/2), plotRight-w/2)
			b = box{p.LabelX - w/2, p.LabelX + w/2, p.Y - 9 - labelH, p.Y - 9}
		}
		if b.x1 > plotRight+40 {
			// A gate label past the right edge: drawn left of the point.
			p.LabelX = p.X - 8 - w
			b.x0, b.x1 = p.LabelX, p.X-8
		}
		free := true
		for _, q := range placed {
			if b.x0 < q.x1 && q.x0 < b.x1 && b.y0 < q.y1 && q.y0 < b.y1 {
				free = false
				break
			}
		}
		if !free {
			p.Label = ""
			continue
		}
		placed = append(placed, b)
	}
}

// tickSteps are the round intervals the time axis may be labelled at.
var tickSteps = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// roundTicks labels the time axis at round times (every 10s, 5m, 1h, …:
// the smallest step whose labels stay tickGap apart), each placed
// between the commits around it.
func roundTicks(rows []policy.AuditRow, xs []float64) []tick {
	n := len(rows)
	if n == 0 {
		return nil
	}
	if n == 1 || !rows[n-1].Time.After(rows[0].Time) {
		return []tick{{X: xs[0], Label: rows[0].Time.UTC().Format("15:04:05")}}
	}
	xAt := timeX(rows, xs)
	from, to := rows[0].Time.UTC(), rows[n-1].Time.UTC()
	for _, step := range tickSteps {
		var ts []tick
		ok := true
		for tm := from.Truncate(step); !tm.After(to); tm = tm.Add(step) {
			if tm.Before(from) {
				continue
			}
			x := xAt(tm)
			if len(ts) > 0 && x-ts[len(ts)-1].X < tickGap {
				ok = false
				break
			}
			ts = append(ts, tick{X: x, Label: tickLabel(tm, step)})
		}
		if ok && len(ts) > 0 {
			return ts
		}
	}
	return []tick{{X: xs[0], Label: from.Format("15:04:05")}}
}

// timeX maps a time to x: linear between the commits around it, at the
// first or last commit outside them.
func timeX(rows []policy.AuditRow, xs []float64) func(time.Time) float64 {
	n := len(rows)
	return func(tm time.Time) float64 {
		if n == 0 {
			return plotLeft
		}
		if !tm.After(rows[0].Time) {
			return xs[0]
		}
		for i := 1; i < n; i++ {
			a, b := rows[i-1].Time, rows[i].Time
			if tm.After(b) {
				continue
			}
			if !b.After(a) {
				return xs[i]
			}
			return xs[i-1] + (xs[i]-xs[i-1])*tm.Sub(a).Seconds()/b.Sub(a).Seconds()
		}
		return xs[n-1]
	}
}

// tickLabel is a round time, as precise as its step needs.
func tickLabel(tm time.Time, step time.Duration) string {
	switch {
	case step >= 24*time.Hour:
		return tm.Format("Jan 2")
	case step >= time.Minute:
		return tm.Format("15:04")
	}
	return tm.Format("15:04:05")
}

func weightY(w int) float64 { return weightTop + weightH - float64(w)/100*weightH }

// commitXs places each row on the x axis by its time, in history order.
func commitXs(rows []policy.AuditRow) []float64 {
	n := len(rows)
	xs := make([]float64, n)
	width, left := plotRight-plotLeft-2*plotPad, plotLeft+plotPad
	if n == 1 {
		xs[0] = left + width/2
	}
	if n < 2 {
		return xs
	}
	span := rows[n-1].Time.Sub(rows[0].Time).Seconds()
	gap := min(commitGap, width/float64(n-1))
	for i, r := range rows {
		x := float64(i) * width / float64(n-1)
		if span > 0 {
			x = r.Time.Sub(rows[0].Time).Seconds() / span * width
		}
		if i > 0 {
			x = max(x, xs[i-1]+gap)
		}
		xs[i] = x
	}
	fit := width / max(xs[n-1], 1)
	for i := range xs {
		xs[i] = left + xs[i]*min(fit, 1)
	}
	return xs
}

// gateNames lists the gates the rows judged, in order of first appearance.
func gateNames(rows []policy.AuditRow) []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range rows {
		for _, g := range r.Gates {
			if !seen[g.Name] {
				seen[g.Name] = true
				names = append(names, g.Name)
			}
		}
	}
	return names
}

// add records one gate result; y is placed by scale once all are in.
func (p *gatePanel) add(x float64, r policy.AuditRow, g policy.GateResult) {
	if p.Bound == "" {
		p.Bound = g.Bound
	}
	pt := point{X: x, Commit: r.Commit, Class: "gate-point v-" + string(g.Verdict),
		Title: fmt.Sprintf("%s gate %s %s: %s", shortSHA(r.Commit), g.Name, g.Verdict, gateValues(g))}
	if g.HasValue {
		pt.Y, pt.Label = g.Value, formatValue(g.Value)
	} else {
		pt.Y, pt.Label, pt.Class = math.NaN(), "no value", pt.Class+" novalue"
	}
	p.Points = append(p.Points, pt)
}

// addSeries records the measurements behind the result r recorded.
func (p *gatePanel) addSeries(xAt func(time.Time) float64, r policy.AuditRow, ms []policy.Measurement) {
	if len(ms) == 0 {
		return
	}
	l := gateSeriesLine{Commit: r.Commit}
	for _, m := range ms {
		l.Points = append(l.Points, point{X: xAt(m.At), Y: m.Value, Commit: r.Commit, Class: "measure-point",
			Title: fmt.Sprintf("%s %s UTC: %s", p.Name, m.At.UTC().Format("15:04:05"), formatValue(m.Value))})
	}
	p.Series = append(p.Series, l)
}

// scale maps values to y: 0 at the bottom, the largest value or bound
// (with headroom) at the top; numeric bounds become dashed lines.
func (p *gatePanel) scale() {
	top := 0.0
	for _, pt := range p.Points {
		if !math.IsNaN(pt.Y) {
			top = max(top, pt.Y)
		}
	}
	for _, l := range p.Series {
		for _, pt := range l.Points {
			top = max(top, pt.Y)
		}
	}
	bounds := numericBounds(p.Bound)
	for _, b := range bounds {
		top = max(top, b.value)
	}
	if top <= 0 {
		top = 1
	}
	top *= 1.25
	y := func(v float64) float64 { return p.Bottom - max(v, 0)/top*(p.Bottom-p.Top) }
	p.Grid = []level{{Y: p.Bottom, Label: "0"}, {Y: p.Top, Label: formatValue(top)}}
	for _, b := range bounds {
		p.Bounds = append(p.Bounds, level{Y: y(b.value), Label: b.text})
	}
	for k := range p.Series {
		var path strings.Builder
		for i := range p.Series[k].Points {
			pt := &p.Series[k].Points[i]
			pt.Y = y(pt.Y)
			op := " L"
			if i == 0 {
				op = "M"
			}
			fmt.Fprintf(&path, "%s%.1f,%.1f", op, pt.X, pt.Y)
		}
		p.Series[k].Path = path.String()
	}
	for i := range p.Points {
		if math.IsNaN(p.Points[i].Y) {
			p.Points[i].Y = p.Bottom - 8 // just above the axis
		} else {
			p.Points[i].Y = y(p.Points[i].Y)
		}
	}
}

type bound struct {
	value float64
	text  string
}

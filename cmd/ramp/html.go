package main

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// The timeline picture's layout, in SVG user units: a lane of event
// markers on top, the canary weight below it, one panel per gate, and the
// time axis at the bottom.
const (
	svgWidth   = 1100
	plotLeft   = 80.0
	plotRight  = 1050.0
	plotPad    = 16.0 // between the axes and the first and last commit
	laneRows   = 3    // rows of marker labels
	weightTop  = 86.0
	weightH    = 160.0
	gateH      = 100.0
	panelGap   = 46.0
	axisH      = 40.0
	commitGap  = 16.0 // the least distance between two commits on the time axis
	tickGap    = 90.0 // the least distance between two time labels
	labelGap   = 64.0 // the least distance between two marker labels in one row
	timeLayout = "2006-01-02 15:04:05"
)

// reportPage is what the HTML template renders.
type reportPage struct {
	Rollout, Release string
	// Headline leads with the outcome of the latest release:
	// "release 1.2.0 rolled back: gate error-rate: 0.278 > 0.05 (…)".
	Headline string
	Bad      bool
	From, To string
	Commits  int
	Findings int
	Last     string
	Chart    timeline
	Rows     []reportRow
	Releases []releaseSection
}

// releaseSection is one release's record.
type releaseSection struct {
	Release, Outcome string
	Lines            []recordLine
}

// timeline is the SVG picture, every coordinate computed here.
type timeline struct {
	Width, Height       int
	Left, Right         float64
	LaneBottom, AxisY   float64
	WeightTop, WeightY0 float64
	WeightGrid          []level
	WeightPath          string
	Weights             []point
	Gates               []gatePanel
	Markers             []marker
	Ticks               []tick
}

// level is a horizontal line at Y, labelled.
type level struct {
	Y     float64
	Label string
}

// point is one commit's value in a panel.
type point struct {
	X, Y          float64
	LabelX        float64 // where the label is drawn (its middle for weights, its start for gates)
	Commit, Title string
	Class, Label  string
}

// gatePanel plots one gate's values against its numeric bounds.
type gatePanel struct {
	Name, Bound  string
	Top, Bottom  float64
	Grid, Bounds []level
	Points       []point
	// Series are the measurements behind each recorded result, measured
	// again from Prometheus: a line through the window's points.
	Series []gateSeriesLine
}

// gateSeriesLine is one window's measurements: Path is laid out by scale.
type gateSeriesLine struct {
	Commit string
	Path   string
	Points []point
}

// marker is an event (start, approval, abort, rollback, promotion,
// finding) on the marker lane, with a line down through the panels.
type marker struct {
	X, LabelY          float64
	Kind, Glyph, Label string
	Commit, Title      string
}

// tick is a time label on the axis.
type tick struct {
	X     float64
	Label string
}

// gateCell is one gate result in the table.
type gateCell struct{ Name, Verdict, Text, Reason, Query string }

// reportRow is one row of the table of decisions.
type reportRow struct {
	policy.AuditRow
	Short, When, Weight, Signed string
	ShortRelease                string // a pinned release with its digest cut short
	WhatText                    string // the WHAT column (whatText)
	GateCells                   []gateCell
	Problems                    []string // findings and rejected commands
}

// writeHTML writes the audit as one self-contained HTML page: inline CSS,
// an inline SVG timeline and the table of decisions, no external URL.
// series, when set, are the gates' measurements measured again from
// Prometheus (gateSeries), plotted against the bound.
func writeHTML(w io.Writer, a *history.Audit, series map[seriesKey][]policy.Measurement) error {
	p := reportPage{Rollout: a.Rollout, Release: a.Release, Commits: len(a.Rows), Findings: a.Findings}
	if n := len(a.Rows); n > 0 {
		p.From, p.To = a.Rows[0].Time.UTC().Format(timeLayout), a.Rows[n-1].Time.UTC().Format(timeLayout)
		last := a.Rows[n-1]
		p.Last = strings.TrimSpace(whatText(last.What) + " " + last.Release)
	}
	p.Headline, p.Bad = headline(a)
	p.Chart = buildTimeline(a.Rows, series)
	for _, r := range a.Rows {
		p.Rows = append(p.Rows, tableRow(r))
	}
	for _, rec := range a.Releases {
		p.Releases = append(p.Releases, releaseSection{Release: rec.Release, Outcome: rec.Outcome, Lines: recordLines(rec)})
	}
	if err := reportTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("render the HTML audit of %s: %w", a.Rollout, err)
	}
	return nil
}

// headline says how the latest release of the audit ended, and why when
// it did not succeed; findings make it bad whatever the outcome.
func headline(a *history.Audit) (string, bool) {
	if len(a.Releases) == 0 {
		return "no release of " + a.Rollout + " in this history", a.Findings > 0
	}
	rec := a.Releases[len(a.Releases)-1]
	text := "release " + rec.Release + " " + rec.Outcome
	bad := a.Findings > 0
	switch rec.Outcome {
	case policy.OutcomeAborted, policy.OutcomeRolledBack:
		bad = true
		if why := orDash(rec.AbortReason, rec.RollbackReason); why != "-" {
			text += ": " + why
		}
	case policy.OutcomeSuperseded:
		if rec.SupersededBy != "" {
			text += " by " + rec.SupersededBy
		}
	}
	if a.Findings > 0 {
		text += fmt.Sprintf("; %d finding(s) in the history", a.Findings)
	}
	return text, bad
}

func tableRow(r policy.AuditRow) reportRow {
	row := reportRow{AuditRow: r, Short: shortSHA(r.Commit), When: r.Time.UTC().Format(timeLayout),
		Problems: r.Findings, Signed: signedBy(r), ShortRelease: r.Release, WhatText: whatText(r.What)}
	if a := policy.ParseArtifact(r.Release); a.Digest != "" {
		row.ShortRelease = strings.TrimPrefix(a.Tag+"@", "@") + a.Digest[:len("sha256:")+8] + "…"
	}
	if r.Weight != nil {
		row.Weight = fmt.Sprintf("%d%%", *r.Weight)
	}
	if r.HandWeight != nil {
		row.Weight = fmt.Sprintf("%d%% by hand", *r.HandWeight)
	}
	for _, f := range r.HandFields {
		hand := fmt.Sprintf("%s %s → %s by hand", f.Field, orNone(f.Old), orNone(f.New))
		row.Weight = strings.TrimPrefix(row.Weight+"; "+hand, "; ")
	}
	for _, g := range r.Gates {
		row.GateCells = append(row.GateCells, gateCell{Name: g.Name, Verdict: string(g.Verdict), Text: gateValues(g.GateResult),
			Reason: g.Reason, Query: strings.TrimSpace(g.Query + " " + g.QueryText)})
	}
	for _, rj := range r.Rejected {
		row.Problems = append(row.Problems, fmt.Sprintf("rejected %s by %s: %s", commandName(rj.Command), rj.Author, rj.Reason))
	}
	return row
}

// buildTimeline lays out the picture: every commit gets an x (time, kept
// at least commitGap apart so that commits of the same second stay
// distinct), weights become a step line, gate values points against
// their bounds, events markers.
func buildTimeline(rows []policy.AuditRow, series map[seriesKey][]policy.Measurement) timeline {
	gates := gateNames(rows)
	t := timeline{Width: svgWidth, Left: plotLeft, Right: plotRight, LaneBottom: weightTop - 18, WeightTop: weightTop}
	t.WeightY0 = weightTop + weightH
	y := t.WeightY0 + panelGap
	for _, name := range gates {
		t.Gates = append(t.Gates, gatePanel{Name: name, Top: y, Bottom: y + gateH})
		y += gateH + panelGap
	}
	t.AxisY = y - panelGap + 14
	t.Height = int(t.AxisY + axisH)
	for _, v := range []int{0, 25, 50, 75, 100} {
		t.WeightGrid = append(t.WeightGrid, level{Y: weightY(v), Label: fmt.Sprintf("%d%%", v)})
	}
	xs := commitXs(rows)
	xAt := timeX(rows, xs)
	var path strings.Builder
	labelEnd := []float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for i, r := range rows {
		x := xs[i]
		if w, class := rowWeight(r); w != nil {
			y := weightY(*w)
			if path.Len() == 0 {
				fmt.Fprintf(&path, "M%.1f,%.1f", x, y)
			} else {
				fmt.Fprintf(&path, " H%.1f V%.1f", x, y)
			}
			pt := point{X: x, Y: y, Commit: r.Commit, Class: class, Title: rowTitle(r)}
			if n := len(t.Weights); n == 0 || t.Weights[n-1].Y != y {
				pt.Label = fmt.Sprintf("%d%%", *w) // label changes only
				if class == "weight-hand" {
					pt.Label += " by hand"
				}
			}
			t.Weights = append(t.Weights, pt)
		}
		for _, g := range r.Gates {
			for j := range t.Gates {
				if t.Gates[j].Name == g.Name {
					t.Gates[j].add(x, r, g.GateResult)
					t.Gates[j].addSeries(xAt, r, series[seriesKey{r.Commit, g.Name}])
				}
			}
		}
		for _, m := range rowMarkers(r) {
			m.X = x
			slot := 0
			for slot < laneRows-1 && x-labelEnd[slot] < labelGap {
				slot++
			}
			if x-labelEnd[slot] >= labelGap {
				labelEnd[slot] = x
			} else {
				m.Label = "" // no room: the title still says it
			}
			m.LabelY = t.LaneBottom - 26 - float64(slot)*13
			t.Markers = append(t.Markers, m)
		}
	}
	if path.Len() > 0 && len(xs) > 0 {
		fmt.Fprintf(&path, " H%.1f", xs[len(xs)-1])
	}
	t.WeightPath = path.String()
	placeLabels(t.Weights, textBox("canary weight", plotLeft, weightTop-8, false))
	for j := range t.Gates {
		g := &t.Gates[j]
		g.scale()
		reserved := []box{textBox("gate "+g.Name+" (bound "+g.Bound+")", plotLeft, g.Top-8, false)}
		for _, b := range g.Bounds {
			reserved = append(reserved, textBox(b.Label, plotRight-2, b.Y-5, true))
		}
		placeLabels(g.Points, reserved...)
	}
	t.Ticks = roundTicks(rows, xs)
	return t
}

// rowWeight is the weight a row puts on the weight line: ramp's, or a
// weight set by hand (class weight-hand), or nil.
func rowWeight(r policy.AuditRow) (*int, string) {
	switch {
	case r.Weight != nil:
		return r.Weight, "weight-point"
	case r.HandWeight != nil:
		return r.HandWeight, "weight-hand"
	}
	return nil, ""
}

// numericBounds reads the absolute parts of a recorded bound such as
// "<=0.01 and <=1.5x stable": comparisons against stable have no fixed
// line to draw.
func numericBounds(s string) []bound {
	var out []bound
	for _, part := range strings.Split(s, " and ") {
		part = strings.TrimSpace(part)
		num := strings.TrimPrefix(strings.TrimPrefix(part, "<="), ">=")
		if num == part {
			continue
		}
		if v, err := strconv.ParseFloat(num, 64); err == nil {
			out = append(out, bound{value: v, text: part})
		}
	}
	return out
}

// rowMarkers are the events a row shows on the marker lane.
func rowMarkers(r policy.AuditRow) []marker {
	title := rowTitle(r)
	mk := func(kind, glyph, label string) marker {
		return marker{Kind: kind, Glyph: glyph, Label: label, Commit: r.Commit, Title: title}
	}
	var ms []marker
	switch r.What {
	case "start":
		ms = append(ms, mk("start", "▶", "start "+r.Release))
	case string(policy.CommandApprove):
		ms = append(ms, mk("approval", "✓", "approved"))
	case string(policy.ActionAbort), string(policy.CommandAbort):
		ms = append(ms, mk("abort", "✕", "abort"))
	case string(policy.ActionRollback):
		ms = append(ms, mk("rollback", "↺", "rollback"))
	case string(policy.ActionPromote):
		ms = append(ms, mk("promote", "★", "promote"))
	case string(policy.CommandPause), string(policy.CommandResume):
		ms = append(ms, mk("command", "‖", strings.ToLower(strings.TrimPrefix(r.What, "Ramp-"))))
	}
	if len(r.Findings) > 0 {
		ms = append(ms, mk("finding", "!", "finding"))
	}
	return ms
}

// rowTitle names a row's commit and what it did, for tooltips.
func rowTitle(r policy.AuditRow) string {
	s := fmt.Sprintf("%s %s %s %s", shortSHA(r.Commit), r.Time.UTC().Format("15:04:05"), r.What, r.Release)
	if r.Step != "" {
		s += " step " + r.Step
	}
	if r.Weight != nil {
		s += fmt.Sprintf(" weight %d%%", *r.Weight)
	}
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}

// gateValues is a gate result's value against its bound, and its samples.
func gateValues(g policy.GateResult) string {
	var parts []string
	if g.HasValue {
		parts = append(parts, "value "+formatValue(g.Value))
	}
	if g.Bound != "" {
		parts = append(parts, "bound "+g.Bound)
	}
	if g.HasBaseline {
		parts = append(parts, "stable "+formatValue(g.Baseline))
	}
	if g.Samples > 0 {
		parts = append(parts, fmt.Sprintf("%.0f samples", g.Samples))
	}
	return strings.Join(parts, ", ")
}

func shortSHA(s string) string { return s[:min(len(s), 10)] }

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// reportTemplate is the page; html/template escapes every value in it.
var reportTemplate = template.Must(template.New("audit").Funcs(template.FuncMap{
	"f":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"add": func(a, b float64) float64 { return a + b },
	"sub": func(a, b float64) float64 { return a - b },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ramp audit {{.Rollout}}{{with .Release}} {{.}}{{end}}</title>
<style>
body{font:14px/1.45 system-ui,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#1f2937;background:#fff}
h1{font-size:20px;margin:0 0 4px}
.sum{color:#4b5563;margin:0 0 12px}.bad{color:#b91c1c;font-weight:600}.ok{color:#15803d;font-weight:600}
.legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px}
svg{display:block;width:100%;height:auto;border:1px solid #e5e7eb;border-radius:6px;background:#fcfcfd;margin-top:8px}
svg text{font-size:11px;fill:#4b5563}.title{font-weight:600;fill:#111827;font-size:12px}
.grid{stroke:#e5e7eb}.axis{stroke:#9ca3af}
.weight-line{fill:none;stroke:#2563eb;stroke-width:2.5}.weight-point{fill:#2563eb;stroke:#fff;stroke-width:1.5}.weight-hand{fill:#fff;stroke:#b91c1c;stroke-width:2.5}
.bound{stroke:#dc2626;stroke-dasharray:6 4;stroke-width:1.5}.bound-label{fill:#dc2626}
.gate-point{stroke:#fff;stroke-width:1.5}.gate-series{fill:none;stroke:#64748b;stroke-width:1.2}.measure-point{fill:#64748b}.v-pass{fill:#16a34a}.v-fail{fill:#dc2626}.v-inconclusive{fill:#9ca3af}
.mline{stroke:#9ca3af;stroke-dasharray:2 3}.mline.m-abort,.mline.m-rollback,.mline.m-finding{stroke:#dc2626;stroke-dasharray:5 3}
.m-start{fill:#6b7280}.m-approval{fill:#7c3aed}.m-abort{fill:#dc2626}.m-rollback{fill:#ea580c}.m-promote{fill:#16a34a}.m-finding{fill:#b91c1c}.m-command{fill:#0891b2}
text.glyph{fill:#fff;font-size:10px;font-weight:700;text-anchor:middle}text.mid{text-anchor:middle}
a:hover circle{stroke:#111827;stroke-width:2}
table{border-collapse:collapse;margin-top:20px;width:100%;font-size:12.5px}td{overflow-wrap:normal;word-break:normal;hyphens:none}td.mono,td.what{white-space:nowrap}
th,td{border-bottom:1px solid #e5e7eb;padding:5px 6px;text-align:left;vertical-align:top}
th{background:#f3f4f6}tr:target{background:#fef3c7}
h2{font-size:16px;margin:28px 0 0}table.record th{background:none;font-weight:600;white-space:nowrap}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
ul{margin:0;padding-left:16px}.what-abort .what,.what-rollback .what,.what-Ramp-Abort .what,.finding{color:#b91c1c;font-weight:600}
.badge{color:#fff;border-radius:3px;padding:0 4px;font-size:11px}span.v-pass{background:#16a34a}span.v-fail{background:#dc2626}span.v-inconclusive{background:#6b7280}.note{color:#6b7280;font-size:11.5px}
</style></head><body>
<h1 class="headline {{if .Bad}}bad{{else}}ok{{end}}">{{.Headline}}</h1>
<p class="sum">ramp audit of rollout {{.Rollout}}{{with .Release}}, release {{.}}{{end}}: {{.Commits}} commit(s){{with .From}} from {{.}} to {{$.To}} UTC{{end}}{{with .Last}}; last: {{.}}{{end}};
{{if .Findings}}<span class="bad">{{.Findings}} finding(s)</span>{{else}}no findings{{end}}.</p>
<p class="legend"><span><i style="background:#6b7280"></i>start</span><span><i style="background:#7c3aed"></i>approval</span><span><i style="background:#dc2626"></i>abort / failed gate</span><span><i style="background:#ea580c"></i>rollback</span><span><i style="background:#16a34a"></i>promotion / passed gate</span><span><i style="background:#9ca3af"></i>inconclusive</span><span>- - - bound</span><span><i style="background:#64748b"></i>measurements (with --prometheus)</span> (every mark links to its commit)</p>
{{with .Chart}}<svg viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="timeline of rollout {{$.Rollout}}">
{{range .Markers}}<line class="mline m-{{.Kind}}" x1="{{f .X}}" x2="{{f .X}}" y1="{{f $.Chart.LaneBottom}}" y2="{{f $.Chart.AxisY}}"/>{{end}}
<text class="title" x="{{f .Left}}" y="{{f (sub .WeightTop 8)}}">canary weight</text>
{{range .WeightGrid}}<line class="grid" x1="{{f $.Chart.Left}}" x2="{{f $.Chart.Right}}" y1="{{f .Y}}" y2="{{f .Y}}"/><text x="{{f (sub $.Chart.Left 8)}}" y="{{f (add .Y 4)}}" text-anchor="end">{{.Label}}</text>{{end}}
{{with .WeightPath}}<path class="weight-line" d="{{.}}"/>{{end}}
{{range .Weights}}<a class="weight" href="#c-{{.Commit}}"><title>{{.Title}}</title><circle class="{{.Class}}" data-commit="{{.Commit}}" cx="{{f .X}}" cy="{{f .Y}}" r="4.5"/>{{if .Label}}<text class="mid" x="{{f .LabelX}}" y="{{f (sub .Y 9)}}">{{.Label}}</text>{{end}}</a>{{end}}
{{range .Gates}}<text class="title" x="{{f $.Chart.Left}}" y="{{f (sub .Top 8)}}">gate {{.Name}}{{with .Bound}} (bound {{.}}){{end}}</text>
{{range .Grid}}<line class="grid" x1="{{f $.Chart.Left}}" x2="{{f $.Chart.Right}}" y1="{{f .Y}}" y2="{{f .Y}}"/><text x="{{f (sub $.Chart.Left 8)}}" y="{{f (add .Y 4)}}" text-anchor="end">{{.Label}}</text>{{end}}
{{range .Bounds}}<line class="bound" x1="{{f $.Chart.Left}}" x2="{{f $.Chart.Right}}" y1="{{f .Y}}" y2="{{f .Y}}"/><text class="bound-label" x="{{f (sub $.Chart.Right 2)}}" y="{{f (sub .Y 5)}}" text-anchor="end">{{.Label}}</text>{{end}}
{{range .Series}}<path class="gate-series" data-commit="{{.Commit}}" d="{{.Path}}"/>{{range .Points}}<circle class="{{.Class}}" data-commit="{{.Commit}}" cx="{{f .X}}" cy="{{f .Y}}" r="2.5"><title>{{.Title}}</title></circle>{{end}}{{end}}
{{range .Points}}<a class="gate" href="#c-{{.Commit}}"><title>{{.Title}}</title><circle class="{{.Class}}" data-commit="{{.Commit}}" cx="{{f .X}}" cy="{{f .Y}}" r="5"/>{{if .Label}}<text x="{{f .LabelX}}" y="{{f (add .Y 4)}}">{{.Label}}</text>{{end}}</a>{{end}}
{{end}}
<line class="axis" x1="{{f .Left}}" x2="{{f .Right}}" y1="{{f .AxisY}}" y2="{{f .AxisY}}"/>
{{range .Ticks}}<line class="axis" x1="{{f .X}}" x2="{{f .X}}" y1="{{f $.Chart.AxisY}}" y2="{{f (add $.Chart.AxisY 5)}}"/><text class="mid" x="{{f .X}}" y="{{f (add $.Chart.AxisY 18)}}">{{.Label}}</text>{{end}}
<text x="{{f .Right}}" y="{{f (add .AxisY 34)}}" text-anchor="end">time (UTC)</text>
{{range .Markers}}<a class="marker m-{{.Kind}}" href="#c-{{.Commit}}"><title>{{.Title}}</title><circle class="m-{{.Kind}}" data-commit="{{.Commit}}" cx="{{f .X}}" cy="{{f (sub $.Chart.LaneBottom 10)}}" r="8"/><text class="glyph" x="{{f .X}}" y="{{f (sub $.Chart.LaneBottom 6)}}">{{.Glyph}}</text>{{if .Label}}<text class="mid" x="{{f .X}}" y="{{f .LabelY}}">{{.Label}}</text>{{end}}</a>{{end}}
</svg>{{end}}
<table><thead><tr><th>time (UTC)</th><th>commit</th><th>release</th><th>what</th><th>step</th><th>weight</th><th>by</th><th>signed by</th><th>gates</th><th>reason</th><th>findings</th></tr></thead>
<tbody>{{range .Rows}}<tr id="c-{{.Commit}}" class="what-{{.What}}"><td class="mono">{{.When}}</td><td class="mono"><a href="#c-{{.Commit}}" title="{{.Commit}}">{{.Short}}</a></td><td title="{{.Release}}">{{.ShortRelease}}</td><td class="what">{{.WhatText}}</td><td class="mono">{{.Step}}</td><td class="mono">{{.Weight}}</td><td class="id">{{.Author}}</td><td class="id">{{.Signed}}</td>
<td>{{range .GateCells}}<div{{with .Query}} title="{{.}}"{{end}}><b>{{.Name}}</b> <span class="badge v-{{.Verdict}}">{{.Verdict}}</span> {{.Text}}{{with .Reason}}<div class="note">{{.}}</div>{{end}}</div>{{end}}</td>
<td>{{.Reason}}{{if .Approved}}<ul>{{range .Approved}}<li>approved by {{.Principal}} in <a class="mono" href="#c-{{.Commit}}">{{printf "%.10s" .Commit}}</a></li>{{end}}</ul>{{end}}</td>
<td>{{if .Problems}}<ul class="finding">{{range .Problems}}<li>{{.}}</li>{{end}}</ul>{{end}}</td></tr>
{{end}}</tbody></table>
{{range .Releases}}<section class="release"><h2>release {{.Release}}: {{.Outcome}}</h2>
<table class="record"><colgroup><col style="width:14%"><col></colgroup><tbody>{{range .Lines}}<tr><th>{{.Label}}</th><td>{{.Text}}{{range .Details}}<div class="note mono">{{.}}</div>{{end}}</td></tr>
{{end}}</tbody></table></section>
{{end}}</body></html>
`))

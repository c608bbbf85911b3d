package main

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/ramp-dev/ramp/history"
)

// The lanes picture of a rollout with targets, in SVG user units: one
// lane per target (headed with its wave), one column per audited commit.
const (
	laneLeft   = 150.0
	laneRight  = 1050.0
	laneTop    = 40.0
	laneHeight = 44.0
)

// fleetPage is what fleetTemplate renders.
type fleetPage struct {
	Rollout          string
	From, To         string
	Commits          int
	Findings         int
	Width, Height    int
	Left, Right, Top float64
	Columns          []fleetColumn
	Lanes            []fleetLane
	Targets          []string // the table's target columns, headed target (wave)
	Rows             []fleetRow
}

// fleetColumn is one commit's vertical guide line.
type fleetColumn struct {
	X      float64
	Commit string
	Label  string
}

// fleetLane is one target's lane: its label and one cell per commit
// that did something there.
type fleetLane struct {
	Target, Wave string
	Y            float64
	Cells        []fleetCell
}

// fleetCell is what one commit did in one target.
type fleetCell struct {
	X             float64
	Commit, What  string
	Class, Title  string
	Label         string
	Finding, Fail bool
}

// fleetRow is one row of the table.
type fleetRow struct {
	Commit, Short, When, Release, Wave, What, By string
	Cells                                        []string
	Problems                                     []string
}

// writeFleetHTML writes the audit of a rollout with targets as one
// self-contained HTML page: an inline SVG with one lane per target (each
// commit a column, a marker in each lane it touched, linked to its table
// row) and the table of commits, no external URL.
func writeFleetHTML(w io.Writer, a *history.FleetAudit) error {
	p := fleetPage{Rollout: a.Rollout, Commits: len(a.Rows), Findings: a.Findings, Width: svgWidth,
		Left: laneLeft, Right: laneRight, Top: laneTop}
	n := len(a.Rows)
	if n > 0 {
		p.From, p.To = a.Rows[0].Time.UTC().Format(timeLayout), a.Rows[n-1].Time.UTC().Format(timeLayout)
	}
	x := func(i int) float64 {
		if n <= 1 {
			return (laneLeft + laneRight) / 2
		}
		return laneLeft + 20 + float64(i)*(laneRight-laneLeft-40)/float64(n-1)
	}
	p.Height = int(laneTop + float64(len(a.Targets))*laneHeight + 20)
	for i, row := range a.Rows {
		p.Columns = append(p.Columns, fleetColumn{X: x(i), Commit: row.Commit, Label: shortSHA(row.Commit)})
	}
	for j, t := range a.Targets {
		lane := fleetLane{Target: t, Wave: a.Waves[t], Y: laneTop + float64(j)*laneHeight + laneHeight/2}
		for i, row := range a.Rows {
			l, ok := row.Lanes[t]
			if !ok {
				continue
			}
			c := fleetCell{X: x(i), Commit: row.Commit, What: l.What, Class: "lane-cell w-" + cssWord(l.What), Label: l.What}
			if l.Step != "" {
				c.Label += " " + l.Step
			}
			if l.Weight != nil {
				c.Label += fmt.Sprintf(" %d%%", *l.Weight)
			}
			if len(l.Findings) > 0 {
				c.Class += " finding"
			}
			c.Title = fmt.Sprintf("%s %s %s: %s", shortSHA(row.Commit), t, row.Release, c.Label)
			if l.Reason != "" {
				c.Title += " — " + l.Reason
			}
			lane.Cells = append(lane.Cells, c)
		}
		p.Lanes = append(p.Lanes, lane)
		p.Targets = append(p.Targets, t+" ("+a.Waves[t]+")")
	}
	for _, row := range a.Rows {
		r := fleetRow{Commit: row.Commit, Short: shortSHA(row.Commit), When: row.Time.UTC().Format(timeLayout), Release: row.Release,
			Wave: orDash(row.Wave), What: orDash(row.What), By: row.Author}
		for _, t := range a.Targets {
			l, ok := row.Lanes[t]
			if !ok {
				r.Cells = append(r.Cells, "")
				continue
			}
			cell := l.What
			if l.Step != "" {
				cell += " " + l.Step
			}
			if l.Weight != nil {
				cell += fmt.Sprintf(" %d%%", *l.Weight)
			}
			r.Cells = append(r.Cells, cell)
			for _, f := range l.Findings {
				r.Problems = append(r.Problems, t+": FINDING: "+f)
			}
		}
		for _, rj := range row.Rejected {
			r.Problems = append(r.Problems, fmt.Sprintf("rejected %s by %s: %s", commandName(rj.Command), rj.Author, rj.Reason))
		}
		p.Rows = append(p.Rows, r)
	}
	if err := fleetTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("render the HTML audit of %s: %w", a.Rollout, err)
	}
	return nil
}

// cssWord makes what a class name: letters, digits and '-'.
func cssWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}

var fleetTemplate = template.Must(template.New("fleet").Funcs(template.FuncMap{
	"f":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"add": func(a, b float64) float64 { return a + b },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ramp audit {{.Rollout}}</title>
<style>
body{font:14px/1.45 system-ui,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#1f2937;background:#fff}
h1{font-size:20px;margin:0 0 4px}.sum{color:#4b5563;margin:0 0 12px}
svg{display:block;width:100%;height:auto;border:1px solid #e5e7eb;border-radius:6px;background:#fcfcfd;margin-top:8px}
svg text{font-size:11px;fill:#4b5563}.lane-label{font-weight:600;fill:#111827;font-size:12px}
.lane-line{stroke:#e5e7eb;stroke-width:8;stroke-linecap:round}.column{stroke:#f3f4f6}
.lane-cell{fill:#2563eb;stroke:#fff;stroke-width:1.5}.w-start-wave,.w-start{fill:#6b7280}.w-promote,.w-complete{fill:#16a34a}
.w-abort{fill:#dc2626}.w-rollback{fill:#ea580c}.w-ramp-approve{fill:#7c3aed}.finding{stroke:#b91c1c;stroke-width:3}
a:hover circle{stroke:#111827;stroke-width:2}
table{border-collapse:collapse;margin-top:20px;width:100%;font-size:12.5px}td.mono{white-space:nowrap;font-family:ui-monospace,monospace}
th,td{border-bottom:1px solid #e5e7eb;padding:5px 6px;text-align:left;vertical-align:top}th{background:#f3f4f6}tr:target{background:#fef3c7}
.problem{color:#b91c1c}
</style></head><body>
<h1>ramp audit {{.Rollout}}: one lane per target</h1>
<p class="sum">{{.Commits}} commits{{if .From}} from {{.From}} to {{.To}} UTC{{end}}; {{.Findings}} finding(s)</p>
<svg class="lanes" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="what each commit did in each target">
{{range .Columns}}<line class="column" data-commit="{{.Commit}}" x1="{{f .X}}" y1="{{f $.Top}}" x2="{{f .X}}" y2="{{$.Height}}"/>
{{end}}{{range .Lanes}}<g class="lane" data-target="{{.Target}}" data-wave="{{.Wave}}">
<text class="lane-label" x="10" y="{{f (add .Y 4)}}">{{.Target}} ({{.Wave}})</text>
<line class="lane-line" x1="{{f $.Left}}" y1="{{f .Y}}" x2="{{f $.Right}}" y2="{{f .Y}}"/>
{{$y := .Y}}{{range .Cells}}<a href="#c-{{.Commit}}"><circle class="{{.Class}}" data-commit="{{.Commit}}" data-what="{{.What}}" cx="{{f .X}}" cy="{{f $y}}" r="7"><title>{{.Title}}</title></circle></a>
{{end}}</g>
{{end}}</svg>
<table class="decisions"><thead><tr><th>commit</th><th>time (UTC)</th><th>release</th><th>wave</th><th>rollout</th>{{range .Targets}}<th>{{.}}</th>{{end}}<th>by</th></tr></thead><tbody>
{{range .Rows}}<tr id="c-{{.Commit}}"><td class="mono">{{.Short}}</td><td class="mono">{{.When}}</td><td>{{.Release}}</td><td>{{.Wave}}</td><td>{{.What}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}<td>{{.By}}{{range .Problems}}<div class="problem">{{.}}</div>{{end}}</td></tr>
{{end}}</tbody></table>
</body></html>
`))

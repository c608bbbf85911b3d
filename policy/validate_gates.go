package policy

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"time"
	_ "time/tzdata" // schedule gates name time zones; do not depend on the host's zoneinfo

	"github.com/prometheus/prometheus/promql/parser"
)

// The gates of a spec: Prometheus queries, alert selectors, webhooks and
// schedules, checked by the validator of validate.go.

func (v *validator) gateList(gates []Gate) {
	first := map[string]int{}
	for i := range gates {
		g, f := &gates[i], "spec.gates["+strconv.Itoa(i)+"]"
		switch {
		case g.Name == "":
			v.fail(f+".name", "required")
		case !groupName.MatchString(g.Name):
			v.fail(f+".name", "%q is not a gate name (lowercase letters, digits and '-')", g.Name)
		case v.gates[g.Name]:
			v.fail(f+".name", "%q is already the name of spec.gates[%d]", g.Name, first[g.Name])
		default:
			first[g.Name] = i
		}
		v.gates[g.Name] = true
		v.gate(f, g)
	}
}

func (v *validator) gate(f string, g *Gate) {
	var kinds []string
	if g.Prometheus != nil {
		kinds = append(kinds, "prometheus")
	}
	if g.Alerts != nil {
		kinds = append(kinds, "alerts")
	}
	if g.Webhook != nil {
		kinds = append(kinds, "webhook")
	}
	if g.Schedule != nil {
		kinds = append(kinds, "schedule")
	}
	switch len(kinds) {
	case 0:
		v.fail(f, "needs one of prometheus, alerts, webhook, schedule")
	case 1:
	default:
		v.fail(f, "has %s; keep one", strings.Join(kinds, " and "))
	}
	switch g.Severity {
	case "", SeverityCritical, SeverityWarning:
	default:
		v.fail(f+".severity", "%q is not critical or warning", g.Severity)
	}
	for _, n := range []struct {
		name string
		val  int
	}{{"count", g.Count}, {"failureLimit", g.FailureLimit}, {"inconclusiveLimit", g.InconclusiveLimit}} {
		if n.val < 0 {
			v.fail(f+"."+n.name, "%d is negative", n.val)
		}
	}
	if g.WarmUp.Duration < 0 {
		v.fail(f+".warmUp", "%s is negative", g.WarmUp)
	}
	if g.Interval.Duration < 0 {
		v.fail(f+".interval", "%s is negative", g.Interval)
	}
	if g.Prometheus != nil {
		v.prometheus(f+".prometheus", g.Prometheus)
	}
	if g.Alerts != nil && strings.TrimSpace(g.Alerts.Selector) == "" {
		v.fail(f+".alerts.selector", `required: label matchers such as service="demo"`)
	} else if g.Alerts != nil {
		v.alertSelector(f+".alerts.selector", g.Alerts.Selector)
	}
	if g.Webhook != nil {
		v.webhook(f+".webhook", g.Webhook)
	}
	if g.Schedule != nil {
		v.schedule(f+".schedule", g.Schedule)
	}
}

func (v *validator) prometheus(f string, p *PrometheusGate) {
	v.query(f+".query", p.Query)
	if p.Min == nil && p.Max == nil && p.MaxRatio == nil && p.MaxIncrease == nil {
		v.fail(f, "needs at least one of min, max, maxRatio, maxIncrease")
	}
	if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
		v.fail(f+".min", "%g is above max %g; no value could pass", *p.Min, *p.Max)
	}
	if p.MaxRatio != nil && *p.MaxRatio <= 0 {
		v.fail(f+".maxRatio", "%g is not positive", *p.MaxRatio)
	}
	if p.SampleQuery != "" {
		v.query(f+".sampleQuery", p.SampleQuery)
	}
	switch {
	case p.MinSamples < 0:
		v.fail(f+".minSamples", "%g is negative", p.MinSamples)
	case p.MinSamples > 0 && p.SampleQuery == "":
		v.fail(f+".minSamples", "needs a sampleQuery that counts the samples")
	}
}

// query checks that a query is a Go template that renders, with every
// variable a gate's query may use, into PromQL that Prometheus' own
// parser accepts.
func (v *validator) query(f, q string) {
	if strings.TrimSpace(q) == "" {
		v.fail(f, "required: a PromQL query")
		return
	}
	// A target's query renders with its rollout's name, as the shell
	// renders it (.Rollout is not rollout/target): the same text for
	// every target, checked once.
	name := v.r.Name()
	if v.r.parent != "" {
		name = v.r.parent
	}
	key := name + "\x00" + q
	problem, seen := v.queries[key]
	if !seen {
		problem = queryProblem(name, q)
		if v.queries != nil {
			v.queries[key] = problem
		}
	}
	if problem != "" {
		v.fail(f, "%s", problem)
	}
}

// queryProblem says why the query q of rollout name is not a Go template
// that renders into PromQL, or "" when it is.
func queryProblem(name, q string) string {
	t, err := template.New("query").Option("missingkey=error").Parse(q)
	if err != nil {
		return "not a valid Go template: " + templatePrefix.ReplaceAllString(err.Error(), "")
	}
	var b strings.Builder
	if err := t.Execute(&b, sampleQueryVars(name)); err != nil {
		return "template does not render: " + templateExec.ReplaceAllString(err.Error(), "") +
			" (variables: .Rollout, .Release, .Stable, .Version, .Window, .Interval, .Step)"
	}
	if _, err := promql.ParseExpr(b.String()); err != nil {
		return fmt.Sprintf("not valid PromQL: %s (query as rendered: %s)", err, b.String())
	}
	return ""
}

// alertSelector checks that an alerts gate's selector is PromQL label
// matchers.
func (v *validator) alertSelector(f, sel string) {
	if _, err := promql.ParseMetricSelector("{" + sel + "}"); err != nil {
		v.fail(f, "not PromQL label matchers: %s", err)
	}
}

// promql is Prometheus' own PromQL parser, with its default functions.
var promql = parser.NewParser(parser.Options{})

// sampleQueryVars are values for every variable of a gate's query, to
// render it for the PromQL parser: the shell renders the same names
// (evidence.QueryVars).
func sampleQueryVars(rollout string) map[string]any {
	return map[string]any{"Rollout": rollout, "Release": "1.1.0", "Stable": "1.0.0", "Version": "1.1.0",
		"Window": "5m", "Interval": "1m", "Step": 1, "Target": "eu-west-1", "Cluster": "eu-west-1"}
}

func (v *validator) webhook(f string, w *WebhookGate) {
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		v.fail(f+".url", "required: the http(s) URL to POST to")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.fail(f+".url", "%q is not an http or https URL", w.URL)
	}
	if w.Timeout.Duration < 0 {
		v.fail(f+".timeout", "%s is negative", w.Timeout)
	}
	if w.SecretEnv != "" && !envName.MatchString(w.SecretEnv) {
		v.fail(f+".secretEnv", "%q is not an environment variable name", w.SecretEnv)
	}
}

func (v *validator) schedule(f string, s *ScheduleGate) {
	if s.TimeZone == "" {
		v.fail(f+".timeZone", "required: an IANA time zone such as Europe/Berlin or UTC")
	} else if _, err := time.LoadLocation(s.TimeZone); err != nil {
		v.fail(f+".timeZone", "%q is not a known time zone (use an IANA name such as Europe/Berlin)", s.TimeZone)
	}
	if len(s.Windows) == 0 {
		v.fail(f+".windows", "needs at least one change window")
	}
	for i, w := range s.Windows {
		wf := f + ".windows[" + strconv.Itoa(i) + "]"
		if len(w.Days) == 0 {
			v.fail(wf+".days", "needs at least one day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
		}
		for j, day := range w.Days {
			if !weekdayNames[day] {
				v.fail(wf+".days["+strconv.Itoa(j)+"]", "%q is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun", day)
			}
		}
		startOK, endOK := hhmm.MatchString(w.Start), hhmm.MatchString(w.End) || w.End == "24:00"
		if !startOK {
			v.fail(wf+".start", "%q is not a time of day HH:MM", w.Start)
		}
		if !endOK {
			v.fail(wf+".end", "%q is not a time of day HH:MM (or 24:00)", w.End)
		}
		// An end before the start runs overnight into the next day.
		if startOK && endOK && w.Start == w.End {
			v.fail(wf+".end", "%s equals start: an empty window; for the whole day write start \"00:00\", end \"24:00\"", w.End)
		}
	}
}

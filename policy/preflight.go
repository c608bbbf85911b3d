package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Preflight: gates judged before step 1 of a release, on the state before
// any exposure (the stable version serving all traffic, the alerts firing
// now). Background gates start at step 1; without a preflight a release
// merged while an incident alert fires would take its first step. A
// preflight that does not pass holds the start with no commit and says
// why; it never aborts (nothing is exposed yet, so there is nothing to
// take back, and holding is the safe side). When step 1 is committed,
// the preflight's results are recorded on that commit with
// scope=preflight.

// ScopePreflight marks a preflight gate's result: judged before step 1.
const ScopePreflight = "preflight"

// Preflight names the gates judged before step 1 of every release
// (spec.strategy.<canary|blueGreen>.preflight). An empty list turns the
// default off.
type Preflight struct {
	Gates []string `yaml:"gates" json:"gates"`
}

// Preflight returns the gates judged before step 1: the strategy's
// preflight when it has one, else its background gates that do not
// compare with stable (before step 1 no other version serves traffic to
// compare with); nil when there are none.
func (r *Rollout) Preflight() *Preflight {
	var explicit *Preflight
	switch s := r.Spec.Strategy; {
	case s.Canary != nil:
		explicit = s.Canary.Preflight
	case s.BlueGreen != nil:
		explicit = s.BlueGreen.Preflight
	}
	if explicit != nil {
		if len(explicit.Gates) == 0 {
			return nil
		}
		return explicit
	}
	b := r.Background()
	if b == nil {
		return nil
	}
	out := &Preflight{}
	for _, name := range b.Gates {
		if g := r.Gate(name); g == nil || g.Prometheus == nil || !comparesWithStable(g.Prometheus) {
			out.Gates = append(out.Gates, name)
		}
	}
	if len(out.Gates) == 0 {
		return nil
	}
	return out
}

// NeedsPreflight returns the preflight the planner needs evidence for at
// state s, or nil: while a release waits for its step 1.
func NeedsPreflight(r *Rollout, s *State) *Preflight {
	if s.Phase != PhaseProgressing || s.Step != 0 || s.Superseded != "" || s.DriftWeight != nil {
		return nil
	}
	return r.Preflight()
}

// PreflightInterval is how soon a preflight gate is measured again while
// it holds the start: the background's interval, else the gate's, else
// DefaultInterval. A Prometheus preflight gate's query renders {{.Window}}
// and {{.Interval}} as this interval.
func PreflightInterval(r *Rollout, g Gate) time.Duration {
	return BackgroundInterval(r.Background(), g)
}

// nextPreflight is how soon the preflight gates are measured again.
func nextPreflight(r *Rollout, pf *Preflight) time.Duration {
	var every time.Duration
	for _, name := range pf.Gates {
		if g := r.Gate(name); g != nil {
			if i := PreflightInterval(r, *g); every == 0 || i < every {
				every = i
			}
		}
	}
	if every == 0 {
		every = DefaultInterval
	}
	return every
}

// JudgePreflight judges a Prometheus preflight gate on its latest
// measurement (the shell measures one point, at now, of the version that
// serves traffic before step 1): pass, fail or inconclusive as that point
// is ("no sample, no signal": too few samples is inconclusive). The
// planner holds the start on anything but a pass.
func JudgePreflight(g Gate, ms []Measurement) GateResult {
	res := newResult(g)
	res.Scope = ScopePreflight
	if g.Prometheus == nil {
		res.Reason = fmt.Sprintf("gate %s has no prometheus query", g.Name)
		return res
	}
	res.Query, res.Bound = QueryHash(g.Prometheus.Query), Bounds(g.Prometheus)
	if len(ms) == 0 {
		res.Reason, res.Inconclusives = "no measurement", 1
		return res
	}
	m := ms[len(ms)-1]
	o := judgeMeasurement(g.Prometheus, &m)
	res.Verdict, res.Reason = o.verdict, o.reason
	switch o.verdict {
	case Pass:
		res.Reason = "latest measurement passed"
	case Fail:
		res.Failures = 1
	default:
		res.Inconclusives = 1
	}
	if m.OK {
		res.Value, res.HasValue = m.Value, true
	}
	if m.HasSamples {
		res.Samples = m.Samples
	}
	return res
}

// preflight judges the preflight gates before step 1 is entered: it
// returns their results to record on step 1's commit, or the hold while
// any of them does not pass. A failing critical gate and an inconclusive
// gate both hold (a failing warning gate is recorded and does not hold);
// a preflight never aborts: nothing is exposed yet.
func (p *planner) preflight() (gates []GateResult, d Decision, held bool) {
	pf := NeedsPreflight(p.r, p.s)
	if pf == nil {
		return nil, Decision{}, false
	}
	var blocking []string
	for _, name := range pf.Gates {
		res, ok := p.ev.Preflight[name]
		if !ok {
			res = GateResult{Name: name, Verdict: Inconclusive, Reason: "not measured"}
		}
		res.Name, res.Scope = name, ScopePreflight
		gate := p.r.Gate(name)
		if res.Severity == "" && gate != nil {
			res.Severity = gate.Severity
		}
		gates = append(gates, res)
		if res.Verdict == Pass || (res.Verdict == Fail && res.Severity == SeverityWarning) {
			continue
		}
		blocking = append(blocking, describePreflight(gate, res))
	}
	if len(blocking) == 0 {
		return gates, Decision{}, false
	}
	d = p.hold("the preflight gates to pass ("+strings.Join(pf.Gates, ", ")+")",
		"preflight: "+strings.Join(blocking, "; ")+"; the release waits before step 1")
	d.Gates = gates
	return gates, d, true
}

// describePreflight says why a preflight gate holds the start: "gate
// incident (alerts) is firing: ALERTS{alertstate="firing", service="demo"}
// (alert HighErrorRate firing)", "gate error-rate (prometheus) fails:
// 0.2 > 0.05".
func describePreflight(g *Gate, res GateResult) string {
	name := "gate " + res.Name
	if g == nil {
		return name + " is inconclusive: not defined in spec.gates"
	}
	name += " (" + gateKind(*g) + ")"
	switch {
	case g.Alerts != nil && res.Verdict == Inconclusive && res.HasValue && res.Value > 0:
		return name + " is firing: " + AlertsQuery(g.Alerts.Selector) + " (" + res.Reason + ")"
	case res.Verdict == Fail:
		if broke := BrokenBound(res); broke != "" {
			return name + " fails: " + broke
		}
		return name + " fails: " + res.Reason
	}
	why := res.Reason
	if why == "" {
		why = "no result"
	}
	return name + " is inconclusive: " + why
}

// gateKind names the kind of check a gate is.
func gateKind(g Gate) string {
	switch {
	case g.Prometheus != nil:
		return "prometheus"
	case g.Alerts != nil:
		return "alerts"
	case g.Webhook != nil:
		return "webhook"
	case g.Schedule != nil:
		return "schedule"
	}
	return "no check"
}

// preflight checks a strategy's preflight at field: gates defined in
// spec.gates, none twice, none that compares with stable (before step 1
// only stable serves traffic). An empty list is allowed: it turns the
// default (the background gates) off.
func (v *validator) preflight(field string, pf *Preflight) {
	if pf == nil {
		return
	}
	if len(pf.Gates) > 0 {
		v.gateNames(field+".gates", pf.Gates)
	}
	for i, name := range pf.Gates {
		if g := v.r.Gate(name); g != nil && g.Prometheus != nil && comparesWithStable(g.Prometheus) {
			v.fail(field+".gates["+strconv.Itoa(i)+"]", "gate %q compares with stable (maxRatio or maxIncrease), but before step 1 only stable serves traffic; use a gate with min or max, or an alerts gate", name)
		}
	}
}

// preflightTier applies guardrail requireBackground to the preflight:
// the gates of requireGates that can be judged before step 1 (all but
// those that compare with stable) are among the preflight gates, so an
// incident they watch holds a release before its first exposure.
func (v *validator) preflightTier() {
	t := v.g.Tier(v.r.Spec.RiskTier)
	if t == nil || !t.RequireBackground {
		return
	}
	field := "spec.strategy.canary"
	if v.r.Spec.Strategy.Canary == nil {
		if v.r.Spec.Strategy.BlueGreen == nil {
			return // reported by strategy
		}
		field = "spec.strategy.blueGreen"
	}
	pf := v.r.Preflight()
	var missing []string
	for _, name := range t.RequireGates {
		g := v.r.Gate(name)
		if g == nil || (g.Prometheus != nil && comparesWithStable(g.Prometheus)) {
			continue // undefined: reported by tierRules; compares with stable: not before step 1
		}
		if pf == nil || !slices.Contains(pf.Gates, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return
	}
	explicit := v.r.Spec.Strategy.Canary != nil && v.r.Spec.Strategy.Canary.Preflight != nil ||
		v.r.Spec.Strategy.BlueGreen != nil && v.r.Spec.Strategy.BlueGreen.Preflight != nil
	if !explicit {
		return // the default preflight lacks them only when the background does: reported by tierRules
	}
	v.fail(field+".preflight.gates", "riskTier %s needs %s among the preflight gates, judged before step 1 (guardrail riskTiers.%s.requireBackground)",
		v.r.Spec.RiskTier, strings.Join(missing, ", "), v.r.Spec.RiskTier)
}

// preflightNote says on step 1's reason that the preflight passed.
func preflightNote(gates []GateResult) string {
	if len(gates) == 0 {
		return ""
	}
	var names []string
	for _, g := range gates {
		names = append(names, g.Name)
	}
	return "; preflight passed: " + strings.Join(names, ", ")
}

package policy

import (
	"fmt"
	"math"
	"time"
)

// The routing check asks "is traffic really reaching the canary?" before
// anything judges the canary itself: a gateway that ignores the weights, a
// canary Service without endpoints or a route the gateway refused look
// healthy to an error-rate gate (no requests, no errors). Once a step with
// a weight above 0 is live, the canary's observed share of requests over
// the check's window must be near the share ramp set; otherwise the
// rollout holds with a reason that names routing, and the result is
// recorded in the next step's commit like a gate's.

// RoutingGate is the name the routing check's results carry (Ramp-Gate).
const RoutingGate = "routing"

// TrafficCheck is spec.trafficCheck.
type TrafficCheck struct {
	// Query counts the requests one version served over the window:
	// {{.Version}} and {{.Window}} are filled in, e.g.
	// sum(increase(http_requests_total{version="{{.Version}}"}[{{.Window}}])).
	Query string `yaml:"query" json:"query"`
	// Tolerance is how far the observed share may be from the expected
	// one, relative to it: 0.5 accepts 10%–30% at weight 20%.
	Tolerance float64 `yaml:"tolerance" json:"tolerance"`
	// Window is how long the share is measured (default 1m), from when
	// the step went live.
	Window Duration `yaml:"window" json:"window"`
	// MinRequests is how many requests the window must hold to judge
	// (default 20): no sample, no signal.
	MinRequests float64 `yaml:"minRequests" json:"minRequests"`
}

// Defaults of spec.trafficCheck.
const (
	DefaultTrafficWindow      = time.Minute
	DefaultTrafficTolerance   = 0.5
	DefaultTrafficMinRequests = 20
)

// TrafficSample is what the shell measured for the routing check: the
// requests each side served over Window, ending At.
type TrafficSample struct {
	Canary, Stable float64
	At             time.Time
	Window         time.Duration
	// Err says why there is no measurement (Prometheus unreachable, a
	// query that returns nothing).
	Err string
}

// TrafficWindow is the window the routing check of a step live since
// liveAt measures at now: the last Window before now, once Window has
// passed since liveAt (ready).
func (c *TrafficCheck) TrafficWindow(liveAt, now time.Time) (end time.Time, window time.Duration, ready bool) {
	window = c.window()
	return now, window, !now.Before(liveAt.Add(window))
}

func (c *TrafficCheck) window() time.Duration {
	if c.Window.Duration > 0 {
		return c.Window.Duration
	}
	return DefaultTrafficWindow
}

func (c *TrafficCheck) tolerance() float64 {
	if c.Tolerance > 0 {
		return c.Tolerance
	}
	return DefaultTrafficTolerance
}

func (c *TrafficCheck) minRequests() float64 {
	if c.MinRequests > 0 {
		return c.MinRequests
	}
	return DefaultTrafficMinRequests
}

// expectedShare is the share of the requests the canary serves (mirrored
// copies included) at weight with exposure x, in percent, and whether it
// is only a lower bound (a cohort adds requests nobody can predict).
func expectedShare(weight int, x Exposure) (share float64, atLeast bool) {
	m := 0.0
	if x.Mirror != nil {
		m = float64(x.Mirror.Percent)
	}
	return (float64(weight) + m) / (100 + m) * 100, len(x.Cohorts) > 0
}

// JudgeTraffic judges a routing check's sample at weight with exposure x.
func (c *TrafficCheck) JudgeTraffic(weight int, x Exposure, s *TrafficSample) GateResult {
	res := GateResult{Name: RoutingGate, Verdict: Inconclusive, Severity: SeverityCritical, Query: QueryHash(c.Query)}
	want, atLeast := expectedShare(weight, x)
	lo, hi := want*(1-c.tolerance()), want*(1+c.tolerance())
	res.Bound = fmt.Sprintf("%.4g%%–%.4g%%", lo, math.Min(hi, 100))
	if atLeast {
		res.Bound = fmt.Sprintf(">=%.4g%%", lo)
	}
	if s == nil {
		res.Reason = "not measured yet"
		return res
	}
	res.Window = Duration{s.Window}
	if s.Err != "" {
		res.Reason = s.Err
		return res
	}
	total := s.Canary + s.Stable
	res.Samples = total
	if total < c.minRequests() {
		res.Reason = fmt.Sprintf("%.0f requests over %s, fewer than minRequests %g", total, Duration{s.Window}, c.minRequests())
		return res
	}
	share := s.Canary / total * 100
	res.Value, res.HasValue = share/100, true
	res.Verdict = Pass
	if share < lo || (!atLeast && share > hi) {
		res.Verdict = Fail
		res.Reason = fmt.Sprintf("weight %d%% but canary served %.3g%% of %.0f requests over %s", weight, share, total, Duration{s.Window})
	}
	return res
}

// routing judges the routing check of the current step, when the spec
// has one and the canary has weight: the result to record, and a hold
// when the share is off, not measured yet, or inconclusive.
func (p *planner) routing() (*GateResult, *Decision) {
	c := p.r.Spec.TrafficCheck
	if c == nil || p.s.Weight == 0 {
		return nil, nil
	}
	liveAt := LiveAt(*p.s, p.ev)
	_, window, ready := c.TrafficWindow(liveAt, p.now)
	if !ready {
		until := liveAt.Add(window)
		d := p.hold("the routing check's window to end at "+until.UTC().Format(time.RFC3339),
			fmt.Sprintf("routing check: measuring the canary's share of requests for %s (%s left)", Duration{window}, until.Sub(p.now).Round(time.Second)))
		d.Wake = until
		return nil, &d
	}
	res := c.JudgeTraffic(p.s.Weight, p.r.ExposureAt(p.s.Step), p.ev.Traffic)
	switch res.Verdict {
	case Pass:
		return &res, nil
	case Fail:
		d := p.hold("traffic to reach the canary as weighted (routing, not the app: check the route's status and the canary Service's endpoints)",
			"routing: "+res.Reason)
		d.Gates, d.Wake = []GateResult{res}, p.now.Add(window/4)
		return &res, &d
	}
	d := p.hold("a conclusive routing check", "routing check inconclusive: "+res.Reason)
	d.Gates, d.Wake = []GateResult{res}, p.now.Add(window/4)
	return &res, &d
}

// trafficCheck validates spec.trafficCheck.
func (v *validator) trafficCheck(c *TrafficCheck) {
	if c == nil {
		return
	}
	const f = "spec.trafficCheck"
	v.query(f+".query", c.Query)
	if c.Tolerance < 0 || c.Tolerance >= 1 {
		v.fail(f+".tolerance", "%g is not between 0 and 1 (0.5 accepts half to one and a half times the expected share)", c.Tolerance)
	}
	if c.Window.Duration < 0 {
		v.fail(f+".window", "%s is negative", c.Window)
	}
	if c.MinRequests < 0 {
		v.fail(f+".minRequests", "%g is negative", c.MinRequests)
	}
	if v.gates[RoutingGate] {
		v.fail(f, "records its results as gate %q, which is also the name of a gate in spec.gates; rename that gate", RoutingGate)
	}
}

// routingQuery is the routing check's query when name is its gate name.
func (r *Rollout) routingQuery(name string) (string, bool) {
	if name != RoutingGate || r.Spec.TrafficCheck == nil {
		return "", false
	}
	return r.Spec.TrafficCheck.Query, true
}

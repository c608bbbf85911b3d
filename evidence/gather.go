package evidence

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ramp-dev/ramp/policy"
)

// maxPoints bounds the points of one range query (Prometheus refuses more
// than 11,000).
const maxPoints = 10000

// Gatherer gathers the evidence of an analysis step's gates.
type Gatherer struct {
	// Prom answers Prometheus and alerts gates; nil holds them.
	Prom *Prometheus
	// HTTP calls webhooks (nil: a client without its own timeout; each
	// call is bounded by its gate's timeout).
	HTTP *http.Client
	// Env looks up webhook signing keys (nil: os.Getenv).
	Env func(string) string
}

// Gather judges every gate the analysis names, for a step that went live
// at liveAt, at time now, and returns the results by gate name.
//
// Prometheus gates are measured over the window policy.MeasurementTimes
// places after liveAt. Until the window has elapsed the result is
// inconclusive ("window 3m12s of 5m elapsed") and carries the
// measurements so far, unless they already fail. Once it has elapsed and
// still lacks conclusive measurements, the window is extended to now: it
// only ever gets longer, and its inconclusive measurements keep counting
// towards the gate's inconclusiveLimit. Alerts gates are queried at now,
// webhooks are called, change windows are checked against now.
func (g *Gatherer) Gather(ctx context.Context, r *policy.Rollout, a *policy.Analysis, vars QueryVars, liveAt, now time.Time) map[string]policy.GateResult {
	out := make(map[string]policy.GateResult)
	if a == nil {
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range a.Gates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := g.gather(ctx, r, name, a.Window.Duration, vars, liveAt, now)
			res.Name = name
			mu.Lock()
			out[name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// gather judges one gate.
func (g *Gatherer) gather(ctx context.Context, r *policy.Rollout, name string, window time.Duration, vars QueryVars, liveAt, now time.Time) policy.GateResult {
	gate, ok := findGate(r, name)
	if !ok {
		return policy.GateResult{Name: name, Verdict: policy.Inconclusive, Severity: policy.SeverityCritical,
			Reason: fmt.Sprintf("gate %s is not defined in spec.gates", name)}
	}
	switch {
	case gate.Prometheus != nil:
		return g.measure(ctx, gate, window, vars, liveAt, now)
	case gate.Alerts != nil:
		if g.Prom == nil {
			return policy.JudgeAlerts(gate, nil, "no Prometheus configured")
		}
		firing, err := g.Prom.FiringAlerts(ctx, gate.Alerts.Selector, now)
		if err != nil {
			return policy.JudgeAlerts(gate, nil, err.Error())
		}
		return policy.JudgeAlerts(gate, firing, "")
	case gate.Webhook != nil:
		client := g.HTTP
		if client == nil {
			client = &http.Client{}
		}
		env := g.Env
		if env == nil {
			env = os.Getenv
		}
		return CallWebhook(ctx, client, gate, WebhookPayload{
			Rollout: vars.Rollout, Release: vars.Release, Stable: vars.Stable, Step: vars.Step, Gate: name,
		}, env)
	case gate.Schedule != nil:
		return policy.JudgeSchedule(gate, now)
	}
	res := policy.Judge(gate, nil, window)
	res.Reason = fmt.Sprintf("gate %s has no prometheus, alerts, webhook or schedule check", name)
	return res
}

// measure judges a Prometheus gate over its window.
func (g *Gatherer) measure(ctx context.Context, gate policy.Gate, window time.Duration, vars QueryVars, liveAt, now time.Time) policy.GateResult {
	start, end, step, ready := policy.MeasurementTimes(liveAt, now, gate, window)
	vars.Window, vars.Interval = PromDuration(window), PromDuration(step)
	open := liveAt.Add(gate.WarmUp.Duration)
	if g.Prom == nil {
		return hold(gate, nil, window, "no Prometheus configured")
	}
	if end.Before(start) {
		if now.Before(open) {
			return hold(gate, nil, window, fmt.Sprintf("warming up: window opens in %s",
				PromDuration(open.Sub(now).Round(time.Second))))
		}
		return hold(gate, nil, window, fmt.Sprintf("%s; first measurement at %s",
			elapsed(now.Sub(open), window), start.UTC().Format(time.RFC3339)))
	}
	ms, err := g.Prom.Measure(ctx, gate, vars, start, end, step)
	if err != nil {
		return hold(gate, nil, window, err.Error())
	}
	res := policy.Judge(gate, ms, window)
	switch {
	case res.Verdict == policy.Fail:
		return res
	case !ready:
		res.Verdict = policy.Inconclusive
		res.Reason = elapsed(now.Sub(open), window) + "; " + res.Reason
		return res
	case res.Verdict == policy.Pass || !now.After(end):
		return res
	}
	// The window elapsed without enough conclusive measurements: extend it.
	ext := now
	if limit := start.Add(maxPoints * step); ext.After(limit) {
		ext = limit
	}
	if ms, err = g.Prom.Measure(ctx, gate, vars, start, ext, step); err != nil {
		return hold(gate, nil, window, err.Error())
	}
	res = policy.Judge(gate, ms, window)
	if res.Verdict != policy.Fail {
		res.Reason = fmt.Sprintf("window extended to %s: %s",
			PromDuration(ext.Sub(open).Round(time.Second)), res.Reason)
	}
	return res
}

// hold is an inconclusive result for gate with reason.
func hold(gate policy.Gate, ms []policy.Measurement, window time.Duration, reason string) policy.GateResult {
	res := policy.Judge(gate, ms, window)
	res.Verdict = policy.Inconclusive
	res.Reason = reason
	res.Inconclusives = max(res.Inconclusives, 1)
	return res
}

// elapsed says how much of the window has passed: "window 3m12s of 5m elapsed".
func elapsed(d, window time.Duration) string {
	return fmt.Sprintf("window %s of %s elapsed", PromDuration(d.Round(time.Second)), PromDuration(window))
}

// findGate returns the spec's gate of that name.
func findGate(r *policy.Rollout, name string) (policy.Gate, bool) {
	if r == nil {
		return policy.Gate{}, false
	}
	for _, gate := range r.Spec.Gates {
		if gate.Name == name {
			return gate, true
		}
	}
	return policy.Gate{}, false
}

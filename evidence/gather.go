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

// Evidence completes the evidence of rollout r in state s: ev holds what
// the caller knows of the step's apply (Applied, AppliedUnknown,
// ApplyFailed); once the step is live, Evidence adds the results of the
// gates policy needs: an analysis step's (or a bake's), measured over its
// window, the background gates, measured since the step went live, both
// from policy.LiveAt, and the routing check's measurement (Traffic).
// Before step 1 it adds the preflight gates' results, measured now. It
// is the one evidence function of ramp run, status and plan, and of the
// controller.
func (g *Gatherer) Evidence(ctx context.Context, r *policy.Rollout, s policy.State, ev policy.Evidence, now time.Time) policy.Evidence {
	if _, _, _, address := r.TargetInfo(); address != "" {
		// The target names its own Prometheus.
		prom, err := NewPrometheus(address)
		if err != nil {
			prom = nil // its gates are inconclusive: "no Prometheus configured"
		}
		g = &Gatherer{Prom: prom, HTTP: g.HTTP, Env: g.Env}
	}
	vars := VarsOf(r, s)
	if pf := policy.NeedsPreflight(r, &s); pf != nil {
		// Before step 1 nothing of the release is live: the preflight
		// looks at the state now.
		ev.Preflight = g.GatherPreflight(ctx, r, pf, vars, now)
	}
	if !ev.AppliedUnknown && ev.Applied.IsZero() {
		return ev
	}
	liveAt := policy.LiveAt(s, ev)
	ev.Traffic = g.Traffic(ctx, r, s, liveAt, now)
	if a := policy.NeedsAnalysis(r, &s); a != nil {
		ev.Gates = g.Gather(ctx, r, a, vars, liveAt, now)
	}
	if b := policy.NeedsBackground(r, &s); b != nil {
		ev.Background = g.GatherBackground(ctx, r, b, vars, liveAt, now)
	}
	return ev
}

// Gather gathers every gate the analysis names, for a step that went live
// at liveAt, at time now, and returns the results by gate name. It only
// queries: Prometheus gates are measured over the ranges policy.PlanWindow
// and policy.JudgeWindow place, alerts gates are queried at now, webhooks
// are called; every verdict is policy's.
func (g *Gatherer) Gather(ctx context.Context, r *policy.Rollout, a *policy.Analysis, vars QueryVars, liveAt, now time.Time) map[string]policy.GateResult {
	if a == nil {
		return map[string]policy.GateResult{}
	}
	return g.gatherAll(ctx, r, a.Gates, span{window: a.Window.Duration}, vars, liveAt, now)
}

// GatherBackground gathers the background gates b names, for a step that
// went live at liveAt, at time now: Prometheus gates over the points
// policy.PlanBackground places, the others at now.
func (g *Gatherer) GatherBackground(ctx context.Context, r *policy.Rollout, b *policy.Background, vars QueryVars, liveAt, now time.Time) map[string]policy.GateResult {
	out := g.gatherAll(ctx, r, b.Gates, span{background: b}, vars, liveAt, now)
	for name, res := range out {
		res.Scope = policy.ScopeBackground
		out[name] = res
	}
	return out
}

// span is what a gate is measured over: an analysis window, or the time
// since the step went live for a background gate.
type span struct {
	window     time.Duration
	background *policy.Background
	// preflight: one point, at now, before step 1 (preflight.go).
	preflight *policy.Rollout
}

// step is the spacing of gate's measurements over the span.
func (sp span) step(gate policy.Gate) time.Duration {
	if sp.preflight != nil {
		return policy.PreflightInterval(sp.preflight, gate)
	}
	if sp.background != nil {
		return policy.BackgroundInterval(sp.background, gate)
	}
	return policy.MeasurementInterval(gate, sp.window)
}

// gatherAll gathers the named gates concurrently.
func (g *Gatherer) gatherAll(ctx context.Context, r *policy.Rollout, names []string, sp span, vars QueryVars, liveAt, now time.Time) map[string]policy.GateResult {
	out := make(map[string]policy.GateResult)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := g.gather(ctx, r, name, sp, vars, liveAt, now)
			res.Name = name
			mu.Lock()
			out[name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// gather gathers one gate. A check answered once, at now (alerts,
// webhook, schedule), stands for the measurement points due so far: policy
// counts how many of them were inconclusive.
func (g *Gatherer) gather(ctx context.Context, r *policy.Rollout, name string, sp span, vars QueryVars, liveAt, now time.Time) policy.GateResult {
	if r == nil || r.Gate(name) == nil {
		return policy.UndefinedGate(name)
	}
	gate := *r.Gate(name)
	points, due := policy.PointsRange(gate, sp.step(gate), liveAt, now)
	switch {
	case gate.Prometheus != nil:
		if sp.preflight != nil {
			return g.measurePreflight(ctx, gate, sp.step(gate), vars, now)
		}
		if sp.background != nil {
			return g.measureBackground(ctx, gate, sp.step(gate), vars, liveAt, now, due)
		}
		return g.measure(ctx, gate, sp.window, vars, liveAt, now, due)
	case gate.Alerts != nil:
		if g.Prom == nil {
			return policy.CountInconclusives(policy.JudgeAlerts(gate, nil, "no Prometheus configured"), due)
		}
		firing, err := g.Prom.FiringAlerts(ctx, gate.Alerts.Selector, now)
		if err != nil {
			return policy.CountInconclusives(policy.JudgeAlerts(gate, nil, err.Error()), due)
		}
		res := policy.JudgeAlerts(gate, firing, "")
		if res.Verdict == policy.Inconclusive && due > 0 {
			n, err := g.Prom.FiringPoints(ctx, gate.Alerts.Selector, points.Start, points.End, points.Step)
			if err != nil {
				n = due
			}
			res = policy.CountInconclusives(res, n)
		}
		return res
	case gate.Webhook != nil:
		client := g.HTTP
		if client == nil {
			client = &http.Client{}
		}
		env := g.Env
		if env == nil {
			env = os.Getenv
		}
		return policy.CountInconclusives(CallWebhook(ctx, client, gate, WebhookPayload{
			Rollout: vars.Rollout, Release: vars.Release, Stable: vars.Stable, Step: vars.Step, Gate: name,
		}, env), due)
	case gate.Schedule != nil:
		return policy.CountInconclusives(policy.JudgeSchedule(gate, now), policy.ScheduleMisses(gate, points))
	}
	return policy.Unmeasured(gate, sp.window, fmt.Sprintf("gate %s has no prometheus, alerts, webhook or schedule check", name))
}

// measure measures a Prometheus gate over the range policy places, and
// over the longer range policy asks for when the window needs extending.
func (g *Gatherer) measure(ctx context.Context, gate policy.Gate, window time.Duration, vars QueryVars, liveAt, now time.Time, due int) policy.GateResult {
	q, early := policy.PlanWindow(gate, window, liveAt, now)
	vars.Window, vars.Interval = PromDuration(window), PromDuration(q.Step)
	if g.Prom == nil {
		return policy.CountInconclusives(policy.Unmeasured(gate, window, "no Prometheus configured"), due)
	}
	if early != nil {
		return *early
	}
	ms, err := g.Prom.Measure(ctx, gate, vars, q.Start, q.End, q.Step)
	if err != nil {
		return policy.CountInconclusives(policy.Unmeasured(gate, window, err.Error()), due)
	}
	res, ext := policy.JudgeWindow(gate, window, liveAt, now, ms)
	if ext == nil {
		return res
	}
	if ms, err = g.Prom.Measure(ctx, gate, vars, ext.Start, ext.End, ext.Step); err != nil {
		return policy.CountInconclusives(policy.Unmeasured(gate, window, err.Error()), due)
	}
	return policy.JudgeExtended(gate, window, liveAt, *ext, ms)
}

// measureBackground measures a Prometheus background gate at the points
// policy places since the step went live.
func (g *Gatherer) measureBackground(ctx context.Context, gate policy.Gate, step time.Duration, vars QueryVars, liveAt, now time.Time, due int) policy.GateResult {
	q, early := policy.PlanBackground(gate, step, liveAt, now)
	if early != nil {
		return *early
	}
	vars.Window, vars.Interval = PromDuration(step), PromDuration(step)
	if g.Prom == nil {
		return policy.CountInconclusives(policy.Unmeasured(gate, 0, "no Prometheus configured"), due)
	}
	ms, err := g.Prom.Measure(ctx, gate, vars, q.Start, q.End, q.Step)
	if err != nil {
		return policy.CountInconclusives(policy.Unmeasured(gate, 0, err.Error()), due)
	}
	return policy.JudgeBackground(gate, liveAt, now, ms)
}

// Soak gathers the gates of wave w of rollout r (with targets) over its
// soak, from from (the wave's last promotion) to to: release is what the
// wave runs. Results carry scope soak; policy judges them.
func (g *Gatherer) Soak(ctx context.Context, r *policy.Rollout, w policy.Wave, release string, from, to time.Time) map[string]policy.GateResult {
	vars := QueryVars{Rollout: r.Name(), Release: release, Stable: release}
	out := g.gatherAll(ctx, r, w.Gates, span{window: w.Soak.Duration}, vars, from, to)
	for name, res := range out {
		res.Scope = policy.ScopeSoak
		out[name] = res
	}
	return out
}

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
// ApplyFailed); when the step is an analysis and live, Evidence adds its
// gates' results, measured from policy.LiveAt, and once the step is live
// the routing check's measurement (Traffic). It is the one evidence
// function of ramp run, status and plan, and of the controller.
func (g *Gatherer) Evidence(ctx context.Context, r *policy.Rollout, s policy.State, ev policy.Evidence, now time.Time) policy.Evidence {
	if ev.AppliedUnknown || !ev.Applied.IsZero() {
		ev.Traffic = g.Traffic(ctx, r, s, policy.LiveAt(s, ev), now)
	}
	a := policy.NeedsAnalysis(r, &s)
	if a == nil || (!ev.AppliedUnknown && ev.Applied.IsZero()) {
		return ev
	}
	vars := QueryVars{Rollout: r.Name(), Release: s.Release, Stable: s.Stable, Step: s.Step}
	ev.Gates = g.Gather(ctx, r, a, vars, policy.LiveAt(s, ev), now)
	return ev
}

// Gather gathers every gate the analysis names, for a step that went live
// at liveAt, at time now, and returns the results by gate name. It only
// queries: Prometheus gates are measured over the ranges policy.PlanWindow
// and policy.JudgeWindow place, alerts gates are queried at now, webhooks
// are called; every verdict is policy's.
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

// gather gathers one gate.
func (g *Gatherer) gather(ctx context.Context, r *policy.Rollout, name string, window time.Duration, vars QueryVars, liveAt, now time.Time) policy.GateResult {
	if r == nil || r.Gate(name) == nil {
		return policy.UndefinedGate(name)
	}
	gate := *r.Gate(name)
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
	return policy.Unmeasured(gate, window, fmt.Sprintf("gate %s has no prometheus, alerts, webhook or schedule check", name))
}

// measure measures a Prometheus gate over the range policy places, and
// over the longer range policy asks for when the window needs extending.
func (g *Gatherer) measure(ctx context.Context, gate policy.Gate, window time.Duration, vars QueryVars, liveAt, now time.Time) policy.GateResult {
	q, early := policy.PlanWindow(gate, window, liveAt, now)
	vars.Window, vars.Interval = PromDuration(window), PromDuration(q.Step)
	if g.Prom == nil {
		return policy.Unmeasured(gate, window, "no Prometheus configured")
	}
	if early != nil {
		return *early
	}
	ms, err := g.Prom.Measure(ctx, gate, vars, q.Start, q.End, q.Step)
	if err != nil {
		return policy.Unmeasured(gate, window, err.Error())
	}
	res, ext := policy.JudgeWindow(gate, window, liveAt, now, ms)
	if ext == nil {
		return res
	}
	if ms, err = g.Prom.Measure(ctx, gate, vars, ext.Start, ext.End, ext.Step); err != nil {
		return policy.Unmeasured(gate, window, err.Error())
	}
	return policy.JudgeExtended(gate, window, liveAt, *ext, ms)
}

package evidence

import (
	"context"
	"time"

	"github.com/ramp-dev/ramp/policy"
)

// GatherPreflight gathers the preflight gates pf names, before step 1 of
// a release, at time now: the state before any exposure. A Prometheus
// gate is measured at one point, now, on the stable version ({{.Version}}
// renders as the stable version: before step 1 only stable has traffic;
// {{.Release}} is the release being started); an alerts gate reads the
// alerts firing now; a webhook is called with step 0. Results carry scope
// preflight; policy judges them.
func (g *Gatherer) GatherPreflight(ctx context.Context, r *policy.Rollout, pf *policy.Preflight, vars QueryVars, now time.Time) map[string]policy.GateResult {
	vars.Version = vars.Stable
	out := g.gatherAll(ctx, r, pf.Gates, span{preflight: r}, vars, now, now)
	for name, res := range out {
		res.Scope = policy.ScopePreflight
		out[name] = res
	}
	return out
}

// measurePreflight measures a Prometheus preflight gate at now.
func (g *Gatherer) measurePreflight(ctx context.Context, gate policy.Gate, step time.Duration, vars QueryVars, now time.Time) policy.GateResult {
	if g.Prom == nil {
		return policy.Unmeasured(gate, 0, "no Prometheus configured")
	}
	vars.Window, vars.Interval = PromDuration(step), PromDuration(step)
	ms, err := g.Prom.Measure(ctx, gate, vars, now, now, step)
	if err != nil {
		return policy.Unmeasured(gate, 0, err.Error())
	}
	return policy.JudgePreflight(gate, ms)
}

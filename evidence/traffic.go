package evidence

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ramp-dev/ramp/policy"
)

// Traffic measures the routing check of rollout r in state s, whose step
// went live at liveAt: the requests the canary's and the stable version
// served over the window policy places. It is nil when there is nothing
// to measure yet (no check, no weight, the window not passed); the
// verdict is policy's.
func (g *Gatherer) Traffic(ctx context.Context, r *policy.Rollout, s policy.State, liveAt, now time.Time) *policy.TrafficSample {
	c := r.Spec.TrafficCheck
	if c == nil || !s.InProgress() || s.Weight == 0 {
		return nil
	}
	end, window, ready := c.TrafficWindow(liveAt, now)
	if !ready {
		return nil
	}
	sample := &policy.TrafficSample{At: end, Window: window}
	if g.Prom == nil {
		sample.Err = "no Prometheus configured"
		return sample
	}
	vars := VarsOf(r, s)
	vars.Window = PromDuration(window)
	count := func(version string) (float64, bool, error) {
		v := vars
		v.Version = version
		q, err := RenderQuery(c.Query, v)
		if err != nil {
			return 0, false, err
		}
		return g.Prom.Value(ctx, q, end)
	}
	canary, okCanary, err := count(s.Release)
	if err == nil {
		var okStable bool
		sample.Stable, okStable, err = count(s.Stable)
		if err == nil && !okCanary && !okStable {
			err = fmt.Errorf("the query returns nothing for %s or %s", s.Release, s.Stable)
		}
	}
	if err != nil {
		sample.Err = err.Error()
		return sample
	}
	// A version with no series served no request.
	sample.Canary = canary
	return sample
}

// Value runs an instant query at time at that must return at most one
// sample, and returns it; ok is false when the result is empty.
func (p *Prometheus) Value(ctx context.Context, query string, at time.Time) (v float64, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	val, _, _, err := p.api.Query(ctx, query, at, v1.WithTimeout(p.timeout))
	if err != nil {
		return 0, false, fmt.Errorf("query %s: %w", query, err)
	}
	vec, isVec := val.(model.Vector)
	switch {
	case !isVec:
		return 0, false, fmt.Errorf("query %s: got a %s, want a vector", query, val.Type())
	case len(vec) == 0:
		return 0, false, nil
	case len(vec) > 1:
		return 0, false, fmt.Errorf("query %s returned %d series, want one: aggregate it (sum, max, …)", query, len(vec))
	}
	return float64(vec[0].Value), true, nil
}

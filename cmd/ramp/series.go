package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/ramp-dev/ramp/evidence"
	"github.com/ramp-dev/ramp/policy"
)

// seriesKey names one recorded gate result: the commit that recorded it
// and the gate.
type seriesKey struct{ Commit, Gate string }

// gateSeries measures again, from Prometheus, the window behind each gate
// result the rows recorded: the gate's query (as r has it, and only when
// its hash matches the recorded one) over the window that ends at the
// commit, at the gate's measurement interval. The HTML audit plots these
// series against the bound; a gate Prometheus no longer has data for has
// no series.
func gateSeries(ctx context.Context, prom *evidence.Prometheus, r *policy.Rollout, rows []policy.AuditRow) map[seriesKey][]policy.Measurement {
	out := map[seriesKey][]policy.Measurement{}
	for _, row := range rows {
		for _, g := range row.Gates {
			gate := r.Gate(g.Name)
			window := g.Window.Duration
			if gate == nil || gate.Prometheus == nil || window <= 0 || policy.QueryHash(gate.Prometheus.Query) != g.Query {
				continue
			}
			step := policy.MeasurementInterval(*gate, window)
			vars := evidence.QueryVars{Rollout: r.Name(), Release: row.Release, Window: evidence.PromDuration(window), Interval: evidence.PromDuration(step)}
			if n, _, ok := strings.Cut(row.Step, "/"); ok {
				vars.Step, _ = strconv.Atoi(n)
			}
			ms, err := prom.Measure(ctx, *gate, vars, row.Time.Add(-window), row.Time, step)
			if err != nil {
				continue
			}
			var got []policy.Measurement
			for _, m := range ms {
				if m.OK {
					got = append(got, m)
				}
			}
			if len(got) > 0 {
				out[seriesKey{row.Commit, g.Name}] = got
			}
		}
	}
	return out
}

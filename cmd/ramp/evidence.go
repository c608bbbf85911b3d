package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/evidence"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// evidenceFlags configure where gate evidence comes from.
type evidenceFlags struct {
	prometheus string
	timeout    time.Duration
	cmd        *cobra.Command
	// gatherer is the one build made, for waves.
	gatherer *evidence.Gatherer
}

func (e *evidenceFlags) add(cmd *cobra.Command) {
	e.cmd = cmd
	cmd.Flags().StringVar(&e.prometheus, "prometheus", "", "Prometheus address for metric and alert gates (bearer token from $RAMP_PROMETHEUS_TOKEN; default: $RAMP_PROMETHEUS, else prometheus: in the config file); without it those gates are inconclusive and hold")
	cmd.Flags().DurationVar(&e.timeout, "query-timeout", 10*time.Second, "timeout of one Prometheus query")
}

// build returns the evidence function of ramp run, status and plan: no
// Flux here, so a step counts as live from its commit's time.
func (e *evidenceFlags) build() (gitsync.EvidenceFunc, error) {
	p, err := e.prom()
	if err != nil {
		return nil, err
	}
	g := &evidence.Gatherer{Prom: p}
	e.gatherer = g
	return func(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence {
		return g.Evidence(ctx, r, s, policy.Evidence{AppliedUnknown: true}, time.Now())
	}, nil
}

// prom returns the Prometheus of --prometheus, $RAMP_PROMETHEUS or the
// config file, or nil when none is set.
func (e *evidenceFlags) prom() (*evidence.Prometheus, error) {
	c, err := loadConfig()
	if err != nil {
		return nil, err
	}
	var source string
	e.prometheus, source = setting(e.cmd, "prometheus", e.prometheus, "RAMP_PROMETHEUS", c.Prometheus)
	if e.prometheus == "" {
		return nil, nil
	}
	opts := []evidence.Option{evidence.WithQueryTimeout(e.timeout)}
	if tok := os.Getenv("RAMP_PROMETHEUS_TOKEN"); tok != "" {
		opts = append(opts, evidence.WithBearerToken(tok))
	}
	p, err := evidence.NewPrometheus(e.prometheus, opts...)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", source, err)}
	}
	return p, nil
}

// waves is the evidence of the waves' gates over their soaks, from the
// gatherer build made.
func (e *evidenceFlags) waves() gitsync.WaveEvidenceFunc {
	g := e.gatherer
	if g == nil {
		return nil
	}
	return func(ctx context.Context, r *policy.Rollout, w policy.Wave, release string, from, to time.Time) map[string]policy.GateResult {
		return g.Soak(ctx, r, w, release, from, to)
	}
}

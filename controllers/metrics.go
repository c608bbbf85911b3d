package controllers

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// Metrics ramp exports on the manager's /metrics. The repository label is
// <namespace>/<name> of the ReleaseRepository.
var (
	rolloutPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ramp_rollout_phase",
		Help: "1 for the phase the rollout is in, 0 for the others.",
	}, []string{"repository", "rollout", "phase"})
	rolloutStep = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ramp_rollout_step",
		Help: "The 1-based step the rollout last entered (0 before the first).",
	}, []string{"repository", "rollout"})
	rolloutWeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ramp_rollout_weight",
		Help: "The canary's share of traffic in percent.",
	}, []string{"repository", "rollout"})
	rolloutDrift = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ramp_rollout_drift",
		Help: "1 for each managed field (weight, stable, route rules, mirror, stable weight, canary replicas) changed outside ramp's decisions while no release was in flight, until accepted or restored.",
	}, []string{"repository", "rollout", "field"})
	gateValue = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ramp_gate_value",
		Help: "The last measured value of a gate.",
	}, []string{"repository", "rollout", "gate"})
	gateVerdict = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ramp_gate_verdict",
		Help: "1 for a gate's last verdict (pass, fail, inconclusive), 0 for the others.",
	}, []string{"repository", "rollout", "gate", "verdict"})
	gitFetchDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ramp_git_fetch_duration_seconds",
		Help:    "Time of one fetch of the release branch.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{"repository"})
	gitPushDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ramp_git_push_duration_seconds",
		Help:    "Time of one push to the release branch.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{"repository"})
	gitErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ramp_git_errors_total",
		Help: "Fetches and pushes that failed, by operation (push conflicts are counted apart).",
	}, []string{"repository", "op"})
	reconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ramp_reconcile_duration_seconds",
		Help:    "Time of one reconcile of a ReleaseRepository.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
	}, []string{"repository"})
	commitsPushed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ramp_commits_pushed_total",
		Help: "Commits ramp pushed, by action.",
	}, []string{"repository", "action"})
	pushConflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ramp_push_conflicts_total",
		Help: "Pushes refused because the branch moved; each is retried after a fresh fetch and plan.",
	}, []string{"repository"})
)

func init() {
	metrics.Registry.MustRegister(rolloutPhase, rolloutStep, rolloutWeight, rolloutDrift, gateValue, gateVerdict,
		gitFetchDuration, gitPushDuration, gitErrors, reconcileDuration, commitsPushed, pushConflicts)
}

var (
	phases   = []policy.Phase{policy.PhaseStable, policy.PhaseProgressing, policy.PhasePaused, policy.PhaseAborted, policy.PhasePromoted}
	verdicts = []policy.Verdict{policy.Pass, policy.Fail, policy.Inconclusive}
)

// observeGit returns the gitsync.Loop.Observe hook of one repository.
func observeGit(repo string) func(op string, took time.Duration, err error) {
	return func(op string, took time.Duration, err error) {
		switch op {
		case "fetch":
			gitFetchDuration.WithLabelValues(repo).Observe(took.Seconds())
		case "push":
			gitPushDuration.WithLabelValues(repo).Observe(took.Seconds())
		}
		switch {
		case err == nil:
		case errors.Is(err, gitsync.ErrBranchMoved):
			pushConflicts.WithLabelValues(repo).Inc()
		default:
			gitErrors.WithLabelValues(repo, op).Inc()
		}
	}
}

// recordOutcomes sets the rollout gauges after a pass from the states
// derived after its commits, and the gate gauges from the gates judged.
// A rollout's gate gauges keep the last verdicts of its release (after an
// abort, say) until new ones are judged, it returns to Stable, or it is
// gone; the series of rollouts that are gone are dropped.
func recordOutcomes(repo string, outcomes []gitsync.Outcome, states map[string]policy.State) {
	l := prometheus.Labels{"repository": repo}
	rolloutPhase.DeletePartialMatch(l)
	rolloutStep.DeletePartialMatch(l)
	rolloutWeight.DeletePartialMatch(l)
	rolloutDrift.DeletePartialMatch(l)
	present := map[string]bool{}
	for _, o := range outcomes {
		present[o.Rollout] = true
		if !o.Commit.IsZero() {
			commitsPushed.WithLabelValues(repo, string(o.Decision.Action)).Inc()
		}
		s, ok := states[o.Rollout]
		if o.Invalid != nil || !ok {
			continue
		}
		for _, p := range phases {
			rolloutPhase.WithLabelValues(repo, o.Rollout, string(p)).Set(boolFloat(p == s.Phase))
		}
		rolloutStep.WithLabelValues(repo, o.Rollout).Set(float64(s.Step))
		rolloutWeight.WithLabelValues(repo, o.Rollout).Set(float64(s.LiveWeight()))
		if s.DriftWeight != nil {
			rolloutDrift.WithLabelValues(repo, o.Rollout, "weight").Set(1)
		}
		for _, d := range s.Drift {
			rolloutDrift.WithLabelValues(repo, o.Rollout, d.Field).Set(1)
		}
		switch {
		case len(o.Decision.Gates) > 0:
			gates.forget(repo, o.Rollout)
			for _, g := range o.Decision.Gates {
				if g.HasValue {
					gateValue.WithLabelValues(repo, o.Rollout, g.Name).Set(g.Value)
				}
				for _, v := range verdicts {
					gateVerdict.WithLabelValues(repo, o.Rollout, g.Name, string(v)).Set(boolFloat(v == g.Verdict))
				}
			}
			gates.add(repo, o.Rollout)
		case s.Phase == policy.PhaseStable:
			gates.forget(repo, o.Rollout)
		}
	}
	gates.keepOnly(repo, present)
}

// forgetRepository drops every series of a deleted repository.
func forgetRepository(repo string) {
	l := prometheus.Labels{"repository": repo}
	for _, v := range []*prometheus.GaugeVec{rolloutPhase, rolloutStep, rolloutWeight, rolloutDrift, gateValue, gateVerdict} {
		v.DeletePartialMatch(l)
	}
	gates.keepOnly(repo, nil)
}

// gateSeries remembers which rollouts have gate series, by repository.
type gateSeries struct {
	mu sync.Mutex
	of map[string]map[string]bool
}

var gates = &gateSeries{of: map[string]map[string]bool{}}

func (g *gateSeries) add(repo, rollout string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.of[repo] == nil {
		g.of[repo] = map[string]bool{}
	}
	g.of[repo][rollout] = true
}

func (g *gateSeries) forget(repo, rollout string) {
	l := prometheus.Labels{"repository": repo, "rollout": rollout}
	gateValue.DeletePartialMatch(l)
	gateVerdict.DeletePartialMatch(l)
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.of[repo], rollout)
}

// keepOnly forgets the gate series of rollouts not in present.
func (g *gateSeries) keepOnly(repo string, present map[string]bool) {
	g.mu.Lock()
	var gone []string
	for r := range g.of[repo] {
		if !present[r] {
			gone = append(gone, r)
		}
	}
	g.mu.Unlock()
	for _, r := range gone {
		g.forget(repo, r)
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

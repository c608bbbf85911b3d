package evidence

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/policy"
)

// preflightRollout is testRollout with a canary whose preflight names
// gates, each measured every 5s: a preflight's {{.Window}} is the
// interval, and a rate needs two scrapes (every second) in it.
func preflightRollout(gates ...string) *policy.Rollout {
	r := testRollout()
	for i := range r.Spec.Gates {
		r.Spec.Gates[i].Interval = policy.Duration{Duration: 5 * time.Second}
	}
	ten := 10
	r.Spec.Strategy.Canary = &policy.Canary{Steps: []policy.Step{{SetWeight: &ten}},
		Preflight: &policy.Preflight{Gates: gates}}
	return r
}

// started is the state of release 2.0.0-idle started over stable, before
// step 1.
func started(stable string) policy.State {
	return policy.State{Rollout: "demo", Phase: policy.PhaseProgressing, Release: "2.0.0-idle", Stable: stable, Step: 0}
}

func TestEvidenceGathersThePreflightBeforeStepOneWithoutAnApply(t *testing.T) {
	r := preflightRollout("error-rate", "incidents")
	// Nothing of the release is applied yet; the preflight is gathered all
	// the same (here without a Prometheus: inconclusive, which holds).
	ev := (&Gatherer{}).Evidence(context.Background(), r, started("1.0.0"), policy.Evidence{}, time.Now())
	for _, name := range []string{"error-rate", "incidents"} {
		got, ok := ev.Preflight[name]
		if !ok || got.Verdict != policy.Inconclusive || got.Scope != policy.ScopePreflight || !strings.Contains(got.Reason, "no Prometheus configured") {
			t.Errorf("preflight %s: got %+v (present %v), want inconclusive \"no Prometheus configured\" with scope preflight", name, got, ok)
		}
	}
	s := started("1.0.0")
	s.Step, s.Weight = 1, 10
	if ev := (&Gatherer{}).Evidence(context.Background(), r, s, policy.Evidence{AppliedUnknown: true}, time.Now()); ev.Preflight != nil {
		t.Errorf("at step 1: preflight %+v gathered, want none", ev.Preflight)
	}
}

func TestPreflightAgainstRealPrometheusMeasuresStableAndReadsFiringAlerts(t *testing.T) {
	t.Parallel()
	a := startApps(t)
	p := evidencetest.StartPrometheus(t, a.targets(), alertRules)
	waitForHistory(t, p, "1.0.0")
	waitForHistory(t, p, "2.0.0-5xx")
	p.WaitFor(t, `count(ALERTS{alertname="CanaryErrors",alertstate="firing"})`, 1, 30*time.Second)

	prom, err := NewPrometheus(p.URL, WithQueryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	g := &Gatherer{Prom: prom}
	r := preflightRollout("error-rate", "incidents", "other-incidents")
	gather := func(stable string) map[string]policy.GateResult {
		ev := g.Evidence(context.Background(), r, started(stable), policy.Evidence{}, time.Now())
		for _, res := range ev.Preflight {
			t.Logf("stable %s: %s: %+v", stable, res.Name, res)
		}
		return ev.Preflight
	}

	// The release (2.0.0-idle) has no traffic; the preflight measures the
	// stable version, which has.
	res := gather("1.0.0")
	if got := res["error-rate"]; got.Verdict != policy.Pass || !got.HasValue || got.Samples < 50 {
		t.Errorf("error-rate on a healthy stable: %+v, want a pass with its value and samples", got)
	}
	if got := res["incidents"]; got.Verdict != policy.Inconclusive || got.Reason != "alert CanaryErrors firing" || got.Value != 1 {
		t.Errorf("incidents: %+v, want inconclusive naming the firing alert", got)
	}
	if got := res["other-incidents"]; got.Verdict != policy.Pass {
		t.Errorf("other-incidents: %+v, want a pass: no alert of service other fires", got)
	}
	for name, got := range res {
		if got.Scope != policy.ScopePreflight {
			t.Errorf("%s: scope %q, want preflight", name, got.Scope)
		}
	}

	// A stable that errors fails its preflight gate.
	if got := gather("2.0.0-5xx")["error-rate"]; got.Verdict != policy.Fail || got.Value < 0.1 {
		t.Errorf("error-rate on an erroring stable: %+v, want a fail with its value", got)
	}
}

package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// trafficYAML is a canary with a routing check over 2m.
func trafficYAML(steps ...string) string {
	return strings.Replace(policytest.WithShadow(policytest.CanaryYAML("demo", steps...)), "  strategy:\n",
		"  trafficCheck: {query: 'sum(increase(http_requests_total{version=\"{{.Version}}\"}[{{.Window}}]))', tolerance: 0.5, window: 2m}\n  strategy:\n", 1)
}

func TestPlanHoldsWhenTrafficDoesNotReachTheCanary(t *testing.T) {
	weights := policytest.MustParse(t, "demo", trafficYAML("setWeight: 20", "approval: {group: sre}"))
	mirrored := policytest.MustParse(t, "demo", trafficYAML("setWeight: 5", "setMirrorRoute: {name: shadow, percent: 10}", "approval: {group: sre}"))
	cohort := policytest.MustParse(t, "demo", trafficYAML("setHeaderRoute: {name: internal, match: [{header: x, value: y}]}", "setWeight: 20", "approval: {group: sre}"))
	live := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	state := func(step, weight int) policy.State {
		return policy.State{Rollout: "demo", Phase: policy.PhaseProgressing, Release: "2.0", Stable: "1.0", Step: step, Weight: weight,
			StartCommit: "start", StartAuthor: "dev@example.com", StepCommit: "step", StepAt: live}
	}
	sample := func(canary, stable float64) *policy.TrafficSample {
		return &policy.TrafficSample{Canary: canary, Stable: stable, At: live.Add(3 * time.Minute), Window: 2 * time.Minute}
	}
	tests := []struct {
		name    string
		r       *policy.Rollout
		state   policy.State
		now     time.Duration // after the step went live
		traffic *policy.TrafficSample
		action  policy.Action
		reason  string
		routing policy.Verdict // of the result recorded, "" for none
	}{
		{"the canary served almost nothing: routing, not the app", weights, state(1, 20), 3 * time.Minute, sample(3, 997),
			policy.ActionNone, "routing: weight 20% but canary served 0.3% of 1000 requests over 2m", policy.Fail},
		{"a share as weighted moves on and is recorded", weights, state(1, 20), 3 * time.Minute, sample(205, 795),
			policy.ActionPause, "step 2/2 waits for approval by sre", policy.Pass},
		{"too much traffic is off too", weights, state(1, 20), 3 * time.Minute, sample(700, 300),
			policy.ActionNone, "routing: weight 20% but canary served 70% of 1000 requests over 2m", policy.Fail},
		{"the window has not passed since the step went live", weights, state(1, 20), time.Minute, nil,
			policy.ActionNone, "routing check: measuring the canary's share of requests for 2m (1m0s left)", ""},
		{"no sample, no signal", weights, state(1, 20), 3 * time.Minute, sample(2, 8),
			policy.ActionNone, "routing check inconclusive: 10 requests over 2m, fewer than minRequests 20", policy.Inconclusive},
		{"Prometheus unreachable", weights, state(1, 20), 3 * time.Minute, &policy.TrafficSample{Err: "connection refused", Window: 2 * time.Minute},
			policy.ActionNone, "routing check inconclusive: connection refused", policy.Inconclusive},
		{"weight 0 is not checked", weights, state(0, 0), 3 * time.Minute, nil,
			policy.ActionSetWeight, "step 1/2 sets weight 20%", ""},
		{"mirrored copies count as the canary's requests", mirrored, state(2, 5), 3 * time.Minute, sample(150, 950),
			policy.ActionPause, "step 3/3 waits for approval by sre", policy.Pass},
		{"a cohort only adds: a share above the weight passes", cohort, state(2, 20), 3 * time.Minute, sample(600, 400),
			policy.ActionPause, "step 3/3 waits for approval by sre", policy.Pass},
		{"a cohort only adds: a share below still fails", cohort, state(2, 20), 3 * time.Minute, sample(10, 990),
			policy.ActionNone, "routing: weight 20% but canary served 1% of 1000 requests over 2m", policy.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := policy.Evidence{AppliedUnknown: true, Traffic: tt.traffic}
			d := policy.Plan(tt.r, tt.state, ev, live.Add(tt.now), policy.DefaultGuardrails())
			if d.Action != tt.action || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("Plan = %q (%s), want %q containing %q", d.Action, d.Reason, tt.action, tt.reason)
			}
			var got policy.Verdict
			for _, g := range d.Gates {
				if g.Name == policy.RoutingGate {
					got = g.Verdict
				}
			}
			if got != tt.routing {
				t.Errorf("routing result recorded: %q, want %q (gates %+v)", got, tt.routing, d.Gates)
			}
			if d.Holds() && tt.routing == policy.Fail && !strings.Contains(d.WaitingFor, "routing, not the app") {
				t.Errorf("waiting for %q: want it to say routing, not the app", d.WaitingFor)
			}
		})
	}
}

func TestJudgeTrafficBounds(t *testing.T) {
	c := &policy.TrafficCheck{Query: "q", Tolerance: 0.5}
	s := &policy.TrafficSample{Canary: 200, Stable: 800, Window: time.Minute}
	if g := c.JudgeTraffic(20, policy.Exposure{}, s); g.Verdict != policy.Pass || g.Bound != "10%–30%" || g.Value != 0.2 || g.Samples != 1000 {
		t.Errorf("JudgeTraffic = %+v", g)
	}
	if g := c.JudgeTraffic(20, policy.Exposure{Cohorts: []policy.HeaderRoute{{Name: "a"}}}, s); g.Bound != ">=10%" {
		t.Errorf("with a cohort the bound is %q, want >=10%%", g.Bound)
	}
}

func TestValidateRejectsTrafficChecks(t *testing.T) {
	base := trafficYAML("setWeight: 20")
	wantSpecErrors(t, strings.Replace(base, "tolerance: 0.5", "tolerance: 1.5", 1),
		[]string{`13: spec.trafficCheck.tolerance: 1.5 is not between 0 and 1 (0.5 accepts half to one and a half times the expected share)`})
	wantSpecErrors(t, strings.Replace(base, "- name: error-rate", "- name: routing", 1),
		[]string{`13: spec.trafficCheck: records its results as gate "routing", which is also the name of a gate in spec.gates; rename that gate`})
	wantSpecErrors(t, strings.Replace(base, `query: 'sum(increase(http_requests_total{version="{{.Version}}"}[{{.Window}}]))', `, "", 1),
		[]string{`13: spec.trafficCheck.query: required: a PromQL query`})
}

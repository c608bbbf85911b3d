package policy

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func intp(n int) *int { return &n }

// planRollout is a canary with every kind of step:
// 1 setWeight 10, 2 approval sre×2, 3 setWeight 50, 4 pause 5m,
// 5 analysis error-rate, 6 pause until approved.
func planRollout() *Rollout {
	return &Rollout{
		Metadata: Metadata{Name: "demo"},
		Path:     "releases/demo/rollout.yaml",
		Spec: Spec{
			Owner: "team", RiskTier: "medium",
			Release: FieldRef{File: "apps/demo/canary/k.yaml", Path: "images[name=demo].newTag"},
			Stable:  FieldRef{File: "apps/demo/stable/k.yaml", Path: "images[name=demo].newTag"},
			Target:  Target{HTTPRoute: &HTTPRouteTarget{File: "apps/demo/route.yaml", StableBackend: "s", CanaryBackend: "c"}},
			Strategy: Strategy{Canary: &Canary{Steps: []Step{
				{SetWeight: intp(10)},
				{Approval: &ApprovalReq{Group: "sre", Count: 2}},
				{SetWeight: intp(50)},
				{Pause: &Pause{Duration: Duration{5 * time.Minute}}},
				{Analysis: &Analysis{Gates: []string{"error-rate", "latency"}, Window: Duration{10 * time.Minute}}},
				{Pause: &Pause{}},
			}}},
			Gates: []Gate{
				{Name: "error-rate", Severity: "critical", InconclusiveLimit: 3},
				{Name: "latency", Severity: "warning"},
			},
		},
	}
}

// at is a state of release 2.0 (stable 1.0) at a step entered at t0.
func at(step, weight int, mods ...func(*State)) *State {
	s := &State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.0", Stable: "1.0", Step: step, Weight: weight,
		StartCommit: "start", StartAuthor: "dev@example.com", StepCommit: "step", StepAt: t0}
	for _, m := range mods {
		m(s)
	}
	return s
}

func approved(step int, keys ...string) func(*State) {
	return func(s *State) {
		for _, k := range keys {
			s.Approvals = append(s.Approvals, Approval{Step: step, Principal: k + "@example.com", Key: "SHA256:" + k, Groups: []string{"sre"}, Commit: "c-" + k})
		}
	}
}

func gates(rs ...GateResult) Evidence {
	ev := Evidence{AppliedUnknown: true, Gates: map[string]GateResult{}}
	for _, r := range rs {
		ev.Gates[r.Name] = r
	}
	return ev
}

var live = Evidence{AppliedUnknown: true}

// planRow is a row of a decision table: in a state, with evidence, at a
// time (default: a minute after the step went live), the planner takes
// an action to a step and weight, for a reason, waiting for something.
type planRow struct {
	name       string
	state      *State
	ev         Evidence
	now        time.Time
	want       Action
	wantStep   int
	wantWeight int
	reason     string // substring of the reason
	waiting    string // substring of WaitingFor, for holds
}

// check plans the row for rollout r and checks the decision, which it
// returns for further checks.
func (tt planRow) check(t *testing.T, r *Rollout) Decision {
	t.Helper()
	now := tt.now
	if now.IsZero() {
		now = t0.Add(time.Minute)
	}
	d := Plan(r, *tt.state, tt.ev, now, DefaultGuardrails())
	if d.Action != tt.want || d.Step != tt.wantStep || d.Weight != tt.wantWeight {
		t.Fatalf("got %q step %d weight %d (%s), want %q step %d weight %d",
			d.Action, d.Step, d.Weight, d.Reason, tt.want, tt.wantStep, tt.wantWeight)
	}
	if !strings.Contains(d.Reason, tt.reason) {
		t.Errorf("reason %q does not say %q", d.Reason, tt.reason)
	}
	if !strings.Contains(d.WaitingFor, tt.waiting) || (tt.want == ActionNone && d.WaitingFor == "" && tt.state.Phase != PhaseStable) {
		t.Errorf("waitingFor %q, want it to say %q", d.WaitingFor, tt.waiting)
	}
	return d
}

func TestPlan(t *testing.T) {
	tests := []planRow{
		{name: "stable: nothing to do", state: &State{Phase: PhaseStable, Release: "1.0", Stable: "1.0"},
			ev: live, want: ActionNone, reason: "no release in progress"},
		{name: "release started: enter step 1 at weight 10", state: at(0, 0), ev: live,
			want: ActionSetWeight, wantStep: 1, wantWeight: 10, reason: "started by dev@example.com"},
		{name: "weight live: enter approval step", state: at(1, 10), ev: live,
			want: ActionPause, wantStep: 2, wantWeight: 10, reason: "waits for approval by sre"},
		{name: "step 1 not applied by Flux yet: hold", state: at(1, 10), ev: Evidence{},
			want: ActionNone, wantStep: 1, wantWeight: 10, waiting: "Flux to apply"},
		{name: "Flux failed to apply: abort", state: at(1, 10), ev: Evidence{ApplyFailed: "kustomize build failed"},
			want: ActionAbort, wantStep: 1, wantWeight: 0, reason: "kustomize build failed"},
		{name: "approval step without approvals: hold", state: at(2, 10), ev: live,
			want: ActionNone, wantStep: 2, wantWeight: 10, waiting: "2 approval(s) from sre"},
		{name: "one of two approvals: hold", state: at(2, 10, approved(2, "alice")), ev: live,
			want: ActionNone, wantStep: 2, wantWeight: 10, waiting: "1 approval(s) from sre"},
		{name: "approval for another step does not count", state: at(2, 10, approved(6, "alice", "bob")), ev: live,
			want: ActionNone, waiting: "2 approval(s) from sre", wantStep: 2, wantWeight: 10},
		{name: "two approvals: enter step 3 weight 50", state: at(2, 10, approved(2, "alice", "bob")), ev: live,
			want: ActionSetWeight, wantStep: 3, wantWeight: 50, reason: "approved by alice@example.com, bob@example.com"},
		{name: "timed pause not over: hold with time left", state: at(4, 50), ev: live, now: t0.Add(2 * time.Minute),
			want: ActionNone, wantStep: 4, wantWeight: 50, reason: "3m0s left"},
		{name: "timed pause over: enter analysis", state: at(4, 50), ev: live, now: t0.Add(5 * time.Minute),
			want: ActionAnalysis, wantStep: 5, wantWeight: 50, reason: "analyses error-rate, latency over 10m0s"},
		{name: "pause counts from Flux's apply, not the commit", state: at(4, 50),
			ev: Evidence{Applied: t0.Add(3 * time.Minute)}, now: t0.Add(6 * time.Minute),
			want: ActionNone, wantStep: 4, wantWeight: 50, reason: "2m0s left"},
		{name: "gates pass: enter pause until approved", state: at(5, 50),
			ev:   gates(GateResult{Name: "error-rate", Verdict: Pass}, GateResult{Name: "latency", Verdict: Pass}),
			want: ActionPause, wantStep: 6, wantWeight: 50, reason: "gates passed"},
		{name: "warning gate fails: recorded, does not abort", state: at(5, 50),
			ev:   gates(GateResult{Name: "error-rate", Verdict: Pass}, GateResult{Name: "latency", Verdict: Fail}),
			want: ActionPause, wantStep: 6, wantWeight: 50},
		{name: "critical gate fails: abort to weight 0", state: at(5, 50),
			ev:   gates(GateResult{Name: "error-rate", Verdict: Fail, Value: 0.12, HasValue: true, Bound: "<=0.01"}, GateResult{Name: "latency", Verdict: Pass}),
			want: ActionAbort, wantStep: 5, wantWeight: 0, reason: "gate error-rate: 0.12 > 0.01"},
		{name: "inconclusive gate: hold", state: at(5, 50),
			ev:   gates(GateResult{Name: "error-rate", Verdict: Inconclusive, Reason: "no samples", Inconclusives: 2}, GateResult{Name: "latency", Verdict: Pass}),
			want: ActionNone, wantStep: 5, wantWeight: 50, reason: "no samples", waiting: "conclusive"},
		{name: "gate missing from evidence is inconclusive, never a pass", state: at(5, 50), ev: live,
			want: ActionNone, wantStep: 5, wantWeight: 50, reason: "not evaluated"},
		{name: "inconclusive past the limit: abort", state: at(5, 50),
			ev:   gates(GateResult{Name: "error-rate", Verdict: Inconclusive, Reason: "Prometheus unreachable", Inconclusives: 4}, GateResult{Name: "latency", Verdict: Pass}),
			want: ActionAbort, wantWeight: 0, wantStep: 5, reason: "inconclusive 4 times (limit 3)"},
		{name: "pause until approved, no approval: hold", state: at(6, 50), ev: live,
			want: ActionNone, wantStep: 6, wantWeight: 50, waiting: "an approval of step 6/6"},
		{name: "last step approved: promote, stable becomes the release", state: at(6, 50, approved(6, "carol")), ev: live,
			want: ActionPromote, wantStep: 0, wantWeight: 50, reason: "stable becomes 2.0"},
		{name: "promoted and applied: complete, traffic back to stable",
			state: at(6, 50, func(s *State) { s.Phase, s.Stable = PhasePromoted, "2.0" }), ev: live,
			want: ActionComplete, wantWeight: 0, reason: "all traffic returns to stable"},
		{name: "promoted but not applied: hold",
			state: at(6, 50, func(s *State) { s.Phase, s.Stable = PhasePromoted, "2.0" }), ev: Evidence{},
			want: ActionNone, wantStep: 6, wantWeight: 50, waiting: "Flux to apply"},
		{name: "human abort: abort to weight 0",
			state: at(3, 50, func(s *State) {
				s.AbortBy = &Rejection{Commit: "abc", Author: "sre@example.com", Command: &Command{Kind: CommandAbort, Reason: "p99 regression"}}
			}), ev: live, want: ActionAbort, wantStep: 3, wantWeight: 0, reason: "aborted by sre@example.com: p99 regression"},
		{name: "human pause: hold until resume",
			state: at(3, 50, func(s *State) {
				s.Phase, s.PausedBy = PhasePaused, &Rejection{Commit: "abc", Author: "sre@example.com"}
			}),
			ev: live, want: ActionNone, wantStep: 3, wantWeight: 50, waiting: "Ramp-Resume", reason: "paused by sre@example.com"},
		{name: "hand edit of the weights: hold",
			state: at(3, 50, func(s *State) { s.Holds = []Hold{{Commit: "abc", Reason: "commit abc edited the traffic target"}} }),
			ev:    live, want: ActionNone, wantStep: 3, wantWeight: 50, waiting: "Ramp-Resume or Ramp-Abort", reason: "edited the traffic target"},
		{name: "new release while one had traffic: old release's traffic returns first",
			state: at(0, 50, func(s *State) { s.Superseded = "1.5" }), ev: live,
			want: ActionRollback, wantWeight: 0, reason: "release 1.5 superseded by 2.0"},
		{name: "aborted, no revert configured: hold for a new release",
			state: at(5, 0, func(s *State) { s.Phase, s.LastReason = PhaseAborted, "gate error-rate fail" }), ev: live,
			want: ActionNone, wantStep: 5, waiting: "a new release", reason: "gate error-rate fail"},
		{name: "spec edited mid-release beyond its new last step: promote",
			state: at(9, 50), ev: live, want: ActionPromote, wantWeight: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, planRollout()) })
	}
}

func TestPlanRevertsReleaseAfterAbortWhenConfigured(t *testing.T) {
	r := planRollout()
	r.Spec.OnFailure.RevertRelease = true
	s := at(5, 0, func(s *State) { s.Phase = PhaseAborted })
	d := Plan(r, *s, live, t0, DefaultGuardrails())
	if d.Action != ActionRollback || d.SetRelease != "1.0" || d.Weight != 0 {
		t.Fatalf("got %+v, want rollback setting the release back to 1.0 at weight 0", d)
	}
}

func TestPlanRecordsEvidenceOfTheStepItLeaves(t *testing.T) {
	d := Plan(planRollout(), *at(2, 10, approved(2, "alice", "bob", "carol")), live, t0, DefaultGuardrails())
	if len(d.Approved) != 2 || d.Approved[0].Commit != "c-alice" || d.Approved[1].Commit != "c-bob" {
		t.Fatalf("approvals recorded %+v, want the first two (alice, bob)", d.Approved)
	}
	ev := gates(GateResult{Name: "error-rate", Verdict: Pass, Value: 0.001, HasValue: true}, GateResult{Name: "latency", Verdict: Pass})
	d = Plan(planRollout(), *at(5, 50), ev, t0, DefaultGuardrails())
	if len(d.Gates) != 2 || d.Gates[0].Name != "error-rate" || d.Gates[0].Value != 0.001 {
		t.Fatalf("gates recorded %+v, want both gates with their values", d.Gates)
	}
}

func TestPlanHoldsWhenPrometheusIsUnreachable(t *testing.T) {
	ev := gates(
		GateResult{Name: "error-rate", Verdict: Inconclusive, Reason: "query failed: connection refused", Inconclusives: 1},
		GateResult{Name: "latency", Verdict: Inconclusive, Reason: "query failed: connection refused", Inconclusives: 1})
	d := Plan(planRollout(), *at(5, 50), ev, t0.Add(time.Hour), DefaultGuardrails())
	if !d.Holds() || !strings.Contains(d.Reason, "connection refused") {
		t.Fatalf("got %s (%s), want a hold naming the unreachable Prometheus", d.Action, d.Reason)
	}
}

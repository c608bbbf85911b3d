package policy

import (
	"strings"
	"testing"
	"time"
)

// guardedRollout is planRollout with background gate error-rate (every
// 30s) and a 1h bake on gate error-rate:
// 1 setWeight 10, 2 approval sre×2, 3 setWeight 50, 4 pause 5m,
// 5 analysis error-rate+latency, 6 pause until approved.
func guardedRollout() *Rollout {
	r := planRollout()
	r.Spec.OnFailure.RevertRelease = true
	r.Spec.Strategy.Canary.Background = &Background{Gates: []string{"error-rate"}, Interval: Duration{30 * time.Second}}
	r.Spec.Strategy.Canary.Bake = &Bake{Duration: Duration{time.Hour}, Gates: []string{"error-rate"}}
	return r
}

var (
	bgPass = GateResult{Name: "error-rate", Verdict: Pass, Value: 0.001, HasValue: true, Bound: "<=0.01"}
	bgFail = GateResult{Name: "error-rate", Verdict: Fail, Value: 0.2, HasValue: true, Bound: "<=0.01", Samples: 480,
		Failures: 1, Reason: "value 0.2 above <=0.01"}
	bgWait = GateResult{Name: "error-rate", Verdict: Inconclusive, Reason: "12 samples below minSamples 50", Inconclusives: 2}
	bgOver = GateResult{Name: "error-rate", Verdict: Inconclusive, Reason: "no value", Inconclusives: 4}
)

// background is live evidence with one background result and the
// analysis results rs.
func background(bg GateResult, rs ...GateResult) Evidence {
	ev := gates(rs...)
	ev.Background = map[string]GateResult{bg.Name: bg}
	return ev
}

// baking is a state of release 2.0 promoted from 1.0 at t0.
func bakingState(mods ...func(*State)) *State {
	return at(6, 50, append([]func(*State){func(s *State) {
		s.Phase, s.Stable, s.PreviousStable, s.LastAction = PhasePromoted, "2.0", "1.0", ActionPromote
	}}, mods...)...)
}

func TestPlanGuardsEveryStepWithBackgroundGates(t *testing.T) {
	passing := []GateResult{{Name: "error-rate", Verdict: Pass}, {Name: "latency", Verdict: Pass}}
	tests := []planRow{
		{name: "failure while waiting for an approval: abort", state: at(2, 10), ev: background(bgFail),
			want: ActionAbort, wantStep: 2, reason: "background gate error-rate: 0.2 > 0.01 (1 measurement failed)"},
		{name: "failure during a timed pause: abort", state: at(4, 50), ev: background(bgFail), now: t0.Add(2 * time.Minute),
			want: ActionAbort, wantStep: 4, reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "failure during a pause until approved: abort", state: at(6, 50), ev: background(bgFail),
			want: ActionAbort, wantStep: 6, reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "failure at a weight step: abort", state: at(3, 50), ev: background(bgFail),
			want: ActionAbort, wantStep: 3, reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "failure during an analysis whose gates pass: abort", state: at(5, 50), ev: background(bgFail, passing...),
			want: ActionAbort, wantStep: 5, reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "failure while a person paused the release: abort",
			state: at(3, 50, func(s *State) {
				s.Phase, s.PausedBy = PhasePaused, &Rejection{Commit: "abc", Author: "sre@example.com"}
			}),
			ev: background(bgFail), want: ActionAbort, wantStep: 3, reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "failure while a hand edit holds: abort",
			state: at(3, 50, func(s *State) { s.Holds = []Hold{{Commit: "abc", Reason: "hand edit"}} }),
			ev:    background(bgFail), want: ActionAbort, wantStep: 3, reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "inconclusive past its limit: abort", state: at(2, 10), ev: background(bgOver),
			want: ActionAbort, wantStep: 2, reason: "background gate error-rate inconclusive 4 times (limit 3)"},
		{name: "inconclusive: the approved step does not move on", state: at(2, 10, approved(2, "alice", "bob")), ev: background(bgWait),
			want: ActionNone, wantStep: 2, wantWeight: 10, reason: "background gate error-rate inconclusive", waiting: "conclusive background gates"},
		{name: "inconclusive: the last step does not promote", state: at(6, 50, approved(6, "carol")), ev: background(bgWait),
			want: ActionNone, wantStep: 6, wantWeight: 50, waiting: "conclusive background gates"},
		{name: "inconclusive: a weight step does not move on", state: at(1, 10), ev: background(bgWait),
			want: ActionNone, wantStep: 1, wantWeight: 10, waiting: "conclusive background gates"},
		{name: "missing is inconclusive, never a pass", state: at(1, 10), ev: live,
			want: ActionNone, wantStep: 1, wantWeight: 10, reason: "not evaluated", waiting: "conclusive background gates"},
		{name: "passing: the approved step moves on", state: at(2, 10, approved(2, "alice", "bob")), ev: background(bgPass),
			want: ActionSetWeight, wantStep: 3, wantWeight: 50},
		{name: "passing: the approval wait still waits", state: at(2, 10), ev: background(bgPass),
			want: ActionNone, wantStep: 2, wantWeight: 10, waiting: "2 approval(s) from sre"},
		{name: "a warning gate's failure is recorded, does not abort", state: at(2, 10, approved(2, "alice", "bob")),
			ev:   background(GateResult{Name: "error-rate", Verdict: Fail, Severity: SeverityWarning}),
			want: ActionSetWeight, wantStep: 3, wantWeight: 50},
		{name: "before step 1 nothing is exposed: the background does not abort, the preflight judges", state: at(0, 0),
			ev: preflightOf(background(bgFail), bgPass), want: ActionSetWeight, wantStep: 1, wantWeight: 10},
		{name: "a person's abort comes first", state: at(2, 10, func(s *State) {
			s.AbortBy = &Rejection{Commit: "abc", Author: "sre@example.com", Command: &Command{Kind: CommandAbort}}
		}), ev: background(bgFail), want: ActionAbort, wantStep: 2, reason: "aborted by sre@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.check(t, guardedRollout())
			if tt.state.Step > 0 && !hasScoped(d.Gates, ScopeBackground, "error-rate") {
				t.Errorf("gates %+v: the decision does not carry the background gate's result", d.Gates)
			}
		})
	}
}

func hasScoped(gs []GateResult, scope, name string) bool {
	for _, g := range gs {
		if g.Scope == scope && g.Name == name {
			return true
		}
	}
	return false
}

func TestPlanAbortCarriesTheFailingBackgroundGatesEvidence(t *testing.T) {
	d := Plan(guardedRollout(), *at(2, 10), background(bgFail), t0.Add(time.Minute), DefaultGuardrails())
	if d.Action != ActionAbort || len(d.Gates) != 1 {
		t.Fatalf("got %s with gates %+v, want an abort carrying one gate result", d.Action, d.Gates)
	}
	g := d.Gates[0]
	if g.Scope != ScopeBackground || g.Verdict != Fail || g.Value != 0.2 || g.Bound != "<=0.01" || g.Samples != 480 {
		t.Fatalf("abort evidence %+v, want the background gate's failing value, bound and samples", g)
	}
}

func TestPlanLooksAgainAtTheNextBackgroundMeasurement(t *testing.T) {
	now := t0.Add(time.Minute)
	d := Plan(guardedRollout(), *at(2, 10), background(bgPass), now, DefaultGuardrails())
	if !d.Holds() || !d.Wake.Equal(now.Add(30*time.Second)) {
		t.Fatalf("got %s wake %s, want a hold waking at the next background measurement %s", d.Action, d.Wake, now.Add(30*time.Second))
	}
}

func TestNeedsBackgroundFromStepOneThroughTheBake(t *testing.T) {
	r := guardedRollout()
	r.Spec.Gates = append(r.Spec.Gates, Gate{Name: "ratio", Prometheus: &PrometheusGate{Query: "x", MaxRatio: new(1.5)}})
	r.Spec.Strategy.Canary.Background.Gates = []string{"error-rate", "ratio"}
	tests := []struct {
		name  string
		state *State
		want  []string
	}{
		{"before step 1", at(0, 0), nil},
		{"at step 1", at(1, 10), []string{"error-rate", "ratio"}},
		{"paused by a person", at(3, 50, func(s *State) { s.Phase = PhasePaused }), []string{"error-rate", "ratio"}},
		{"baking: gates comparing with stable are left out", bakingState(), []string{"error-rate"}},
		{"promoted without a bake to run", at(6, 50, func(s *State) { s.Phase, s.Stable = PhasePromoted, "2.0" }), nil},
		{"aborted", at(3, 0, func(s *State) { s.Phase = PhaseAborted }), nil},
		{"superseded: the old release's traffic returns first", at(0, 50, func(s *State) { s.Superseded = "1.5" }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NeedsBackground(r, tt.state)
			var got []string
			if b != nil {
				got = b.Gates
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("background gates %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlanBakesAPromotedRelease(t *testing.T) {
	bakePass := GateResult{Name: "error-rate", Verdict: Pass, Value: 0.002, HasValue: true, Bound: "<=0.01"}
	bakeWait := GateResult{Name: "error-rate", Verdict: Inconclusive, Reason: "window 20m of 1h elapsed", Inconclusives: 0}
	bakeFail := GateResult{Name: "error-rate", Verdict: Fail, Value: 0.3, HasValue: true, Bound: "<=0.01"}
	bakeOver := GateResult{Name: "error-rate", Verdict: Inconclusive, Reason: "no value", Inconclusives: 9}
	tests := []struct {
		name        string
		state       *State
		ev          Evidence
		revert      bool
		want        Action
		wantWeight  int
		wantStable  string
		wantRelease string
		reason      string
	}{
		{name: "bake window running: hold", state: bakingState(), ev: background(bgPass, bakeWait), revert: true,
			want: ActionNone, wantWeight: 50, reason: "baking 2.0 for 1h"},
		{name: "bake passed: complete, recording the verdict", state: bakingState(), ev: background(bgPass, bakePass), revert: true,
			want: ActionComplete, reason: "bake of 1h passed: error-rate"},
		{name: "bake passed but background inconclusive: hold", state: bakingState(), ev: background(bgWait, bakePass), revert: true,
			want: ActionNone, wantWeight: 50, reason: "bake passed; background"},
		{name: "bake gate fails: stable and release back to the previous stable", state: bakingState(), ev: background(bgPass, bakeFail), revert: true,
			want: ActionRollback, wantStable: "1.0", wantRelease: "1.0", reason: "bake of 2.0 failed: bake gate error-rate: 0.3 > 0.01"},
		{name: "bake gate fails without revertRelease: stable back, release field kept", state: bakingState(), ev: background(bgPass, bakeFail),
			want: ActionRollback, wantStable: "1.0", reason: "stable goes back to 1.0"},
		{name: "bake inconclusive past its limit: roll back", state: bakingState(), ev: background(bgPass, bakeOver), revert: true,
			want: ActionRollback, wantStable: "1.0", wantRelease: "1.0", reason: "inconclusive 9 times (limit 3)"},
		{name: "background gate fails during the bake: roll back", state: bakingState(), ev: background(bgFail, bakeWait), revert: true,
			want: ActionRollback, wantStable: "1.0", wantRelease: "1.0", reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "a person's abort during the bake: roll back", state: bakingState(func(s *State) {
			s.AbortBy = &Rejection{Commit: "abc", Author: "sre@example.com", Command: &Command{Kind: CommandAbort, Reason: "p99"}}
		}), ev: background(bgPass, bakeWait), revert: true, want: ActionRollback, wantStable: "1.0", wantRelease: "1.0", reason: "aborted by sre@example.com: p99"},
		{name: "promote not applied yet: hold", state: bakingState(), ev: Evidence{}, revert: true,
			want: ActionNone, wantWeight: 50, reason: "not applied yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := guardedRollout()
			r.Spec.OnFailure.RevertRelease = tt.revert
			d := Plan(r, *tt.state, tt.ev, t0.Add(20*time.Minute), DefaultGuardrails())
			if d.Action != tt.want || d.Weight != tt.wantWeight || d.SetStable != tt.wantStable || d.SetRelease != tt.wantRelease {
				t.Fatalf("got %q weight %d stable %q release %q (%s), want %q weight %d stable %q release %q",
					d.Action, d.Weight, d.SetStable, d.SetRelease, d.Reason, tt.want, tt.wantWeight, tt.wantStable, tt.wantRelease)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", d.Reason, tt.reason)
			}
			if tt.want == ActionComplete && !hasScoped(d.Gates, ScopeBake, "error-rate") {
				t.Errorf("complete carries gates %+v, want the bake's verdict", d.Gates)
			}
		})
	}
}

func TestFoldBakeFromPromoteToRollback(t *testing.T) {
	promote := rampStep("p", "2.0", 0, ActionPromote, 50)
	promote.Changes["demo"] = Change{Stable: str("2.0")}
	s := foldAll(startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 50), promote)
	if s.Phase != PhasePromoted || s.Stable != "2.0" || s.PreviousStable != "1.0" {
		t.Fatalf("after promote: %+v, want promoted with previous stable 1.0", s)
	}
	r := foldRollout()
	r.Spec.Strategy.Canary.Bake = &Bake{Duration: Duration{time.Hour}, Gates: []string{"error-rate"}}
	if a := NeedsAnalysis(r, &s); a == nil || a.Window.Duration != time.Hour {
		t.Fatalf("NeedsAnalysis %+v, want the bake's 1h window", a)
	}

	// The rollback puts stable and release back and all traffic on stable.
	rb := rampStep("rb", "2.0", 0, ActionRollback, 0)
	rb.Changes["demo"] = Change{Stable: str("1.0"), Release: str("1.0"), Target: true}
	if got := Fold(s, r, rb, DefaultGuardrails()); got.Phase != PhaseStable || got.Release != "1.0" || got.Stable != "1.0" || got.Weight != 0 {
		t.Fatalf("after the bake's rollback: %+v, want stable at 1.0 with no canary traffic", got)
	}
	// Without revertRelease the release field keeps 2.0: aborted.
	rb.Changes["demo"] = Change{Stable: str("1.0"), Target: true}
	if got := Fold(s, r, rb, DefaultGuardrails()); got.Phase != PhaseAborted || got.Release != "2.0" || got.Stable != "1.0" || got.Weight != 0 {
		t.Fatalf("after the bake's rollback without revert: %+v, want 2.0 aborted, stable 1.0", got)
	}
	// A new release during the bake: its traffic returns first.
	if got := Fold(s, r, startRelease("2.1"), DefaultGuardrails()); got.Superseded != "2.0" || got.Weight != 50 {
		t.Fatalf("a release during the bake: %+v, want 2.0 superseded with its 50%% still live", got)
	}
}

func TestBlueGreenBakesAfterTheSwitchWhileTheOldSideIsKept(t *testing.T) {
	r := planRollout()
	r.Spec.Strategy = Strategy{BlueGreen: &BlueGreen{
		Analysis:       &Analysis{Gates: []string{"error-rate"}, Window: Duration{5 * time.Minute}},
		RollbackWindow: Duration{time.Hour},
		Bake:           &Bake{Duration: Duration{20 * time.Minute}, Gates: []string{"error-rate"}},
	}}
	steps := r.Steps()
	if len(steps) != 4 || !steps[2].IsBake() || *steps[1].SetWeight != 100 || steps[3].Pause.Duration.Duration != 40*time.Minute {
		t.Fatalf("steps %+v, want analysis, switch to 100, bake, then the 40m left of the rollback window", steps)
	}
	d := Plan(r, *at(2, 100), live, t0.Add(time.Minute), DefaultGuardrails())
	if d.Action != ActionAnalysis || d.Step != 3 || !strings.Contains(d.Reason, "bakes: error-rate over 20m while the old side is kept") {
		t.Fatalf("after the switch: %s step %d (%s), want the bake entered", d.Action, d.Step, d.Reason)
	}
	d = Plan(r, *at(3, 100), gates(GateResult{Name: "error-rate", Verdict: Fail, Value: 0.3, HasValue: true}), t0.Add(time.Minute), DefaultGuardrails())
	if d.Action != ActionAbort || d.Weight != 0 || !strings.Contains(d.Reason, "bake gate error-rate fail") {
		t.Fatalf("bake fails: %s weight %d (%s), want traffic back on the old side", d.Action, d.Weight, d.Reason)
	}
	d = Plan(r, *at(3, 100), gates(GateResult{Name: "error-rate", Verdict: Pass}), t0.Add(time.Minute), DefaultGuardrails())
	if d.Action != ActionPause || d.Step != 4 || !strings.Contains(d.Reason, "bake of 20m passed") || !hasScoped(d.Gates, ScopeBake, "error-rate") {
		t.Fatalf("bake passes: %s step %d (%s) gates %+v, want the rest of the window, recording the bake", d.Action, d.Step, d.Reason, d.Gates)
	}
	r.Spec.Strategy.BlueGreen.Bake.Duration = Duration{2 * time.Hour}
	if steps := r.Steps(); len(steps) != 3 || !steps[2].IsBake() {
		t.Fatalf("a bake longer than the rollback window: steps %+v, want it to end the strategy", steps)
	}
}

// TestPlanGuardsCohortAndShadowStepsWithBackgroundGates: a cohort or a
// shadow step exposes the canary at weight 0; the background gates guard
// it all the same.
func TestPlanGuardsCohortAndShadowStepsWithBackgroundGates(t *testing.T) {
	r := guardedRollout()
	ten := 10
	r.Spec.Strategy.Canary.Steps = []Step{
		{SetHeaderRoute: &HeaderRoute{Name: "internal", Match: []CohortMatch{{Header: "x-user-group", Value: "internal"}}}},
		{SetMirrorRoute: &MirrorRoute{Name: "shadow", Percent: &ten}},
		{SetWeight: intp(50)},
	}
	r.Spec.Shadow = &Shadow{SideEffects: "none", Reason: "read-only service"}
	tests := []planRow{
		{name: "failure during a cohort step: abort", state: at(1, 0), ev: background(bgFail),
			want: ActionAbort, wantStep: 1, reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "failure during a shadow step: abort", state: at(2, 0), ev: background(bgFail),
			want: ActionAbort, wantStep: 2, reason: "background gate error-rate: 0.2 > 0.01"},
		{name: "inconclusive during a shadow step: no next step", state: at(2, 0), ev: background(bgWait),
			want: ActionNone, wantStep: 2, waiting: "conclusive background gates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, r) })
	}
}

package policy

import (
	"strings"
	"testing"
	"time"
)

// preflightRollout is guardedRollout with an alerts gate incident
// (selector service="demo") among the background gates: by default both
// error-rate and incident are judged before step 1.
func preflightRollout() *Rollout {
	r := guardedRollout()
	r.Spec.Gates = append(r.Spec.Gates, Gate{Name: "incident", Severity: SeverityCritical, Alerts: &AlertsGate{Selector: `service="demo"`}})
	r.Spec.Strategy.Canary.Background.Gates = []string{"error-rate", "incident"}
	return r
}

// preflightOf adds preflight results rs to ev.
func preflightOf(ev Evidence, rs ...GateResult) Evidence {
	ev.Preflight = map[string]GateResult{}
	for _, r := range rs {
		ev.Preflight[r.Name] = r
	}
	return ev
}

var (
	incidentGate   = Gate{Name: "incident", Severity: SeverityCritical, Alerts: &AlertsGate{Selector: `service="demo"`}}
	incidentQuiet  = JudgeAlerts(incidentGate, nil, "")
	incidentFiring = JudgeAlerts(incidentGate, []string{"HighErrorRate"}, "")
)

func TestPlanJudgesThePreflightBeforeStepOne(t *testing.T) {
	tests := []planRow{
		{name: "a firing alert holds the start, naming the alert", state: at(0, 0), ev: preflightOf(live, bgPass, incidentFiring),
			want: ActionNone, waiting: "the preflight gates to pass (error-rate, incident)",
			reason: `preflight: gate incident (alerts) is firing: ALERTS{alertstate="firing", service="demo"} (alert HighErrorRate firing); the release waits before step 1`},
		{name: "a failing gate holds the start, never aborts", state: at(0, 0), ev: preflightOf(live, bgFail, incidentQuiet),
			want: ActionNone, reason: "preflight: gate error-rate (no check) fails: 0.2 > 0.01; the release waits before step 1"},
		{name: "an inconclusive gate holds the start (no sample, no signal)", state: at(0, 0), ev: preflightOf(live, bgWait, incidentQuiet),
			want: ActionNone, reason: "preflight: gate error-rate (no check) is inconclusive: 12 samples below minSamples 50"},
		{name: "inconclusive past its limit still holds: a preflight never aborts", state: at(0, 0), ev: preflightOf(live, bgOver, incidentQuiet),
			want: ActionNone, reason: "gate error-rate (no check) is inconclusive: no value"},
		{name: "a gate not measured holds, never a pass", state: at(0, 0), ev: preflightOf(live, bgPass),
			want: ActionNone, reason: "gate incident (alerts) is inconclusive: not measured"},
		{name: "alerts that cannot be read hold", state: at(0, 0), ev: preflightOf(live, bgPass, JudgeAlerts(incidentGate, nil, "connection refused")),
			want: ActionNone, reason: "gate incident (alerts) is inconclusive: alerts unknown: connection refused"},
		{name: "every gate passes: step 1, saying so", state: at(0, 0), ev: preflightOf(live, bgPass, incidentQuiet),
			want: ActionSetWeight, wantStep: 1, wantWeight: 10, reason: "preflight passed: error-rate, incident; step 1/6 sets weight 10"},
		{name: "a failing warning gate is recorded and does not hold", state: at(0, 0),
			ev:   preflightOf(live, GateResult{Name: "error-rate", Verdict: Fail, Severity: SeverityWarning}, incidentQuiet),
			want: ActionSetWeight, wantStep: 1, wantWeight: 10},
		{name: "a person's pause comes first", state: at(0, 0, func(s *State) {
			s.Phase, s.PausedBy = PhasePaused, &Rejection{Commit: "abc", Author: "sre@example.com"}
		}), ev: preflightOf(live, bgPass, incidentFiring), want: ActionNone, reason: "paused by sre@example.com"},
		{name: "from step 1 the background gates guard, not the preflight", state: at(1, 10),
			ev:   preflightOf(Evidence{AppliedUnknown: true, Background: map[string]GateResult{"error-rate": bgPass, "incident": incidentQuiet}}, bgFail, incidentFiring),
			want: ActionPause, wantStep: 2, wantWeight: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.check(t, preflightRollout())
			if tt.state.Step == 0 && tt.state.Phase == PhaseProgressing {
				for _, name := range []string{"error-rate", "incident"} {
					if !hasScoped(d.Gates, ScopePreflight, name) {
						t.Errorf("gates %+v: the decision does not carry preflight gate %s", d.Gates, name)
					}
				}
			}
		})
	}
}

func TestPlanRecordsThePreflightOnStepOne(t *testing.T) {
	d := Plan(preflightRollout(), *at(0, 0), preflightOf(live, bgPass, incidentQuiet), t0, DefaultGuardrails())
	if d.Action != ActionSetWeight || d.Step != 1 || len(d.Gates) != 2 {
		t.Fatalf("got %s step %d with gates %+v, want step 1 carrying both preflight gates", d.Action, d.Step, d.Gates)
	}
	for _, g := range d.Gates {
		if g.Scope != ScopePreflight || g.Verdict != Pass {
			t.Errorf("gate %+v: want a pass with scope preflight", g)
		}
	}
	if g := d.Gates[0]; g.Name != "error-rate" || g.Value != 0.001 || g.Bound != "<=0.01" {
		t.Errorf("gate %+v: want error-rate's value and bound", g)
	}
}

func TestPlanLooksAgainAtTheNextPreflightMeasurement(t *testing.T) {
	d := Plan(preflightRollout(), *at(0, 0), preflightOf(live, bgPass, incidentFiring), t0, DefaultGuardrails())
	if !d.Holds() || !d.Wake.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("got %s waking at %s, want a hold waking at the next measurement %s", d.Action, d.Wake, t0.Add(30*time.Second))
	}
}

func TestPlanHoldsABlueGreenStartOnThePreflight(t *testing.T) {
	r := preflightRollout()
	r.Spec.Strategy = Strategy{BlueGreen: &BlueGreen{
		Analysis:       &Analysis{Gates: []string{"error-rate"}, Window: Duration{5 * time.Minute}},
		RollbackWindow: Duration{30 * time.Minute},
		Preflight:      &Preflight{Gates: []string{"incident"}},
	}}
	d := Plan(r, *at(0, 0), preflightOf(live, incidentFiring), t0, DefaultGuardrails())
	if !d.Holds() || !strings.Contains(d.Reason, "preflight: gate incident (alerts) is firing") {
		t.Fatalf("got %s (%s), want the blue-green start held by the firing alert", d.Action, d.Reason)
	}
	d = Plan(r, *at(0, 0), preflightOf(live, incidentQuiet), t0, DefaultGuardrails())
	if d.Action != ActionAnalysis || d.Step != 1 || !hasScoped(d.Gates, ScopePreflight, "incident") {
		t.Fatalf("got %s step %d gates %+v, want the idle side's analysis carrying the preflight", d.Action, d.Step, d.Gates)
	}
}

func TestPreflightIsTheSpecsOrTheBackgroundGatesThatNeedNoOtherVersion(t *testing.T) {
	ratio := 1.5
	withRatio := func(r *Rollout) *Rollout {
		r.Spec.Gates = append(r.Spec.Gates, Gate{Name: "ratio", Prometheus: &PrometheusGate{Query: "q", MaxRatio: &ratio}})
		r.Spec.Strategy.Canary.Background.Gates = append(r.Spec.Strategy.Canary.Background.Gates, "ratio")
		return r
	}
	tests := []struct {
		name string
		r    *Rollout
		want string
	}{
		{"no background, no preflight: none", planRollout(), ""},
		{"background gates by default", preflightRollout(), "error-rate incident"},
		{"a background gate that compares with stable is left out", withRatio(preflightRollout()), "error-rate incident"},
		{"the spec's preflight replaces the default", func() *Rollout {
			r := preflightRollout()
			r.Spec.Strategy.Canary.Preflight = &Preflight{Gates: []string{"incident"}}
			return r
		}(), "incident"},
		{"an empty preflight turns the default off", func() *Rollout {
			r := preflightRollout()
			r.Spec.Strategy.Canary.Preflight = &Preflight{}
			return r
		}(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if pf := tt.r.Preflight(); pf != nil {
				got = strings.Join(pf.Gates, " ")
			}
			if got != tt.want {
				t.Fatalf("preflight gates %q, want %q", got, tt.want)
			}
		})
	}
	off := preflightRollout()
	off.Spec.Strategy.Canary.Preflight = &Preflight{}
	if d := Plan(off, *at(0, 0), background(bgFail), t0, DefaultGuardrails()); d.Action != ActionSetWeight || d.Step != 1 {
		t.Fatalf("preflight turned off: got %s step %d (%s), want step 1", d.Action, d.Step, d.Reason)
	}
}

func TestNeedsPreflightOnlyWhileTheReleaseWaitsForStepOne(t *testing.T) {
	r := preflightRollout()
	tests := []struct {
		name  string
		state *State
		want  bool
	}{
		{"started, before step 1", at(0, 0), true},
		{"at step 1", at(1, 10), false},
		{"stable", &State{Phase: PhaseStable, Release: "1.0", Stable: "1.0"}, false},
		{"superseding a release with traffic", at(0, 50, func(s *State) { s.Superseded = "1.5" }), false},
	}
	for _, tt := range tests {
		if got := NeedsPreflight(r, tt.state) != nil; got != tt.want {
			t.Errorf("%s: NeedsPreflight %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestJudgePreflightJudgesTheLatestMeasurement(t *testing.T) {
	max := 0.05
	g := Gate{Name: "error-rate", Prometheus: &PrometheusGate{Query: "q", Max: &max, SampleQuery: "s", MinSamples: 20}}
	point := func(v, samples float64) Measurement {
		return Measurement{At: t0, Value: v, OK: true, Samples: samples, HasSamples: true}
	}
	tests := []struct {
		name   string
		ms     []Measurement
		want   Verdict
		reason string
	}{
		{"the latest point passes", []Measurement{point(0.5, 100), point(0.01, 100)}, Pass, "latest measurement passed"},
		{"the latest point fails", []Measurement{point(0.01, 100), point(0.2, 100)}, Fail, "value 0.2 above <=0.05"},
		{"too few samples: no sample, no signal", []Measurement{point(0, 3)}, Inconclusive, "3 samples below minSamples 20"},
		{"no value", []Measurement{{At: t0, Err: "empty result"}}, Inconclusive, "no value: empty result"},
		{"nothing measured", nil, Inconclusive, "no measurement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := JudgePreflight(g, tt.ms)
			if res.Verdict != tt.want || !strings.Contains(res.Reason, tt.reason) || res.Scope != ScopePreflight {
				t.Fatalf("got %s (%s) scope %q, want %s (%s) scope preflight", res.Verdict, res.Reason, res.Scope, tt.want, tt.reason)
			}
		})
	}
}

func TestReleaseRecordKeepsThePreflightOfStepOne(t *testing.T) {
	r := foldRollout()
	r.Spec.Strategy.Canary.Preflight = &Preflight{Gates: []string{"error-rate"}}
	passed := AuditGate{GateResult: GateResult{Name: "error-rate", Verdict: Pass, Value: 0.001, HasValue: true, Scope: ScopePreflight}}
	rows := &recordRows{}
	rows.start("2.0")
	rows.ramp("2.0", ActionSetWeight, "1/4", 10, func(row *AuditRow) { row.Gates = []AuditGate{passed} })
	rows.ramp("2.0", ActionPause, "2/4", 10)
	recs := ReleaseRecords("demo", *rows, map[string]*Rollout{"b1": r})
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	rec := recs[0]
	if pf := rec.Strategy.Preflight; pf == nil || strings.Join(pf.Gates, ",") != "error-rate" {
		t.Errorf("strategy preflight %+v, want gates [error-rate]", pf)
	}
	if len(rec.Preflight) != 1 || rec.Preflight[0].Name != "error-rate" || rec.Preflight[0].Verdict != Pass {
		t.Errorf("preflight evidence %+v, want error-rate's pass from step 1's commit", rec.Preflight)
	}
}

package policy

import (
	"strings"
	"testing"
	"time"
)

// windowedRollout is planRollout with a change window, weekdays
// 22:00–06:00 Europe/Berlin (overnight), as gate night.
func windowedRollout() *Rollout {
	r := planRollout()
	r.Spec.OnFailure.RevertRelease = true
	r.Spec.Gates = append(r.Spec.Gates, Gate{Name: "night", Schedule: &ScheduleGate{TimeZone: "Europe/Berlin",
		Windows: []ChangeWindow{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "22:00", End: "06:00"}}}})
	return r
}

func TestChangeWindowsHoldEveryStepForward(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := time.Date(2026, 11, 25, 14, 0, 0, 0, berlin)   // a Wednesday afternoon: closed
	night := time.Date(2026, 11, 25, 23, 0, 0, 0, berlin) // open
	early := time.Date(2026, 11, 26, 5, 30, 0, 0, berlin) // still open after midnight
	opens := time.Date(2026, 11, 25, 22, 0, 0, 0, berlin)
	tests := []struct {
		name  string
		state *State
		now   time.Time
		want  Action
		step  int
	}{
		{"the first step of a release, outside: hold", at(0, 0), day, ActionNone, 0},
		{"the first step of a release, inside: step 1", at(0, 0), night, ActionSetWeight, 1},
		{"after midnight in an overnight window: step 1", at(0, 0), early, ActionSetWeight, 1},
		{"a weight step done, outside: hold", at(1, 10), day, ActionNone, 1},
		{"approved, outside: hold", at(2, 10, approved(2, "alice", "bob")), day, ActionNone, 2},
		{"the last step approved, outside: no promote", at(6, 50, approved(6, "carol")), day, ActionNone, 6},
		{"the last step approved, inside: promote", at(6, 50, approved(6, "carol")), night, ActionPromote, 0},
		{"a failing gate, outside: the abort goes through", at(5, 50), day, ActionAbort, 5},
		{"aborted, outside: the rollback goes through", at(5, 0, func(s *State) { s.Phase = PhaseAborted }), day, ActionRollback, 0},
		{"promoted, outside: complete goes through", at(6, 50, func(s *State) { s.Phase, s.Stable = PhasePromoted, "2.0" }), day, ActionComplete, 0},
	}
	failing := gates(GateResult{Name: "error-rate", Verdict: Fail}, GateResult{Name: "latency", Verdict: Pass})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := live
			if strings.Contains(tt.name, "failing") {
				ev = failing
			}
			s := *tt.state
			s.StepAt = tt.now.Add(-time.Hour)
			d := Plan(windowedRollout(), s, ev, tt.now, DefaultGuardrails())
			if d.Action != tt.want || d.Step != tt.step {
				t.Fatalf("got %q step %d (%s), want %q step %d", d.Action, d.Step, d.Reason, tt.want, tt.step)
			}
			if d.Holds() && (d.WaitingFor != "change window night to open" || !d.Wake.Equal(opens) ||
				!strings.Contains(d.Reason, "outside change window night; next opens Wed 2026-11-25 22:00 Europe/Berlin")) {
				t.Errorf("hold %q waiting for %q, wake %s; want it to name the window and wake at %s", d.Reason, d.WaitingFor, d.Wake, opens)
			}
		})
	}
}

package policy

import "testing"

func TestDecisionReducesExposureForAbortRollbackAndALowerWeight(t *testing.T) {
	drifted := 30
	for _, tc := range []struct {
		name  string
		state State
		d     Decision
		want  bool
	}{
		{"abort", State{Weight: 10}, Decision{Action: ActionAbort, Weight: 0}, true},
		{"rollback", State{Weight: 0}, Decision{Action: ActionRollback, Weight: 0}, true},
		{"a step up", State{Weight: 10}, Decision{Action: ActionSetWeight, Weight: 50}, false},
		{"a pause at the same weight", State{Weight: 10}, Decision{Action: ActionPause, Weight: 10}, false},
		{"restore of a drifted weight above ramp's", State{Weight: 10, DriftWeight: &drifted}, Decision{Action: ActionRestore, Weight: 10}, true},
		{"complete: the traffic to stable, which runs the release", State{Weight: 50}, Decision{Action: ActionComplete, Weight: 0}, false},
		{"hold", State{Weight: 50}, Decision{Action: ActionNone, Weight: 0}, false},
	} {
		if got := tc.d.ReducesExposure(tc.state); got != tc.want {
			t.Errorf("%s: ReducesExposure = %v, want %v", tc.name, got, tc.want)
		}
	}
}

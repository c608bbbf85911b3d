package policy

import (
	"errors"
	"testing"
	"time"
)

func TestApprovalStep(t *testing.T) {
	canary := foldRollout() // 4 steps
	blueGreen := &Rollout{Metadata: Metadata{Name: "bg"}, Spec: Spec{Strategy: Strategy{BlueGreen: &BlueGreen{
		Analysis: &Analysis{Gates: []string{"error-rate"}}, Approval: &ApprovalReq{Group: "sre"},
		RollbackWindow: Duration{10 * time.Minute},
	}}}} // analysis, approval, switch to 100, rollback window: 4 steps
	atStep := func(phase Phase, step int) State {
		return State{Rollout: "demo", Phase: phase, Release: "2.0", Stable: "1.0", Step: step}
	}
	tests := []struct {
		name      string
		r         *Rollout
		s         State
		requested int
		want      int
		err       error // ErrNoStepInProgress or a *StepRangeError
	}{
		{name: "none named: the step in progress", r: canary, s: atStep(PhaseProgressing, 2), want: 2},
		{name: "none named while paused: the step it paused at", r: canary, s: atStep(PhasePaused, 4), want: 4},
		{name: "a later step named ahead of time", r: canary, s: atStep(PhaseProgressing, 2), requested: 4, want: 4},
		{name: "an earlier step named", r: canary, s: atStep(PhaseProgressing, 3), requested: 2, want: 2},
		{name: "the first step named", r: canary, s: atStep(PhaseProgressing, 2), requested: 1, want: 1},
		{name: "the last step named", r: canary, s: atStep(PhaseProgressing, 2), requested: 4, want: 4},
		{name: "a step named before ramp entered the first", r: canary, s: atStep(PhaseProgressing, 0), requested: 2, want: 2},
		{name: "none named before ramp entered the first step: no step in progress", r: canary, s: atStep(PhaseProgressing, 0), err: ErrNoStepInProgress},
		{name: "none named while stable: no step in progress", r: canary, s: Base("demo", "1.0", "1.0", 0), err: ErrNoStepInProgress},
		{name: "a step past the last", r: canary, s: atStep(PhaseProgressing, 2), requested: 5, err: &StepRangeError{Step: 5, Steps: 4}},
		{name: "a negative step", r: canary, s: atStep(PhaseProgressing, 2), requested: -1, err: &StepRangeError{Step: -1, Steps: 4}},
		{name: "none named, the step in progress past the last of an edited spec", r: canary, s: atStep(PhasePaused, 6), err: &StepRangeError{Step: 6, Steps: 4}},
		{name: "blue-green: its expanded approval step", r: blueGreen, s: atStep(PhaseProgressing, 1), requested: 2, want: 2},
		{name: "blue-green: past its expanded steps", r: blueGreen, s: atStep(PhaseProgressing, 1), requested: 5, err: &StepRangeError{Step: 5, Steps: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ApprovalStep(tt.r, tt.s, tt.requested)
			var rng *StepRangeError
			switch want := tt.err.(type) {
			case nil:
				if err != nil || got != tt.want {
					t.Fatalf("got step %d, %v; want step %d", got, err, tt.want)
				}
			case *StepRangeError:
				if !errors.As(err, &rng) || *rng != *want || got != 0 {
					t.Fatalf("got step %d, %v; want %v", got, err, want)
				}
			default:
				if !errors.Is(err, want) || got != 0 {
					t.Fatalf("got step %d, %v; want %v", got, err, want)
				}
			}
		})
	}
}

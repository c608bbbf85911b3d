package policy

import (
	"errors"
	"fmt"
)

// ErrNoStepInProgress is ApprovalStep's answer when no step is named and
// the rollout has no step in progress.
var ErrNoStepInProgress = errors.New("no step in progress")

// StepRangeError is ApprovalStep's answer when the step is not one of the
// rollout's steps.
type StepRangeError struct {
	Step  int // the step to approve
	Steps int // how many steps the rollout has
}

func (e *StepRangeError) Error() string {
	return fmt.Sprintf("step %d: the rollout has %d steps", e.Step, e.Steps)
}

// ApprovalStep returns the 1-based step an approval of r in state s is
// for: the requested one, or the step in progress when requested is 0.
// It is ErrNoStepInProgress when neither names a step, and a
// *StepRangeError when the step is outside 1..len(r.Steps()).
//
// It does not judge whether the step is an approval step or who may
// approve it: Fold does, when the approval is in history.
func ApprovalStep(r *Rollout, s State, requested int) (int, error) {
	step := requested
	if step == 0 {
		step = s.Step
	}
	if step == 0 {
		return 0, ErrNoStepInProgress
	}
	if n := len(r.Steps()); step < 0 || step > n {
		return 0, &StepRangeError{Step: step, Steps: n}
	}
	return step, nil
}

// DescribeStep says what a step does, as the release record says it:
// "set the canary weight to 20%", "wait for 1 approval(s) by group sre".
func DescribeStep(st Step) string { return plannedStep(0, st).Description }

// WaitsForApproval reports whether a step waits for a person's approval:
// an approval step, or a pause without a duration.
func WaitsForApproval(st Step) bool {
	return st.Approval != nil || st.Pause != nil && st.Pause.Duration.Duration == 0
}

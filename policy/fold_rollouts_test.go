package policy

import (
	"reflect"
	"slices"
	"testing"
)

// A record that does not name a rollout among Rollouts() leaves that
// rollout's state as it was: the shell folds each record into those only.
func TestFoldLeavesARolloutTheRecordDoesNotConcernAsItWas(t *testing.T) {
	other := foldRollout()
	other.Metadata.Name = "other"
	s := Fold(Base("other", "1.0", "1.0", 0), other, &Record{Commit: "start-other", Author: "dev@example.com", Time: t0,
		Changes: map[string]Change{"other": {Release: str("2.0")}}}, DefaultGuardrails())
	merged := cmd("m1", alice, Command{Kind: CommandApprove, Release: "2.0", Step: 2})
	withMerged := &Record{Commit: "merge", Author: "dev@example.com", Merged: []*Record{merged}}
	malformed := rampStep("r2", "2.0", 1, ActionSetWeight, 10)
	malformed.Malformed = []string{"Ramp-Step: x: not N/M"}
	for _, tc := range []struct {
		name string
		rec  *Record
	}{
		{"a release of demo", startRelease("2.0")},
		{"ramp's step of demo", rampStep("r1", "2.0", 1, ActionSetWeight, 10)},
		{"ramp's step of demo with a malformed trailer", malformed},
		{"an abort of demo", cmd("c1", alice, Command{Kind: CommandAbort, Release: "2.0"})},
		{"a merge bringing in an approval of demo", withMerged},
	} {
		names := tc.rec.Rollouts()
		if !slices.Equal(names, []string{"demo"}) {
			t.Errorf("%s: Rollouts() = %v, want [demo]", tc.name, names)
		}
		if got := Fold(s, other, tc.rec, DefaultGuardrails()); !reflect.DeepEqual(got, s) {
			t.Errorf("%s: folding it into other changed its state:\n%+v\nwant\n%+v", tc.name, got, s)
		}
	}
	both := rampStep("r3", "2.0", 1, ActionSetWeight, 10)
	both.Commands = []Command{{Kind: CommandAbort, Rollout: "other", Release: "2.0"}}
	if names := both.Rollouts(); len(names) != 2 || !slices.Contains(names, "other") {
		t.Errorf("a step of demo with an abort of other concerns %v, want demo and other", names)
	}
}

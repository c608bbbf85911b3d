package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// TestRunPrintsAHoldOnlyWhenItChangesAndNamesTheNextCommand: the reporter
// of `ramp run` prints a hold once, again only when its reason changes,
// and names the command a person runs next.
func TestRunPrintsAHoldOnlyWhenItChangesAndNamesTheNextCommand(t *testing.T) {
	waiting := gitsync.Outcome{Rollout: "demo", State: policy.State{Phase: policy.PhaseProgressing, Release: "1.1.0", Step: 4, Weight: 50},
		Decision: policy.Decision{Reason: "step 4/4 needs 1 approval(s) from group sre, has 0", WaitingFor: "1 approval(s) from sre"}}
	handEdit := gitsync.Outcome{Rollout: "demo", State: policy.State{Phase: policy.PhaseProgressing, Release: "1.1.0", Step: 4, Weight: 50,
		Holds: []policy.Hold{{Commit: "abc", Reason: "commit abc by bob edited the traffic target"}}},
		Decision: policy.Decision{Reason: "commit abc by bob edited the traffic target", WaitingFor: "a signed Ramp-Resume"}}
	var b bytes.Buffer
	r := &reporter{w: &b, last: map[string]string{}}
	for range 3 {
		r.report([]gitsync.Outcome{waiting})
	}
	out := b.String()
	if n := strings.Count(out, "hold: step 4/4 needs 1 approval(s)"); n != 1 {
		t.Errorf("the same hold printed %d times:\n%s", n, out)
	}
	if !strings.Contains(out, "next: ramp approve demo --step 4") {
		t.Errorf("the hold does not name the next command:\n%s", out)
	}
	b.Reset()
	r.report([]gitsync.Outcome{handEdit})
	r.report([]gitsync.Outcome{handEdit})
	out = b.String()
	if strings.Count(out, "hold: commit abc") != 1 || !strings.Contains(out, `next: ramp resume demo --reason "…"`) || !strings.Contains(out, "ramp abort demo") {
		t.Errorf("a hand-edit hold, printed once with resume or abort next:\n%s", out)
	}
}

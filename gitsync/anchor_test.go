package gitsync_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

// TestColdDeriveStartsAtTheAbortAndEqualsIncremental: a release aborted
// without a revert stays in the release field, but the derive from
// scratch reads back only to ramp's abort commit, not to the release's
// start, and gives the same state as the incremental derive that folded
// every commit since the start.
func TestColdDeriveStartsAtTheAbortAndEqualsIncremental(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	w.command("mallory", false, "forged approval", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	w.command("alice", true, "abort demo", `Ramp-Abort: rollout=demo release=1.1.0 reason="p99 up"`)
	w.expect(policy.ActionAbort, 2, 0)
	w.expect(policy.ActionNone, 2, 0)
	// After the abort: unrelated work and an approval that comes too late.
	w.command("alice", true, "docs", "")
	w.approve("alice", "1.1.0", 2)
	w.command("bob", true, "more docs", "")
	o := w.expect(policy.ActionNone, 2, 0)
	if o.State.Phase != policy.PhaseAborted || o.State.Release != "1.1.0" {
		t.Fatalf("state %+v, want release 1.1.0 aborted", o.State)
	}
	warm := w.snap
	cold, err := w.loop.Deriver().Derive(warm.Tip)
	if err != nil {
		t.Fatal(err)
	}
	a, b := warm.States["demo"], cold.States["demo"]
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("incremental state\n%+v\ndiffers from cold\n%+v", a, b)
	}
	if b.Step != 2 || b.LastAction != policy.ActionAbort || len(b.Rejected) != 1 || !strings.Contains(b.Rejected[0].Reason, "not in progress") {
		t.Fatalf("cold state %+v, want aborted at step 2 with the late approval rejected", b)
	}
	// The abort, then docs, the approval, more docs: four commits.
	if cold.Walked != 4 {
		t.Fatalf("cold derive read %d commits, want 4 (back to ramp's abort only)", cold.Walked)
	}
}

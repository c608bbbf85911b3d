package gitsync_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// abortDemo takes release 1.1.0 of demo to step 2 and has alice abort
// it; ramp's abort commit is the tip afterwards. It returns that commit.
// After each pass, a derive from scratch gives the incremental states and
// depths.
func abortDemo(w *world) string {
	w.t.Helper()
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	sameAsCold(w, 1) // the release's start is 1 below the step commit
	w.expect(policy.ActionPause, 2, 10)
	sameAsCold(w, 2)
	w.command("alice", true, "abort demo", `Ramp-Abort: rollout=demo release=1.1.0 reason="p99 up"`)
	o := w.expect(policy.ActionAbort, 2, 0)
	sameAsCold(w, 0)
	return o.Commit.String()
}

// sameAsCold checks that a fresh ramp's derive at the last pass's tip
// gives its states and depths, and demo's depth is want.
func sameAsCold(w *world, want int) {
	w.t.Helper()
	cold, err := w.newLoop().Deriver().Derive(w.snap.Tip)
	if err != nil {
		w.t.Fatal(err)
	}
	if !reflect.DeepEqual(cold.States, w.snap.States) || !reflect.DeepEqual(cold.Depths, w.snap.Depths) {
		w.t.Fatalf("cold states %+v depths %v\ndiffer from incremental %+v depths %v", cold.States, cold.Depths, w.snap.States, w.snap.Depths)
	}
	if d, ok := cold.Depths["demo"]; !ok || d != want {
		w.t.Fatalf("demo's depth %d (known %v), want %d", d, ok, want)
	}
}

// passResult runs one pass and returns what it did.
func passResult(w *world) gitsync.Result {
	w.t.Helper()
	res, err := w.loop.Pass(w.t.Context())
	if err != nil {
		w.t.Fatalf("pass: %v", err)
	}
	w.snap = res.Snapshot
	return res
}

// TestLoopWritesACheckpointOnceTheAbortIsDeepAndColdDeriveStartsThere:
// with CheckpointEvery 3, the pass after the third commit above ramp's
// abort writes one signed checkpoint commit (same tree as its parent)
// restating the aborted state; a derive from scratch afterwards reads only
// that commit, and gives the state and depth the incremental one has.
func TestLoopWritesACheckpointOnceTheAbortIsDeepAndColdDeriveStartsThere(t *testing.T) {
	w := newWorld(t)
	w.cfg.CheckpointEvery = 3
	w.loop = w.newLoop()
	abort := abortDemo(w)
	aborted := w.snap.States["demo"]
	if aborted.Phase != policy.PhaseAborted || aborted.LastCommit != abort {
		t.Fatalf("state %+v, want aborted at %s", aborted, abort)
	}
	if d, ok := w.snap.Depths["demo"]; !ok || d != 0 {
		t.Fatalf("depth after the abort %d (known %v), want 0: the abort is the tip", d, ok)
	}

	w.command("bob", true, "docs 1", "")
	w.command("bob", true, "docs 2", "")
	if res := passResult(w); !res.Checkpoint.IsZero() {
		t.Fatalf("checkpoint %s with the abort 2 commits down, want none before 3", res.Checkpoint)
	}
	sameAsCold(w, 2)
	w.command("bob", true, "docs 3", "")
	res := passResult(w)
	if res.Checkpoint.IsZero() {
		t.Fatal("no checkpoint with the abort 3 commits down")
	}
	log := w.serverLog()
	want := fmt.Sprintf("%s ramp: demo 1.1.0 checkpoint (aborted at %.7s, weight 0%%)", res.Checkpoint, abort)
	if log[0] != want {
		t.Fatalf("server tip %q, want %q", log[0], want)
	}
	srv := []string{"--git-dir", w.server.Root() + "/release.git"}
	git := func(args ...string) string {
		return strings.TrimSpace(w.git("dev", append(append([]string{}, srv...), args...)...))
	}
	if a, b := git("rev-parse", "main^{tree}"), git("rev-parse", "main~1^{tree}"); a != b {
		t.Fatalf("checkpoint tree %s differs from its parent's %s", a, b)
	}
	msg := git("log", "-1", "--format=%B", "main")
	for _, s := range []string{"Ramp-Action: checkpoint", "Ramp-Anchor: commit=" + abort + " action=abort", "Ramp-Reason: ", "Ramp-Step: 2/4"} {
		if !strings.Contains(msg, s) {
			t.Fatalf("checkpoint message lacks %q:\n%s", s, msg)
		}
	}

	warm := w.snap
	if s := warm.States["demo"]; !reflect.DeepEqual(s, aborted) {
		t.Fatalf("state after the checkpoint\n%+v\nwant the abort's\n%+v", s, aborted)
	}
	cold, err := w.newLoop().Deriver().Derive(warm.Tip)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cold.States["demo"], warm.States["demo"]) {
		t.Fatalf("cold state\n%+v\ndiffers from incremental\n%+v", cold.States["demo"], warm.States["demo"])
	}
	if !reflect.DeepEqual(cold.Depths, warm.Depths) || cold.Depths["demo"] != 0 {
		t.Fatalf("cold depths %v, incremental %v, want demo at 0", cold.Depths, warm.Depths)
	}
	if cold.Walked != 1 {
		t.Fatalf("cold derive read %d commits, want 1 (the checkpoint only)", cold.Walked)
	}
	o := w.expect(policy.ActionNone, 2, 0)
	if !strings.Contains(o.Decision.Reason, "release 1.1.0 was aborted at "+abort[:10]) {
		t.Fatalf("plan after the checkpoint: %q", o.Decision.Reason)
	}

	// Later commits: the depth counts from the checkpoint, and a cold
	// derive reads back to it only.
	w.command("bob", true, "docs 4", "")
	if res := passResult(w); !res.Checkpoint.IsZero() {
		t.Fatalf("a second checkpoint %s one commit after the first", res.Checkpoint)
	}
	cold, err = w.newLoop().Deriver().Derive(w.snap.Tip)
	if err != nil {
		t.Fatal(err)
	}
	if cold.Walked != 2 || !reflect.DeepEqual(cold.States["demo"], w.snap.States["demo"]) || !reflect.DeepEqual(cold.Depths, w.snap.Depths) {
		t.Fatalf("cold derive read %d commits (want 2), state %+v depths %v; incremental %+v depths %v",
			cold.Walked, cold.States["demo"], cold.Depths, w.snap.States["demo"], w.snap.Depths)
	}
}

// TestACheckpointNotSignedByRampIsNoAnchor: a checkpoint entry in a
// commit signed by alice (an approver, not ramp) is listed as rejected,
// and a derive from scratch walks past it to ramp's abort, giving the
// incremental state.
func TestACheckpointNotSignedByRampIsNoAnchor(t *testing.T) {
	w := newWorld(t)
	abort := abortDemo(w)
	w.pull()
	forged := fmt.Sprintf("ramp: demo 1.1.0 checkpoint\n\nRamp-Rollout: demo\nRamp-Release: 1.1.0\nRamp-Step: 2/4\nRamp-Action: checkpoint\n"+
		"Ramp-Weight: 0\nRamp-Anchor: commit=%s action=abort\nRamp-Reason: p99 up\n", abort)
	w.git("alice", "commit", "-q", "--allow-empty", "-S", "-m", forged)
	w.git("alice", "push", "-q", "origin", "main")
	forgedCommit := w.git("alice", "rev-parse", "HEAD")
	w.expect(policy.ActionNone, 2, 0)
	warm := w.snap.States["demo"]
	if len(warm.Rejected) != 1 || warm.Rejected[0].Commit != forgedCommit || !strings.Contains(warm.Rejected[0].Reason, "not signed by ramp's key") {
		t.Fatalf("rejected %+v, want the forged checkpoint %s", warm.Rejected, forgedCommit)
	}
	cold, err := w.newLoop().Deriver().Derive(w.snap.Tip)
	if err != nil {
		t.Fatal(err)
	}
	if cold.Walked != 2 {
		t.Fatalf("cold derive read %d commits, want 2 (past the forged checkpoint to ramp's abort)", cold.Walked)
	}
	if !reflect.DeepEqual(cold.States["demo"], warm) || !reflect.DeepEqual(cold.Depths, w.snap.Depths) {
		t.Fatalf("cold state\n%+v depths %v\ndiffers from incremental\n%+v depths %v", cold.States["demo"], cold.Depths, warm, w.snap.Depths)
	}
	if warm.LastCommit != abort {
		t.Fatalf("last commit %s, want the abort %s", warm.LastCommit, abort)
	}
}

// TestNoCheckpointOnATipNotSignedByATrustedKey: with RequireSignedTip, a
// checkpoint is not built on an unsigned tip (it would give that commit a
// trusted HEAD); once a signed commit is the tip, it is.
func TestNoCheckpointOnATipNotSignedByATrustedKey(t *testing.T) {
	w := newWorld(t)
	w.cfg.CheckpointEvery, w.cfg.RequireSignedTip = 1, true
	w.loop = w.newLoop()
	abort := abortDemo(w)
	w.command("mallory", false, "unsigned docs", "")
	if res := passResult(w); !res.Checkpoint.IsZero() {
		t.Fatalf("checkpoint %s on mallory's unsigned tip", res.Checkpoint)
	}
	w.command("bob", true, "signed docs", "")
	res := passResult(w)
	if res.Checkpoint.IsZero() {
		t.Fatal("no checkpoint on bob's signed tip with the abort 2 commits down")
	}
	if s := w.snap.States["demo"]; s.LastCommit != abort || s.Phase != policy.PhaseAborted {
		t.Fatalf("state after the checkpoint %+v, want aborted at %s", s, abort)
	}
}

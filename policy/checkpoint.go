package policy

import "reflect"

// Checkpoint returns the entry of a checkpoint commit for rollout r in
// state s, whose derive from scratch starts depth first-parent commits
// below the tip (the commits above its anchor or start), and whether one
// is due: s is exactly the state an abort anchors (anchor: Phase Aborted
// with nothing beyond the abort's own fields: no holds, resumes, drift,
// rejections, malformed trailers), it still needs history (its release
// differs from stable or its canary has traffic), and depth is at least
// every (0 or negative: never). A rollout with targets never gets one.
//
// The entry restates that state at the tip: release, step, weight, the
// abort's reason, and the abort commit with its action (Anchor). Folding
// it, cold or incremental, gives the same state again (checkpointed), so a
// derive from scratch starts at the checkpoint instead of the abort.
func Checkpoint(r *Rollout, s State, depth, every int) (Entry, bool) {
	if every <= 0 || depth < every || r == nil || r.HasTargets() {
		return Entry{}, false
	}
	if _, target := SplitTarget(s.Rollout); target != "" || s.Rollout != r.Name() {
		return Entry{}, false
	}
	if s.LastCommit == "" || s.LastAction != ActionAbort && s.LastAction != ActionRollback {
		return Entry{}, false
	}
	if s.Release == s.Stable && s.Weight == 0 {
		return Entry{}, false // a derive reads no history for it
	}
	if !reflect.DeepEqual(s, restated(s, s.Weight, s.Step, s.LastCommit, s.LastAction, s.LastReason)) {
		return Entry{}, false
	}
	e := Entry{Rollout: s.Rollout, Release: s.Release, Action: ActionCheckpoint, Weight: s.Weight,
		Reason: s.LastReason, Anchor: &AnchorRef{Commit: s.LastCommit, Action: s.LastAction}}
	if s.Step > 0 {
		e.Step, e.Steps = s.Step, max(s.Step, len(r.Steps()))
	}
	return e, true
}

// restated is the state an anchor builds (anchor) from these fields.
func restated(s State, weight, step int, commit string, action Action, reason string) State {
	return State{Rollout: s.Rollout, Phase: PhaseAborted, Release: s.Release, Stable: s.Stable,
		Weight: weight, Step: step, LastCommit: commit, LastAction: action, LastReason: reason}
}

// checkpointed folds ramp's checkpoint entry e of commit rec into s: the
// anchored state it restates, with the abort's commit, action and reason,
// when it fits s (checkpointFits with the release and the weight the
// target file holds as far as history tells); otherwise e is ignored.
func checkpointed(s State, rec *Record, e Entry) State {
	if !checkpointFits(rec, e, s.Release, s.LiveWeight()) {
		return s
	}
	return restated(s, e.Weight, e.Step, e.Anchor.Commit, e.Anchor.Action, e.Reason)
}

// checkpointFits reports whether checkpoint entry e of rec can stand for
// its rollout's state when the release field holds release and the target
// weight: signed by ramp, naming an abort or a rollback commit, of that
// release and weight, in a commit that changes none of the rollout's files.
func checkpointFits(rec *Record, e Entry, release string, weight int) bool {
	a := e.Anchor
	return rec.Signer.In(RampGroup) && a != nil && a.Commit != "" &&
		(a.Action == ActionAbort || a.Action == ActionRollback) &&
		e.Release == release && e.Weight == weight && rec.Changes[e.Rollout] == (Change{})
}

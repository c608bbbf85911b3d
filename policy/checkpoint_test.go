package policy

import (
	"reflect"
	"strings"
	"testing"
)

// abortedHistory: release 2.0 starts, ramp sets weight 10 at step 1, then
// aborts it at commit "abort" to weight 0 with a reason.
func abortedHistory() []*Record {
	abort := rampStep("abort", "2.0", 1, ActionAbort, 0)
	abort.Entries[0].Reason = "gate error-rate failed"
	return []*Record{startRelease("2.0"), rampStep("step1", "2.0", 1, ActionSetWeight, 10), abort}
}

// checkpointRec is ramp's checkpoint commit of entry e (no file change).
func checkpointRec(commit string, by *Signer, e Entry) *Record {
	e.Rollout, e.Action = "demo", ActionCheckpoint
	rec := &Record{Commit: commit, Author: "ramp@localhost", Time: t0, Entries: []Entry{e}}
	return signedBy(rec, by)
}

func goodCheckpoint() Entry {
	return Entry{Release: "2.0", Step: 1, Steps: 4, Weight: 0, Reason: "gate error-rate failed",
		Anchor: &AnchorRef{Commit: "abort", Action: ActionAbort}}
}

func TestCheckpointIsDueOnlyForAPureAbortedStateDeepEnough(t *testing.T) {
	aborted := foldAll(abortedHistory()...)
	with := func(f func(*State)) State {
		s := aborted
		f(&s)
		return s
	}
	w := 30
	cases := []struct {
		name         string
		s            State
		depth, every int
		due          bool
	}{
		{"aborted, anchor 1000 below, every 1000", aborted, 1000, 1000, true},
		{"aborted, anchor 5000 below, every 1000", aborted, 5000, 1000, true},
		{"aborted, anchor 999 below, every 1000", aborted, 999, 1000, false},
		{"every 0: never", aborted, 1_000_000, 0, false},
		{"every negative: never", aborted, 1_000_000, -1, false},
		{"aborted with a late command rejected", with(func(s *State) {
			s.Rejected = []Rejection{{Commit: "late", Reason: "release 2.0 is not in progress"}}
		}), 5000, 1000, false},
		{"aborted with a hold", with(func(s *State) { s.Holds = []Hold{{Commit: "edit", Reason: "hand edit"}} }), 5000, 1000, false},
		{"aborted with a drifted weight", with(func(s *State) { s.DriftWeight = &w }), 5000, 1000, false},
		{"aborted with malformed trailers", with(func(s *State) { s.Malformed = []string{"Ramp-Step: x"} }), 5000, 1000, false},
		{"aborted with resumes", with(func(s *State) { s.Resumes = []Approval{{Principal: "alice@example.com"}} }), 5000, 1000, false},
		{"aborted, release field back at stable, no traffic", with(func(s *State) { s.Release = s.Stable }), 5000, 1000, false},
		{"in progress", foldAll(abortedHistory()[:2]...), 5000, 1000, false},
		{"stable", foldAll(), 5000, 1000, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, due := Checkpoint(foldRollout(), c.s, c.depth, c.every)
			if due != c.due {
				t.Fatalf("Checkpoint(%+v, depth %d, every %d) due = %v, want %v", c.s, c.depth, c.every, due, c.due)
			}
			if !due {
				return
			}
			want := Entry{Rollout: "demo", Release: "2.0", Step: 1, Steps: 4, Action: ActionCheckpoint, Weight: 0,
				Reason: "gate error-rate failed", Anchor: &AnchorRef{Commit: "abort", Action: ActionAbort}}
			if !reflect.DeepEqual(e, want) {
				t.Fatalf("entry %+v, want %+v", e, want)
			}
		})
	}
}

// TestFoldOfACheckpointRestatesTheAbort: folding ramp's checkpoint after
// the abort (incremental) and from the field values just before it (a
// derive from scratch that starts there) both give the state the abort
// anchored, naming the abort commit and its reason.
func TestFoldOfACheckpointRestatesTheAbort(t *testing.T) {
	recs := abortedHistory()
	aborted := foldAll(recs...)
	if aborted.Phase != PhaseAborted || aborted.LastCommit != "abort" {
		t.Fatalf("history folds to %+v, want aborted at commit abort", aborted)
	}
	ck := checkpointRec("ckpt", rampKey, goodCheckpoint())
	incremental := foldAll(append(recs, ck)...)
	cold := Fold(Base("demo", "2.0", "1.0", 0), foldRollout(), ck, DefaultGuardrails())
	for name, got := range map[string]State{"incremental": incremental, "cold": cold} {
		if !reflect.DeepEqual(got, aborted) {
			t.Errorf("%s fold of the checkpoint:\n%+v\nwant the abort's state\n%+v", name, got, aborted)
		}
	}
	if !Anchors(ck, "demo", "2.0", "1.0", 0) {
		t.Fatal("ramp's checkpoint of release 2.0 at weight 0 does not anchor")
	}
}

func TestACheckpointThatDoesNotFitIsIgnored(t *testing.T) {
	recs := abortedHistory()
	aborted := foldAll(recs...)
	base := Base("demo", "2.0", "1.0", 0)
	otherRelease := goodCheckpoint()
	otherRelease.Release = "1.9"
	otherWeight := goodCheckpoint()
	otherWeight.Weight = 10
	noAnchor := goodCheckpoint()
	noAnchor.Anchor = nil
	stepAnchor := goodCheckpoint()
	stepAnchor.Anchor = &AnchorRef{Commit: "step1", Action: ActionSetWeight}
	edits := checkpointRec("ckpt", rampKey, goodCheckpoint())
	edits.Changes = map[string]Change{"demo": {Target: true}}
	cases := []struct {
		name string
		rec  *Record
		// rejected: the fold lists the commit as ramp trailers without
		// ramp's signature.
		rejected bool
	}{
		{"forged: signed by alice, not ramp", checkpointRec("ckpt", alice, goodCheckpoint()), true},
		{"forged: unsigned", checkpointRec("ckpt", nil, goodCheckpoint()), true},
		{"release does not match the release field", checkpointRec("ckpt", rampKey, otherRelease), false},
		{"weight does not match the target's", checkpointRec("ckpt", rampKey, otherWeight), false},
		{"no anchor commit", checkpointRec("ckpt", rampKey, noAnchor), false},
		{"anchor is not an abort or rollback", checkpointRec("ckpt", rampKey, stepAnchor), false},
		{"the commit edits the rollout's files", edits, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if Anchors(c.rec, "demo", "2.0", "1.0", 0) {
				t.Fatal("Anchors accepts it")
			}
			// Incremental: the state stays the abort's (plus the rejection).
			got := foldAll(append(recs, c.rec)...)
			want := aborted
			if c.rejected {
				if len(got.Rejected) != 1 || got.Rejected[0].Commit != "ckpt" || !strings.Contains(got.Rejected[0].Reason, "not signed by ramp's key") {
					t.Fatalf("rejected %+v, want the forged checkpoint", got.Rejected)
				}
				want.Rejected = got.Rejected
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("fold after it:\n%+v\nwant\n%+v", got, want)
			}
			// From scratch: it does not become the anchored state.
			if s := Fold(base, foldRollout(), c.rec, DefaultGuardrails()); s.Phase == PhaseAborted {
				t.Fatalf("folded from the base it gives %+v", s)
			}
		})
	}
}

// TestAuditRowOfACheckpointSaysWhatItClaimsAndChecksIt: the audit shows
// ramp's checkpoint as a row with what it restates; when the history
// before it folds to another state (another step, a rejection the
// checkpoint drops), the row has a finding (--verify fails).
func TestAuditRowOfACheckpointSaysWhatItClaimsAndChecksIt(t *testing.T) {
	before := foldAll(abortedHistory()...)
	wrongStep := goodCheckpoint()
	wrongStep.Step = 3
	withRejection := before
	withRejection.Rejected = []Rejection{{Commit: "late", Reason: "release 2.0 is not in progress"}}
	cases := []struct {
		name    string
		before  State
		e       Entry
		finding string
	}{
		{"a true claim", before, goodCheckpoint(), ""},
		{"another step than history's", before, wrongStep, "checkpoint claims release 2.0 abort at abort (step 3, weight 0%), but the history before it folds to release 2.0 Aborted (last commit abort, step 1, weight 0%, 0 holds, 0 rejections)"},
		{"history holds a rejection it drops", withRejection, goodCheckpoint(), "1 rejections"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := checkpointRec("ckpt", rampKey, c.e)
			after := Fold(c.before, foldRollout(), rec, DefaultGuardrails())
			row := AuditRecord(foldRollout(), c.before, after, rec)
			if row == nil || row.What != "checkpoint" || row.Release != "2.0" {
				t.Fatalf("row %+v, want a checkpoint row of 2.0", row)
			}
			if !strings.Contains(row.Reason, "restates: release 2.0 abort at abort") || !strings.Contains(row.Reason, "gate error-rate failed") {
				t.Fatalf("reason %q does not say what it restates", row.Reason)
			}
			switch {
			case c.finding == "" && len(row.Findings) > 0:
				t.Fatalf("findings %q on a true claim", row.Findings)
			case c.finding != "" && (len(row.Findings) != 1 || !strings.Contains(row.Findings[0], c.finding)):
				t.Fatalf("findings %q, want one with %q", row.Findings, c.finding)
			}
		})
	}
}

package policy

import (
	"strings"
	"testing"
)

// offLine marks rec as off the release branch's first-parent history
// (merged in, or on the commands ref), descending from the commits
// descends says yes to; commits not named are unknown.
func offLine(rec *Record, descends map[string]bool) *Record {
	rec.Ancestry = &Ancestry{Descends: descends}
	return rec
}

// inStep2 is release 1.1 of demo waiting at step 2 (an approval of sre),
// entered by ramp's commit s2.
func inStep2() []*Record {
	return []*Record{startRelease("1.1"), rampStep("s1", "1.1", 1, ActionSetWeight, 10), rampStep("s2", "1.1", 2, ActionPause, 10)}
}

func TestFoldCountsAnOffLineCommandOnlyWhereItDescendsFromTheRelease(t *testing.T) {
	both := map[string]bool{"start-1.1": true, "s2": true}
	approve := Command{Kind: CommandApprove, Release: "1.1", Step: 2}
	cases := []struct {
		name string
		rec  *Record
		// reject is what the rejection says; "" when the command counts.
		reject string
		// foreign: the rejection is a finding (another history's command).
		foreign bool
	}{
		{"on the first-parent history", cmd("a", alice, approve), "", false},
		{"merged from a branch forked after the step was entered", offLine(cmd("a", alice, approve), both), "", false},
		{"from another history", offLine(cmd("a", alice, approve), map[string]bool{"start-1.1": false, "s2": false}),
			"Ramp-Approve commit a does not descend from the start of release 1.1 (start-1.1) on the release branch: a command counts only in this repository's history", true},
		{"forked before the step was entered", offLine(cmd("a", alice, approve), map[string]bool{"start-1.1": true, "s2": false}),
			"does not descend from ramp's commit s2 that entered step 2 of release 1.1: a step approval counts only from a commit made after the step was entered", true},
		{"ancestry unknown", offLine(cmd("a", alice, approve), nil),
			"(its ancestry was not established): a command counts only in this repository's history", true},
		{"ancestry past the walk's bound", func() *Record {
			rec := offLine(cmd("a", alice, approve), map[string]bool{})
			rec.Ancestry.Unknown = "more than 200000 commits between them"
			return rec
		}(), "its ancestry could not be established: more than 200000 commits between them", true},
		{"for a step not yet entered", offLine(cmd("a", alice, Command{Kind: CommandApprove, Release: "1.1", Step: 4}), both),
			"approves step 4, which is not the step in progress of release 1.1 (step 2)", true},
		{"a freeze exception from another history", offLine(cmd("f", alice, Command{Kind: CommandApprove, Release: "1.1", Freeze: "year-end"}),
			map[string]bool{"start-1.1": false}), "does not descend from the start of release 1.1", true},
		{"a migration approval from another history", offLine(cmd("m", dba, Command{Kind: CommandApprove, Release: "1.1", Migration: MigrationExpand}),
			map[string]bool{"start-1.1": false}), "does not descend from the start of release 1.1", true},
		{"an abort from another history", offLine(cmd("x", alice, Command{Kind: CommandAbort, Release: "1.1", Reason: "no"}),
			map[string]bool{"start-1.1": false}), "Ramp-Abort commit x does not descend from the start", true},
		{"an abort merged from this history", offLine(cmd("x", alice, Command{Kind: CommandAbort, Release: "1.1", Reason: "no"}),
			map[string]bool{"start-1.1": true}), "", false},
		{"a pause from another history", offLine(cmd("p", alice, Command{Kind: CommandPause, Release: "1.1"}),
			map[string]bool{"start-1.1": false}), "Ramp-Pause commit p does not descend from the start", true},
		{"a resume from another history", offLine(cmd("r", carol, Command{Kind: CommandResume, Release: "1.1"}),
			map[string]bool{"start-1.1": false}), "Ramp-Resume commit r does not descend from the start", true},
	}
	g := DefaultGuardrails()
	g.Freeze.ExceptionGroups = []string{"sre"}
	g.Migrations.ExpandGroups = []string{"dba"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Base("demo", "1.0", "1.0", 0)
			for _, rec := range inStep2() {
				s = Fold(s, foldRollout(), rec, g)
			}
			// Given in a commit of its own, and merged in by a merge.
			direct := Fold(s, foldRollout(), tc.rec, g)
			merge := &Record{Commit: "merge", Author: "dev@example.com", Signer: dev, Merged: []*Record{tc.rec}}
			merged := Fold(s, foldRollout(), merge, g)
			for how, after := range map[string]State{"direct": direct, "merged": merged} {
				if tc.reject == "" {
					if len(after.Rejected) != 0 {
						t.Fatalf("%s: rejected %+v, want the command to count", how, after.Rejected)
					}
					continue
				}
				if len(after.Rejected) != 1 || !strings.Contains(after.Rejected[0].Reason, tc.reject) || after.Rejected[0].Foreign != tc.foreign {
					t.Fatalf("%s: rejected %+v, want one saying %q (foreign %v)", how, after.Rejected, tc.reject, tc.foreign)
				}
				if len(after.Approvals) != 0 || after.AbortBy != nil || after.PausedBy != nil {
					t.Fatalf("%s: a rejected command took effect: %+v", how, after)
				}
			}
		})
	}
}

func TestFoldJudgesAResumeOverADriftOffTheReleaseBranchByTheHoldsCommit(t *testing.T) {
	g := DefaultGuardrails()
	w := 30
	s := Base("demo", "1.0", "1.0", 0)
	edit := &Record{Commit: "edit", Author: "dev@example.com", Signer: dev, Changes: map[string]Change{"demo": {Target: true, Weight: &w}}}
	s = Fold(s, foldRollout(), edit, g)
	if s.DriftWeight == nil {
		t.Fatalf("no drift after a hand edit: %+v", s)
	}
	resume := Command{Kind: CommandResume, Release: "1.0", Reason: "reviewed"}
	if after := Fold(s, foldRollout(), offLine(cmd("r", carol, resume), map[string]bool{"edit": false}), g); len(after.Rejected) != 1 ||
		!strings.Contains(after.Rejected[0].Reason, "does not descend from commit edit that caused the hold") || after.DriftWeight == nil {
		t.Fatalf("resume from before the hold: %+v", after)
	}
	if after := Fold(s, foldRollout(), offLine(cmd("r", carol, resume), map[string]bool{"edit": true}), g); len(after.Rejected) != 0 || len(after.Resumes) != 1 {
		t.Fatalf("resume after the hold: rejected %+v, resumes %+v", after.Rejected, after.Resumes)
	}
}

func TestFoldFleetCountsAnOffLineCommandOnlyWhereItDescendsFromTheRelease(t *testing.T) {
	g := DefaultGuardrails()
	fs := FleetState{Rollout: "demo", Release: "1.1", StartCommit: "start-1.1"}
	abort := Command{Kind: CommandAbort, Release: "1.1", Reason: "no"}
	after := FoldFleet(fs, foldRollout(), offLine(cmd("x", alice, abort), map[string]bool{"start-1.1": false}), g)
	if after.AbortBy != nil || len(after.Rejected) != 1 || !after.Rejected[0].Foreign ||
		!strings.Contains(after.Rejected[0].Reason, "Ramp-Abort commit x does not descend from the start of release 1.1 (start-1.1)") {
		t.Fatalf("abort from another history: %+v", after)
	}
	if after := FoldFleet(fs, foldRollout(), offLine(cmd("x", alice, abort), map[string]bool{"start-1.1": true}), g); after.AbortBy == nil || len(after.Rejected) != 0 {
		t.Fatalf("abort merged from this history: %+v", after)
	}
}

func TestAuditRecordMakesACommandFromAnotherHistoryAFinding(t *testing.T) {
	g := DefaultGuardrails()
	s := Base("demo", "1.0", "1.0", 0)
	for _, rec := range inStep2() {
		s = Fold(s, foldRollout(), rec, g)
	}
	rec := offLine(cmd("a", alice, Command{Kind: CommandApprove, Release: "1.1", Step: 2}), map[string]bool{"start-1.1": false})
	after := Fold(s, foldRollout(), rec, g)
	row := AuditRecord(foldRollout(), s, after, rec)
	if row == nil || len(row.Rejected) != 1 || len(row.Findings) != 1 || !strings.Contains(row.Findings[0], "a command counts only in this repository's history") {
		t.Fatalf("audit row %+v, want the rejection listed and a finding", row)
	}
	// A command rejected for another reason (here: unsigned) is listed,
	// not a finding.
	unsigned := offLine(cmd("u", nil, Command{Kind: CommandApprove, Release: "1.1", Step: 2}), map[string]bool{"start-1.1": false})
	after = Fold(s, foldRollout(), unsigned, g)
	if row := AuditRecord(foldRollout(), s, after, unsigned); row == nil || len(row.Rejected) != 1 || len(row.Findings) != 0 {
		t.Fatalf("audit row %+v, want the unsigned command listed as rejected, no finding", row)
	}
}

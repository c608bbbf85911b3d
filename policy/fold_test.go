package policy

import (
	"strings"
	"testing"
	"time"
)

// foldRollout: 1 setWeight 10, 2 approval sre, 3 setWeight 50, 4 approval sre.
func foldRollout() *Rollout {
	r := planRollout()
	r.Spec.Strategy.Canary.Steps = []Step{
		{SetWeight: intp(10)},
		{Approval: &ApprovalReq{Group: "sre", Count: 1}},
		{SetWeight: intp(50)},
		{Approval: &ApprovalReq{Group: "sre", Count: 1}},
	}
	return r
}

var (
	rampKey = &Signer{Principal: "ramp@localhost", Key: "SHA256:ramp", Groups: []string{RampGroup}}
	alice   = &Signer{Principal: "alice@example.com", Key: "SHA256:alice", Groups: []string{"sre"}}
	dba     = &Signer{Principal: "dan@example.com", Key: "SHA256:dan", Groups: []string{"dba"}}
	dev     = &Signer{Principal: "dev@example.com", Key: "SHA256:dev", Groups: []string{"sre"}}
)

func str(s string) *string { return &s }

// history builders: each returns one record.
func startRelease(v string) *Record {
	return &Record{Commit: "start-" + v, Author: "dev@example.com", Time: t0,
		Changes: map[string]Change{"demo": {Release: str(v)}}}
}

func rampStep(commit, release string, step int, a Action, weight int) *Record {
	return &Record{Commit: commit, Author: "ramp@localhost", Time: t0.Add(time.Minute), Signer: rampKey,
		Entries: []Entry{{Rollout: "demo", Release: release, Step: step, Steps: 4, Action: a, Weight: weight}},
		Changes: map[string]Change{"demo": {Target: true}}}
}

func cmd(commit string, by *Signer, c Command) *Record {
	author := "someone@example.com"
	if by != nil {
		author = by.Principal
	}
	c.Rollout = "demo"
	return &Record{Commit: commit, Author: author, Signer: by, SignatureError: map[bool]string{true: "unsigned"}[by == nil], Commands: []Command{c}}
}

// carol is a second approver in sre.
var carol = &Signer{Principal: "carol@example.com", Key: "SHA256:carol", Groups: []string{"sre"}}

// aliceLaptop is a second key of alice's.
var aliceLaptop = &Signer{Principal: "Alice@example.com", Key: "SHA256:alice-laptop", Groups: []string{"sre"}}

func signedBy(rec *Record, s *Signer) *Record {
	rec.Signer, rec.SignatureError = s, ""
	return rec
}

func authoredBy(rec *Record, email string) *Record {
	rec.Author = email
	return rec
}

func mergedFrom(rec *Record, signers ...string) *Record {
	rec.MergedSigners = signers
	return rec
}

func foldAll(recs ...*Record) State {
	s := Base("demo", "1.0", "1.0", 0)
	for _, r := range recs {
		s = Fold(s, foldRollout(), r, DefaultGuardrails())
	}
	return s
}

func TestFold(t *testing.T) {
	approve := func(commit string, by *Signer, release string, step int) *Record {
		return cmd(commit, by, Command{Kind: CommandApprove, Release: release, Step: step})
	}
	tests := []struct {
		name      string
		history   []*Record
		phase     Phase
		step      int
		weight    int
		approvals int
		holds     int
		rejected  string // substring of the last rejection's reason
	}{
		{name: "no history: stable", phase: PhaseStable},
		{name: "release field changed: progressing from step 0", history: []*Record{startRelease("2.0")}, phase: PhaseProgressing},
		{name: "ramp's step commit: step 1 at 10", history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10)},
			phase: PhaseProgressing, step: 1, weight: 10},
		{name: "approval from sre counts",
			history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10), rampStep("s2", "2.0", 2, ActionPause, 10), approve("a1", alice, "2.0", 2)},
			phase:   PhaseProgressing, step: 2, weight: 10, approvals: 1},
		{name: "same key approving twice counts once",
			history: []*Record{startRelease("2.0"), approve("a1", alice, "2.0", 2), approve("a2", alice, "2.0", 2)},
			phase:   PhaseProgressing, approvals: 1},
		{name: "unsigned approval is rejected",
			history: []*Record{startRelease("2.0"), approve("a1", nil, "2.0", 2)}, phase: PhaseProgressing, rejected: "unsigned"},
		{name: "approval by another group is rejected",
			history: []*Record{startRelease("2.0"), approve("a1", dba, "2.0", 2)}, phase: PhaseProgressing, rejected: "not in group sre"},
		{name: "the release's signer cannot approve it",
			history: []*Record{signedBy(startRelease("2.0"), dev), approve("a1", dev, "2.0", 2)}, phase: PhaseProgressing, rejected: "dev@example.com signed the start of release 2.0 and cannot approve it"},
		{name: "who signed the commits a merge brought in cannot approve it",
			history: []*Record{mergedFrom(signedBy(startRelease("2.0"), rampKey), "dev@example.com"), approve("a1", dev, "2.0", 2)}, phase: PhaseProgressing, rejected: "dev@example.com signed the start of release 2.0"},
		{name: "the author field of an unsigned start is no identity: the approval counts",
			history: []*Record{startRelease("2.0"), approve("a1", dev, "2.0", 2)}, phase: PhaseProgressing, approvals: 1},
		{name: "an approval authored under another e-mail is credited to its signer",
			history: []*Record{signedBy(startRelease("2.0"), dev), authoredBy(approve("a1", alice, "2.0", 2), "dev@example.com")}, phase: PhaseProgressing, approvals: 1},
		{name: "two keys of one person count once",
			history: []*Record{startRelease("2.0"), approve("a1", alice, "2.0", 2), approve("a2", aliceLaptop, "2.0", 2)}, phase: PhaseProgressing, approvals: 1},
		{name: "approval for another release is rejected",
			history: []*Record{startRelease("2.0"), approve("a1", alice, "1.9", 2)}, phase: PhaseProgressing, rejected: "current release is 2.0"},
		{name: "approval of a step that is no approval step is rejected",
			history: []*Record{startRelease("2.0"), approve("a1", alice, "2.0", 3)}, phase: PhaseProgressing, rejected: "not an approval step"},
		{name: "approval of a step that does not exist is rejected",
			history: []*Record{startRelease("2.0"), approve("a1", alice, "2.0", 9)}, phase: PhaseProgressing, rejected: "does not exist"},
		{name: "ramp trailers without ramp's signature are rejected and change nothing",
			history: []*Record{startRelease("2.0"), func() *Record { r := rampStep("s1", "2.0", 1, ActionSetWeight, 10); r.Signer = alice; return r }()},
			phase:   PhaseProgressing, holds: 1, rejected: "not signed by ramp"},
		{name: "hand edit of the weights mid-release holds",
			history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10),
				{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true}}}},
			phase: PhaseProgressing, step: 1, weight: 10, holds: 1},
		{name: "signed resumes with reasons by two people clear the hold",
			history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10),
				{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true}}},
				cmd("r1", alice, Command{Kind: CommandResume, Release: "2.0", Reason: "hotfix, agreed"}),
				cmd("r2", carol, Command{Kind: CommandResume, Release: "2.0", Reason: "agreed"})},
			phase: PhaseProgressing, step: 1, weight: 10},
		{name: "one person's resume over a hold is not enough",
			history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10),
				{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true}}},
				cmd("r1", alice, Command{Kind: CommandResume, Release: "2.0", Reason: "hotfix"}),
				cmd("r2", aliceLaptop, Command{Kind: CommandResume, Release: "2.0", Reason: "hotfix"})},
			phase: PhaseProgressing, step: 1, weight: 10, holds: 1},
		{name: "a resume over a hold without a reason is rejected",
			history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10),
				{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true}}},
				cmd("r1", alice, Command{Kind: CommandResume, Release: "2.0"})},
			phase: PhaseProgressing, step: 1, weight: 10, holds: 1, rejected: "needs reason="},
		{name: "whoever signed the hand edit cannot resume over it",
			history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10),
				signedBy(&Record{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true}}}, alice),
				cmd("r1", alice, Command{Kind: CommandResume, Release: "2.0", Reason: "mine"})},
			phase: PhaseProgressing, step: 1, weight: 10, holds: 1, rejected: "alice@example.com signed commit edit that caused the hold and cannot resume over it"},
		{name: "a release commit that also moves the weights holds",
			history: []*Record{{Commit: "start-2.0", Author: "dev@example.com", Changes: map[string]Change{"demo": {Release: str("2.0"), Target: true}}}},
			phase:   PhaseProgressing, holds: 1},
		{name: "spec edited mid-release holds",
			history: []*Record{startRelease("2.0"), {Commit: "spec", Author: "bob@example.com", Changes: map[string]Change{"demo": {Spec: true}}}},
			phase:   PhaseProgressing, holds: 1},
		{name: "a hand edit of the target that keeps ramp's weight while stable does not hold",
			history: []*Record{{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true, Weight: intp(0)}}}},
			phase:   PhaseStable},
		{name: "a hand edit of the weights while stable is drift: it holds",
			history: []*Record{{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true, Weight: intp(23)}}}},
			phase:   PhaseStable, holds: 1},
		{name: "a release does not start on top of drift",
			history: []*Record{{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true, Weight: intp(23)}}}, startRelease("2.0")},
			phase:   PhaseProgressing, holds: 1},
		{name: "drift accepted by two people's resumes",
			history: []*Record{{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true, Weight: intp(23)}}},
				cmd("r1", alice, Command{Kind: CommandResume, Release: "1.0", Reason: "load test"}),
				cmd("r2", carol, Command{Kind: CommandResume, Release: "1.0", Reason: "load test"})},
			phase: PhaseStable, weight: 23},
		{name: "ramp's restore ends the drift",
			history: []*Record{{Commit: "edit", Author: "bob@example.com", Changes: map[string]Change{"demo": {Target: true, Weight: intp(23)}}},
				rampStep("rs", "1.0", 0, ActionRestore, 0)},
			phase: PhaseStable},
		{name: "pause then resume",
			history: []*Record{startRelease("2.0"), cmd("p", alice, Command{Kind: CommandPause, Release: "2.0"})}, phase: PhasePaused},
		{name: "abort by ramp: aborted at weight 0",
			history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10),
				cmd("x", alice, Command{Kind: CommandAbort, Release: "2.0", Reason: "bad"}), rampStep("ab", "2.0", 1, ActionAbort, 0)},
			phase: PhaseAborted, step: 1, weight: 0},
		{name: "promote then complete: stable again",
			history: []*Record{startRelease("2.0"), rampStep("s1", "2.0", 4, ActionPause, 50),
				func() *Record {
					r := rampStep("pr", "2.0", 0, ActionPromote, 50)
					r.Changes["demo"] = Change{Stable: str("2.0")}
					return r
				}(), rampStep("done", "2.0", 0, ActionComplete, 0)},
			phase: PhaseStable},
		{name: "a command after completion is rejected",
			history: []*Record{startRelease("2.0"), rampStep("pr", "2.0", 0, ActionPromote, 50), rampStep("done", "2.0", 0, ActionComplete, 0),
				approve("late", alice, "2.0", 4)},
			phase: PhaseStable, rejected: "not in progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := foldAll(tt.history...)
			if s.Phase != tt.phase || s.Step != tt.step || s.Weight != tt.weight || len(s.Approvals) != tt.approvals || len(s.Holds) != tt.holds {
				t.Fatalf("got phase %s step %d weight %d approvals %d holds %d (%+v), want %s step %d weight %d approvals %d holds %d",
					s.Phase, s.Step, s.Weight, len(s.Approvals), len(s.Holds), s.Holds, tt.phase, tt.step, tt.weight, tt.approvals, tt.holds)
			}
			if tt.rejected == "" {
				if len(s.Rejected) > 0 {
					t.Fatalf("unexpected rejection: %+v", s.Rejected)
				}
				return
			}
			if len(s.Rejected) == 0 || !strings.Contains(s.Rejected[len(s.Rejected)-1].Reason, tt.rejected) {
				t.Fatalf("rejections %+v, want one saying %q", s.Rejected, tt.rejected)
			}
		})
	}
}

func TestFoldNewReleaseSupersedesOneInFlight(t *testing.T) {
	s := foldAll(startRelease("2.0"), rampStep("s1", "2.0", 1, ActionSetWeight, 10), startRelease("2.1"))
	if s.Release != "2.1" || s.Superseded != "2.0" || s.Weight != 10 || s.Step != 0 {
		t.Fatalf("after a new release: %+v, want release 2.1 superseding 2.0 with its weight 10 still live", s)
	}
	d := Plan(foldRollout(), s, live, t0, DefaultGuardrails())
	if d.Action != ActionRollback || d.Release != "2.0" || d.Weight != 0 {
		t.Fatalf("plan %+v, want 2.0's traffic rolled back first", d)
	}
	s = Fold(s, foldRollout(), rampStep("rb", "2.0", 0, ActionRollback, 0), DefaultGuardrails())
	if s.Superseded != "" || s.Weight != 0 || s.Phase != PhaseProgressing {
		t.Fatalf("after the rollback: %+v, want 2.1 progressing from weight 0", s)
	}
	d = Plan(foldRollout(), s, live, t0, DefaultGuardrails())
	if d.Action != ActionSetWeight || d.Step != 1 || d.Release != "2.1" {
		t.Fatalf("plan %+v, want 2.1 step 1", d)
	}
}

func TestFoldRevertOfReleaseFieldByRampEndsStable(t *testing.T) {
	rb := rampStep("rb", "2.0", 0, ActionRollback, 0)
	rb.Changes["demo"] = Change{Release: str("1.0")}
	s := foldAll(startRelease("2.0"), rampStep("ab", "2.0", 1, ActionAbort, 0), rb)
	if s.Phase != PhaseStable || s.Release != "1.0" {
		t.Fatalf("got %+v, want stable at 1.0", s)
	}
}

func TestFoldAppliesTheGuardrailsCommandRules(t *testing.T) {
	engineer := &Signer{Principal: "erin@example.com", Key: "SHA256:erin", Groups: []string{"dev"}}
	oncall := &Signer{Principal: "olga@example.com", Key: "SHA256:olga", Groups: []string{"oncall"}}
	edit := &Record{Commit: "edit", Author: "erin@example.com", Changes: map[string]Change{"demo": {Target: true}}}
	g := DefaultGuardrails()
	g.EngineerGroups = []string{"dev"}
	g.Commands.Abort.Groups = []string{"oncall", "sre"}
	g.Commands.Pause.Groups = []string{"sre"}
	g.Commands.Approve.Groups = []string{"sre"}
	g.Commands.Resume.Count = 1
	pauseStep := foldRollout()
	pauseStep.Spec.Strategy.Canary.Steps[1] = Step{Pause: &Pause{}}
	tests := []struct {
		name      string
		r         *Rollout
		history   []*Record
		holds     int
		approvals int
		abort     bool
		phase     Phase
		rejected  string
	}{
		{name: "an engineer's key cannot resume over its own hand edit",
			history: []*Record{startRelease("2.0"), signedBy(edit, engineer), cmd("r", engineer, Command{Kind: CommandResume, Release: "2.0", Reason: "mine"})},
			holds:   1, phase: PhaseProgressing, rejected: "only in engineer groups dev and cannot resume over a hold"},
		{name: "a reviewer's resume with a reason clears it (count 1)",
			history: []*Record{startRelease("2.0"), signedBy(edit, engineer), cmd("r", alice, Command{Kind: CommandResume, Release: "2.0", Reason: "reviewed"})},
			phase:   PhaseProgressing},
		{name: "on-call may abort",
			history: []*Record{startRelease("2.0"), cmd("x", oncall, Command{Kind: CommandAbort, Release: "2.0", Reason: "pager"})},
			abort:   true, phase: PhaseProgressing},
		{name: "a dba key may not abort",
			history: []*Record{startRelease("2.0"), cmd("x", dba, Command{Kind: CommandAbort, Release: "2.0", Reason: "no"})},
			phase:   PhaseProgressing, rejected: "is in none of the groups oncall, sre, which may abort"},
		{name: "on-call may not pause",
			history: []*Record{startRelease("2.0"), cmd("p", oncall, Command{Kind: CommandPause, Release: "2.0"})},
			phase:   PhaseProgressing, rejected: "which may pause"},
		{name: "pause: {} takes the approve groups, not any group",
			r:       pauseStep,
			history: []*Record{startRelease("2.0"), cmd("a", dba, Command{Kind: CommandApprove, Release: "2.0", Step: 2})},
			phase:   PhaseProgressing, rejected: "which approves pause steps"},
		{name: "pause: {} approved by sre",
			r:         pauseStep,
			history:   []*Record{startRelease("2.0"), cmd("a", alice, Command{Kind: CommandApprove, Release: "2.0", Step: 2})},
			approvals: 1, phase: PhaseProgressing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			if r == nil {
				r = foldRollout()
			}
			s := Base("demo", "1.0", "1.0", 0)
			for _, rec := range tt.history {
				s = Fold(s, r, rec, g)
			}
			if s.Phase != tt.phase || len(s.Holds) != tt.holds || len(s.Approvals) != tt.approvals || (s.AbortBy != nil) != tt.abort {
				t.Fatalf("phase %s holds %d approvals %d abort %v, want %s %d %d %v (rejected %+v)",
					s.Phase, len(s.Holds), len(s.Approvals), s.AbortBy != nil, tt.phase, tt.holds, tt.approvals, tt.abort, s.Rejected)
			}
			if tt.rejected == "" && len(s.Rejected) > 0 {
				t.Fatalf("rejected %+v, want none", s.Rejected)
			}
			if tt.rejected != "" && (len(s.Rejected) == 0 || !strings.Contains(s.Rejected[len(s.Rejected)-1].Reason, tt.rejected)) {
				t.Fatalf("rejected %+v, want the last to say %q", s.Rejected, tt.rejected)
			}
		})
	}
}

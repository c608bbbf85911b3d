package gitsync_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// stagingApproval makes another release repository ("staging") holding
// rollout demo too, where dev starts release 1.1.0 and alice approves its
// step 2 with her own key, and fetches its main into the person's clone
// as branch staging. It returns alice's approval commit.
func (w *world) stagingApproval() string {
	w.t.Helper()
	dir := filepath.Join(w.t.TempDir(), "staging")
	gittest.InitRepo(w.t, dir, gittest.RolloutFiles("demo", "1.0.0"))
	in := func(who string, args ...string) string {
		w.t.Helper()
		return gittest.Git(w.t, dir, gittest.GitEnv(w.t.TempDir(), w.keys[who].env...), args...)
	}
	gittest.WriteFiles(w.t, dir, map[string]string{"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "1.1.0")})
	in("dev", "commit", "-q", "-S", "-am", "demo: release 1.1.0 (staging)")
	in("alice", "commit", "-q", "-S", "--allow-empty", "-m", "approve demo 1.1.0 step 2 in staging",
		"--trailer", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	w.git("dev", "fetch", "-q", dir, "main:staging")
	return in("alice", "rev-parse", "HEAD")
}

// wantForeign checks that o's state rejects commit sha, for a reason
// that says it does not descend from what it must, as a foreign command.
func wantForeign(t *testing.T, o policy.State, sha, what string) {
	t.Helper()
	for _, rj := range o.Rejected {
		if rj.Commit == sha {
			if !rj.Foreign || !strings.Contains(rj.Reason, what) {
				t.Fatalf("rejection of %s: %+v, want a foreign command rejected saying %q", sha, rj, what)
			}
			return
		}
	}
	t.Fatalf("rejections %+v, want one of commit %s saying %q", o.Rejected, sha, what)
}

// wantAuditFinding checks that the audit of demo (with the commands ref's
// commands, when commandsRef is set) lists commit sha as a rejected
// command and reports it as a finding, as `ramp audit --verify` does.
func (w *world) wantAuditFinding(commandsRef, sha string) {
	w.t.Helper()
	d := w.loop.Deriver()
	var cmds []*policy.Record
	if commandsRef != "" {
		ctip, err := w.loop.Repo().FetchCommands(context.Background(), commandsRef)
		if err != nil {
			w.t.Fatal(err)
		}
		if cmds, err = d.Commands(ctip, w.snap.Tip, time.Time{}); err != nil {
			w.t.Fatal(err)
		}
	}
	a, err := d.AuditRollout(w.snap.Tip, w.snap.Rollouts["demo"], "", cmds...)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, row := range a.Rows {
		if row.Commit != sha {
			continue
		}
		if len(row.Rejected) != 1 || len(row.Findings) != 1 || a.Findings == 0 ||
			!strings.Contains(row.Findings[0], "a command counts only in this repository's history") {
			w.t.Fatalf("audit row of %s: %+v (findings %d), want it rejected and a finding", sha, row, a.Findings)
		}
		for _, rec := range a.Releases {
			for _, ov := range rec.Overrides {
				if ov.Commit == sha && !ov.Accepted && strings.Contains(ov.Rejected, "does not descend") {
					return
				}
			}
		}
		w.t.Fatalf("release records %+v, want an override of %s rejected", a.Releases, sha)
	}
	w.t.Fatalf("audit rows %+v, want one for %s", a.Rows, sha)
}

// TestAnApprovalFromAnotherRepositoryOnTheCommandsRefIsRejected: alice's
// signed approval of step 2 of demo 1.1.0, given in a staging repository,
// fetched onto the commands ref (git fetch STAGING main:x; git branch -f
// ramp/commands x) does not move production's rollout of the same name,
// release and step: it is listed as rejected, saying it does not descend
// from the release's start. An approval alice builds on main and pushes
// to the commands ref counts.
func TestAnApprovalFromAnotherRepositoryOnTheCommandsRefIsRejected(t *testing.T) {
	w := newWorld(t)
	w.cfg.CommandsRef = "ramp/commands"
	w.loop = w.newLoop()
	start := w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)

	replayed := w.stagingApproval()
	w.git("dev", "push", "-q", "origin", "staging:refs/heads/ramp/commands")
	o := w.expect(policy.ActionNone, 2, 10)
	wantForeign(t, o.State, replayed, "does not descend from the start of release 1.1.0 ("+start[:10]+")")
	if len(o.State.Approvals) != 0 {
		t.Fatalf("approvals %+v, want none from another repository", o.State.Approvals)
	}
	w.wantAuditFinding("ramp/commands", replayed)

	// The legitimate case: the commands ref built on main.
	w.pull()
	w.git("alice", "commit", "-q", "-S", "--allow-empty", "-m", "approve demo 1.1.0 step 2",
		"--trailer", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	approval := w.git("alice", "rev-parse", "HEAD")
	w.git("alice", "push", "-q", "-f", "origin", "HEAD:refs/heads/ramp/commands")
	w.git("alice", "reset", "-q", "--hard", "origin/main")
	o = w.expect(policy.ActionSetWeight, 3, 50)
	if got := o.Decision.Approved; len(got) != 1 || got[0].Commit != approval {
		t.Fatalf("step 3 records approvals %+v, want alice's %s from the commands ref", got, approval)
	}
}

// TestAnApprovalMergedFromAnUnrelatedHistoryIsRejected: the same staging
// approval merged into main with an unsigned `git merge -s ours
// --allow-unrelated-histories` does not move the rollout and is listed as
// rejected; an approval made in a pull request that branched after the
// step was entered, and merged, counts.
func TestAnApprovalMergedFromAnUnrelatedHistoryIsRejected(t *testing.T) {
	w := newWorld(t)
	start := w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)

	replayed := w.stagingApproval()
	w.pull()
	w.git("dev", "merge", "-q", "-s", "ours", "--allow-unrelated-histories", "--no-edit", "staging")
	w.git("dev", "push", "-q", "origin", "main")
	o := w.expect(policy.ActionNone, 2, 10)
	wantForeign(t, o.State, replayed, "does not descend from the start of release 1.1.0 ("+start[:10]+")")
	if len(o.State.Approvals) != 0 {
		t.Fatalf("approvals %+v, want none from another repository", o.State.Approvals)
	}
	// A fresh ramp derives the same from scratch.
	w.loop = w.newLoop()
	wantForeign(t, w.expect(policy.ActionNone, 2, 10).State, replayed, "does not descend from the start")
	w.wantAuditFinding("", replayed)

	// The legitimate case: a pull request branched after step 2 was
	// entered, merged.
	approval := w.prApproval("alice", "1.1.0", 2)
	o = w.expect(policy.ActionSetWeight, 3, 50)
	if got := o.Decision.Approved; len(got) != 1 || got[0].Commit != approval {
		t.Fatalf("step 3 records approvals %+v, want alice's %s from the merged pull request", got, approval)
	}
}

// prApproval has who approve step of release on a branch from main's
// tip, which dev merges (a merge commit, signed) and pushes. It returns
// the approval commit.
func (w *world) prApproval(who, release string, step int) string {
	w.t.Helper()
	w.pull()
	w.git(who, "checkout", "-q", "-b", "pr-"+who)
	w.git(who, "commit", "-q", "-S", "--allow-empty", "-m", "approve in a pull request",
		"--trailer", "Ramp-Approve: rollout=demo release="+release+" step="+strconv.Itoa(step))
	approval := w.git(who, "rev-parse", "HEAD")
	w.git("dev", "checkout", "-q", "main")
	w.mergePR("pr-" + who)
	return approval
}

// mergePR has dev merge branch into main with a signed merge commit and
// push it.
func (w *world) mergePR(branch string) {
	w.t.Helper()
	w.pull()
	w.git("dev", "merge", "-q", "--no-ff", "-S", "-m", "Merge "+branch, branch)
	w.git("dev", "push", "-q", "origin", "main")
	w.git("dev", "branch", "-q", "-D", branch)
}

// TestAStepApprovalFromABranchForkedBeforeTheStepIsRejected: alice
// approves step 2 on a branch forked while step 1 was in progress; merged
// once ramp entered step 2, the approval does not descend from ramp's
// commit that entered the step and is rejected, saying so.
func TestAStepApprovalFromABranchForkedBeforeTheStepIsRejected(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.pull()
	w.git("alice", "checkout", "-q", "-b", "early")
	w.git("alice", "commit", "-q", "-S", "--allow-empty", "-m", "approve step 2 ahead",
		"--trailer", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	early := w.git("alice", "rev-parse", "HEAD")
	w.git("dev", "checkout", "-q", "main")
	step2 := w.expect(policy.ActionPause, 2, 10).Commit.String()

	w.mergePR("early")
	o := w.expect(policy.ActionNone, 2, 10)
	wantForeign(t, o.State, early, "does not descend from ramp's commit "+step2[:10]+" that entered step 2")
	if len(o.State.Approvals) != 0 {
		t.Fatalf("approvals %+v, want none", o.State.Approvals)
	}
}

package gitsync_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// protectMain installs a pre-receive hook in the server's repository that
// lets only ramp and dev (who merges pull requests) put commits on main's
// first-parent history, as branch protection does: approvers cannot push
// to main. Commits a merge brings in are not checked (they were reviewed
// in the pull request).
func (w *world) protectMain() {
	w.t.Helper()
	bare := filepath.Join(w.server.Root(), "release.git")
	signers := filepath.Join(w.t.TempDir(), "allowed_signers")
	var lines []string
	for _, f := range []string{"ramp.allowed_signers", "sre.allowed_signers"} {
		data, err := os.ReadFile(filepath.Join(w.approvers, f))
		if err != nil {
			w.t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(string(data)))
	}
	if err := os.WriteFile(signers, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	gittest.Git(w.t, bare, gittest.GitEnv(w.t.TempDir()), "config", "gpg.ssh.allowedSignersFile", signers)
	hook := `#!/bin/sh
while read old new ref; do
  [ "$ref" = refs/heads/main ] || continue
  range=$new
  [ "$old" = 0000000000000000000000000000000000000000 ] || range=$old..$new
  for c in $(git rev-list --first-parent "$range"); do
    signer=$(git log -1 --format=%GS "$c")
    case "$signer" in
      ramp@localhost|dev@example.com) ;;
      *) echo "main is protected: commit $c is signed by '$signer', not by ramp or a maintainer" >&2; exit 1 ;;
    esac
  done
done
`
	if err := os.WriteFile(filepath.Join(bare, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		w.t.Fatal(err)
	}
}

func TestApprovalsPushedToTheCommandsRefMoveAReleaseOnAProtectedMain(t *testing.T) {
	w := newWorld(t)
	w.protectMain()
	w.cfg.CommandsRef = "ramp/commands"
	w.loop = w.newLoop()
	w.release("1.1.0") // dev may push to main
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)

	// alice cannot push her approval to main ...
	w.pull()
	w.git("alice", "commit", "-q", "-S", "--allow-empty", "-m", "approve demo 1.1.0 step 2",
		"--trailer", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	if out, err := gittest.GitResult(t, w.work, gittest.GitEnv(t.TempDir(), w.keys["alice"].env...), "push", "-q", "origin", "HEAD:main"); err == nil {
		t.Fatalf("the server let alice push to main: %s", out)
	}
	// ... so she pushes it to the commands ref.
	w.git("alice", "push", "-q", "origin", "HEAD:refs/heads/ramp/commands")
	approval := w.git("alice", "rev-parse", "HEAD")
	w.git("alice", "reset", "-q", "--hard", "origin/main")
	o := w.expect(policy.ActionSetWeight, 3, 50)
	if got := o.Decision.Approved; len(got) != 1 || got[0].Commit != approval || got[0].Principal != "alice@example.com" {
		t.Fatalf("step 3 records approvals %+v, want alice's %s from the commands ref", got, approval)
	}

	// A fresh ramp (new clone) audits main with the commands ref: clean,
	// and the approval is listed before the step that used it.
	w.loop = w.newLoop()
	w.pass()
	tip, err := w.loop.Repo().FetchCommands(t.Context(), "ramp/commands")
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := w.loop.Deriver().Commands(tip, w.snap.Tip, w.snap.States["demo"].StartedAt.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	audit, err := w.loop.Deriver().AuditRollout(w.snap.Tip, w.snap.Rollouts["demo"], "", cmds...)
	if err != nil {
		t.Fatal(err)
	}
	if audit.Findings != 0 || !auditNames(audit.Rows, approval, "Ramp-Approve") {
		t.Fatalf("audit: %d findings, rows %+v; want none and a Ramp-Approve row for %s", audit.Findings, audit.Rows, approval)
	}
	// Without the commands ref, main's history alone names an approval it
	// does not hold: audit says so.
	bare, err := w.loop.Deriver().AuditRollout(w.snap.Tip, w.snap.Rollouts["demo"], "")
	if err != nil || bare.Findings != 1 {
		t.Fatalf("audit without the commands ref: %d findings (%v), want 1", bare.Findings, err)
	}
}

func TestAnApprovalMergedThroughAPullRequestCounts(t *testing.T) {
	w := newWorld(t)
	w.protectMain()
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	// alice approves on a branch; dev merges her pull request.
	w.pull()
	w.git("alice", "checkout", "-q", "-b", "approve-1.1.0")
	w.git("alice", "commit", "-q", "-S", "--allow-empty", "-m", "approve demo 1.1.0 step 2",
		"--trailer", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	approval := w.git("alice", "rev-parse", "HEAD")
	w.git("alice", "push", "-q", "origin", "approve-1.1.0")
	w.git("dev", "checkout", "-q", "main")
	w.git("dev", "merge", "-q", "--no-ff", "-S", "-m", "Merge pull request: approve demo 1.1.0", "approve-1.1.0")
	w.git("dev", "push", "-q", "origin", "main")
	o := w.expect(policy.ActionSetWeight, 3, 50)
	if got := o.Decision.Approved; len(got) != 1 || got[0].Commit != approval {
		t.Fatalf("step 3 records approvals %+v, want alice's merged %s", got, approval)
	}
	w.loop = w.newLoop()
	w.pass()
	audit, err := w.loop.Deriver().AuditRollout(w.snap.Tip, w.snap.Rollouts["demo"], "")
	if err != nil {
		t.Fatal(err)
	}
	if audit.Findings != 0 || !auditNames(audit.Rows, approval, "Ramp-Approve") {
		t.Fatalf("audit: %d findings, rows %+v; want none, and a Ramp-Approve row for the merged %s", audit.Findings, audit.Rows, approval)
	}
}

// auditNames reports whether a row is about commit and, when what is set,
// says that is what it did.
func auditNames(rows []policy.AuditRow, commit, what string) bool {
	for _, r := range rows {
		if r.Commit == commit && (what == "" || r.What == what) {
			return true
		}
	}
	return false
}

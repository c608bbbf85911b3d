package gitsync_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// Identity is a verified signature, never an author or committer field:
// these tests make every commit with the system git (`git commit -S`).

// trust adds a line to one of the world's trust files and starts a fresh
// ramp that reads them.
func (w *world) trust(file, line string) {
	w.t.Helper()
	f, err := os.OpenFile(filepath.Join(w.approvers, file), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		w.t.Fatal(err)
	}
	w.loop = w.newLoop()
}

// newSSHPerson makes a person who signs with a new SSH key and returns
// the key's public line.
func (w *world) newSSHPerson(name, email string, env ...string) string {
	key, pub := gittest.SSHKey(w.t, w.t.TempDir(), name)
	w.keys[name] = person{email: email, env: append([]string{
		"GIT_AUTHOR_EMAIL=" + email, "GIT_COMMITTER_EMAIL=" + email,
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh",
		"GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1=" + key}, env...)}
	return pub
}

func TestSelfApprovalIsRejectedWhateverAuthorTheReleaseCommitClaims(t *testing.T) {
	w := newWorld(t)
	// dev (in sre) signs the release commit but writes someone else's
	// name into its author field, then approves it with the same key.
	w.pull()
	gittest.WriteFiles(t, w.work, map[string]string{"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "1.1.0")})
	w.git("dev", "commit", "-q", "-S", "--author", "Someone Else <someone@else.example>", "-am", "demo: release 1.1.0")
	w.git("dev", "push", "-q", "origin", "main")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	approval := w.approve("dev", "1.1.0", 2)
	o := w.expect(policy.ActionNone, 2, 10)
	rj := o.State.Rejected
	if len(rj) != 1 || rj[0].Commit != approval || rj[0].Reason != "dev@example.com signed the start of release 1.1.0 and cannot approve it" {
		t.Fatalf("rejections %+v, want dev's self-approval %s refused", rj, approval)
	}
}

func TestAnApprovalAuthoredUnderAnotherEmailIsCreditedToItsSigner(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0") // signed by dev
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	// alice approves from dev's workstation: the author field says dev.
	alice := w.keys["alice"]
	w.keys["alice"] = person{email: alice.email, env: append(append([]string(nil), alice.env...),
		"GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_EMAIL=dev@example.com")}
	approval := w.approve("alice", "1.1.0", 2)
	o := w.expect(policy.ActionSetWeight, 3, 50)
	if got := o.Decision.Approved; len(got) != 1 || got[0].Principal != "alice@example.com" || got[0].Commit != approval {
		t.Fatalf("step 3 records approvals %+v, want alice's commit %s", got, approval)
	}
}

func TestTwoKeysOfOnePersonCountOnce(t *testing.T) {
	w := newWorldWithSpec(t, policytest.CanaryYAML("demo", "setWeight: 10", "approval: {group: sre, count: 2}", "setWeight: 50"))
	w.trust("sre.allowed_signers", "alice@example.com "+w.newSSHPerson("alice-laptop", "alice@example.com"))
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	w.approve("alice", "1.1.0", 2)
	w.approve("alice-laptop", "1.1.0", 2)
	if o := w.expect(policy.ActionNone, 2, 10); len(o.State.Approvals) != 1 || !strings.Contains(o.Decision.Reason, "has 1") {
		t.Fatalf("approvals %+v (%s), want alice counted once", o.State.Approvals, o.Decision.Reason)
	}
	w.approve("bob", "1.1.0", 2)
	w.expect(policy.ActionSetWeight, 3, 50)
}

func TestAnEngineersKeyCannotResumeOverItsOwnHandEdit(t *testing.T) {
	w := newWorld(t)
	g := policy.DefaultGuardrails()
	g.EngineerGroups = []string{"dev"}
	g.Commands.Resume.Count = 1
	w.cfg.Guardrails = g
	w.trust("dev.allowed_signers", "erin@example.com "+w.newSSHPerson("erin", "erin@example.com"))
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.pull()
	gittest.WriteFiles(t, w.work, map[string]string{"apps/demo/route.yaml": gittest.Route("demo", 60)})
	edit := commitAs(w, "erin", "-S", "-am", "canary to 60 by hand")
	w.expect(policy.ActionNone, 1, 10)
	resume := w.command("erin", true, "resume demo", `Ramp-Resume: rollout=demo release=1.1.0 reason="mine, trust me"`)
	o := w.expect(policy.ActionNone, 1, 10)
	rj := o.State.Rejected
	if len(rj) != 1 || rj[0].Commit != resume || !strings.Contains(rj[0].Reason, "is only in engineer groups dev and cannot resume over a hold") {
		t.Fatalf("rejections %+v, want erin's resume over her edit %s refused", rj, edit)
	}
	w.command("alice", true, "resume demo", `Ramp-Resume: rollout=demo release=1.1.0 reason="reviewed the 60% edit"`)
	w.expect(policy.ActionPause, 2, 10)
}

// commitAs commits in the person's clone as who and pushes; it returns the commit.
func commitAs(w *world, who string, args ...string) string {
	w.t.Helper()
	w.git(who, append([]string{"commit", "-q"}, args...)...)
	w.git(who, "push", "-q", "origin", "main")
	return w.git(who, "rev-parse", "HEAD")
}

func TestABackdatedApprovalWithAnExpiredSSHKeyIsRejected(t *testing.T) {
	w := newWorld(t)
	// eve's key was valid until an hour ago; she dates her approval
	// three days back, when it was still valid.
	until := time.Now().Add(-time.Hour).UTC().Format("20060102150405Z")
	backdated := fmt.Sprintf("@%d +0000", time.Now().Add(-72*time.Hour).Unix())
	w.trust("sre.allowed_signers", fmt.Sprintf(`eve@example.com valid-before="%s" %s`, until, w.newSSHPerson("eve", "eve@example.com",
		"GIT_AUTHOR_DATE="+backdated, "GIT_COMMITTER_DATE="+backdated)))
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	approval := w.approve("eve", "1.1.0", 2)
	o := w.expect(policy.ActionNone, 2, 10)
	rj := o.State.Rejected
	if len(rj) != 1 || rj[0].Commit != approval || !strings.Contains(rj[0].Reason, "signing key not allowed") || !strings.Contains(rj[0].Reason, "expired") {
		t.Fatalf("rejections %+v, want eve's backdated approval %s refused as expired", rj, approval)
	}
}

func TestTrailerKeysInAnyCaseAreCommands(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	forged := w.command("mallory", false, "forged", "RAMP-APPROVE: rollout=demo release=1.1.0 step=2")
	o := w.expect(policy.ActionPause, 2, 10)
	if rj := o.State.Rejected; len(rj) != 1 || rj[0].Commit != forged {
		t.Fatalf("rejections %+v, want the unsigned RAMP-APPROVE %s listed", rj, forged)
	}
	w.command("alice", true, "stop", `RAMP-ABORT: rollout=demo release=1.1.0 reason="upper case still counts"`)
	o = w.expect(policy.ActionAbort, 2, 0)
	if !strings.Contains(o.Decision.Reason, "upper case still counts") {
		t.Fatalf("abort reason %q, want alice's", o.Decision.Reason)
	}
}

func TestAReleaseCommitThatAlsoMovesTheWeightsHolds(t *testing.T) {
	w := newWorld(t)
	w.pull()
	gittest.WriteFiles(t, w.work, map[string]string{
		"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "1.1.0"),
		"apps/demo/route.yaml":                gittest.Route("demo", 100),
	})
	start := commitAs(w, "dev", "-S", "-am", "demo: release 1.1.0, all traffic at once")
	o := w.expect(policy.ActionNone, 0, 0)
	if !strings.Contains(o.Decision.Reason, "started release 1.1.0 and also edited the traffic target") || !strings.Contains(o.Decision.Reason, start[:10]) {
		t.Fatalf("hold %q, want it to name the release commit %s that moved the weights", o.Decision.Reason, start[:10])
	}
	audit, err := w.loop.Deriver().AuditRollout(w.snap.Tip, w.snap.Rollouts["demo"], "")
	if err != nil {
		t.Fatal(err)
	}
	if audit.Findings != 1 {
		t.Fatalf("audit found %d findings, want 1: %+v", audit.Findings, audit.Rows)
	}
}

func TestDriftAfterCompletionIsSeenAndHoldsTheNextRelease(t *testing.T) {
	w := newWorldWithSpec(t, policytest.CanaryYAML("demo", "setWeight: 10"))
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPromote, 0, 10)
	w.expect(policy.ActionComplete, 0, 0)
	w.expect(policy.ActionNone, 0, 0)
	w.pull()
	gittest.WriteFiles(t, w.work, map[string]string{"apps/demo/route.yaml": gittest.Route("demo", 23)})
	edit := commitAs(w, "mallory", "-am", "route 77/23 by hand")
	o := w.expect(policy.ActionNone, 0, 0)
	if o.State.DriftWeight == nil || *o.State.DriftWeight != 23 || !strings.Contains(o.Decision.Reason, edit[:10]) || !strings.Contains(o.Decision.Reason, "to 23%") {
		t.Fatalf("state %+v, hold %q: want the drift to 23%% by %s seen", o.State.DriftWeight, o.Decision.Reason, edit[:10])
	}
	audit, err := w.loop.Deriver().AuditRollout(w.snap.Tip, w.snap.Rollouts["demo"], "")
	if err != nil {
		t.Fatal(err)
	}
	if audit.Findings != 1 || !strings.Contains(fmt.Sprint(audit.Rows[len(audit.Rows)-1].Findings), edit[:10]) {
		t.Fatalf("audit found %d findings, want 1 naming %s: %+v", audit.Findings, edit[:10], audit.Rows)
	}
	// A cold start sees the same drift.
	w.loop = w.newLoop()
	if o := w.expect(policy.ActionNone, 0, 0); o.State.DriftWeight == nil || *o.State.DriftWeight != 23 {
		t.Fatalf("after a restart: drift %v, want 23", o.State.DriftWeight)
	}
	// The next release does not start on top of it.
	w.release("1.2.0")
	if o := w.expect(policy.ActionNone, 0, 0); !strings.Contains(o.Decision.Reason, "to 23%") {
		t.Fatalf("next release: %q, want it held on the drift", o.Decision.Reason)
	}
}

func TestDriftIsRestoredWhenTheSpecSaysSo(t *testing.T) {
	w := newWorldWithSpec(t, policytest.CanaryYAML("demo", "setWeight: 10")+"  onDrift: restore\n")
	w.pull()
	gittest.WriteFiles(t, w.work, map[string]string{"apps/demo/route.yaml": gittest.Route("demo", 30)})
	edit := commitAs(w, "mallory", "-am", "route 70/30 by hand")
	o := w.expect(policy.ActionRestore, 0, 0)
	if !strings.Contains(o.Decision.Reason, edit[:10]) {
		t.Fatalf("restore %q, want it to name the edit %s", o.Decision.Reason, edit[:10])
	}
	w.pull()
	if route, err := os.ReadFile(filepath.Join(w.work, "apps/demo/route.yaml")); err != nil || string(route) != gittest.Route("demo", 0) {
		t.Fatalf("route after the restore:\n%s (%v)\nwant ramp's 100/0 back", route, err)
	}
	w.expect(policy.ActionNone, 0, 0)
	w.release("1.1.0") // the next release starts normally
	w.expect(policy.ActionSetWeight, 1, 10)
}

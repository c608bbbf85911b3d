package gitsync_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

func TestLoopTakesAReleaseThroughEveryStepToPromotion(t *testing.T) {
	w := newWorld(t)
	w.expect(policy.ActionNone, 0, 0)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	w.expect(policy.ActionNone, 2, 10) // waiting for sre
	w.approve("alice", "1.1.0", 2)
	o := w.expect(policy.ActionSetWeight, 3, 50)
	if len(o.Decision.Approved) != 1 || o.Decision.Approved[0].Principal != "alice@example.com" {
		t.Fatalf("step 3 records approvals %+v, want alice's", o.Decision.Approved)
	}
	w.expect(policy.ActionPause, 4, 50)
	w.approve("bob", "1.1.0", 4) // GPG-signed with plain git commit -S
	w.expect(policy.ActionPromote, 0, 50)
	w.expect(policy.ActionComplete, 0, 0)
	w.expect(policy.ActionNone, 0, 0)

	w.pull()
	for file, want := range map[string]string{
		"apps/demo/stable/kustomization.yaml": gittest.Kustomization("demo", "1.1.0"),
		"apps/demo/route.yaml":                gittest.Route("demo", 0),
	} {
		got, err := os.ReadFile(filepath.Join(w.work, file))
		if err != nil || string(got) != want {
			t.Errorf("%s after promotion:\n%s\nwant:\n%s", file, got, want)
		}
	}
	// Every commit ramp made verifies with the system git.
	env := gittest.GitEnv(t.TempDir(), "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=gpg.ssh.allowedSignersFile",
		"GIT_CONFIG_VALUE_0="+filepath.Join(w.approvers, "ramp.allowed_signers"))
	for _, line := range w.serverLog() {
		sha, subject, _ := strings.Cut(line, " ")
		if strings.HasPrefix(subject, "ramp:") {
			if out, err := gittest.GitResult(t, w.work, env, "verify-commit", sha); err != nil {
				t.Errorf("git verify-commit %s (%s): %v\n%s", sha, subject, err, out)
			}
		}
	}
}

func TestLoopLandsAfterAConcurrentHumanPushAndKeepsIt(t *testing.T) {
	var w *world
	var armed, raced atomic.Bool
	var human string
	w = newWorld(t, gittest.BeforeReceive(func() {
		if armed.Load() && raced.CompareAndSwap(false, true) {
			// Between ramp's fetch and its push, someone else pushes.
			human = w.command("alice", true, "unrelated docs change", "")
		}
	}))
	w.release("1.1.0")
	armed.Store(true)
	w.expect(policy.ActionSetWeight, 1, 10)
	if !raced.Load() {
		t.Fatal("the concurrent push never happened")
	}
	log := w.serverLog()
	if !strings.Contains(log[0], "ramp: demo 1.1.0 step 1/4 set-weight") {
		t.Fatalf("server tip is %q, want ramp's step 1", log[0])
	}
	if !strings.HasPrefix(log[1], human) {
		t.Fatalf("ramp's step should sit right on the human commit %s; history:\n%s", human, strings.Join(log, "\n"))
	}
	// Nothing was forced: the human commit is still in main's history.
	bare := filepath.Join(w.server.Root(), "release.git")
	gittest.Git(t, bare, gittest.GitEnv(t.TempDir()), "merge-base", "--is-ancestor", human, "main")
}

func TestLoopRestartedContinuesFromGitWithoutRepeatingAStep(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	before := len(w.serverLog())
	// A new ramp with nothing remembered (a crash after the push).
	w.loop = w.newLoop()
	w.expect(policy.ActionPause, 2, 10)
	w.loop = w.newLoop()
	w.expect(policy.ActionNone, 2, 10)
	if got := len(w.serverLog()); got != before+1 {
		t.Fatalf("history grew by %d commits over two restarts, want 1 (step 2 only)", got-before)
	}
}

func TestDeriveIncrementalEqualsCold(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	w.command("mallory", false, "forged approval", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	w.approve("alice", "1.1.0", 2)
	w.expect(policy.ActionSetWeight, 3, 50)
	warm := w.snap
	cold, err := w.loop.Deriver().Derive(warm.Tip)
	if err != nil {
		t.Fatal(err)
	}
	a, b := warm.States["demo"], cold.States["demo"]
	if a.Step != b.Step || a.Weight != b.Weight || a.Phase != b.Phase || len(a.Approvals) != len(b.Approvals) ||
		len(a.Rejected) != len(b.Rejected) || a.StartCommit != b.StartCommit || a.StepCommit != b.StepCommit {
		t.Fatalf("incremental state\n%+v\ndiffers from cold\n%+v", a, b)
	}
	if len(b.Rejected) != 1 || !strings.Contains(b.Rejected[0].Reason, "unsigned") {
		t.Fatalf("rejections %+v, want the forged approval", b.Rejected)
	}
	if warm.Walked != 1 {
		t.Fatalf("the incremental pass after ramp's own commit read %d commits, want 1", warm.Walked)
	}
}

func TestLoopHoldsOnAnUnsignedHandEditAndAuditNamesIt(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.pull()
	gittest.WriteFiles(t, w.work, map[string]string{"apps/demo/route.yaml": gittest.Route("demo", 40)})
	w.git("mallory", "commit", "-q", "-am", "bump canary to 40 by hand")
	w.git("mallory", "push", "-q", "origin", "main")
	edit := w.git("mallory", "rev-parse", "HEAD")
	o := w.expect(policy.ActionNone, 1, 10)
	if !strings.Contains(o.Decision.Reason, edit[:10]) || !strings.Contains(o.Decision.WaitingFor, "Ramp-Resume") {
		t.Fatalf("hold %q (waiting for %q), want it to name commit %s and a resume", o.Decision.Reason, o.Decision.WaitingFor, edit[:10])
	}
	snap := w.snap
	audit, err := w.loop.Deriver().AuditRollout(snap.Tip, snap.Rollouts["demo"], "")
	if err != nil {
		t.Fatal(err)
	}
	if audit.Findings != 1 {
		t.Fatalf("audit found %d findings, want 1: %+v", audit.Findings, audit.Rows)
	}
	// Signed resumes with a reason by two approvers accept the edit;
	// one is not enough, and one without a reason is refused.
	w.command("alice", true, "resume demo", "Ramp-Resume: rollout=demo release=1.1.0")
	if o := w.expect(policy.ActionNone, 1, 10); !strings.Contains(o.State.Rejected[len(o.State.Rejected)-1].Reason, "needs reason=") {
		t.Fatalf("rejections %+v, want the resume without a reason refused", o.State.Rejected)
	}
	w.command("alice", true, "resume demo", `Ramp-Resume: rollout=demo release=1.1.0 reason="load test, agreed"`)
	if o := w.expect(policy.ActionNone, 1, 10); !strings.Contains(o.Decision.WaitingFor, "1 so far") {
		t.Fatalf("waiting for %q, want a second person's resume", o.Decision.WaitingFor)
	}
	w.command("bob", true, "resume demo", `Ramp-Resume: rollout=demo release=1.1.0 reason="agreed"`)
	w.expect(policy.ActionPause, 2, 10)
}

func TestPassIsIdempotentWithoutNewEvidence(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)
	tip := w.tip()
	for i := 0; i < 3; i++ {
		w.expect(policy.ActionNone, 2, 10)
	}
	if w.tip() != tip {
		t.Fatal("passes with no new evidence made commits")
	}
	res, err := w.loop.Pass(context.Background())
	if out := res.Outcomes; err != nil || len(out) != 1 || !out[0].Commit.IsZero() {
		t.Fatalf("pass: %v %+v", err, out)
	}
}

func TestLoopRequiringASignedTipDoesNotBuildOnAnUnsignedCommit(t *testing.T) {
	w := newWorld(t)
	w.cfg.RequireSignedTip = true
	w.loop = w.newLoop()
	w.release("1.1.0") // signed by dev, whose key is in group sre
	w.expect(policy.ActionSetWeight, 1, 10)
	w.command("mallory", false, "unsigned docs change", "")
	tip := w.tip()
	o := w.expect(policy.ActionNone, 1, 10)
	if !strings.Contains(o.Decision.Reason, "not signed by a trusted key") || !strings.Contains(o.Decision.Reason, tip.String()[:10]) {
		t.Fatalf("hold %q, want it to name the unsigned tip %s", o.Decision.Reason, tip.String()[:10])
	}
	if w.tip() != tip {
		t.Fatal("ramp committed on top of an unsigned tip")
	}
	w.approve("alice", "1.1.0", 2) // a signed commit on top: ramp goes on
	w.expect(policy.ActionPause, 2, 10)
}

func TestPassLogsOneLinePerPushedCommit(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	var lines []string
	log := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{})
	res, err := w.loop.Pass(logr.NewContext(context.Background(), log))
	if err != nil {
		t.Fatal(err)
	}
	pushed := res.Pushed()
	if len(pushed) != 1 || len(lines) != 1 {
		t.Fatalf("pushed %d commits, logged %q: want one line for the one commit", len(pushed), lines)
	}
	want := `"level"=0 "msg"="pushed commit" "rollout"="demo" "release"="1.1.0" "step"=1 "action"="set-weight" "weight"=10 "commit"="` + pushed[0].Commit.String() + `"`
	if lines[0] != want {
		t.Fatalf("logged\n%s\nwant\n%s", lines[0], want)
	}
	// A pass that holds (step 2 waits for an approval) logs nothing.
	w.expect(policy.ActionPause, 2, 10)
	lines = nil
	if _, err := w.loop.Pass(logr.NewContext(context.Background(), log)); err != nil || len(lines) != 0 {
		t.Fatalf("holding pass: %v, logged %q", err, lines)
	}
}

// TestPassRebuildsACloneDamagedUnderIt: a clone that passed Open's check
// can still fail a pass (a fetch that paired a new pack with an index a
// kill had cut short). The pass checks the clone, rebuilds it, logs one
// line saying what was wrong, and goes on: the step is pushed once.
func TestPassRebuildsACloneDamagedUnderIt(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0")
	if err := os.Truncate(filepath.Join(w.loop.Repo().Dir(), "refs/remotes/origin/main"), 0); err != nil {
		t.Fatal(err)
	}
	var lines []string
	log := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{})
	res, err := w.loop.Pass(logr.NewContext(context.Background(), log))
	if err != nil {
		t.Fatalf("pass over a damaged clone: %v", err)
	}
	if len(res.Pushed()) != 1 || res.Pushed()[0].Decision.Step != 1 {
		t.Fatalf("pushed %+v; want step 1", res.Pushed())
	}
	if len(lines) != 2 || !strings.Contains(lines[0], `"msg"="rebuilt the clone"`) ||
		!strings.Contains(lines[0], `"problem"="refs/remotes/origin/main: ref file is empty"`) {
		t.Fatalf("logged %q; want the rebuild, then the pushed commit", lines)
	}
	w.expect(policy.ActionPause, 2, 10)
	if n := strings.Count(strings.Join(w.serverLog(), "\n"), "step 1/4 set-weight"); n != 1 {
		t.Fatalf("step 1 pushed %d times", n)
	}
}

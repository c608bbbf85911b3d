package gitsync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// newShallowLoop is newLoop on a shallow clone of depth commits whose
// deriver deepens it on demand, as the controller and `ramp run` wire it.
func (w *world) newShallowLoop(depth int) *gitsync.Loop {
	t := w.t
	ctx := context.Background()
	repo, err := gitsync.OpenShallow(ctx, w.url, filepath.Join(t.TempDir(), "clone"), "main", gitsync.Auth{}, depth)
	if err != nil {
		t.Fatalf("open %s: %v", w.url, err)
	}
	keys, err := signing.LoadKeyringDir(w.approvers)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.LoadSigner(w.rampKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.cfg
	cfg.Keys, cfg.Signer = keys, signer
	cfg.Guardrails = policy.DefaultGuardrails()
	cfg.Identity = gitsync.Identity{Name: "ramp", Email: "ramp@localhost"}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return w.now }
	}
	cfg.Backoff = 10 * time.Millisecond
	l := gitsync.NewLoop(repo, cfg)
	l.Deriver().Deepen = func() (bool, error) { return repo.Deepen(ctx) }
	return l
}

// fillers pushes n empty commits by dev on main, the last one signed.
func (w *world) fillers(n int, what string) {
	w.t.Helper()
	w.pull()
	for i := 1; i <= n; i++ {
		args := []string{"commit", "-q", "--allow-empty", "-m", fmt.Sprintf("%s %d", what, i)}
		if i == n {
			args = append(args, "-S")
		}
		w.git("dev", args...)
	}
	w.git("dev", "push", "-q", "origin", "main")
}

// TestApprovalOnTheCommandsRefCountsOnAShallowClone: a release that
// started 30 commits below the tip waits for an approval; alice pushes it
// to the commands ref, forked from a main that ramp then moved past. A
// fresh ramp on a shallow clone of 5 commits (deepened on demand) reads
// the commands ref (its merge base with main lies below the clone's
// boundary at first) and takes step 3 on alice's approval, as a full
// clone does.
func TestApprovalOnTheCommandsRefCountsOnAShallowClone(t *testing.T) {
	w := newWorld(t)
	w.cfg.CommandsRef = "ramp/commands"
	w.loop = w.newLoop()
	w.fillers(20, "history")
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.fillers(30, "other work")
	w.expect(policy.ActionPause, 2, 10)

	w.pull()
	w.git("alice", "commit", "-q", "-S", "--allow-empty", "-m", "approve demo 1.1.0 step 2",
		"--trailer", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	w.git("alice", "push", "-q", "origin", "HEAD:refs/heads/ramp/commands")
	approval := w.git("alice", "rev-parse", "HEAD")
	w.git("alice", "reset", "-q", "--hard", "origin/main")
	w.fillers(10, "more work") // main moves past the commands ref's fork point

	w.loop = w.newShallowLoop(5)
	o := w.expect(policy.ActionSetWeight, 3, 50)
	if got := o.Decision.Approved; len(got) != 1 || got[0].Commit != approval || got[0].Principal != "alice@example.com" {
		t.Fatalf("step 3 records approvals %+v, want alice's %s from the commands ref", got, approval)
	}
	bare := filepath.Join(w.server.Root(), "release.git")
	env := gittest.GitEnv(t.TempDir())
	if got := gittest.Git(t, bare, env, "rev-parse", "main^"); got != gittest.Git(t, w.work, env, "rev-parse", "origin/main") {
		t.Errorf("step 3 is on %s, want main's tip before it", got)
	}
	if out, err := gittest.GitResult(t, bare, env, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Errorf("git fsck on the server: %v\n%s", err, out)
	}
}

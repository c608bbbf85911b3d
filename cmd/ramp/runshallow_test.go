package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// TestRunClonesShallowAndDeepensForAReleaseBelowTheDepth: `ramp run --once
// --repo URL --clone-depth 5` on a repository whose release started 30
// commits below the tip (and 100 more below it) clones shallow (the
// cache's clone has a shallow file), deepens it as far as the release's
// start and no further, and commits and pushes the release's first step
// on the server's tip. The server's repository passes git fsck.
func TestRunClonesShallowAndDeepensForAReleaseBelowTheDepth(t *testing.T) {
	srv := gittest.NewServer(t)
	bare := srv.InitBare(t, "release.git")
	url := srv.URL("release.git")
	env := gittest.GitEnv(t.TempDir())
	work := filepath.Join(t.TempDir(), "work")
	gittest.InitRepo(t, work, gittest.RolloutFilesWithSpec("demo", "1.0.0", policytest.CanaryYAML("demo", "setWeight: 10", "pause: {}")))
	fillers := func(n int, what string) {
		for i := 1; i <= n; i++ {
			gittest.Git(t, work, env, "commit", "--quiet", "--allow-empty", "-m", fmt.Sprintf("%s %d", what, i))
		}
	}
	fillers(100, "history")
	gittest.WriteFiles(t, work, map[string]string{"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "1.1.0")})
	gittest.CommitAll(t, work, nil, "demo: release 1.1.0")
	fillers(30, "other work")
	before := gittest.Git(t, work, env, "rev-parse", "HEAD")
	gittest.Git(t, work, env, "push", "--quiet", url, "main")

	keys, approvers := t.TempDir(), t.TempDir()
	key, pub := gittest.SSHKey(t, keys, "ramp")
	writeFile(t, filepath.Join(approvers, "ramp.allowed_signers"), "ramp@localhost "+pub+"\n")
	cache := filepath.Join(t.TempDir(), "cache")
	out, err := runRamp("run", "--once", "--repo", url, "--cache-dir", cache, "--signing-key", key, "--approvers", approvers, "--clone-depth", "5")
	if err != nil {
		t.Fatalf("ramp run: %v\n%s", err, out)
	}
	tip := gittest.Git(t, bare, env, "rev-parse", "main")
	if got := gittest.Git(t, bare, env, "log", "-1", "--format=%s", "main"); got != "ramp: demo 1.1.0 step 1/2 set-weight (weight 10%)" {
		t.Fatalf("server tip %q after ramp run:\n%s", got, out)
	}
	if parent := gittest.Git(t, bare, env, "rev-parse", tip+"^"); parent != before {
		t.Errorf("ramp's commit is on %s, want the tip %s", parent, before)
	}
	clones, _ := filepath.Glob(filepath.Join(cache, "*.shallow"))
	if len(clones) != 1 {
		t.Fatalf("shallow clones in the cache: %v, want one", clones)
	}
	if b, err := os.ReadFile(filepath.Join(clones[0], "shallow")); err != nil || len(b) == 0 {
		t.Fatalf("ramp run's clone is not shallow (%q, %v)", b, err)
	}
	if n, all := gittest.Git(t, clones[0], env, "rev-list", "--count", "main"), gittest.Git(t, bare, env, "rev-list", "--count", "main"); n == all {
		t.Errorf("ramp run's clone holds all %s commits: it deepened past the release's start", n)
	}
	if out, err := gittest.GitResult(t, bare, env, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Errorf("git fsck on the server: %v\n%s", err, out)
	}
}

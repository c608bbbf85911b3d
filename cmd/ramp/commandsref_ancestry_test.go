package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestACommandsRefApprovalCountsOnlyInThisRepositorysHistory: alice's
// signed approval of demo 1.1.0 step 2 from a staging repository, put on
// the commands ref (git fetch STAGING main:x; git branch -f ramp/commands
// x), does not move the rollout, `ramp status` lists it as rejected and
// `ramp audit --verify` exits 1 naming it. `ramp approve --commands-ref` on a commands ref that ramp's later
// steps left behind makes its commit a merge of main's tip, so the
// approval of step 4 descends from ramp's commit that entered step 4 and
// counts.
func TestACommandsRefApprovalCountsOnlyInThisRepositorysHistory(t *testing.T) {
	global := filepath.Join(t.TempDir(), "gitconfig")
	writeFile(t, global, "")
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	keys, approvers, repo := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "repo")
	rampKey, rampPub := gittest.SSHKey(t, keys, "ramp")
	aliceKey, alicePub := gittest.SSHKey(t, keys, "alice")
	writeFile(t, filepath.Join(approvers, "ramp.allowed_signers"), "ramp@localhost "+rampPub+"\n")
	writeFile(t, filepath.Join(approvers, "sre.allowed_signers"), "alice@example.com "+alicePub+"\n")
	if out, err := runRamp("init", repo); err != nil {
		t.Fatalf("ramp init: %v\n%s", err, out)
	}
	devKey, _ := gittest.SSHKey(t, keys, "dev")
	sshEnv := func(email, key string) []string {
		return gittest.GitEnv(t.TempDir(), "GIT_AUTHOR_EMAIL="+email, "GIT_COMMITTER_EMAIL="+email,
			"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh", "GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1="+key)
	}
	dev, alice := sshEnv("dev@example.com", devKey), sshEnv("alice@example.com", aliceKey)
	cref := []string{"--repo", repo, "--approvers", approvers, "--commands-ref", "ramp/commands"}
	h := &releaseHistory{t: t, repo: repo, people: map[string][]string{"dev": dev, "alice": alice},
		run: append([]string{"run", "--once", "--signing-key", rampKey}, cref...)}
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")

	// The staging repository: the same rollout, release and step.
	staging := filepath.Join(t.TempDir(), "staging")
	if out, err := runRamp("init", staging); err != nil {
		t.Fatalf("ramp init staging: %v\n%s", err, out)
	}
	gittest.Git(t, staging, alice, "commit", "-q", "-S", "--allow-empty", "-m", "approve demo 1.1.0 step 2 in staging",
		"--trailer", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
	replayed := gittest.Git(t, staging, alice, "rev-parse", "HEAD")
	h.git("dev", "fetch", "-q", staging, "main:x")
	h.git("dev", "branch", "-f", "ramp/commands", "x")
	main := h.git("dev", "rev-parse", "HEAD")
	if out, err := runRamp(h.run...); err != nil || h.git("dev", "rev-parse", "HEAD") != main {
		t.Fatalf("ramp run with the staging approval on the commands ref: %v\n%s\nwant no step taken", err, out)
	}
	out, err := runRamp(append([]string{"status"}, cref...)...)
	if err != nil || !strings.Contains(out, replayed[:10]) || !strings.Contains(out, "does not descend from the start of release 1.1.0") {
		t.Fatalf("ramp status with the staging approval on the commands ref: %v\n%s\nwant it listed as rejected", err, out)
	}
	out, err = runRamp(append([]string{"audit", "demo", "--verify"}, cref...)...)
	if code := exitCode(err); code != 1 || !strings.Contains(out, replayed[:10]) || !strings.Contains(out, "a command counts only in this repository's history") {
		t.Fatalf("audit --verify with the staging approval on the commands ref: exit %d\n%s\nwant exit 1 naming %s", code, out, replayed[:10])
	}

	// The commands ref built on main: alice approves with `ramp approve`.
	h.git("dev", "branch", "-f", "ramp/commands", "main")
	for k, v := range map[string]string{"GIT_AUTHOR_EMAIL": "alice@example.com", "GIT_COMMITTER_EMAIL": "alice@example.com",
		"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "gpg.format", "GIT_CONFIG_VALUE_0": "ssh",
		"GIT_CONFIG_KEY_1": "user.signingkey", "GIT_CONFIG_VALUE_1": aliceKey} {
		t.Setenv(k, v)
	}
	if out, err := runRamp(append([]string{"approve", "demo"}, cref...)...); err != nil {
		t.Fatalf("ramp approve step 2: %v\n%s", err, out)
	}
	h.until(t, "ramp: demo 1.1.0 step 4/4 pause")
	stale := h.git("dev", "rev-parse", "refs/heads/ramp/commands")
	main = h.git("dev", "rev-parse", "HEAD")
	if out, err := runRamp(append([]string{"approve", "demo"}, cref...)...); err != nil {
		t.Fatalf("ramp approve step 4: %v\n%s", err, out)
	}
	if parents := h.git("dev", "log", "-1", "--format=%P", "refs/heads/ramp/commands"); parents != stale+" "+main {
		t.Fatalf("the step-4 approval's parents are %q, want the commands ref's tip %s and main's %s", parents, stale, main)
	}
	h.until(t, "ramp: demo 1.1.0 promote")
}

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestApproveOnTheCommandsRefLeavesTheReleaseBranchAlone: with
// --commands-ref, `ramp approve` signs its commit with the user's git on
// top of that branch, main does not move, `ramp run` acts on the approval
// and `ramp audit --verify` checks it there.
func TestApproveOnTheCommandsRefLeavesTheReleaseBranchAlone(t *testing.T) {
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
	dev := gittest.GitEnv(t.TempDir(), "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_EMAIL=dev@example.com",
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh", "GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1="+devKey)
	cref := []string{"--repo", repo, "--approvers", approvers, "--commands-ref", "ramp/commands"}
	h := &releaseHistory{t: t, repo: repo, people: map[string][]string{"dev": dev},
		run: append([]string{"run", "--once", "--signing-key", rampKey}, cref...)}
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")
	main := h.git("dev", "rev-parse", "HEAD")

	// alice approves with her own git and key, as `ramp approve` does.
	for k, v := range map[string]string{"GIT_AUTHOR_EMAIL": "alice@example.com", "GIT_COMMITTER_EMAIL": "alice@example.com",
		"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "gpg.format", "GIT_CONFIG_VALUE_0": "ssh",
		"GIT_CONFIG_KEY_1": "user.signingkey", "GIT_CONFIG_VALUE_1": aliceKey} {
		t.Setenv(k, v)
	}
	out, err := runRamp(append([]string{"approve", "demo"}, cref...)...)
	if err != nil || !strings.Contains(out, "committed approve on ramp/commands") {
		t.Fatalf("ramp approve: %v\n%s", err, out)
	}
	if got := h.git("dev", "rev-parse", "HEAD"); got != main {
		t.Fatalf("main moved from %s to %s: the approval belongs on the commands ref", main, got)
	}
	approval := h.git("dev", "rev-parse", "refs/heads/ramp/commands")
	if msg := h.git("dev", "log", "-1", "--format=%B", approval); !strings.Contains(msg, "Ramp-Approve: rollout=demo release=1.1.0 step=2") {
		t.Fatalf("commands ref tip %s says %q, want the approval trailer", approval, msg)
	}
	h.until(t, "ramp: demo 1.1.0 step 3/4 set-weight")
	if body := h.git("dev", "log", "-1", "--format=%B"); !strings.Contains(body, "commit="+approval) {
		t.Fatalf("step 3 commit says %q, want it to name approval %s", body, approval)
	}

	out, err = runRamp(append([]string{"audit", "demo", "--verify"}, cref...)...)
	if err != nil || !strings.Contains(out, approval[:10]) {
		t.Fatalf("audit --verify with the commands ref: %v\n%s\nwant it clean and listing %s", err, out, approval[:10])
	}
	if out, err := runRamp("audit", "demo", "--verify", "--repo", repo, "--approvers", approvers); err == nil || !strings.Contains(out, approval) {
		t.Fatalf("audit --verify without the commands ref: %v\n%s\nwant a finding naming %s", err, out, approval)
	}
	// A resume's reason goes into its trailer, where ramp reads it.
	if out, err := runRamp(append([]string{"resume", "demo", "--reason", "hand edit reviewed"}, cref...)...); err != nil {
		t.Fatalf("ramp resume: %v\n%s", err, out)
	}
	if msg := h.git("dev", "log", "-1", "--format=%B", "refs/heads/ramp/commands"); !strings.Contains(msg, `Ramp-Resume: rollout=demo release=1.1.0 reason="hand edit reviewed"`) {
		t.Fatalf("resume commit says %q, want the reason in its trailer", msg)
	}
}

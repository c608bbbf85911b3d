package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestRunWritesACheckpointThatAuditVerifies: `ramp run --checkpoint-every
// 2` writes a checkpoint once ramp's abort is two commits down; `ramp
// status` still names the abort; `ramp audit --verify` shows the
// checkpoint as a row and passes. A checkpoint signed with ramp's key that
// claims another step than history's is a finding: --verify exits 1.
func TestRunWritesACheckpointThatAuditVerifies(t *testing.T) {
	h, key := approveRepo(t)
	h.people["alice"] = gittest.GitEnv(t.TempDir(), "GIT_AUTHOR_EMAIL=alice@example.com", "GIT_COMMITTER_EMAIL=alice@example.com",
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh", "GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1="+key["alice"])
	rampKey := h.run[slices.Index(h.run, "--signing-key")+1]
	h.people["ramp"] = gittest.GitEnv(t.TempDir(), "GIT_AUTHOR_EMAIL=ramp@localhost", "GIT_COMMITTER_EMAIL=ramp@localhost",
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh", "GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1="+rampKey)
	h.run = append(h.run, "--checkpoint-every", "2")
	flags := []string{"--repo", h.repo, "--approvers", h.approvers}

	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 1/4")
	h.command("abort demo", `Ramp-Abort: rollout=demo release=1.1.0 reason="p99 up"`)
	h.until(t, "ramp: demo 1.1.0 step 1/4 abort")
	abort := h.git("dev", "rev-parse", "HEAD")
	h.git("dev", "commit", "-q", "-S", "--allow-empty", "-m", "docs 1")
	h.git("dev", "commit", "-q", "-S", "--allow-empty", "-m", "docs 2")
	out, err := runRamp(h.run...)
	if err != nil || !strings.Contains(out, "checkpoint of aborted rollouts") {
		t.Fatalf("ramp run: %v\n%s", err, out)
	}
	if s, want := h.git("dev", "log", "-1", "--format=%s"), "ramp: demo 1.1.0 checkpoint (aborted at "+abort[:7]+", weight 0%)"; s != want {
		t.Fatalf("main's subject %q, want %q", s, want)
	}
	out, err = runRamp(append([]string{"status"}, flags...)...)
	if err != nil || !strings.Contains(out, "Aborted") || !strings.Contains(out, "release 1.1.0 was aborted at "+abort[:10]+": ") {
		t.Fatalf("ramp status after the checkpoint (%v) does not name the abort %s:\n%s", err, abort, out)
	}
	out, err = runRamp(append([]string{"audit", "demo", "--verify"}, flags...)...)
	if err != nil || !strings.Contains(out, "checkpoint") || !strings.Contains(out, "restates: release 1.1.0 abort at "+abort[:10]) {
		t.Fatalf("ramp audit --verify (%v) does not show the checkpoint:\n%s", err, out)
	}

	// ramp's key, a false claim: step 2 where history has step 1.
	lie := "ramp: demo 1.1.0 checkpoint\n\nRamp-Rollout: demo\nRamp-Release: 1.1.0\nRamp-Step: 2/4\nRamp-Action: checkpoint\nRamp-Weight: 0\n" +
		"Ramp-Anchor: commit=" + abort + " action=abort\nRamp-Reason: p99 up\n"
	h.git("ramp", "commit", "-q", "-S", "--allow-empty", "-m", lie)
	out, err = runRamp(append([]string{"audit", "demo", "--verify"}, flags...)...)
	if exitCode(err) != exitFindings || !strings.Contains(out, "checkpoint claims release 1.1.0 abort at "+abort[:10]+" (step 2, weight 0%), but the history before it folds to release 1.1.0 Aborted") {
		t.Fatalf("ramp audit --verify on a false checkpoint exited %d, want %d with the finding:\n%s", exitCode(err), exitFindings, out)
	}
}

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// TestApproveAbortPauseResumeOfATargetAndAWave: `ramp approve pay/eu`
// approves a step of one target, `ramp approve pay --wave rest` a wave,
// each with the signed trailer ramp reads and with the refusals of a
// plain rollout (no step in progress, out of turn, a key in no group, a
// duplicate: exit 1 and no commit; --force commits); ramp takes both
// and the release reaches wave rest. Pause and resume of pay/us name the
// target; of pay they are refused; abort of pay names its release.
func TestApproveAbortPauseResumeOfATargetAndAWave(t *testing.T) {
	h, key := approveRepo(t)
	spec := strings.Replace(policytest.WavesYAML("pay"), "        - analysis: {gates: [error-rate], window: 5m}\n", "        - pause: {}\n", 1)
	spec = strings.Replace(spec, "    - {name: first, targets: [eu], soak: 30m}\n    - {name: rest, targets: [us, ap]}\n",
		"    - {name: first, targets: [eu]}\n    - {name: rest, targets: [us, ap], approval: {group: sre}}\n", 1)
	if !strings.Contains(spec, "approval: {group: sre}") || !strings.Contains(spec, "- pause: {}") {
		t.Fatalf("spec not rewritten:\n%s", spec)
	}
	for path, content := range gittest.WavesFiles("pay", "1.0.0", spec, "eu", "us", "ap") {
		gittest.WriteFiles(t, h.repo, map[string]string{path: content})
	}
	h.git("dev", "add", "-A")
	h.git("dev", "commit", "-q", "-S", "-m", "pay: rollout in waves")
	writeFile(t, filepath.Join(h.repo, "releases/pay/release.yaml"), gittest.Release("2.0.0"))
	h.git("dev", "commit", "-q", "-S", "-am", "pay: release 2.0.0")

	flags := []string{"--repo", h.repo, "--approvers", h.approvers}
	ramp := func(who string, args ...string) (string, error) {
		t.Helper()
		as(t, who, key[who])
		return runRamp(append(args, flags...)...)
	}
	head := func() string { return h.git("dev", "rev-parse", "HEAD") }
	refused := func(code int, want string, out string, err error, before string) {
		t.Helper()
		if exitCode(err) != code || err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want exit %d refusing with %q, got exit %d: %v\n%s", code, want, exitCode(err), err, out)
		}
		if got := head(); got != before {
			t.Fatalf("a refused command moved HEAD from %s to %s", before, got)
		}
	}
	committed := func(trailer string, out string, err error, before string) string {
		t.Helper()
		if err != nil {
			t.Fatalf("want a commit with %q: %v\n%s", trailer, err, out)
		}
		sha := head()
		if sha == before {
			t.Fatalf("no commit made:\n%s", out)
		}
		if msg := h.git("dev", "log", "-1", "--format=%B"); !strings.Contains(msg, trailer) {
			t.Fatalf("commit message %q lacks %q", msg, trailer)
		}
		if raw := h.git("dev", "cat-file", "commit", sha); !strings.Contains(raw, "-----BEGIN SSH SIGNATURE-----") {
			t.Fatalf("commit is not signed:\n%s", raw)
		}
		return sha
	}

	before := head()
	out, err := ramp("alice", "approve", "pay/eu")
	refused(exitFindings, "pay/eu has no step in progress", out, err, before)
	out, err = ramp("alice", "approve", "pay/xx")
	refused(exitUsage, `rollout pay has no target "xx" (its targets: pay/eu, pay/us, pay/ap)`, out, err, before)
	out, err = ramp("alice", "approve", "pay", "--wave", "rest")
	refused(exitFindings, "wave 2/2 rest is out of turn: the next wave of pay to start is 1/2 first", out, err, before)

	h.until(t, "ramp: pay/eu 2.0.0 step 2/2 pause")
	before = head()
	out, err = ramp("alice", "approve", "pay")
	refused(exitUsage, "rollout pay has targets: approve a step of one target (NAME/TARGET, its targets: pay/eu, pay/us, pay/ap), a wave (--wave NAME) or a freeze exception (--freeze NAME)", out, err, before)
	out, err = ramp("alice", "approve", "pay", "--freeze", "weekend")
	refused(exitFindings, "ramp would reject this approve: no group may grant freeze exceptions", out, err, before)
	out, err = ramp("alice", "approve", "pay/eu", "--step", "1")
	refused(exitFindings, "step 1 is out of turn: pay/eu is at step 2/2", out, err, before)
	out, err = ramp("alice", "approve", "pay/us", "--step", "2")
	refused(exitFindings, "release 1.0.0 of pay/us is not in progress", out, err, before)
	out, err = ramp("dev", "approve", "pay/eu", "--step", "2")
	refused(exitFindings, "dev@example.com signed the start of release 2.0.0 and cannot approve it", out, err, before)
	out, err = ramp("alice", "approve", "pay", "--wave", "first")
	refused(exitFindings, "wave 1/2 first of pay needs no approval", out, err, before)
	out, err = ramp("alice", "approve", "pay", "--wave", "nope")
	refused(exitUsage, "rollout pay has no such wave (its waves: first, rest)", out, err, before)
	out, err = ramp("alice", "pause", "pay")
	refused(exitFindings, "rollout pay has targets: ramp takes a pause of one target", out, err, before)
	out, err = ramp("alice", "resume", "pay")
	refused(exitFindings, "rollout pay has targets: ramp takes a resume of one target", out, err, before)

	out, err = ramp("alice", "approve", "pay/eu", "--step", "2")
	approval := committed("Ramp-Approve: rollout=pay target=eu release=2.0.0 step=2", out, err, before)
	if subject := h.git("dev", "log", "-1", "--format=%s"); subject != "approve pay/eu 2.0.0 step 2/2" {
		t.Errorf("subject %q", subject)
	}
	out, err = ramp("alice", "approve", "pay/eu")
	refused(exitFindings, "alice@example.com already approved this in commit "+approval[:10], out, err, approval)

	// ramp takes the approval: eu is promoted, and wave rest waits for
	// its approval.
	h.until(t, "ramp: pay/eu 2.0.0 complete")
	if body := h.git("dev", "log", "-3", "--format=%B"); !strings.Contains(body, "commit="+approval) {
		t.Errorf("ramp's commits after the approval do not name it (commit=%s):\n%s", approval, body)
	}
	before = head()
	out, err = ramp("dev", "approve", "pay", "--wave", "rest")
	refused(exitFindings, "which approves wave rest", out, err, before)
	out, err = ramp("alice", "approve", "pay", "--wave", "rest", "--release", "1.0.0")
	refused(exitFindings, "pay's current release is 2.0.0, not 1.0.0", out, err, before)
	out, err = ramp("alice", "approve", "pay", "--wave", "rest")
	waveApproval := committed("Ramp-Approve: rollout=pay release=2.0.0 wave=rest", out, err, before)
	out, err = ramp("alice", "approve", "pay", "--wave", "rest")
	refused(exitFindings, "alice@example.com already approved wave rest in commit "+waveApproval[:10], out, err, waveApproval)
	// --force commits what ramp would reject.
	out, err = ramp("dev", "approve", "pay", "--wave", "rest", "--force")
	forced := committed("Ramp-Approve: rollout=pay release=2.0.0 wave=rest", out, err, waveApproval)

	h.until(t, "ramp: pay 2.0.0 start-wave rest")
	out, err = ramp("alice", "approve", "pay", "--wave", "rest")
	refused(exitFindings, "wave 2/2 rest of pay already has release 2.0.0: nothing to approve", out, err, head())
	if body := h.git("dev", "log", "-1", "--format=%B"); !strings.Contains(body, "commit="+waveApproval) || strings.Contains(body, "commit="+forced) {
		t.Errorf("the hand-over should name alice's approval %s and not dev's rejected %s:\n%s", waveApproval, forced, body)
	}

	before = head()
	out, err = ramp("alice", "pause", "pay/us", "--reason", "look at us first")
	paused := committed(`Ramp-Pause: rollout=pay target=us release=2.0.0 reason="look at us first"`, out, err, before)
	out, err = ramp("alice", "resume", "pay/us")
	resumed := committed("Ramp-Resume: rollout=pay target=us release=2.0.0", out, err, paused)
	out, err = ramp("alice", "abort", "pay", "--reason", "stop everything")
	committed(`Ramp-Abort: rollout=pay release=2.0.0 reason="stop everything"`, out, err, resumed)
}

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// approveRepo is a release repository made by `ramp init` (rollout demo:
// setWeight 10, approval by sre, setWeight 50, approval by sre) with the
// keys of ramp, alice (sre) and dev (dev), eve's key in no group, and
// `ramp run --once` signing with ramp's key.
func approveRepo(t *testing.T) (*releaseHistory, map[string]string) {
	t.Helper()
	global := filepath.Join(t.TempDir(), "gitconfig")
	writeFile(t, global, "")
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	keys, approvers, repo := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "repo")
	rampKey, rampPub := gittest.SSHKey(t, keys, "ramp")
	private := map[string]string{}
	var pub string
	private["alice"], pub = gittest.SSHKey(t, keys, "alice")
	writeFile(t, filepath.Join(approvers, "sre.allowed_signers"), "alice@example.com "+pub+"\n")
	private["dev"], pub = gittest.SSHKey(t, keys, "dev")
	writeFile(t, filepath.Join(approvers, "dev.allowed_signers"), "dev@example.com "+pub+"\n")
	private["eve"], _ = gittest.SSHKey(t, keys, "eve")
	writeFile(t, filepath.Join(approvers, "ramp.allowed_signers"), "ramp@localhost "+rampPub+"\n")
	if out, err := runRamp("init", repo); err != nil {
		t.Fatalf("ramp init: %v\n%s", err, out)
	}
	dev := gittest.GitEnv(t.TempDir(), "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_EMAIL=dev@example.com",
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh", "GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1="+private["dev"])
	h := &releaseHistory{t: t, repo: repo, approvers: approvers, keys: keys, people: map[string][]string{"dev": dev},
		run: []string{"run", "--once", "--signing-key", rampKey, "--repo", repo, "--approvers", approvers}}
	return h, private
}

// as makes the user's git (which `ramp approve` runs) sign as who.
func as(t *testing.T, who, key string) {
	t.Helper()
	for k, v := range map[string]string{"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": who + "@example.com",
		"GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": who + "@example.com",
		"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "gpg.format", "GIT_CONFIG_VALUE_0": "ssh",
		"GIT_CONFIG_KEY_1": "user.signingkey", "GIT_CONFIG_VALUE_1": key} {
		t.Setenv(k, v)
	}
}

// exitCode is the code main would exit with for err.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}

// TestApproveRefusesWhatRampWouldReject: `ramp approve` refuses, with
// exit 1, a reason and no commit, a step that does not wait for an
// approval, a step out of turn, a key in no approver group and a
// duplicate approval; --force commits anyway. The approval it makes holds
// nothing but its trailer although a route edit is staged, the edit stays
// staged, and ramp takes the approval.
func TestApproveRefusesWhatRampWouldReject(t *testing.T) {
	h, key := approveRepo(t)
	flags := []string{"--repo", h.repo, "--approvers", h.approvers}
	approve := func(who string, args ...string) (string, error) {
		t.Helper()
		as(t, who, key[who])
		return runRamp(append(append([]string{"approve", "demo"}, args...), flags...)...)
	}
	head := func() string { return h.git("dev", "rev-parse", "HEAD") }
	refused := func(want string, out string, err error, before string) {
		t.Helper()
		if exitCode(err) != exitFindings || err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want exit 1 refusing with %q, got exit %d: %v\n%s", want, exitCode(err), err, out)
		}
		if got := head(); got != before {
			t.Fatalf("a refused approval moved HEAD from %s to %s", before, got)
		}
	}

	h.release(t, "1.0.0", "1.1.0")
	before := head()
	out, err := approve("alice", "--step", "2")
	refused("demo has no step in progress yet", out, err, before)
	h.until(t, "ramp: demo 1.1.0 step 1/4 set-weight")
	before = head()
	out, err = approve("alice")
	refused("step 1/4 of demo does not wait for an approval (it is: set the canary weight to 10%)", out, err, before)

	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")
	before = head()
	out, err = approve("alice", "--step", "4")
	refused("step 4 is out of turn: demo is at step 2/4", out, err, before)
	out, err = approve("eve")
	refused("your signing key does not verify against the trusted keys", out, err, before)
	out, err = approve("dev")
	refused("is not in group sre, which approves step 2", out, err, before)

	// A staged route edit stays out of the approval, and stays staged.
	route := filepath.Join(h.repo, "apps/demo/route.yaml")
	b, err := os.ReadFile(route)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, route, string(b)+"# a staged edit\n")
	h.git("dev", "add", "apps/demo/route.yaml")
	out, err = approve("alice")
	if err != nil {
		t.Fatalf("ramp approve: %v\n%s", err, out)
	}
	approval := head()
	if approval == before {
		t.Fatalf("ramp approve made no commit:\n%s", out)
	}
	if tree, parent := h.git("dev", "rev-parse", approval+"^{tree}"), h.git("dev", "rev-parse", before+"^{tree}"); tree != parent {
		t.Errorf("approval commit %s has tree %s, its parent %s: it must hold nothing but its trailer\n%s",
			approval, tree, parent, h.git("dev", "show", "--stat", approval))
	}
	if staged := h.git("dev", "diff", "--cached", "--name-only"); staged != "apps/demo/route.yaml" {
		t.Errorf("staged after the approval: %q, want the route edit still staged", staged)
	}
	if msg := h.git("dev", "log", "-1", "--format=%B"); !strings.Contains(msg, "Ramp-Approve: rollout=demo release=1.1.0 step=2") {
		t.Errorf("approval message %q", msg)
	}
	if raw := h.git("dev", "cat-file", "commit", approval); !strings.Contains(raw, "-----BEGIN SSH SIGNATURE-----") {
		t.Errorf("approval commit is not signed:\n%s", raw)
	}

	out, err = approve("alice")
	refused("alice@example.com already approved this in commit "+approval[:10], out, err, approval)

	// --force commits what ramp will reject.
	out, err = approve("eve", "--force")
	if err != nil || head() == approval {
		t.Fatalf("ramp approve --force: %v\n%s", err, out)
	}

	h.git("dev", "reset", "-q", "--hard")
	h.until(t, "ramp: demo 1.1.0 step 3/4 set-weight")
	if body := h.git("dev", "log", "-1", "--format=%B"); !strings.Contains(body, "commit="+approval) {
		t.Errorf("step 3 commit says %q, want it to name alice's approval %s", body, approval)
	}
}

// TestApproveCountsTheCommandsRef: with --commands-ref, an approval
// already on that branch counts, so a second one by the same person is
// refused.
func TestApproveCountsTheCommandsRef(t *testing.T) {
	h, key := approveRepo(t)
	flags := []string{"--repo", h.repo, "--approvers", h.approvers, "--commands-ref", "ramp/commands"}
	h.run = append(h.run, "--commands-ref", "ramp/commands")
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")
	as(t, "alice", key["alice"])
	if out, err := runRamp(append([]string{"approve", "demo"}, flags...)...); err != nil {
		t.Fatalf("approve on the commands ref: %v\n%s", err, out)
	}
	first := h.git("dev", "rev-parse", "refs/heads/ramp/commands")
	out, err := runRamp(append([]string{"approve", "demo"}, flags...)...)
	if exitCode(err) != exitFindings || !strings.Contains(err.Error(), "already approved this in commit "+first[:10]) {
		t.Fatalf("a second approval on the commands ref: exit %d %v\n%s", exitCode(err), err, out)
	}
	if got := h.git("dev", "rev-parse", "refs/heads/ramp/commands"); got != first {
		t.Errorf("the refused approval moved the commands ref from %s to %s", first, got)
	}
}

// TestResumeOverAHandEditSaysWhatItDoesToTheWeight: status names the
// commands a hand edit waits for, and `ramp resume` says in its commit
// message that the release continues on ramp's weights.
func TestResumeOverAHandEditSaysWhatItDoesToTheWeight(t *testing.T) {
	h, key := approveRepo(t)
	flags := []string{"--repo", h.repo, "--approvers", h.approvers}
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")
	route := filepath.Join(h.repo, "apps/demo/route.yaml")
	b, err := os.ReadFile(route)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(strings.Replace(string(b), "weight: 90", "weight: 60", 1), "weight: 10", "weight: 40", 1)
	if edited == string(b) {
		t.Fatalf("test setup: no 90/10 weights in\n%s", b)
	}
	writeFile(t, route, edited)
	h.git("dev", "commit", "-q", "-S", "-am", "canary to 40% by hand")
	out, err := runRamp(append([]string{"status"}, flags...)...)
	if err != nil || !strings.Contains(out, `demo: next: ramp resume demo --reason "…"`) || !strings.Contains(out, "ramp abort demo") {
		t.Fatalf("status over a hand edit: %v\n%s\nwant resume or abort named", err, out)
	}
	as(t, "alice", key["alice"])
	if out, err := runRamp(append([]string{"resume", "demo", "--reason", "load test at 40%"}, flags...)...); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	msg := h.git("dev", "log", "-1", "--format=%B")
	for _, want := range []string{"load test at 40%", "Resumes over: commit ", "ramp's next commit writes its own canary weight (now 10%) into apps/demo/route.yaml",
		`Ramp-Resume: rollout=demo release=1.1.0 reason="load test at 40%"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("resume commit lacks %q:\n%s", want, msg)
		}
	}
}

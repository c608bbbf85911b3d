package gitsync_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

// TestApprovalsMadeWithPlainGitCommitSCountOnlyFromTheStepsGroup drives one approval step with commits
// made by the system git, and checks which count.
func TestApprovalsMadeWithPlainGitCommitSCountOnlyFromTheStepsGroup(t *testing.T) {
	w := newWorld(t)
	w.release("1.1.0") // dev@example.com starts the release (and is in sre)
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionPause, 2, 10)

	rejected := []struct {
		name   string
		commit func() string
		reason string
	}{
		{"unsigned", func() string {
			return w.command("mallory", false, "approve", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
		}, "unsigned"},
		{"signed by a key in no group", func() string {
			// mallory signs with a key of her own, unknown to ramp.
			w.keys["mallory"] = w.keys["dev"].withKey(t, "mallory@example.com")
			return w.command("mallory", true, "approve", "Ramp-Approve: rollout=demo release=1.1.0 step=2")
		}, "unknown key"},
		{"signed by another group (dba)", func() string { return w.approve("dan", "1.1.0", 2) }, "not in group sre"},
		{"self-approval by the release's author", func() string { return w.approve("dev", "1.1.0", 2) }, "cannot approve"},
		{"for another release", func() string { return w.approve("alice", "1.0.9", 2) }, "current release is 1.1.0"},
		{"for a step that is no approval step", func() string { return w.approve("alice", "1.1.0", 3) }, "not an approval step"},
	}
	for i, r := range rejected {
		sha := r.commit()
		o := w.expect(policy.ActionNone, 2, 10)
		rj := o.State.Rejected
		if len(rj) != i+1 || rj[i].Commit != sha || !strings.Contains(rj[i].Reason, r.reason) {
			t.Fatalf("%s: rejections %+v, want #%d for commit %s saying %q", r.name, rj, i+1, sha, r.reason)
		}
	}
	// Approve for step 4 in advance: valid, but not for this step.
	w.approve("alice", "1.1.0", 4)
	w.expect(policy.ActionNone, 2, 10)
	// A Ramp-Approve line in the body, not in the trailer block, is no command.
	w.command("alice", true, "approve demo\n\nRamp-Approve: rollout=demo release=1.1.0 step=2\n\nthanks!", "")
	if o := w.expect(policy.ActionNone, 2, 10); len(o.State.Approvals) != 1 {
		t.Fatalf("approvals %+v, want only the step-4 one", o.State.Approvals)
	}
	w.approve("bob", "1.1.0", 2) // GPG, plain git commit -S
	o := w.expect(policy.ActionSetWeight, 3, 50)
	if got := fmt.Sprint(o.Decision.Approved[0].Principal); got != "bob@example.com" {
		t.Fatalf("step 3 records approval by %s, want bob@example.com", got)
	}
	// The step-4 approval given in advance lets step 4 pass at once.
	w.expect(policy.ActionPause, 4, 50)
	w.expect(policy.ActionPromote, 0, 50)
}

// withKey returns a person like p with a new SSH signing key no group holds.
func (p person) withKey(t *testing.T, email string) person {
	key, _ := sshKey(t, "stranger")
	return person{email: email, env: []string{
		"GIT_AUTHOR_EMAIL=" + email, "GIT_COMMITTER_EMAIL=" + email,
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh",
		"GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1=" + key}}
}

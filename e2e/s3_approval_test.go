//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// TestApprovalPushedWithGitCommitMovesTheRolloutOnWithinSeconds: at an
// approval step the rollout waits. An approval "by Alice" signed with a
// key nobody trusts is ignored and reported in the status; Alice's own,
// made with plain `git commit -S` (SSH key), moves the rollout on within
// seconds: the git host's push webhook wakes ramp (both Flux's and ramp's
// intervals are 10 minutes). An approval by someone outside sre is
// ignored too, even with a trusted key.
func TestApprovalPushedWithGitCommitMovesTheRolloutOnWithinSeconds(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(false,
		"setWeight: 20",
		"approval: {group: sre}",
		"setWeight: 50")})
	releaseUntilApplied(w, "ramp enters the approval step", enteredStep("2/3"))
	s := w.WaitRollout(30*time.Second, "status says the rollout waits for sre", func(s rampv1.RolloutStatus) bool {
		return s.Step == 2 && strings.Contains(s.WaitingFor, "sre")
	})
	t.Logf("waiting: %q (%s)", s.WaitingFor, s.Message)

	// Two approvals that must not count: one "by Alice" signed with a key
	// nobody trusts (Flux refuses it as HEAD too), then one by Dev, whose
	// key is trusted (the tip is signed again) but who is not in sre and
	// started the release himself.
	approve := "Ramp-Approve: rollout=demo release=" + e2etest.ReleaseVersion + " step=2"
	mallory := e2etest.NewPerson(t, w.URL, "Alice", "alice@example.com", w.MalloryKey)
	forged := mallory.Commit(true, "approve demo step 2", nil, approve)
	byDev := w.Dev.Commit(true, "approve demo step 2", nil, approve)
	for _, c := range []string{forged, byDev} {
		w.WaitRollout(30*time.Second, fmt.Sprintf("status reports approval %.10s as rejected", c), func(s rampv1.RolloutStatus) bool {
			for _, r := range s.Rejected {
				if r.Commit != "" && strings.HasPrefix(c, r.Commit) {
					t.Logf("rejected %.10s by %s: %s", c, r.Author, r.Reason)
					return true
				}
			}
			return false
		})
	}
	time.Sleep(3 * time.Second)
	if cs := w.RampCommits(forged); len(cs) > 0 {
		t.Fatalf("ramp moved on without a valid approval: %q", describeAll(cs))
	}

	pushed := time.Now()
	w.Alice.Pull()
	w.Alice.Git("commit", "-q", "-S", "--allow-empty", "-m", "approve demo step 2", "--trailer", approve)
	w.Alice.Git("push", "-q", "origin", "HEAD:main")
	approval := w.Alice.Git("rev-parse", "HEAD")
	next := w.WaitCommit(approval, 15*time.Second, "ramp moves on after Alice's approval", e2etest.IsAction("set-weight"))
	took := time.Since(pushed)
	t.Logf("approval pushed → ramp's step 3 commit seen in %s", took.Round(100*time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("ramp took %s to act on the approval, want seconds (the webhook wakes it)", took)
	}
	if got := describe(next); got != "set-weight 3/3 50" {
		t.Errorf("ramp's commit after the approval: %s, want set-weight 3/3 50", got)
	}
	by := next.Trailer("Ramp-Approved-By")
	if !hasAll(by, "principal=alice@example.com", "key="+e2etest.Fingerprint(t, w.AliceKey), "commit="+approval) {
		t.Errorf("Ramp-Approved-By %q, want Alice's principal, key and approval commit %s", by, approval)
	}
	if strings.Contains(by, forged) || strings.Contains(by, byDev) {
		t.Errorf("Ramp-Approved-By names a rejected approval: %q", by)
	}
	hooked := false
	for _, d := range w.Host.Deliveries() {
		hooked = hooked || (d.After == approval && d.Status == 202)
	}
	if !hooked {
		t.Errorf("no accepted webhook delivery for the approval push: %v", w.Host.Deliveries())
	}
	w.WaitApplied(next.SHA, time.Minute)
	if a, _ := w.Applied.Find(next.SHA); a.Weights["demo-canary"] != 50 {
		t.Errorf("HTTPRoute after step 3 applied: %v, want canary 50", a.Weights)
	}
	w.WaitCommit(next.SHA, 2*time.Minute, "ramp completes the release", e2etest.IsAction("complete"))
	assertSigned(t, w, forged) // every commit after the forged one
}

//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// TestUnsignedHandEditOfAWeightIsRefusedAndHoldsTheRollout: someone
// pushes an unsigned edit of the canary's weight. Flux refuses the
// unsigned HEAD, so the cluster keeps the weight ramp set; ramp neither
// builds on the edit (a signed commit on top would smuggle it into the
// cluster) nor ignores it: the rollout holds and says why, until a signed
// revert and two people's signed Ramp-Resume clear it.
func TestUnsignedHandEditOfAWeightIsRefusedAndHoldsTheRollout(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(false,
		"setWeight: 20",
		"approval: {group: sre}",
		"setWeight: 50")})
	releaseUntilApplied(w, "ramp enters the approval step", enteredStep("2/3"))

	edit := w.Dev.Edit(false, "hotfix: more traffic to the canary", "apps/demo/route.yaml", func(s string) string {
		return strings.Replace(strings.Replace(s, "weight: 80", "weight: 10", 1), "weight: 20", "weight: 90", 1)
	})
	if err := e2etest.RequestReconcile(w.Ctx, cluster.Client, e2etest.GitRepositoryGVK, w.NS, e2etest.RepoName); err != nil {
		t.Fatal(err)
	}
	w.Eventually(time.Minute, "Flux refuses the unsigned HEAD", func() (bool, string) {
		src, err := e2etest.GetFluxStatus(w.Ctx, cluster.Client, e2etest.GitRepositoryGVK, w.NS, e2etest.RepoName)
		return err == nil && src.Cond("SourceVerified").Status == "False", stringOf(src.Conditions, err)
	})
	s := w.WaitRollout(30*time.Second, "ramp holds and says why", func(s rampv1.RolloutStatus) bool {
		return strings.Contains(s.Message, edit[:7])
	})
	t.Logf("holding: %s (waiting for %q)", s.Message, s.WaitingFor)
	time.Sleep(5 * time.Second)
	if cs := w.RampCommits(edit); len(cs) > 0 {
		t.Fatalf("ramp committed on top of the unsigned edit: %q", describeAll(cs))
	}
	if weights, err := e2etest.RouteWeights(w.Ctx, cluster.Client, w.NS, "demo"); err != nil || weights["demo-canary"] != 20 {
		t.Fatalf("HTTPRoute in the API server: %v (%v), want the canary still at ramp's 20", weights, err)
	}

	// A signed revert and two signed resumes clear the hold; HEAD is signed
	// again, so Flux applies, and the rollout waits for its approval.
	w.Dev.Pull()
	w.Dev.Git("revert", "--no-edit", "-S", edit)
	w.Dev.Git("push", "-q", "origin", "HEAD:main")
	// Resuming over a hold takes two people, each with a reason.
	w.Alice.Commit(true, "resume demo after the reverted hand edit", nil,
		"Ramp-Resume: rollout=demo release="+e2etest.ReleaseVersion+` reason="hand edit reverted"`)
	resume := w.Bob.Commit(true, "resume demo after the reverted hand edit", nil,
		"Ramp-Resume: rollout=demo release="+e2etest.ReleaseVersion+` reason="checked the revert"`)
	if err := e2etest.RequestReconcile(w.Ctx, cluster.Client, e2etest.GitRepositoryGVK, w.NS, e2etest.RepoName); err != nil {
		t.Fatal(err)
	}
	w.WaitApplied(resume, time.Minute)
	w.WaitRollout(30*time.Second, "the hold is cleared; the rollout waits for sre again", func(s rampv1.RolloutStatus) bool {
		return s.Step == 2 && strings.Contains(s.WaitingFor, "sre") && !strings.Contains(s.Message, edit[:7])
	})
}

// TestUnsignedCommitAtTheTipIsNotBuiltOn: while an analysis runs, an
// unsigned commit lands that touches no file ramp manages. Flux refuses
// the unsigned HEAD. When the analysis passes, ramp must not put its
// signed step commit on top (Flux checks only HEAD: that would smuggle
// the unsigned commit into the cluster): it holds and says why, until a
// trusted person signs the tip.
func TestUnsignedCommitAtTheTipIsNotBuiltOn(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(false,
		"setWeight: 20",
		"analysis: {gates: [error-rate], window: 10s}",
		"setWeight: 50")})
	releaseUntilApplied(w, "ramp enters the analysis step", e2etest.IsAction("analysis"))
	unsigned := w.Dev.Commit(false, "notes: unsigned", map[string]string{"docs/NOTES.md": "an unsigned change\n"})
	if err := e2etest.RequestReconcile(w.Ctx, cluster.Client, e2etest.GitRepositoryGVK, w.NS, e2etest.RepoName); err != nil {
		t.Fatal(err)
	}

	time.Sleep(15 * time.Second) // past the window: ramp would move on now
	if cs := w.RampCommits(unsigned); len(cs) > 0 {
		t.Fatalf("ramp built %q on top of the unsigned commit %.10s: Flux would now apply it under ramp's signature "+
			"(controllers/loops.go builds its gitsync.Loop without RequireSignedTip)", describeAll(cs), unsigned)
	}
	s := w.WaitRollout(10*time.Second, "ramp says it holds for the unsigned tip", func(s rampv1.RolloutStatus) bool {
		return strings.Contains(s.Message, unsigned[:7]) && strings.Contains(s.WaitingFor, "signed")
	})
	t.Logf("holding: %s (waiting for %q)", s.Message, s.WaitingFor)

	vouch := w.Dev.Commit(true, "notes: signed", nil)
	w.WaitCommit(vouch, time.Minute, "ramp moves on once the tip is signed", e2etest.IsAction("set-weight"))
	assertSigned(t, w, vouch)
}

//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// TestPrometheusStoppedDuringAnalysisHoldsAndResumesAfter: with
// Prometheus down the gates are inconclusive, never a pass: the rollout
// holds well past its window and says why; once Prometheus is back the
// analysis passes and the release is promoted.
func TestPrometheusStoppedDuringAnalysisHoldsAndResumesAfter(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(false,
		"setWeight: 20",
		"analysis: {gates: [error-rate], window: 10s}")})
	start, analysis := releaseUntilApplied(w, "ramp enters the analysis step", e2etest.IsAction("analysis"))
	w.Prom.Stop()
	stopped := time.Now()

	s := w.WaitRollout(30*time.Second, "status says Prometheus is unreachable", func(s rampv1.RolloutStatus) bool {
		return strings.Contains(s.Message, "connection refused")
	})
	t.Logf("holding: %s (waiting for %q)", s.Message, s.WaitingFor)
	time.Sleep(time.Until(stopped.Add(20 * time.Second))) // twice the window
	if cs := w.RampCommits(analysis.SHA); len(cs) > 0 {
		t.Fatalf("ramp moved on while Prometheus was down: %q", describeAll(cs))
	}
	if s, _, _, err := e2etest.RolloutStatus(w.Ctx, cluster.Client, w.NS, e2etest.RepoName, e2etest.Rollout); err != nil || s.Phase != "Progressing" || s.Step != 2 {
		t.Fatalf("status while Prometheus is down: %+v (%v), want Progressing at step 2", s, err)
	}

	if err := w.Prom.Start(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	w.WaitCommit(analysis.SHA, 2*time.Minute, "ramp completes the release once Prometheus is back", e2etest.IsAction("complete"))
	t.Logf("Prometheus back → release completed in %s", time.Since(restarted).Round(100*time.Millisecond))
	commits := w.RampCommits(start)
	want := []string{"set-weight 1/2 20", "analysis 2/2 20", "promote - 20", "complete - 0"}
	if got := describeAll(commits); !slices.Equal(got, want) {
		t.Fatalf("ramp's commits:\n  %q\nwant\n  %q", got, want)
	}
	if !commits[2].Time.After(restarted.Add(-time.Second)) {
		t.Errorf("promoted at %s, before Prometheus came back at %s", commits[2].Time, restarted)
	}
	if g := gateTrailer(commits[2], "error-rate"); !hasAll(g, "verdict=pass") {
		t.Errorf("promote's Ramp-Gate %q, want error-rate passing", g)
	}
	assertSigned(t, w, start+"~1")
}

//go:build e2e

package e2e

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// TestControllerKilledMidAnalysisContinuesFromGit: `ramp controller` is
// killed with SIGKILL while an analysis window runs and started again
// with an empty data directory (no clone, no cache): it derives the
// rollout from git and carries on, and no step is repeated or skipped.
func TestControllerKilledMidAnalysisContinuesFromGit(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(false,
		"setWeight: 20",
		"analysis: {gates: [error-rate], window: 16s}",
		"setWeight: 50")})
	start, analysis := releaseUntilApplied(w, "ramp enters the analysis step", e2etest.IsAction("analysis"))
	time.Sleep(5 * time.Second) // well inside the 16s window

	w.Ramp.Kill()
	killed := time.Now()
	if cs := w.RampCommits(analysis.SHA); len(cs) > 0 {
		t.Fatalf("the analysis ended before the kill (%q): the test did not kill mid-analysis", describeAll(cs))
	}
	time.Sleep(3 * time.Second)
	w.Ramp.DataDir = filepath.Join(w.Dir, "ramp", "data-after-kill")
	if err := w.Ramp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed at %s, running again after %s", killed.Format(time.TimeOnly), time.Since(killed).Round(100*time.Millisecond))

	w.WaitCommit(analysis.SHA, 2*time.Minute, "ramp completes the release after the restart", e2etest.IsAction("complete"))
	want := []string{"set-weight 1/3 20", "analysis 2/3 20", "set-weight 3/3 50", "promote - 50", "complete - 0"}
	commits := w.RampCommits(start)
	if got := describeAll(commits); !slices.Equal(got, want) {
		t.Fatalf("ramp's commits across the restart:\n  %q\nwant\n  %q", got, want)
	}
	if g := gateTrailer(commits[2], "error-rate"); !hasAll(g, "verdict=pass") {
		t.Errorf("step 3's Ramp-Gate %q, want error-rate passing", g)
	}
	assertWindowAfterApply(t, w, commits[1], commits[2])
	assertSigned(t, w, start+"~1")
}

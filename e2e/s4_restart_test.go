//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/e2e/e2etest"
	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestControllerKilledMidAnalysisContinuesFromGit: `ramp controller` is
// killed with SIGKILL while an analysis window runs, its clone is left as
// kills left it (an empty remote-tracking ref, a pack index cut short, a
// half-made clone beside it), and it is started again on the same data
// directory, as a container restarts on its pod's emptyDir. It says in
// one log line what was wrong with the clone, rebuilds it, derives the
// rollout from git and carries on: no step is repeated or skipped, and
// the repository is never Stalled.
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
	damageClone(t, w.Ramp.DataDir)
	time.Sleep(3 * time.Second)
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
	log := w.Ramp.Log(64 << 20)
	if heal := healLine.FindString(log); heal == "" {
		t.Errorf("the restarted controller did not log the rebuild of its clone:\n%s", w.Ramp.Log(4000))
	} else {
		t.Logf("%s", heal)
	}
	if strings.Contains(log, `"msg":"stalled"`) {
		t.Errorf("the restarted controller stalled:\n%s", w.Ramp.Log(4000))
	}
}

// healLine is the controller's log line about a rebuilt clone (JSON).
var healLine = regexp.MustCompile(`"msg":"rebuilt the clone".*"problem":"[^"]*".*"took":"[^"]*"`)

// damageClone leaves the one clone under dataDir as kills left clones
// before ramp healed them (gittest.DamageClone), with a half-made clone
// beside it.
func damageClone(t *testing.T, dataDir string) {
	t.Helper()
	clones, _ := filepath.Glob(filepath.Join(dataDir, "*", "*", "clone-*[^k]")) // not the .lock
	if len(clones) != 1 {
		t.Fatalf("clones under %s: %v, want one", dataDir, clones)
	}
	gittest.DamageClone(t, clones[0])
	if err := os.MkdirAll(filepath.Join(clones[0]+".tmp-1", "clone", "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
}

package controllers_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestRestartOverADamagedCloneRebuildsItAndGoesOn: the manager stops and
// its clone in the data directory (an emptyDir, kept across a container
// restart) is left as a kill leaves it: an empty ref and a pack index cut
// short. The next manager on the same directory rebuilds the clone, is
// never Stalled, and takes the release's next step once.
func TestRestartOverADamagedCloneRebuildsItAndGoesOn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	data := t.TempDir()
	stop := w.start(func(o *controllers.Options) { o.DataDir = data })
	w.repository(repoName, nil)
	w.wait(repoName, "the first reconcile", func(rr *rampv1.ReleaseRepository) bool { return rr.Status.LastFetchedRevision != "" })
	stop()

	clones, _ := filepath.Glob(filepath.Join(data, w.ns, repoName, "clone-*[^k]")) // not the .lock
	if len(clones) != 1 {
		t.Fatalf("clones in the data directory: %v, want one", clones)
	}
	gittest.DamageClone(t, clones[0])

	w.start(func(o *controllers.Options) { o.DataDir = data })
	start := w.release(releaseVersion)
	w.requestReconcile(repoName)
	rr := w.wait(repoName, "step 1", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 1 })
	if c := condition(rr, meta.ReadyCondition); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready %s %s %q after the rebuild, want True", c.Status, c.Reason, c.Message)
	}
	if c := condition(rr, meta.StalledCondition); c.Status != "" {
		t.Errorf("Stalled %s %q: a damaged clone is not a reason to stall", c.Status, c.Message)
	}
	commits := strings.Fields(w.serverGit("rev-list", start+"..main"))
	if len(commits) != 1 || w.trailer(commits[0], "Ramp-Action") != "set-weight" {
		t.Fatalf("commits after the release: %v, want exactly one set-weight commit", commits)
	}
}

//go:build e2e

package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// TestBlueGreenFailingItsBakeIsRolledBackToTheOldSide: a blue-green
// release switches all traffic to the new side and bakes there while the
// old side is kept. The new side turns bad during the bake: ramp aborts
// (weight 0, the bake gate's evidence in the commit) and reverts the
// release field, and Flux applies it: the cluster's HTTPRoute sends all
// traffic to the old side again, both Deployments run the old version.
func TestBlueGreenFailingItsBakeIsRolledBackToTheOldSide(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: blueGreenSpec(true,
		"rollbackWindow: 2m",
		"bake: {duration: 1m, gates: [error-rate]}")})
	start, bake := releaseUntilApplied(w, "ramp switches and enters the bake", enteredStep("2/3"))
	weights, err := e2etest.RouteWeights(w.Ctx, cluster.Client, w.NS, "demo")
	if err != nil || weights["demo-canary"] != 100 || weights["demo-stable"] != 0 {
		t.Fatalf("HTTPRoute in the API server during the bake: %v (%v), want all traffic on the new side", weights, err)
	}
	w.Eventually(30*time.Second, "the new side serves traffic", func() (bool, string) {
		v, ok, err := w.Prom.Value(rate(e2etest.ReleaseVersion))
		return err == nil && ok && v > 0, stringOf(v, err)
	})

	w.Apps[e2etest.ReleaseVersion].SetErrorRate(0.5)
	rollback := w.WaitCommit(start, 2*time.Minute, "ramp rolls the release back", e2etest.IsAction("rollback"))
	commits := w.RampCommits(start)
	want := []string{"set-weight 1/3 100", "analysis 2/3 100", "abort 2/3 0", "rollback - 0"}
	if got := describeAll(commits); !slices.Equal(got, want) {
		t.Fatalf("ramp's commits:\n  %q\nwant\n  %q", got, want)
	}
	abort := commits[2]
	if gate := gateTrailer(abort, "error-rate"); !hasAll(gate, "verdict=fail", `bound="<=0.05"`, "scope=bake") {
		t.Errorf("abort's Ramp-Gate %q, want the bake's failing error-rate", gate)
	}
	if r := abort.Trailer("Ramp-Reason"); !hasAll(r, "bake gate error-rate: ") {
		t.Errorf("abort's Ramp-Reason %q, want it to name the bake gate", r)
	}
	assertWindowAfterApply(t, w, bake, abort)

	w.WaitApplied(rollback.SHA, time.Minute)
	weights, err = e2etest.RouteWeights(w.Ctx, cluster.Client, w.NS, "demo")
	if err != nil || weights["demo-canary"] != 0 || weights["demo-stable"] != 100 {
		t.Fatalf("HTTPRoute in the API server after the rollback: %v (%v), want all traffic on the old side", weights, err)
	}
	for _, d := range []string{"demo-stable", "demo-canary"} {
		image, err := e2etest.DeploymentImage(w.Ctx, cluster.Client, w.NS, d)
		if err != nil || e2etest.ImageTag(image) != e2etest.StableVersion {
			t.Errorf("Deployment %s runs %q (%v) after the rollback, want %s", d, image, err, e2etest.StableVersion)
		}
	}
	w.Eventually(30*time.Second, "Prometheus sees no more traffic on the new side", func() (bool, string) {
		v, ok, err := w.Prom.Value(rate(e2etest.ReleaseVersion))
		return err == nil && ok && v == 0, stringOf(v, err)
	})
}

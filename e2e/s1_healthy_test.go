//go:build e2e

package e2e

import (
	"slices"
	"testing"
	"time"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// TestHealthyReleaseIsPromotedStepByStep: a healthy canary goes through
// every step, each a signed commit that Flux applies before its analysis
// window opens, and ends promoted: stable runs the release and all
// traffic (as the load generator routes it from the applied HTTPRoute)
// reaches the new version.
func TestHealthyReleaseIsPromotedStepByStep(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(false,
		"setWeight: 20",
		"analysis: {gates: [error-rate, latency], window: 10s}",
		"setWeight: 50",
		"analysis: {gates: [error-rate, latency], window: 10s}")})
	start := w.StartRelease(e2etest.ReleaseVersion)

	w.WaitCommit(start, 3*time.Minute, "ramp completes the release", e2etest.IsAction("complete"))
	commits := w.RampCommits(start)
	want := []string{"set-weight 1/4 20", "analysis 2/4 20", "set-weight 3/4 50", "analysis 4/4 50", "promote - 50", "complete - 0"}
	if got := describeAll(commits); !slices.Equal(got, want) {
		t.Fatalf("ramp's commits:\n  %q\nwant\n  %q", got, want)
	}
	assertSigned(t, w, start+"~1")

	// Each weight reached the API server through Flux before the next step.
	for i, weight := range map[int]int{0: 20, 2: 50} {
		a, ok := w.Applied.Find(commits[i].SHA)
		if !ok {
			t.Errorf("Flux never applied %s (%.10s)", commits[i].Subject, commits[i].SHA)
			continue
		}
		if a.At.After(commits[i+1].Time) {
			t.Errorf("%s applied at %s, after ramp's next step at %s", commits[i].Subject, a.At, commits[i+1].Time)
		}
		if a.Weights["demo-canary"] != weight || a.Weights["demo-stable"] != 100-weight {
			t.Errorf("HTTPRoute after %s was applied: %v, want canary %d", commits[i].Subject, a.Weights, weight)
		}
	}
	// Each analysis measured only after Flux applied its step, and the
	// commit that ended it carries the passing evidence.
	for _, i := range []int{1, 3} {
		assertWindowAfterApply(t, w, commits[i], commits[i+1])
		for _, gate := range []string{"error-rate", "latency"} {
			if g := gateTrailer(commits[i+1], gate); !hasAll(g, "verdict=pass", "value=", "bound=", "window=10s") {
				t.Errorf("%s: Ramp-Gate for %s is %q, want a pass with value, bound and window", commits[i+1].Subject, gate, g)
			}
		}
	}

	// Promoted: the stable Deployment runs the release, the route is back
	// on stable, and the new version takes all the traffic.
	done := w.WaitApplied(commits[5].SHA, time.Minute)
	if done.Weights["demo-canary"] != 0 || done.Weights["demo-stable"] != 100 {
		t.Errorf("HTTPRoute after complete: %v, want all on demo-stable", done.Weights)
	}
	image, err := e2etest.DeploymentImage(w.Ctx, cluster.Client, w.NS, "demo-stable")
	if err != nil || e2etest.ImageTag(image) != e2etest.ReleaseVersion {
		t.Errorf("Deployment demo-stable runs %q (%v), want tag %s", image, err, e2etest.ReleaseVersion)
	}
	w.WaitRollout(30*time.Second, "status shows demo Stable at "+e2etest.ReleaseVersion, func(s rampv1.RolloutStatus) bool {
		return s.Phase == "Stable" && s.Stable == e2etest.ReleaseVersion && s.Weight == 0
	})
	w.Eventually(30*time.Second, "Prometheus sees all traffic on the release", func() (bool, string) {
		oldRate, _, err1 := w.Prom.Value(rate(e2etest.StableVersion))
		newRate, _, err2 := w.Prom.Value(rate(e2etest.ReleaseVersion))
		return err1 == nil && err2 == nil && oldRate == 0 && newRate > 20,
			stringOf(map[string]float64{"1.0.0": oldRate, "1.1.0": newRate}, errorsOf(err1, err2))
	})
}

//go:build e2e

package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/e2e/e2etest"
	"github.com/ramp-dev/ramp/policy"
)

// TestFailingCanaryIsAbortedAndFluxReturnsTrafficToStable: the canary
// answers half its requests with 500; the error-rate gate fails, ramp
// commits the abort (weight 0) with the gate, value and bound in its
// trailers, then reverts the release field; Flux applies weight 0 and the
// canary stops receiving traffic.
func TestFailingCanaryIsAbortedAndFluxReturnsTrafficToStable(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(true,
		"setWeight: 20",
		"analysis: {gates: [error-rate], window: 10s}",
		"setWeight: 50")})
	w.Apps[e2etest.ReleaseVersion].SetErrorRate(0.5)
	start := w.StartRelease(e2etest.ReleaseVersion)

	rollback := w.WaitCommit(start, 2*time.Minute, "ramp rolls the release back", e2etest.IsAction("rollback"))
	commits := w.RampCommits(start)
	want := []string{"set-weight 1/3 20", "analysis 2/3 20", "abort 2/3 0", "rollback - 0"}
	if got := describeAll(commits); !slices.Equal(got, want) {
		t.Fatalf("ramp's commits:\n  %q\nwant\n  %q", got, want)
	}
	assertSigned(t, w, start+"~1")
	abort := commits[2]
	// Half the canary's requests fail: the measured share is about 0.5.
	gate := gateTrailer(abort, "error-rate")
	value := field(gate, "value")
	if v, err := strconv.ParseFloat(value, 64); err != nil || v < 0.4 || v > 0.6 ||
		!hasAll(gate, "verdict=fail", `bound="<=0.05"`, "samples=") {
		t.Errorf("abort's Ramp-Gate %q, want error-rate failing with a value near 0.5 against <=0.05", gate)
	}
	// The reason gives the value once, rounded, against the bound it broke.
	v, _ := strconv.ParseFloat(value, 64)
	if r := abort.Trailer("Ramp-Reason"); !hasAll(r, "gate error-rate: "+policy.RoundAgainst(v, "0.05")+" > 0.05 (", "measurements failed)") {
		t.Errorf("abort's Ramp-Reason %q, want it to name the gate, value %s and bound", r, value)
	}
	assertWindowAfterApply(t, w, commits[1], abort)

	// Flux applies weight 0 (the abort, or the rollback right after it).
	w.Eventually(time.Minute, "Flux applies the abort", func() (bool, string) {
		_, a := w.Applied.Find(abort.SHA)
		_, r := w.Applied.Find(rollback.SHA)
		return a || r, w.Applied.String()
	})
	weights, err := e2etest.RouteWeights(w.Ctx, cluster.Client, w.NS, "demo")
	if err != nil || weights["demo-canary"] != 0 || weights["demo-stable"] != 100 {
		t.Fatalf("HTTPRoute in the API server: %v (%v), want demo-canary 0, demo-stable 100", weights, err)
	}
	w.WaitApplied(rollback.SHA, time.Minute)
	image, err := e2etest.DeploymentImage(w.Ctx, cluster.Client, w.NS, "demo-canary")
	if err != nil || e2etest.ImageTag(image) != e2etest.StableVersion {
		t.Errorf("Deployment demo-canary runs %q (%v) after the rollback, want %s", image, err, e2etest.StableVersion)
	}
	s := w.WaitRollout(30*time.Second, "status shows the abort", func(s rampv1.RolloutStatus) bool {
		return s.Phase == "Aborted" || s.Phase == "Stable"
	})
	if s.Weight != 0 || s.Stable != e2etest.StableVersion {
		t.Errorf("status %+v, want weight 0 and stable %s", s, e2etest.StableVersion)
	}
	w.Eventually(30*time.Second, "Prometheus sees no more traffic on the canary", func() (bool, string) {
		v, ok, err := w.Prom.Value(rate(e2etest.ReleaseVersion))
		return err == nil && ok && v == 0, stringOf(v, err)
	})
	if sent, _ := w.Load.Sent(); sent[e2etest.ReleaseVersion] == 0 {
		t.Errorf("the load generator never sent to the canary: %v", sent)
	}
	if strings.Contains(strings.Join(describeAll(w.RampCommits(start)), ","), "3/3") {
		t.Errorf("ramp went on to step 3 after the abort")
	}
}

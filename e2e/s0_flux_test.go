//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// TestFluxAppliesSignedHeadAndRefusesUnsignedHead checks the ground the
// other scenarios stand on: the real source-controller verifies HEAD's
// signature against the keys of spec.verify, and the real
// kustomize-controller applies the repository and reports
// lastAppliedRevision main@sha1:<sha>; an unsigned HEAD is refused
// (SourceVerified=False) and the cluster stays as it was.
func TestFluxAppliesSignedHeadAndRefusesUnsignedHead(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(false, "setWeight: 20", "approval: {group: sre}")})
	head := w.Auditor.Git("rev-parse", "origin/main")

	st, err := e2etest.GetFluxStatus(w.Ctx, cluster.Client, e2etest.KustomizationGVK, w.NS, e2etest.KustomizationName)
	if err != nil {
		t.Fatal(err)
	}
	if want := "main@sha1:" + head; st.LastApplied != want {
		t.Fatalf("lastAppliedRevision %q, want %q", st.LastApplied, want)
	}
	weights, err := e2etest.RouteWeights(w.Ctx, cluster.Client, w.NS, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if weights["demo-stable"] != 100 || weights["demo-canary"] != 0 {
		t.Fatalf("HTTPRoute weights %v, want demo-stable 100, demo-canary 0", weights)
	}
	for _, d := range []string{"demo-stable", "demo-canary"} {
		image, err := e2etest.DeploymentImage(w.Ctx, cluster.Client, w.NS, d)
		if err != nil {
			t.Fatal(err)
		}
		if image != "ghcr.io/example/demo:1.0.0" {
			t.Errorf("Deployment %s image %q, want ghcr.io/example/demo:1.0.0", d, image)
		}
	}

	unsigned := w.Dev.Edit(false, "unsigned: all traffic to the canary", "apps/demo/route.yaml", func(s string) string {
		return strings.Replace(strings.Replace(s, "weight: 100", "weight: 0", 1), "weight: 0\n", "weight: 100\n", 1)
	})
	if err := e2etest.RequestReconcile(w.Ctx, cluster.Client, e2etest.GitRepositoryGVK, w.NS, e2etest.RepoName); err != nil {
		t.Fatal(err)
	}
	w.Eventually(time.Minute, "Flux refuses the unsigned HEAD", func() (bool, string) {
		src, err := e2etest.GetFluxStatus(w.Ctx, cluster.Client, e2etest.GitRepositoryGVK, w.NS, e2etest.RepoName)
		v := src.Cond("SourceVerified")
		return err == nil && v.Status == "False" && strings.Contains(v.Message, unsigned[:7]), stringOf(v, err)
	})
	if err := e2etest.RequestReconcile(w.Ctx, cluster.Client, e2etest.KustomizationGVK, w.NS, e2etest.KustomizationName); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	st, err = e2etest.GetFluxStatus(w.Ctx, cluster.Client, e2etest.KustomizationGVK, w.NS, e2etest.KustomizationName)
	if err != nil || st.AppliedSHA() != head {
		t.Fatalf("after the unsigned push: applied %q (%v), want still %s", st.LastApplied, err, head)
	}
	if weights, _ := e2etest.RouteWeights(w.Ctx, cluster.Client, w.NS, "demo"); weights["demo-canary"] != 0 {
		t.Fatalf("HTTPRoute weights %v after an unsigned HEAD, want the canary still at 0", weights)
	}
}

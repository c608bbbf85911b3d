package gitsync_test

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

const capacityDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-SIDE
spec:
  replicas: COUNT # ramp sizes the canary
  selector: {matchLabels: {app: demo, side: SIDE}}
`

func deployment(side string, replicas string) string {
	return strings.NewReplacer("SIDE", side, "COUNT", replicas).Replace(capacityDeployment)
}

func TestLoopSizesTheCanaryWithEveryWeight(t *testing.T) {
	spec := strings.Replace(policytest.CanaryYAML("demo", "setWeight: 5", "setWeight: 25", "setWeight: 50"), "  kustomizations:",
		"    canaryReplicas: {file: apps/demo/canary/deployment.yaml, path: spec.replicas, minReplicas: 0}\n"+
			"    stableReplicas: {file: apps/demo/stable/deployment.yaml, path: spec.replicas}\n  kustomizations:", 1)
	w := newWorldWithSpec(t, spec)

	// The Deployments are not there yet: capacity cannot be written, and
	// that is a spec error naming the field, not a skipped edit.
	o := w.expect(policy.ActionNone, 0, 0)
	if o.Invalid == nil || !strings.Contains(o.Decision.Reason,
		"releases/demo/rollout.yaml:11: spec.target.canaryReplicas.path: apps/demo/canary/deployment.yaml: file not found") {
		t.Fatalf("without the Deployments: %s (invalid: %v)", o.Decision.Reason, o.Invalid)
	}
	w.commitFiles("dev", "demo: deployments", map[string]string{
		"apps/demo/canary/deployment.yaml": deployment("canary", "0"),
		"apps/demo/stable/deployment.yaml": deployment("stable", "10"),
	})
	w.release("1.1.0")
	for _, step := range []struct{ step, weight int }{{1, 5}, {2, 25}, {3, 50}} {
		w.expect(policy.ActionSetWeight, step.step, step.weight)
		want := map[int]string{5: "1", 25: "3", 50: "5"}[step.weight]
		if got := w.show("apps/demo/canary/deployment.yaml"); got != deployment("canary", want) {
			t.Errorf("at weight %d the canary Deployment is\n%s\nwant replicas %s", step.weight, got, want)
		}
	}
	w.expect(policy.ActionPromote, 0, 50)
	w.expect(policy.ActionComplete, 0, 0)
	if got := w.show("apps/demo/canary/deployment.yaml"); got != deployment("canary", "0") {
		t.Errorf("after completion the canary Deployment is\n%s\nwant replicas 0", got)
	}
}

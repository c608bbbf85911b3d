package manifest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

const (
	stableDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-stable
spec:
  replicas: 10 # sized for all traffic
  template: {}
---
apiVersion: v1
kind: Service
metadata:
  name: demo-stable
spec:
  ports: [{port: 80}]
`
	canaryHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: demo-canary
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: demo-canary}
  minReplicas: 1 # ramp sets this with every weight
  maxReplicas: 20
`
)

// capacitySpec is SpecYAML("demo") whose canary replicas are an HPA's
// minReplicas, sized from the stable Deployment's replicas.
func capacitySpec(t *testing.T, extra string) *policy.Rollout {
	spec := strings.Replace(policytest.SpecYAML("demo"), "  kustomizations:",
		"    canaryReplicas: {file: apps/demo/canary/hpa.yaml, path: spec.minReplicas"+extra+"}\n"+
			"    stableReplicas: {file: apps/demo/stable/deployment.yaml, path: spec.replicas}\n  kustomizations:", 1)
	return policytest.MustParse(t, "demo", spec)
}

func reader(files map[string]string) func(string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		if s, ok := files[path]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("%s: %w", path, os.ErrNotExist)
	}
}

func TestEditsSizeTheCanaryWithEveryWeight(t *testing.T) {
	files := map[string]string{
		"apps/demo/route.yaml":             route,
		"apps/demo/canary/hpa.yaml":        canaryHPA,
		"apps/demo/stable/deployment.yaml": stableDeployment,
	}
	tests := []struct {
		extra   string
		weight  int
		x       policy.Exposure
		replica string
	}{
		{"", 5, policy.Exposure{}, "1"},
		{"", 25, policy.Exposure{}, "3"},
		{"", 50, policy.Exposure{}, "5"},
		{"", 100, policy.Exposure{}, "10"},
		{"", 0, policy.Exposure{}, "0"},
		{"", 0, policy.Exposure{Mirror: &policy.Mirror{Percent: 10}}, "1"},
		{", minReplicas: 2", 5, policy.Exposure{}, "2"},
	}
	for _, tt := range tests {
		r := capacitySpec(t, tt.extra)
		edits, err := Edits(reader(files), r, policy.Decision{Action: policy.ActionSetWeight, Weight: tt.weight, Exposure: tt.x})
		if err != nil {
			t.Fatalf("weight %d: %v", tt.weight, err)
		}
		want := strings.Replace(canaryHPA, "minReplicas: 1 #", "minReplicas: "+tt.replica+" #", 1)
		got, ok := edits["apps/demo/canary/hpa.yaml"]
		if !ok {
			got = []byte(canaryHPA)
		}
		if string(got) != want {
			t.Errorf("weight %d%s: hpa.yaml is\n%s\nwant minReplicas %s", tt.weight, tt.extra, got, tt.replica)
		}
	}
}

func TestCheckTargetNamesTheSpecLineOfFieldsThatDoNotResolve(t *testing.T) {
	r := capacitySpec(t, "")
	files := map[string]string{
		"apps/demo/route.yaml":             route,
		"apps/demo/canary/hpa.yaml":        strings.Replace(canaryHPA, "  minReplicas: 1 # ramp sets this with every weight\n", "", 1),
		"apps/demo/stable/deployment.yaml": strings.Replace(stableDeployment, "replicas: 10", "replicas: ten", 1),
	}
	got := CheckTarget(reader(files), r).Error()
	want := `releases/demo/rollout.yaml:11: spec.target.canaryReplicas.path: apps/demo/canary/hpa.yaml: spec.minReplicas: no key "minReplicas" in spec (line 6); ramp edits existing fields only
releases/demo/rollout.yaml:12: spec.target.stableReplicas.path: apps/demo/stable/deployment.yaml: spec.replicas is "ten", not a whole number >= 0`
	if got != want {
		t.Errorf("CheckTarget:\n%s\nwant:\n%s", got, want)
	}
	delete(files, "apps/demo/canary/hpa.yaml")
	if err := CheckTarget(reader(files), r).Error(); !strings.Contains(err, "releases/demo/rollout.yaml:11: spec.target.canaryReplicas.path: apps/demo/canary/hpa.yaml: file does not exist") {
		t.Errorf("CheckTarget with the file missing: %s", err)
	}
}

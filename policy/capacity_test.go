package policy_test

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

func TestCanaryReplicasFollowTheWeight(t *testing.T) {
	tests := []struct {
		weight, stable, min int
		exposed             bool
		want                int
	}{
		{5, 10, 0, false, 1},
		{25, 10, 0, false, 3},
		{50, 10, 0, false, 5},
		{100, 10, 0, false, 10},
		{0, 10, 0, false, 0},
		{0, 10, 0, true, 1}, // a cohort at weight 0 still needs a replica
		{0, 10, 2, false, 2},
		{5, 10, 2, false, 2},
		{10, 3, 1, false, 1},
		{34, 3, 0, false, 2},
		{1, 0, 1, false, 1},
	}
	for _, tt := range tests {
		if got := policy.CanaryReplicas(tt.weight, tt.stable, tt.min, tt.exposed); got != tt.want {
			t.Errorf("CanaryReplicas(weight %d, stable %d, min %d, exposed %v) = %d, want %d",
				tt.weight, tt.stable, tt.min, tt.exposed, got, tt.want)
		}
	}
}

// CapacityYAML is SpecYAML with canary and stable replica fields.
func capacityYAML(canary, stable string) string {
	return strings.Replace(policytest.SpecYAML("demo"), "  kustomizations:",
		canary+stable+"  kustomizations:", 1)
}

func TestValidateRejectsCapacityFields(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []string
	}{
		{"canary replicas without stable's",
			capacityYAML("    canaryReplicas: {file: apps/demo/canary/deployment.yaml, path: spec.replicas}\n", ""),
			[]string{`11: spec.target.canaryReplicas: needs spec.target.stableReplicas: the canary's replicas are a share of stable's`}},
		{"stable replicas alone",
			capacityYAML("", "    stableReplicas: {file: apps/demo/stable/deployment.yaml, path: spec.replicas}\n"),
			[]string{`11: spec.target.stableReplicas: is read only to size the canary: needs spec.target.canaryReplicas`}},
		{"a negative floor, a floor on stable, a path that does not parse",
			capacityYAML("    canaryReplicas: {file: apps/demo/canary/hpa.yaml, path: \"spec.minReplicas[\", minReplicas: -1}\n",
				"    stableReplicas: {file: apps/demo/stable/deployment.yaml, path: spec.replicas, minReplicas: 1}\n"),
			[]string{
				`11: spec.target.canaryReplicas.path: field path "spec.minReplicas[": unclosed [ at offset 16`,
				`11: spec.target.canaryReplicas.minReplicas: -1 is negative`,
				`12: spec.target.stableReplicas.minReplicas: applies to canaryReplicas only; stable's count is read, never written`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSpecErrors(t, tt.spec, tt.want)
		})
	}
}

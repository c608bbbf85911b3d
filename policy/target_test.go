package policy_test

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy/policytest"
)

func fieldTargetYAML(target string) string {
	return strings.Replace(policytest.SpecYAML("demo"),
		"    httpRoute: {file: apps/demo/route.yaml, stableBackend: demo-stable, canaryBackend: demo-canary}\n",
		"    field: "+target+"\n", 1)
}

func TestValidateAcceptsFieldTargets(t *testing.T) {
	policytest.MustParse(t, "demo", fieldTargetYAML(`{file: apps/demo/ingress.yaml, path: 'metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"]'}`))
	policytest.MustParse(t, "demo", fieldTargetYAML(`{file: apps/demo/workers.yaml, path: data.canary, stablePath: data.stable, scale: {count: 12}}`))
}

func TestValidateRejectsFieldTargets(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []string
	}{
		{"a scale of no workers", fieldTargetYAML(`{file: w.yaml, path: data.canary, scale: {count: 0}}`),
			[]string{`10: spec.target.field.scale.count: 0 is not a count (1 or more): how many workers, partitions or consumers there are`}},
		{"one field for both sides", fieldTargetYAML(`{file: w.yaml, path: spec.weight, stablePath: spec.weight}`),
			[]string{`10: spec.target.field.stablePath: "spec.weight" is also the path; each value needs a field of its own`}},
		{"an unterminated quoted key", fieldTargetYAML(`{file: i.yaml, path: 'metadata.annotations["a'}`),
			[]string{`10: spec.target.field.path: field path "metadata.annotations[\"a": unterminated quoted key at offset 21`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantSpecErrors(t, tt.spec, tt.want) })
	}
}

package policy_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// highTier is the guardrails of the example: riskTier high needs
// an error-rate and a latency gate with minSamples, background gates on,
// a bake of at least 30m, an approval before the last step and steps of
// at most 25.
const highTier = `riskTiers:
  high:
    maxWeightStep: 25
    requireGates: [error-rate, latency]
    requireMinSamples: true
    requireBackground: true
    minBake: 30m
    requireApproval: true
`

func mustGuardrails(t *testing.T, text string) policy.Guardrails {
	t.Helper()
	g, err := policy.ParseGuardrails("guardrails.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// highRiskSpec meets highTier.
func highRiskSpec() string {
	return `apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  owner: team-demo
  riskTier: high
  release: {file: apps/demo/canary/kustomization.yaml, path: "images[name=demo].newTag"}
  stable: {file: apps/demo/stable/kustomization.yaml, path: "images[name=demo].newTag"}
  target:
    httpRoute: {file: apps/demo/route.yaml, stableBackend: demo-stable, canaryBackend: demo-canary}
  strategy:
    canary:
      steps:
        - setWeight: 10
        - setWeight: 25
        - approval: {group: sre}
        - setWeight: 50
      background: {gates: [error-rate, latency]}
      bake: {duration: 30m, gates: [error-rate]}
  gates:
    - name: error-rate
      prometheus: {query: 'sum(rate(errors{version="{{.Version}}"}[1m]))', max: 0.01, sampleQuery: 'sum(increase(requests{version="{{.Version}}"}[1m]))', minSamples: 50}
    - name: latency
      prometheus: {query: 'max(p99{version="{{.Version}}"})', max: 0.5, sampleQuery: 'sum(increase(requests{version="{{.Version}}"}[1m]))', minSamples: 50}
`
}

func TestParseGuardrailsReadsRiskTiers(t *testing.T) {
	g := mustGuardrails(t, highTier)
	want := &policy.TierRules{MaxWeightStep: 25, RequireGates: []string{"error-rate", "latency"}, RequireMinSamples: true,
		RequireBackground: true, MinBake: policy.Duration{Duration: 30 * time.Minute}, RequireApproval: true}
	if !reflect.DeepEqual(g.Tier("high"), want) || g.Tier("low") != nil {
		t.Fatalf("tiers %+v, want high %+v only", g.RiskTiers, want)
	}
	_, err := policy.ParseGuardrails("guardrails.yaml", []byte("riskTiers:\n  extreme: {}\n  high: {maxWeightStep: 120}\n"))
	if err == nil || err.Error() != "guardrails.yaml:2: riskTiers.extreme: unknown field (known fields: high, low, medium)\n"+
		"guardrails.yaml:3: riskTiers.high.maxWeightStep: 120 is not between 1 and 100 (leave it out for the guardrails' maxWeightStep)" {
		t.Fatalf("ParseGuardrails: %v", err)
	}
}

func TestValidateAppliesTheRulesOfTheRiskTier(t *testing.T) {
	g := mustGuardrails(t, highTier)
	r := policytest.MustParse(t, "demo", highRiskSpec())
	if errs := policy.Validate(r, g); errs != nil {
		t.Fatalf("a spec that meets the tier:\n%v", errs)
	}
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"a weight step above the tier's", func(s string) string { return strings.Replace(s, "setWeight: 50", "setWeight: 60", 1) },
			[]string{`18: spec.strategy.canary.steps[3].setWeight: 60 raises the weight by 35, above guardrail riskTiers.high.maxWeightStep 25; add a step in between`}},
		{"a required gate missing", func(s string) string {
			s = strings.Replace(s, "[error-rate, latency]}", "[error-rate]}", 1)
			return s[:strings.Index(s, "    - name: latency")]
		}, []string{
			`19: spec.strategy.canary.background.gates: riskTier high needs latency among the background gates (guardrail riskTiers.high.requireBackground)`,
			`21: spec.gates: riskTier high needs a gate "latency" (guardrail riskTiers.high.requireGates)`,
		}},
		{"a required gate judged nowhere, without minSamples", func(s string) string {
			s = strings.Replace(s, "[error-rate, latency]}", "[error-rate]}", 1)
			return strings.Replace(s, "max: 0.5, sampleQuery: 'sum(increase(requests{version=\"{{.Version}}\"}[1m]))', minSamples: 50}", "max: 0.5}", 1)
		}, []string{
			`19: spec.strategy.canary.background.gates: riskTier high needs latency among the background gates (guardrail riskTiers.high.requireBackground)`,
			`24: spec.gates[1]: riskTier high needs gate "latency" judged in an analysis step, as a background gate or in the bake (guardrail riskTiers.high.requireGates)`,
		}},
		{"a judged gate without minSamples", func(s string) string {
			return strings.Replace(s, ", sampleQuery: 'sum(increase(requests{version=\"{{.Version}}\"}[1m]))', minSamples: 50}", "}", 1)
		}, []string{`23: spec.gates[0].prometheus: riskTier high needs minSamples and a sampleQuery on gate "error-rate" (guardrail riskTiers.high.requireMinSamples)`}},
		{"no background, no bake", func(s string) string {
			return strings.Replace(s, "      background: {gates: [error-rate, latency]}\n      bake: {duration: 30m, gates: [error-rate]}\n", "", 1)
		}, []string{
			`13: spec.strategy.canary: riskTier high needs background gates (guardrail riskTiers.high.requireBackground)`,
			`13: spec.strategy.canary: riskTier high needs a bake of at least 30m (guardrail riskTiers.high.minBake)`,
			`20: spec.gates[0]: riskTier high needs gate "error-rate" judged in an analysis step, as a background gate or in the bake (guardrail riskTiers.high.requireGates)`,
			`22: spec.gates[1]: riskTier high needs gate "latency" judged in an analysis step, as a background gate or in the bake (guardrail riskTiers.high.requireGates)`,
		}},
		{"a short bake", func(s string) string { return strings.Replace(s, "duration: 30m", "duration: 10m", 1) },
			[]string{`20: spec.strategy.canary.bake.duration: 10m is shorter than 30m, the bake riskTier high needs (guardrail riskTiers.high.minBake)`}},
		{"no approval before the last step", func(s string) string {
			return strings.Replace(s, "        - approval: {group: sre}\n", "        - analysis: {gates: [error-rate], window: 5m}\n", 1)
		}, []string{`13: spec.strategy.canary: riskTier high needs an approval before the final step (guardrail riskTiers.high.requireApproval)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.edit(highRiskSpec())
			r, err := policy.Parse(policy.SpecPath("demo"), []byte(spec))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if errs := policy.Validate(r, policy.DefaultGuardrails()); errs != nil {
				t.Fatalf("the default guardrails refuse it too:\n%v", errs)
			}
			var got []string
			for _, e := range policy.Validate(r, g) {
				got = append(got, strings.TrimPrefix(e.Error(), policy.SpecPath("demo")+":"))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

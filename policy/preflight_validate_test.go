package policy_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

// withIncident gives highRiskSpec an alerts gate incident, required by
// the tier of highTierWithIncident and judged in the background.
func withIncident(spec string) string {
	spec = strings.Replace(spec, "background: {gates: [error-rate, latency]}", "background: {gates: [error-rate, latency, incident]}", 1)
	return spec + "    - name: incident\n      alerts: {selector: 'service=\"demo\"'}\n"
}

const highTierWithIncident = `riskTiers:
  high:
    requireGates: [error-rate, latency, incident]
    requireBackground: true
`

func TestValidateChecksThePreflight(t *testing.T) {
	g := mustGuardrails(t, highTierWithIncident)
	base := withIncident(highRiskSpec())
	if r, err := policy.Parse(policy.SpecPath("demo"), []byte(base)); err != nil {
		t.Fatal(err)
	} else if errs := policy.Validate(r, g); errs != nil {
		t.Fatalf("the default preflight (the background gates) meets requireBackground:\n%v", errs)
	}
	preflight := func(line string) func(string) string {
		return func(s string) string {
			return strings.Replace(s, "      background:", "      "+line+"\n      background:", 1)
		}
	}
	tests := []struct {
		name       string
		edit       func(string) string
		guardrails policy.Guardrails
		want       []string
	}{
		{"every required gate in the preflight", preflight("preflight: {gates: [incident, error-rate, latency]}"), g, nil},
		{"a preflight without a required gate", preflight("preflight: {gates: [incident]}"), g, []string{
			`19: spec.strategy.canary.preflight.gates: riskTier high needs error-rate, latency among the preflight gates, judged before step 1 (guardrail riskTiers.high.requireBackground)`,
		}},
		{"an empty preflight under requireBackground", preflight("preflight: {gates: []}"), g, []string{
			`19: spec.strategy.canary.preflight.gates: riskTier high needs error-rate, latency, incident among the preflight gates, judged before step 1 (guardrail riskTiers.high.requireBackground)`,
		}},
		{"an empty preflight without the guardrail turns it off", preflight("preflight: {gates: []}"), policy.DefaultGuardrails(), nil},
		{"an undefined gate", preflight("preflight: {gates: [incident, outage]}"), policy.DefaultGuardrails(), []string{
			`19: spec.strategy.canary.preflight.gates[1]: "outage" is not a gate defined in spec.gates`,
		}},
		{"a gate that compares with stable", func(s string) string {
			s = preflight("preflight: {gates: [ratio]}")(s)
			return s + "    - name: ratio\n      prometheus: {query: 'sum(errors{version=\"{{.Version}}\"})', maxRatio: 1.5}\n"
		}, policy.DefaultGuardrails(), []string{
			`19: spec.strategy.canary.preflight.gates[0]: gate "ratio" compares with stable (maxRatio or maxIncrease), but before step 1 only stable serves traffic; use a gate with min or max, or an alerts gate`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := policy.Parse(policy.SpecPath("demo"), []byte(tt.edit(base)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, e := range policy.Validate(r, tt.guardrails) {
				got = append(got, strings.TrimPrefix(e.Error(), policy.SpecPath("demo")+":"))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseReadsABlueGreenPreflight(t *testing.T) {
	spec := strings.Replace(highRiskSpec(), `    canary:
      steps:
        - setWeight: 10
        - setWeight: 25
        - approval: {group: sre}
        - setWeight: 50
      background: {gates: [error-rate, latency]}
      bake: {duration: 30m, gates: [error-rate]}
`, `    blueGreen:
      analysis: {gates: [error-rate], window: 5m}
      rollbackWindow: 30m
      preflight: {gates: [latency]}
`, 1)
	r, err := policy.Parse(policy.SpecPath("demo"), []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if errs := policy.Validate(r, policy.DefaultGuardrails()); errs != nil {
		t.Fatalf("Validate:\n%v", errs)
	}
	if pf := r.Preflight(); pf == nil || !reflect.DeepEqual(pf.Gates, []string{"latency"}) {
		t.Fatalf("preflight %+v, want gates [latency]", pf)
	}
}

// Package policytest holds rollout specs and helpers shared by the tests
// of ramp's packages: valid spec texts to start from, and MustParse.
package policytest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

// Valid returns the example spec of the design, rollout "demo", with every
// kind of canary step. Policy's spec tests assert line numbers in it:
// change it only together with them.
func Valid() string {
	return `apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  owner: team-demo
  riskTier: medium
  changeId: CHG-2026-1
  release: {file: apps/demo/canary/kustomization.yaml, path: "images[name=demo].newTag"}
  stable:  {file: apps/demo/stable/kustomization.yaml, path: "images[name=demo].newTag"}
  target:
    httpRoute: {file: apps/demo/route.yaml, stableBackend: demo-stable, canaryBackend: demo-canary}
  kustomizations: [{name: demo, namespace: flux-system}]
  strategy:
    canary:
      steps:
        - setWeight: 10
        - approval: {group: sre}
        - setWeight: 50
        - analysis: {gates: [error-rate], window: 5m}
        - pause: {duration: 2m}
        - pause: {}
  gates:
    - name: error-rate
      prometheus: {query: 'sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[1m]))', max: 0.01}
  onFailure: {revertRelease: true}
`
}

// SpecYAML returns a valid canary spec for rollout name: steps setWeight
// 10, approval sre, setWeight 50, approval sre.
func SpecYAML(name string) string {
	return CanaryYAML(name, "setWeight: 10", "approval: {group: sre}", "setWeight: 50", "approval: {group: sre}")
}

// CanaryYAML returns a canary spec for rollout name with the given steps,
// each one step in YAML flow style, e.g. "setWeight: 10" or
// "analysis: {gates: [error-rate], window: 5m}". The spec defines the
// gate error-rate (max 0.01); its files are under apps/<name>/, its
// backends <name>-stable and <name>-canary.
func CanaryYAML(name string, steps ...string) string {
	var b strings.Builder
	b.WriteString("    canary:\n      steps:\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "        - %s\n", s)
	}
	return specYAML(name, b.String())
}

// BlueGreenYAML returns a blue-green spec for rollout name: gate
// error-rate over 5m on the idle side, an approval by sre, then the
// switch, with a rollback window of 30m.
func BlueGreenYAML(name string) string {
	return BlueGreenWith(name, "analysis: {gates: [error-rate], window: 5m}", "approval: {group: sre}", "rollbackWindow: 30m")
}

// BlueGreenWith returns a blue-green spec for rollout name with the given
// fields of strategy.blueGreen, each in YAML flow style, e.g.
// "rollbackWindow: 30m" or "bake: {duration: 10m, gates: [error-rate]}".
func BlueGreenWith(name string, fields ...string) string {
	var b strings.Builder
	b.WriteString("    blueGreen:\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "      %s\n", f)
	}
	return specYAML(name, b.String())
}

func specYAML(name, strategy string) string {
	return strings.NewReplacer("NAME", name, "STRATEGY\n", strategy).Replace(`apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: NAME
spec:
  owner: team-NAME
  release: {file: apps/NAME/canary/kustomization.yaml, path: "images[name=NAME].newTag"}
  stable: {file: apps/NAME/stable/kustomization.yaml, path: "images[name=NAME].newTag"}
  target:
    httpRoute: {file: apps/NAME/route.yaml, stableBackend: NAME-stable, canaryBackend: NAME-canary}
  kustomizations: [{name: NAME, namespace: flux-system}]
  strategy:
STRATEGY
  gates:
    - name: error-rate
      prometheus: {query: 'sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[1m]))', max: 0.01}
`)
}

// MustParse parses spec as releases/<name>/rollout.yaml and validates it
// against the default guardrails; any problem fails the test.
func MustParse(t testing.TB, name, spec string) *policy.Rollout {
	t.Helper()
	path := policy.SpecPath(name)
	r, err := policy.Parse(path, []byte(spec))
	if err != nil {
		t.Fatalf("policytest.MustParse(%s):\n%v", name, err)
	}
	if errs := policy.Validate(r, policy.DefaultGuardrails()); errs != nil {
		t.Fatalf("policytest.MustParse(%s): invalid spec:\n%v", name, errs)
	}
	return r
}

// GatedYAML returns a canary spec for rollout name with the given steps
// (analysis steps name the gate error-rate) and one gate fit for tests
// against a real Prometheus scraped every second: error-rate, the share
// of 5xx answers of the measured version over 3 s, at most 5%, measured
// every second, with at least 20 requests behind it. A failed gate
// reverts the release field.
func GatedYAML(name string, steps ...string) string {
	return Gated(CanaryYAML(name, steps...))
}

// Gated gives a spec of CanaryYAML or BlueGreenWith the gate of GatedYAML,
// fit for tests against a real Prometheus, and onFailure.revertRelease.
func Gated(spec string) string {
	return strings.Replace(spec, `  gates:
    - name: error-rate
      prometheus: {query: 'sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[1m]))', max: 0.01}
`, `  gates:
    - name: error-rate
      interval: 1s
      prometheus:
        query: 'sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[3s])) / sum(rate(http_requests_total{version="{{.Version}}"}[3s]))'
        max: 0.05
        sampleQuery: 'sum(increase(http_requests_total{version="{{.Version}}"}[3s]))'
        minSamples: 20
  onFailure: {revertRelease: true}
`, 1)
}

// LadderYAML returns the exposure ladder of a canary spec for rollout
// name: cohort internal (header x-user-group: internal), weight 5, a 10%
// mirror named shadow, weight 50, then promotion; the spec declares its
// shadow traffic free of side effects.
func LadderYAML(name string) string {
	return WithShadow(CanaryYAML(name,
		"setHeaderRoute: {name: internal, match: [{header: x-user-group, value: internal}]}",
		"setWeight: 5",
		"setMirrorRoute: {name: shadow, percent: 10}",
		"setWeight: 50"))
}

// WithShadow adds spec.shadow, sideEffects none, to a spec from this package.
func WithShadow(spec string) string {
	return strings.Replace(spec, "  strategy:\n",
		"  shadow: {sideEffects: none, reason: \"the canary reads only; its writes go to a sandbox\"}\n  strategy:\n", 1)
}

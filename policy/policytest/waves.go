package policytest

import (
	"fmt"
	"strings"
)

// WavesYAML returns a valid spec of rollout name with targets and waves:
// targets eu, us and ap (each with its files under clusters/<target>/<name>/
// and its Kustomization in the cluster of its name), wave "first" [eu] with
// a soak of 30m, wave "rest" [us, ap]; steps setWeight 50 then analysis of
// error-rate over 5m. Policy's waves tests assert line numbers in it:
// change it only together with them. extra lines are added under spec:
// (two spaces of indent), e.g. "  onFailure: {rollbackCompletedWaves: true}".
func WavesYAML(name string, extra ...string) string {
	var b strings.Builder
	writeHead(&b, name)
	for _, t := range []string{"eu", "us", "ap"} {
		writeTarget(&b, name, t)
	}
	b.WriteString(`  waves:
    - {name: first, targets: [eu], soak: 30m}
    - {name: rest, targets: [us, ap]}
  strategy:
    canary:
      steps:
        - setWeight: 50
        - analysis: {gates: [error-rate], window: 5m}
  gates:
    - name: error-rate
      prometheus: {query: 'sum(rate(http_requests_total{target="{{.Target}}",version="{{.Version}}",code=~"5.."}[1m]))', max: 0.01}
`)
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// FleetYAML returns a valid spec of rollout name with n targets t0001,
// t0002, … (each with its files under clusters/<target>/<name>/, as
// WavesYAML's), in waves of at most 100 targets: the first wave holds one
// target and soaks 30m. It is the spec of the benchmarks of a large fleet.
func FleetYAML(name string, n int) string {
	var b strings.Builder
	writeHead(&b, name)
	for _, t := range FleetTargets(n) {
		writeTarget(&b, name, t)
	}
	b.WriteString("  waves:\n")
	targets := FleetTargets(n)
	fmt.Fprintf(&b, "    - {name: first, targets: [%s], soak: 30m}\n", targets[0])
	for i, rest := 0, targets[1:]; len(rest) > 0; i++ {
		k := min(len(rest), 100)
		fmt.Fprintf(&b, "    - {name: wave-%d, targets: [%s]}\n", i+1, strings.Join(rest[:k], ", "))
		rest = rest[k:]
	}
	b.WriteString(`  strategy:
    canary:
      steps:
        - setWeight: 50
        - analysis: {gates: [error-rate], window: 5m}
  gates:
    - name: error-rate
      prometheus: {query: 'sum(rate(http_requests_total{target="{{.Target}}",version="{{.Version}}",code=~"5.."}[1m]))', max: 0.01}
`)
	return b.String()
}

// FleetTargets returns the names of FleetYAML's n targets, in order.
func FleetTargets(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%04d", i+1)
	}
	return out
}

// writeHead writes the start of a spec of rollout name with targets, up
// to its targets: list.
func writeHead(b *strings.Builder, name string) {
	fmt.Fprintf(b, `apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: %[1]s
spec:
  owner: team-%[1]s
  release: {file: releases/%[1]s/release.yaml, path: version}
  targets:
`, name)
}

// writeTarget writes target t of rollout name: its files under
// clusters/<t>/<name>/ and its Kustomization in the cluster of its name.
func writeTarget(b *strings.Builder, name, t string) {
	fmt.Fprintf(b, `    - name: %[2]s
      release: {file: clusters/%[2]s/%[1]s/canary/kustomization.yaml, path: "images[name=%[1]s].newTag"}
      stable: {file: clusters/%[2]s/%[1]s/stable/kustomization.yaml, path: "images[name=%[1]s].newTag"}
      target: {httpRoute: {file: clusters/%[2]s/%[1]s/route.yaml, stableBackend: %[1]s-stable, canaryBackend: %[1]s-canary}}
      kustomizations: [{name: %[1]s, namespace: flux-system, cluster: %[2]s}]
`, name, t)
}

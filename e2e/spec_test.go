//go:build e2e

package e2e

import (
	"fmt"
	"strings"
)

// spec returns the rollout demo's spec for a scenario: the files `ramp
// init` made, applied by Kustomization demo of the world's namespace
// (NAMESPACE), the given canary steps (each one line of YAML flow style)
// and two gates measured every 2s on the demo apps' real metrics:
// error-rate (at most 5% of requests answered 500, with at least 5
// requests behind each measurement) and latency (p90 at most 200 ms over
// stable's).
func spec(revert bool, steps ...string) string {
	var b strings.Builder
	b.WriteString("    canary:\n      steps:\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "        - %s\n", s)
	}
	return specWith(revert, b.String())
}

// blueGreenSpec is spec with a blue-green strategy of the given fields,
// each one line of YAML flow style (e.g. "rollbackWindow: 1m").
func blueGreenSpec(revert bool, fields ...string) string {
	var b strings.Builder
	b.WriteString("    blueGreen:\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "      %s\n", f)
	}
	return specWith(revert, b.String())
}

// specWith is spec with the given strategy block.
func specWith(revert bool, strategy string) string {
	return strings.NewReplacer("STRATEGY\n", strategy, "REVERT", fmt.Sprint(revert)).Replace(`apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  owner: team-demo
  riskTier: medium
  release:
    file: apps/demo/canary/kustomization.yaml
    path: images[name=demo].newTag
  stable:
    file: apps/demo/stable/kustomization.yaml
    path: images[name=demo].newTag
  target:
    httpRoute:
      file: apps/demo/route.yaml
      stableBackend: demo-stable
      canaryBackend: demo-canary
  kustomizations:
    - name: demo
      namespace: NAMESPACE
  strategy:
STRATEGY
  gates:
    - name: error-rate
      interval: 2s
      prometheus:
        query: 'sum(rate(http_requests_total{version="{{.Version}}",code="500"}[4s])) / sum(rate(http_requests_total{version="{{.Version}}"}[4s]))'
        max: 0.05
        sampleQuery: 'sum(increase(http_requests_total{version="{{.Version}}"}[4s]))'
        minSamples: 5
    - name: latency
      interval: 2s
      prometheus:
        query: 'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{.Version}}"}[4s])))'
        maxIncrease: 0.2
  onFailure:
    revertRelease: REVERT
`)
}

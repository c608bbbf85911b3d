package main

import (
	"strings"
	"time"
)

// rollout is the demo's releases/demo/rollout.yaml: `ramp init`'s example
// with an error-rate gate after each weight, an approval by sre before
// promotion, and a rollback of the release field when a gate fails.
func rollout(window time.Duration) string {
	return strings.ReplaceAll(`# The rollout "demo": ramp reads this from git; it is never applied to a cluster.
apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  owner: team-demo
  riskTier: medium
  # A pull request that changes this field starts a release.
  release:
    file: apps/demo/canary/kustomization.yaml
    path: images[name=demo].newTag
  # Promotion copies the release into this field.
  stable:
    file: apps/demo/stable/kustomization.yaml
    path: images[name=demo].newTag
  # ramp writes the traffic split into this HTTPRoute's backend weights.
  target:
    httpRoute:
      file: apps/demo/route.yaml
      stableBackend: demo-stable
      canaryBackend: demo-canary
  kustomizations:
    - name: demo
      namespace: flux-system
  strategy:
    canary:
      steps:
        - setWeight: 20
        - analysis: {gates: [error-rate], window: WINDOW}
        - setWeight: 50
        - analysis: {gates: [error-rate], window: WINDOW}
        - approval: {group: sre, count: 1}
  gates:
    # The canary's share of 5xx answers, measured every second over the
    # window once 3s of warm-up have passed: above 5% fails (and aborts);
    # fewer than 20 requests in the last 5s is no signal (inconclusive:
    # ramp holds).
    - name: error-rate
      warmUp: 3s
      interval: 1s
      prometheus:
        query: sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[5s])) / sum(rate(http_requests_total{version="{{.Version}}"}[5s]))
        max: 0.05
        sampleQuery: sum(increase(http_requests_total{version="{{.Version}}"}[5s]))
        minSamples: 20
  onFailure:
    # After the abort has taken the canary's traffic away, set the release
    # field back to the stable version.
    revertRelease: true
`, "WINDOW", window.String())
}

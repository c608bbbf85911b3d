package manifest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/manifest/manifesttest"
	"github.com/ramp-dev/ramp/policy"
)

// Files of other routers as their documentation writes them, with CANARY
// and STABLE where ramp writes.
const (
	istioVirtualService = `# reviews: 100% v1 until ramp moves it
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: STABLE
    - destination:
        host: reviews
        subset: v2
      weight: CANARY
`
	smiTrafficSplit = `apiVersion: split.smi-spec.io/v1alpha4
kind: TrafficSplit
metadata:
  name: website
spec:
  service: website
  backends:
  - service: website-v1
    weight: STABLE
  - service: website-v2
    weight: CANARY # the release
`
	traefikServices = `# Traefik: weighted round robin between the sides, mirrored to the canary.
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata:
  name: demo-weighted
spec:
  weighted:
    services:
      - name: demo-stable
        port: 80
        weight: STABLE
      - name: demo-canary
        port: 80
        weight: CANARY
---
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata:
  name: demo
spec:
  mirroring:
    name: demo-weighted
    kind: TraefikService
    mirrors:
      - name: demo-canary
        port: 80
        percent: MIRROR
`
	nginxCanaryIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: demo-canary
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "CANARY" # ramp
spec:
  ingressClassName: nginx
  rules:
  - host: demo.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: demo-canary
            port:
              number: 80
`
	workerPartitions = `# Partitions of topic orders each side consumes (12 in all).
apiVersion: v1
kind: ConfigMap
metadata:
  name: orders-consumers
data:
  canary-partitions: "CANARY"
  stable-partitions: "STABLE"
`
	flagdFlags = `{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "flags": {
    "new-checkout": {
      "state": "ENABLED",
      "variants": {
        "on": true,
        "off": false
      },
      "defaultVariant": "off",
      "targeting": {
        "fractional": [
          { "cat": [{ "var": "$flagd.flagKey" }, { "var": "user.id" }] },
          ["on", CANARY],
          ["off", STABLE]
        ]
      }
    }
  }
}
`
)

// routerFile fills in a router file's template.
func routerFile(tmpl string, canary, stable, mirror int) string {
	return strings.NewReplacer("CANARY", strconv.Itoa(canary), "STABLE", strconv.Itoa(stable), "MIRROR", strconv.Itoa(mirror)).Replace(tmpl)
}

// routerTargets are the README's examples of the field target.
var routerTargets = []struct {
	name string
	tmpl string
	t    policy.FieldTarget
	// want are the canary's values at weights 10, 25, 50, 100 and 0.
	want []int
}{
	{"Istio VirtualService", istioVirtualService,
		policy.FieldTarget{Path: "spec.http[0].route[1].weight", StablePath: "spec.http[0].route[0].weight"}, []int{10, 25, 50, 100, 0}},
	{"SMI TrafficSplit", smiTrafficSplit,
		policy.FieldTarget{Path: "spec.backends[service=website-v2].weight", StablePath: "spec.backends[service=website-v1].weight"}, []int{10, 25, 50, 100, 0}},
	{"Traefik TraefikService", traefikServices,
		policy.FieldTarget{Path: "spec.weighted.services[name=demo-canary].weight", StablePath: "spec.weighted.services[name=demo-stable].weight",
			MirrorPath: "spec.mirroring.mirrors[name=demo-canary].percent"}, []int{10, 25, 50, 100, 0}},
	{"nginx canary annotation", nginxCanaryIngress,
		policy.FieldTarget{Path: `metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"]`}, []int{10, 25, 50, 100, 0}},
	{"a worker split over 12 partitions", workerPartitions,
		policy.FieldTarget{Path: "data.canary-partitions", StablePath: "data.stable-partitions", Scale: &policy.Scale{Count: 12}}, []int{1, 3, 6, 12, 0}},
	{"an OpenFeature flagd fractional split", flagdFlags,
		policy.FieldTarget{Path: "flags.new-checkout.targeting.fractional[1][1]", StablePath: "flags.new-checkout.targeting.fractional[2][1]"}, []int{10, 25, 50, 100, 0}},
}

// fieldRollout is a rollout whose target is t in file f.
func fieldRollout(f string, t policy.FieldTarget) *policy.Rollout {
	t.File = f
	return &policy.Rollout{Metadata: policy.Metadata{Name: "demo"}, Spec: policy.Spec{Target: policy.Target{Field: &t}}}
}

// rolls writes the weights 10, 25, 50, 100 and 0 (a 10% mirror at 25)
// into a router file, checking each version byte for byte and reading the
// weight back; it returns every version written.
func roll(t *testing.T, tmpl string, target policy.FieldTarget, want []int) []string {
	t.Helper()
	stableOf := func(canary int) int {
		if target.Scale != nil {
			return target.Scale.Count - canary
		}
		return 100 - canary
	}
	r := fieldRollout("router.yaml", target)
	data := routerFile(tmpl, 0, stableOf(0), 0)
	var written []string
	for i, weight := range []int{10, 25, 50, 100, 0} {
		d := policy.Decision{Action: policy.ActionSetWeight, Weight: weight}
		mirror := 0
		if weight == 25 && target.MirrorPath != "" {
			mirror = 10
			d.Exposure.Mirror = &policy.Mirror{Name: "shadow", Percent: 10}
		}
		edits, err := Edits(reader(map[string]string{"router.yaml": data}), r, d)
		if err != nil {
			t.Fatalf("weight %d: %v", weight, err)
		}
		if out, ok := edits["router.yaml"]; ok {
			data = string(out)
		}
		if exp := routerFile(tmpl, want[i], stableOf(want[i]), mirror); data != exp {
			t.Fatalf("at weight %d the file is\n%s\nwant:\n%s", weight, data, exp)
		}
		if got, err := Weight([]byte(data), r); err != nil || got != target.WeightOf(want[i]) {
			t.Errorf("at weight %d Weight reads %d, %v", weight, got, err)
		}
		written = append(written, data)
	}
	return written
}

func TestFieldTargetsRoundTripRouterFiles(t *testing.T) {
	for _, rt := range routerTargets {
		t.Run(rt.name, func(t *testing.T) {
			written := roll(t, rt.tmpl, rt.t, rt.want)
			if rt.tmpl == flagdFlags {
				for _, f := range written {
					var v map[string]any
					if err := json.Unmarshal([]byte(f), &v); err != nil {
						t.Errorf("the flag file is no longer JSON: %v\n%s", err, f)
					}
				}
			}
		})
	}
}

func TestFieldTargetCountsWorkersAt10To100Percent(t *testing.T) {
	target := policy.FieldTarget{Scale: &policy.Scale{Count: 12}}
	for weight, want := range map[int]int{10: 1, 25: 3, 50: 6, 100: 12, 0: 0, 1: 1, 5: 1, 96: 12, 95: 11} {
		if got, stable := target.TargetValues(weight); got != want || stable != 12-want {
			t.Errorf("weight %d%% of 12: canary %d stable %d, want %d and %d", weight, got, stable, want, 12-want)
		}
	}
}

// TestRouterFilesAreAcceptedByTheAPIServer applies every TraefikService
// (with Traefik v3.6.12's CRDs) and nginx Ingress ramp wrote above,
// server-side with dry run.
func TestRouterFilesAreAcceptedByTheAPIServer(t *testing.T) {
	traefik, err := manifesttest.ModuleDir("github.com/traefik/traefik/v3", manifesttest.TraefikVersion)
	if err != nil {
		t.Fatal(err)
	}
	api := manifesttest.StartAPIServer(t, filepath.Join(traefik, "docs", "content", "reference", "dynamic-configuration", "kubernetes-crd-definition-v1.yml"))
	for _, rt := range routerTargets {
		if rt.tmpl != traefikServices && rt.tmpl != nginxCanaryIngress {
			continue // Istio's and SMI's CRDs, and flagd's schema, are not in the module cache
		}
		for _, f := range roll(t, rt.tmpl, rt.t, rt.want) {
			if err := api.DryRunApply(context.Background(), []byte(f)); err != nil {
				t.Errorf("%s: the API server refuses\n%s\n%v", rt.name, f, err)
			}
		}
	}
}

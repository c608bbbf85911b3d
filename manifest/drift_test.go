package manifest

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

const driftRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: demo}
spec:
  rules:
    - backendRefs:
        - {name: demo-stable, port: 80, weight: 100}
        - {name: &c demo-canary, port: 80, weight: 0}
EXTRA`

func TestTargetFieldsSeeEveryRouteToTheCanaryBesidesTheWeight(t *testing.T) {
	rule0 := 0
	for _, tc := range []struct {
		name, extra   string
		rule          *int
		rules, mirror string
	}{
		{"the weighted rule alone", "", nil, "", ""},
		{"a cohort rule", `    - name: ramp-cohort-internal
      matches: [{headers: [{name: x-user-group, value: internal}]}]
      backendRefs: [{name: demo-canary, port: 80}]
`, nil, "ramp-cohort-internal [{headers: [{name: x-user-group, value: internal}]}]", ""},
		{"a rule by another name, through an alias, beside rule 0", `    - name: mine
      matches: [{headers: [{name: x-me, value: "1"}]}]
      backendRefs: [{name: *c, port: 80}]
`, &rule0, "mine [{headers: [{name: x-me, value: \"1\"}]}]", ""},
		{"a canary backend at weight 0 in another rule", `    - matches: [{path: {type: PathPrefix, value: /admin}}]
      backendRefs: [{name: demo-admin, port: 80}, {name: demo-canary, port: 80, weight: 0}]
`, &rule0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &policy.Rollout{Spec: policy.Spec{Target: policy.Target{HTTPRoute: &policy.HTTPRouteTarget{
				File: "route.yaml", StableBackend: "demo-stable", CanaryBackend: "demo-canary", Rule: tc.rule}}}}
			data := []byte(strings.Replace(driftRoute, "EXTRA", tc.extra, 1))
			got, err := TargetFields(data, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].New != tc.rules || got[1].New != tc.mirror {
				t.Fatalf("got %+v, want route rules %q and mirror %q", got, tc.rules, tc.mirror)
			}
		})
	}
}

func TestTargetFieldsReadAFieldTargetsStableSideAndMirror(t *testing.T) {
	r := &policy.Rollout{Spec: policy.Spec{Target: policy.Target{Field: &policy.FieldTarget{
		File: "split.yaml", Path: "spec.canary", StablePath: "spec.stable", MirrorPath: "spec.mirror"}}}}
	got, err := TargetFields([]byte("spec: {canary: 0, stable: 60, mirror: 10}\n"), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Field != policy.FieldStableWeight || got[0].New != "60" || got[1].Field != policy.FieldMirror || got[1].New != "10" {
		t.Fatalf("got %+v, want stable weight 60 and mirror 10", got)
	}
	if r.AtRest(got, 0) {
		t.Fatalf("%+v at rest, want stable 60 and mirror 10 seen", got)
	}
	got[0].New, got[1].New = "100", "0"
	if !r.AtRest(got, 0) {
		t.Fatalf("%+v not at rest", got)
	}
}

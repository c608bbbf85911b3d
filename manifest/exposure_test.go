package manifest

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

// exposureRoute is an HTTPRoute as people write them: a comment above the
// weighted rule, a path match, an admin rule after it.
var exposureRoute = strings.Replace(route, "    - matches:", "    # public traffic, split by ramp\n    - matches:", 1)

var (
	internal = policy.HeaderRoute{Name: "internal", Match: []policy.CohortMatch{{Header: "x-user-group", Value: "internal"}}}
	always   = policy.HeaderRoute{Name: "always", Match: []policy.CohortMatch{{Cookie: "canary", Value: "always"}, {QueryParam: "canary", Value: "1"}}}
)

func TestSetRouteExposureWritesCohortRulesAndMirrors(t *testing.T) {
	cohortRule := `    - name: ramp-cohort-internal
      matches:
        - {path: {type: PathPrefix, value: /}, headers: [{name: x-user-group, value: internal}]}
      backendRefs:
        - {name: demo-canary, port: 80}
`
	alwaysRule := `    - name: ramp-cohort-always
      matches:
        - {path: {type: PathPrefix, value: /}, headers: [{name: Cookie, type: RegularExpression, value: (^|;\s*)canary=always(;|$)}]}
        - {path: {type: PathPrefix, value: /}, queryParams: [{name: canary, value: "1"}]}
      backendRefs:
        - {name: demo-canary, port: 80}
`
	mirror := `      filters:
        - {type: RequestMirror, requestMirror: {backendRef: {name: demo-canary, port: 80}, percent: 10}}
`
	above := "    # public traffic, split by ramp\n"
	tests := []struct {
		name string
		doc  string
		x    policy.Exposure
		want string
	}{
		{"one cohort goes before the weighted rule and its comment", exposureRoute,
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal}},
			strings.Replace(exposureRoute, above, cohortRule+above, 1)},
		{"a cookie and a query parameter, two cohorts in order", exposureRoute,
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal, always}},
			strings.Replace(exposureRoute, above, cohortRule+alwaysRule+above, 1)},
		{"a mirror filter after the rule's last line", exposureRoute,
			policy.Exposure{Mirror: &policy.Mirror{Name: "shadow", Percent: 10}},
			strings.Replace(exposureRoute, "          weight: 10\n", "          weight: 10\n"+mirror, 1)},
		{"cohort and mirror", exposureRoute,
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal}, Mirror: &policy.Mirror{Name: "shadow", Percent: 10}},
			strings.Replace(strings.Replace(exposureRoute, "          weight: 10\n", "          weight: 10\n"+mirror, 1), above, cohortRule+above, 1)},
		{"a rule without matches, first key on the dash line, other filters kept, CRLF",
			strings.ReplaceAll("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n  - backendRefs:\n    - {name: demo-stable, port: 8080, weight: 100}\n    - {name: demo-canary, port: 8080, weight: 0}\n    filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier: {add: [{name: x-via, value: gw}]}\n", "\n", "\r\n"),
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal}, Mirror: &policy.Mirror{Name: "shadow", Percent: 5}},
			strings.ReplaceAll("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n"+
				"  - name: ramp-cohort-internal\n    matches:\n    - {headers: [{name: x-user-group, value: internal}]}\n    backendRefs:\n    - {name: demo-canary, port: 8080}\n"+
				"  - backendRefs:\n    - {name: demo-stable, port: 8080, weight: 100}\n    - {name: demo-canary, port: 8080, weight: 0}\n    filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier: {add: [{name: x-via, value: gw}]}\n"+
				"    - {type: RequestMirror, requestMirror: {backendRef: {name: demo-canary, port: 8080}, percent: 5}}\n", "\n", "\r\n")},
		{"a match that has headers gets the cohort's header added",
			strings.Replace(exposureRoute, "- path: {type: PathPrefix, value: /}", "- path: {type: PathPrefix, value: /}\n          headers: [{name: x-tenant, value: acme}]", 1),
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal}},
			strings.Replace(strings.Replace(exposureRoute, "- path: {type: PathPrefix, value: /}", "- path: {type: PathPrefix, value: /}\n          headers: [{name: x-tenant, value: acme}]", 1),
				above, strings.Replace(cohortRule, "headers: [{name: x-user-group", "headers: [{name: x-tenant, value: acme}, {name: x-user-group", 1)+above, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := setRouteExposure([]byte(tt.doc), demo, tt.x)
			if err != nil {
				t.Fatalf("setRouteExposure: %v", err)
			}
			if string(out) != tt.want {
				t.Fatalf("setRouteExposure\n got:\n%s\nwant:\n%s", out, tt.want)
			}
			again, err := setRouteExposure(out, demo, tt.x)
			if err != nil || string(again) != string(out) {
				t.Errorf("writing the same exposure again changed the file (%v):\n%s", err, again)
			}
			if w, err := routeWeights(out, demo); err != nil || w != mustWeight(t, tt.doc) {
				t.Errorf("routeWeights after = %d, %v; the cohort rules must not count", w, err)
			}
			clean, err := setRouteExposure(out, demo, policy.Exposure{})
			if err != nil || string(clean) != tt.doc {
				t.Errorf("removing the exposure (%v) gives\n%s\nwant the file as it was:\n%s", err, clean, tt.doc)
			}
		})
	}
}

func mustWeight(t *testing.T, doc string) int {
	t.Helper()
	w, err := routeWeights([]byte(doc), demo)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSetRouteExposureChangesAMirrorAndRemovesOneCohort(t *testing.T) {
	both := policy.Exposure{Cohorts: []policy.HeaderRoute{internal, always}, Mirror: &policy.Mirror{Name: "shadow", Percent: 10}}
	out, err := setRouteExposure([]byte(exposureRoute), demo, both)
	if err != nil {
		t.Fatal(err)
	}
	fewer := policy.Exposure{Cohorts: []policy.HeaderRoute{always}, Mirror: &policy.Mirror{Name: "shadow", Percent: 50}}
	out, err = setRouteExposure(out, demo, fewer)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := setRouteExposure([]byte(exposureRoute), demo, fewer)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(direct) {
		t.Errorf("after removing a cohort and changing the mirror:\n%s\nwant what writing that exposure at once gives:\n%s", out, direct)
	}
	got, err := routeExposure(out, demo)
	if err != nil || len(got.Cohorts) != 1 || got.Cohorts[0].Name != "always" || got.Mirror == nil || got.Mirror.Percent != 50 {
		t.Errorf("routeExposure = %+v, %v", got, err)
	}
}

func TestRouteRuleIndexSkipsCohortRules(t *testing.T) {
	out, err := setRouteExposure([]byte(exposureRoute), demo, policy.Exposure{Cohorts: []policy.HeaderRoute{internal}})
	if err != nil {
		t.Fatal(err)
	}
	// Rule 0 is still the weighted rule the user wrote first.
	if w, err := routeWeights(out, ruleOnly(0)); err != nil || w != 10 {
		t.Errorf("routeWeights(rule 0) = %d, %v; want 10", w, err)
	}
	if _, err := setRouteExposure(out, ruleOnly(0), policy.Exposure{}); err != nil {
		t.Errorf("removing with rule 0 selected: %v", err)
	}
}

func TestSetRouteExposureRefusesWhatItCannotWrite(t *testing.T) {
	head := "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n"
	tests := []struct {
		name    string
		doc     string
		x       policy.Exposure
		wantErr string
	}{
		{"flow list of rules", strings.TrimSuffix(head, "\n") + " [{backendRefs: [{name: demo-stable, port: 80}, {name: demo-canary, port: 80}]}]\n",
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal}}, "is a flow list"},
		{"two weighted rules", head + "  - backendRefs: [{name: demo-stable, port: 80}, {name: demo-canary, port: 80}]\n" +
			"  - backendRefs: [{name: demo-stable, port: 80}, {name: demo-canary, port: 80}]\n",
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal}}, "but 2 rules name both backends; set spec.target.httpRoute.rule"},
		{"a canary without port", head + "  - backendRefs: [{name: demo-stable}, {name: demo-canary}]\n",
			policy.Exposure{Mirror: &policy.Mirror{Percent: 5}}, "has no port"},
		{"the weighted match already has the cohort's header",
			head + "  - matches: [{headers: [{name: X-User-Group, value: x}]}]\n    backendRefs: [{name: demo-stable, port: 80}, {name: demo-canary, port: 80}]\n",
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal}}, `already matches header "X-User-Group"`},
		{"more than 16 rules", head + strings.Repeat("  - backendRefs: [{name: other, port: 80}]\n", 15) +
			"  - backendRefs: [{name: demo-stable, port: 80}, {name: demo-canary, port: 80}]\n",
			policy.Exposure{Cohorts: []policy.HeaderRoute{internal}}, "would have 17 rules; Gateway API allows 16"},
		{"a rule written as a flow mapping", head + "  - {backendRefs: [{name: demo-stable, port: 80}, {name: demo-canary, port: 80}]}\n",
			policy.Exposure{Mirror: &policy.Mirror{Percent: 5}}, "is a flow mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := setRouteExposure([]byte(tt.doc), demo, tt.x)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("setRouteExposure error = %v (output %q); want it to contain %q", err, out, tt.wantErr)
			}
		})
	}
}

func TestCookieMatchQuotesRegexpCharacters(t *testing.T) {
	name, re := CookieMatch("ab.test", "a+b")
	if name != "Cookie" || re != `(^|;\s*)ab\.test=a\+b(;|$)` {
		t.Errorf("CookieMatch = %s %s", name, re)
	}
}

package manifest

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

func mustPath(t *testing.T, s string) policy.FieldPath {
	t.Helper()
	p, err := policy.ParseFieldPath(s)
	if err != nil {
		t.Fatalf("ParseFieldPath(%q): %v", s, err)
	}
	return p
}

const kustomization = `# release of demo
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

images:
  - name: demo   # the app
    newTag: 1.2.3 # bumped by CI
  - name: other
    newTag: 9.9.9
`

func TestGetFieldReadsScalarsInEveryQuotingStyle(t *testing.T) {
	tests := []struct{ doc, path, want string }{
		{kustomization, "images[name=demo].newTag", "1.2.3"},
		{kustomization, "images[1].newTag", "9.9.9"},
		{"tag: \"v1\\\"x\" # c\n", "tag", `v1"x`},
		{"tag: 'it''s'\n", "tag", "it's"},
		{"ref: {name: x, weight: 10}\n", "ref.weight", "10"},
		{"kind: Service\n---\n# second\nimages: [{name: demo, newTag: v2}]\n", "images[name=demo].newTag", "v2"},
		{"- a\n- b\n", "[1]", "b"},
	}
	for _, tt := range tests {
		got, err := GetField([]byte(tt.doc), mustPath(t, tt.path))
		if err != nil || got != tt.want {
			t.Errorf("GetField(%q, %s) = %q, %v; want %q", tt.doc, tt.path, got, err, tt.want)
		}
	}
}

func TestSetFieldChangesOnlyTheScalarBytes(t *testing.T) {
	tests := []struct {
		name, doc, path, value, want string
	}{
		{"plain, comments and blank line kept", kustomization, "images[name=demo].newTag", "1.3.0",
			strings.Replace(kustomization, "newTag: 1.2.3 # bumped", "newTag: 1.3.0 # bumped", 1)},
		{"index selector", kustomization, "images[1].newTag", "10.0.1",
			strings.Replace(kustomization, "9.9.9", "10.0.1", 1)},
		{"double-quoted stays double-quoted", "tag: \"v1\"  # pinned\n", "tag", "v2", "tag: \"v2\"  # pinned\n"},
		{"escaped quote inside double quotes", "tag: \"a\\\"b\" # c\n", "tag", "x", "tag: \"x\" # c\n"},
		{"single-quoted stays single-quoted", "tag: 'v1'\n", "tag", "it's", "tag: 'it''s'\n"},
		{"plain int stays plain", "weight: 10\n", "weight", "25", "weight: 25\n"},
		{"plain string that would turn into a number is quoted", "tag: v1\n", "tag", "2.0", "tag: \"2.0\"\n"},
		{"plain with mapping indicator is quoted", "msg: hello\n", "msg", "a: b", "msg: \"a: b\"\n"},
		{"plain with comment marker is quoted", "msg: hello # note\n", "msg", "x #y", "msg: \"x #y\" # note\n"},
		{"newline is escaped", "msg: hello\n", "msg", "a\nb", "msg: \"a\\nb\"\n"},
		{"flow mapping", "ref: {name: x, weight: 10}\n", "ref.weight", "20", "ref: {name: x, weight: 20}\n"},
		{"comma quoted in flow mapping", "ref: {name: x, tag: v1}\n", "ref.tag", "a,b", "ref: {name: x, tag: \"a,b\"}\n"},
		{"flow sequence", "tags: [v1, v2] # list\n", "tags[1]", "v3", "tags: [v1, v3] # list\n"},
		{"non-ASCII before the value on its line", "ref: {note: \"héllo ✓\", tag: v1}\n", "ref.tag", "v2",
			"ref: {note: \"héllo ✓\", tag: v2}\n"},
		{"CRLF line endings kept", "a: 1\r\nb: x # c\r\n\r\nd: 2\r\n", "b", "y", "a: 1\r\nb: y # c\r\n\r\nd: 2\r\n"},
		{"second document of a stream", "kind: Service\nspec: {port: 80}\n---\n# app\nimages:\n  - name: demo\n    newTag: v1\n",
			"images[name=demo].newTag", "v2",
			"kind: Service\nspec: {port: 80}\n---\n# app\nimages:\n  - name: demo\n    newTag: v2\n"},
		{"no final newline", "tag: v1", "tag", "v2", "tag: v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setField([]byte(tt.doc), mustPath(t, tt.path), tt.value)
			if err != nil {
				t.Fatalf("setField: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("setField(%s=%q)\n got: %q\nwant: %q", tt.path, tt.value, got, tt.want)
			}
		})
	}
}

func TestSetFieldRejectsPathsThatDoNotResolveToOneScalar(t *testing.T) {
	tests := []struct {
		name, doc, path, wantErr string
	}{
		{"missing final key", "images:\n  - name: demo\n", "images[name=demo].newTag",
			`images[name=demo].newTag: no key "newTag" in images[name=demo] (line 2)`},
		{"missing middle key", "spec: {}\n", "spec.rules[0].weight", `no key "rules" in spec`},
		{"selector matches nothing", kustomization, "images[name=nope].newTag", "0 elements of images"},
		{"selector matches twice", "images:\n  - name: a\n  - name: a\n", "images[name=a].newTag",
			"2 elements of images (line 2) have name=a, want exactly one (lines: 2, 3)"},
		{"index out of range", kustomization, "images[5].newTag", "index 5 is out of range: images (line 6) has 2 elements"},
		{"path ends at a mapping", kustomization, "images[0]", "images[0] (line 6) is a mapping, not a single value"},
		{"key on a sequence", kustomization, "images.name", "images (line 6) is a sequence, not a mapping"},
		{"block scalar", "msg: |\n  hello\n", "msg", "block scalar"},
		{"anchored value", "a: &x v1\nb: *x\n", "a", "anchor"},
		{"through an alias", "base: &b {tag: v1}\nref: *b\n", "ref.tag", "is an alias"},
		{"empty value", "tag:\nother: 1\n", "tag", "has no value"},
		{"plain value spanning lines", "msg: hello\n  world\n", "msg", "spanning lines"},
		{"path in two documents", "tag: a\n---\ntag: b\n", "tag", "resolves in documents 1 and 2"},
		{"not YAML", "a: [1\n", "a", "parse YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := setField([]byte(tt.doc), mustPath(t, tt.path), "v9")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("setField error = %v (output %q); want it to contain %q", err, out, tt.wantErr)
			}
		})
	}
}

const route = `# Route for demo; ramp owns the weights.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: demo
spec:
  parentRefs:
    - name: gw

  rules:
    - matches:
        - path: {type: PathPrefix, value: /}
      backendRefs:
        - name: demo-stable
          port: 80
          weight: 90 # stable
        - name: demo-canary
          port: 80
          weight: 10
    - backendRefs:  # admin only
        - name: admin
          port: 8080
`

var demo = policy.HTTPRouteTarget{File: "route.yaml", StableBackend: "demo-stable", CanaryBackend: "demo-canary"}

func ruleOnly(i int) policy.HTTPRouteTarget {
	t := demo
	t.Rule = &i
	return t
}

func TestSetRouteWeightsEditsBackendWeightsInPlace(t *testing.T) {
	twoRules := "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n" +
		"  - backendRefs: [{name: demo-stable, weight: 100}, {name: demo-canary, weight: 0}]\n" +
		"  - backendRefs: [{name: demo-stable, weight: 100}, {name: demo-canary, weight: 0}]\n"
	tests := []struct {
		name   string
		target policy.HTTPRouteTarget
		doc    string
		before int
		canary int
		want   string
	}{
		{"block style, other rule untouched", demo, route, 10, 25,
			strings.Replace(strings.Replace(route, "weight: 90 #", "weight: 75 #", 1), "weight: 10\n", "weight: 25\n", 1)},
		{"missing weights are inserted under name", demo,
			"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n  - backendRefs:\n" +
				"    - name: demo-stable # old\n      port: 80\n    - port: 80\n      name: \"demo-canary\"\n",
			50, 5,
			"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n  - backendRefs:\n" +
				"    - name: demo-stable # old\n      weight: 95\n      port: 80\n    - port: 80\n      name: \"demo-canary\"\n      weight: 5\n"},
		{"flow style", demo, twoRules, 0, 30, strings.ReplaceAll(strings.ReplaceAll(twoRules,
			"weight: 100", "weight: 70"), "canary, weight: 0", "canary, weight: 30")},
		{"one rule selected", ruleOnly(1), twoRules, 0, 30,
			strings.TrimSuffix(twoRules, "{name: demo-stable, weight: 100}, {name: demo-canary, weight: 0}]\n") +
				"{name: demo-stable, weight: 70}, {name: demo-canary, weight: 30}]\n"},
		{"flow mapping without weight", demo,
			"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n  - backendRefs:\n" +
				"    - {name: demo-stable, port: 80}\n    - {name: demo-canary, port: 80}\n",
			50, 100,
			"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n  - backendRefs:\n" +
				"    - {name: demo-stable, weight: 0, port: 80}\n    - {name: demo-canary, weight: 100, port: 80}\n"},
		{"CRLF, a second document, no final newline", demo,
			"kind: Service\r\n---\r\napiVersion: gateway.networking.k8s.io/v1\r\nkind: HTTPRoute\r\nspec:\r\n  rules:\r\n" +
				"  - backendRefs:\r\n    - name: demo-stable\r\n      weight: 1\r\n    - name: demo-canary",
			50, 40,
			"kind: Service\r\n---\r\napiVersion: gateway.networking.k8s.io/v1\r\nkind: HTTPRoute\r\nspec:\r\n  rules:\r\n" +
				"  - backendRefs:\r\n    - name: demo-stable\r\n      weight: 60\r\n    - name: demo-canary\r\n      weight: 40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := routeWeights([]byte(tt.doc), tt.target); err != nil || got != tt.before {
				t.Errorf("routeWeights before = %d, %v; want %d", got, err, tt.before)
			}
			out, err := setRouteWeights([]byte(tt.doc), tt.target, tt.canary)
			if err != nil {
				t.Fatalf("setRouteWeights: %v", err)
			}
			if string(out) != tt.want {
				t.Errorf("setRouteWeights(%d)\n got: %q\nwant: %q", tt.canary, out, tt.want)
			}
			if got, err := routeWeights(out, tt.target); err != nil || got != tt.canary {
				t.Errorf("routeWeights after = %d, %v; want %d", got, err, tt.canary)
			}
		})
	}
}

func TestRouteWeightsRejectsRoutesRampCannotOwn(t *testing.T) {
	head := "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n"
	tests := []struct {
		name    string
		target  policy.HTTPRouteTarget
		doc     string
		canary  int
		wantErr string
	}{
		{"older apiVersion", demo, strings.Replace(route, "/v1\n", "/v1beta1\n", 1), 5,
			"HTTPRoute at line 2: apiVersion must be gateway.networking.k8s.io/v1"},
		{"not an HTTPRoute", demo, "apiVersion: apps/v1\nkind: Deployment\n", 5, "no HTTPRoute"},
		{"rule names one backend", demo, head + "  - backendRefs: [{name: demo-canary, weight: 1}]\n", 5,
			`HTTPRoute rule 0 (line 5) must name both backends "demo-stable" and "demo-canary"`},
		{"no rule names them", demo, head + "  - backendRefs: [{name: admin}]\n", 5, "no HTTPRoute rule names both"},
		{"selected rule lacks them", ruleOnly(1), route, 5, "HTTPRoute rule 1 (line 20) must name both"},
		{"selected rule out of range", ruleOnly(4), route, 5, "rule 4 does not exist"},
		{"third backend gets traffic", demo, head +
			"  - backendRefs: [{name: demo-stable}, {name: demo-canary}, {name: extra, weight: 3}]\n", 5,
			`also sends traffic to backend "extra"`},
		{"quoted weight", demo, head + "  - backendRefs: [{name: demo-stable, weight: \"9\"}, {name: demo-canary}]\n", 5,
			`weight at line 5 is "9", not a whole number`},
		{"weight above 100", demo, route, 101, "outside 0..100"},
		{"same backend twice", policy.HTTPRouteTarget{StableBackend: "a", CanaryBackend: "a"}, route, 5, "two different backends"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := setRouteWeights([]byte(tt.doc), tt.target, tt.canary)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("setRouteWeights error = %v (output %q); want it to contain %q", err, out, tt.wantErr)
			}
		})
	}
}

func TestRouteWeightsRejectsRulesThatDisagree(t *testing.T) {
	doc := "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nspec:\n  rules:\n" +
		"  - backendRefs: [{name: demo-stable, weight: 90}, {name: demo-canary, weight: 10}]\n" +
		"  - backendRefs: [{name: demo-stable, weight: 80}, {name: demo-canary, weight: 20}]\n"
	_, err := routeWeights([]byte(doc), demo)
	if err == nil || !strings.Contains(err.Error(), "rule 0 sends 10% to demo-canary, rule 1 20%") {
		t.Fatalf("routeWeights error = %v; want the disagreement named", err)
	}
}

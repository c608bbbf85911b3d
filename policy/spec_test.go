package policy_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// The line numbers in these tests are those of policytest.Valid():
//
//	 1 apiVersion   4 name    6 owner   7 riskTier   8 changeId   9 release
//	10 stable      11 target 12 httpRoute 13 kustomizations 14 strategy
//	15 canary      16 steps  17 setWeight 10  18 approval sre  19 setWeight 50
//	20 analysis    21 pause 2m  22 pause {}  23 gates  24 - name: error-rate
//	25 prometheus  26 onFailure
const file = "releases/demo/rollout.yaml"

// edit changes a spec text.
type edit func(string) string

// replace replaces the one occurrence of old.
func replace(old, new string) edit {
	return func(s string) string {
		if strings.Count(s, old) != 1 {
			panic("test edit: " + old + " does not occur exactly once")
		}
		return strings.Replace(s, old, new, 1)
	}
}

// setLine replaces line n (1-based) with text, which may hold several
// lines or none.
func setLine(n int, text string) edit { return setLines(n, n, text) }

// setLines replaces lines from..to (1-based, inclusive) with text, which
// may hold several lines or none.
func setLines(from, to int, text string) edit {
	return func(s string) string {
		lines := strings.Split(s, "\n")
		var mid []string
		if text != "" {
			mid = strings.Split(text, "\n")
		}
		out := append(append(lines[:from-1:from-1], mid...), lines[to:]...)
		return strings.Join(out, "\n")
	}
}

// insertAfter inserts text as new lines after line n.
func insertAfter(n int, text string) edit {
	return func(s string) string {
		lines := strings.Split(s, "\n")
		return strings.Join(append(lines[:n:n], append([]string{text}, lines[n:]...)...), "\n")
	}
}

func TestParseReadsTheDesignExample(t *testing.T) {
	r, err := policy.Parse(file, []byte(policytest.Valid()))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if r.Path != file || r.Name() != "demo" || r.Spec.Owner != "team-demo" || r.Spec.ChangeID != "CHG-2026-1" {
		t.Errorf("path, name, owner, changeId = %q, %q, %q, %q", r.Path, r.Name(), r.Spec.Owner, r.Spec.ChangeID)
	}
	if got := r.Spec.Release; got != (policy.FieldRef{File: "apps/demo/canary/kustomization.yaml", Path: "images[name=demo].newTag"}) {
		t.Errorf("release = %+v", got)
	}
	h := r.Spec.Target.HTTPRoute
	if h == nil || h.File != "apps/demo/route.yaml" || h.StableBackend != "demo-stable" || h.CanaryBackend != "demo-canary" || h.Rule != nil {
		t.Errorf("target.httpRoute = %+v", h)
	}
	if !r.Spec.OnFailure.RevertRelease {
		t.Error("onFailure.revertRelease = false, want true")
	}
	steps := r.Steps()
	if len(steps) != 6 {
		t.Fatalf("%d steps, want 6", len(steps))
	}
	for i, want := range []int{17, 18, 19, 20, 21, 22} {
		if steps[i].Line != want {
			t.Errorf("steps[%d].Line = %d, want %d", i, steps[i].Line, want)
		}
	}
	if *steps[0].SetWeight != 10 || *steps[2].SetWeight != 50 {
		t.Errorf("weights = %d, %d, want 10, 50", *steps[0].SetWeight, *steps[2].SetWeight)
	}
	if a := steps[3].Analysis; len(a.Gates) != 1 || a.Gates[0] != "error-rate" || a.Window.Duration != 5*time.Minute {
		t.Errorf("analysis = %+v", a)
	}
	if steps[4].Pause.Duration.Duration != 2*time.Minute || steps[5].Pause.Duration.Duration != 0 {
		t.Errorf("pauses = %v, %v, want 2m, 0s", steps[4].Pause.Duration, steps[5].Pause.Duration)
	}
	g := r.Spec.Gates[0]
	if g.Name != "error-rate" || g.Prometheus == nil || *g.Prometheus.Max != 0.01 ||
		g.Prometheus.Query != `sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[1m]))` {
		t.Errorf("gate = %+v, prometheus %+v", g, g.Prometheus)
	}
}

func TestParseAcceptsDocumentMarkers(t *testing.T) {
	for name, spec := range map[string]string{
		"a leading ---":  "---\n" + policytest.Valid(),
		"a trailing ---": policytest.Valid() + "---\n",
		"a final ...":    policytest.Valid() + "...\n",
	} {
		r, err := policy.Parse(file, []byte(spec))
		if err != nil || r.Name() != "demo" {
			t.Errorf("%s: Parse = %v, %v", name, r, err)
		}
	}
}

func TestParseAppliesDefaults(t *testing.T) {
	spec := policytest.CanaryYAML("demo", "setWeight: 10", "approval: {group: sre}", "approval: {group: sre, count: 2}", "pause:")
	r, err := policy.Parse(file, []byte(spec))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if r.Spec.RiskTier != "medium" {
		t.Errorf("riskTier = %q, want medium", r.Spec.RiskTier)
	}
	steps := r.Steps()
	if steps[1].Approval.Count != 1 || steps[2].Approval.Count != 2 {
		t.Errorf("approval counts = %d, %d, want 1 (default), 2", steps[1].Approval.Count, steps[2].Approval.Count)
	}
	if steps[3].Pause == nil || steps[3].Pause.Duration.Duration != 0 {
		t.Errorf("`pause:` = %+v, want an empty pause (until an approval)", steps[3].Pause)
	}
	if sev := r.Spec.Gates[0].Severity; sev != "critical" {
		t.Errorf("gate severity = %q, want critical", sev)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		edit edit
		want string
	}{
		{"a misspelt field, suggesting the right one", replace("  release: {", "  relase: {"),
			file + `:9: spec.relase: unknown field (did you mean "release"?)`},
		{"an unknown field, listing the known ones", insertAfter(6, "  colour: blue"),
			file + ":7: spec.colour: unknown field (known fields: changeId, gates, kustomizations, migration, migrations, onDrift, onFailure, owner, release, riskTier, shadow, stable, strategy, target, targets, trafficCheck, waves)"},
		{"a misspelt field in a step", replace("- pause: {duration: 2m}", "- pause: {duraton: 2m}"),
			file + `:21: spec.strategy.canary.steps[4].pause.duraton: unknown field (did you mean "duration"?)`},
		{"a weight that is a word", replace("setWeight: 50", "setWeight: ten"),
			file + `:19: spec.strategy.canary.steps[2].setWeight: "ten" is not an integer`},
		{"a fractional weight", replace("setWeight: 50", "setWeight: 1.5"),
			file + `:19: spec.strategy.canary.steps[2].setWeight: "1.5" is not an integer`},
		{"a weight without a value", replace("setWeight: 50", "setWeight:"),
			file + `:19: spec.strategy.canary.steps[2].setWeight: null is not an integer`},
		{"a window without a unit", replace("window: 5m", "window: 5"),
			file + `:20: spec.strategy.canary.steps[3].analysis.window: "5" is not a duration (write it like 30s, 5m or 1h30m)`},
		{"a number where a string belongs", replace("owner: team-demo", "owner: 123"),
			file + `:6: spec.owner: "123" is not a string (quote it: "123")`},
		{"a word where a bool belongs", replace("revertRelease: true", "revertRelease: yes"),
			file + `:26: spec.onFailure.revertRelease: "yes" is not true or false`},
		{"a bound that is not a number", replace("max: 0.01", "max: .nan"),
			file + `:25: spec.gates[0].prometheus.max: ".nan" is not a finite number`},
		{"a scalar where fields belong", setLine(10, "  stable: apps/demo/stable"),
			file + `:10: spec.stable: "apps/demo/stable" is not a mapping of fields`},
		{"a mapping where a list belongs", setLine(13, "  kustomizations: {name: demo}"),
			file + `:13: spec.kustomizations: a mapping is not a list`},
		{"a duplicate key", insertAfter(6, "  owner: team-other"),
			file + `:7: spec.owner: duplicate key (first at line 6)`},
		{"a wrong apiVersion", setLine(1, "apiVersion: ramp.dev/v1"),
			file + `:1: apiVersion: "ramp.dev/v1" is not supported; use ramp.dev/v1alpha1`},
		{"a missing apiVersion", setLine(1, ""),
			file + `:1: apiVersion: required: ramp.dev/v1alpha1`},
		{"a wrong kind", setLine(2, "kind: Canary"),
			file + `:2: kind: "Canary" is not a Rollout; use kind: Rollout`},
		{"a second document", func(s string) string { return s + "---\nkind: Rollout\n" },
			file + `:27: a second YAML document: the file must hold exactly one (remove the --- and what follows)`},
		{"a merge key", insertAfter(5, "  <<: {owner: team-x}"),
			file + `:6: spec: merge keys (<<) are not supported in a spec; write the fields out`},
		{"an anchor", replace("      steps:", "      steps: &steps"),
			file + `:16: spec.strategy.canary.steps: YAML anchors and aliases are not supported in a spec; write the value out`},
		{"a tab for indentation", setLine(6, "\towner: team-demo"),
			file + `:6: invalid YAML: found character that cannot start any token`},
		{"a byte that is not UTF-8", replace("owner: team-demo", "owner: team-d\xffmo"),
			file + `:6: invalid YAML: column 16: byte 0xFF is not UTF-8: save the file as UTF-8`},
		{"a file in Latin-1", replace("changeId: CHG-2026-1", "changeId: CHG-2026-1 # \xe9t\xe9"),
			file + `:8: invalid YAML: column 26: byte 0xE9 is not UTF-8: save the file as UTF-8`},
		{"a control character", replace("owner: team-demo", "owner: team\x07demo"),
			file + `:6: invalid YAML: column 14: character U+0007 is not allowed in YAML`},
		{"an empty file", func(string) string { return "" },
			file + `: empty document: expected a Rollout`},
		{"a list for a document", func(string) string { return "- a\n" },
			file + `:1: a list is not a mapping of fields`},
		{"every problem, not just the first", func(s string) string {
			return replace("setWeight: 50", "setWeight: ten")(replace("  release: {", "  relase: {")(s))
		}, file + `:9: spec.relase: unknown field (did you mean "release"?)` + "\n" +
			file + `:19: spec.strategy.canary.steps[2].setWeight: "ten" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := policy.Parse(file, []byte(tt.edit(policytest.Valid())))
			if err == nil {
				t.Fatalf("Parse accepted the spec, want error:\n%s", tt.want)
			}
			if r != nil {
				t.Errorf("Parse returned a rollout with its error")
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
			var se *policy.SpecError
			if !errors.As(err, &se) || se.File != file {
				t.Errorf("errors.As(*SpecError) = %v, file %+v", errors.As(err, &se), se)
			}
		})
	}
}

func TestSpecErrorOmitsWhatIsUnknown(t *testing.T) {
	tests := []struct {
		err  policy.SpecError
		want string
	}{
		{policy.SpecError{File: "f.yaml", Line: 3, Field: "spec.owner", Msg: "required"}, "f.yaml:3: spec.owner: required"},
		{policy.SpecError{File: "f.yaml", Field: "spec.owner", Msg: "required"}, "f.yaml: spec.owner: required"},
		{policy.SpecError{Field: "spec.owner", Msg: "required"}, "spec.owner: required"},
		{policy.SpecError{File: "f.yaml", Line: 2, Msg: "invalid YAML"}, "f.yaml:2: invalid YAML"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	var none policy.SpecErrors
	if none.Err() != nil {
		t.Error("SpecErrors(nil).Err() is not nil")
	}
}

func TestDurationIsWrittenAsInASpec(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{5 * time.Minute, "5m"},
		{90 * time.Minute, "1h30m"},
		{2 * time.Hour, "2h"},
		{90 * time.Second, "1m30s"},
		{0, "0s"},
		{-time.Minute, "-1m"},
	}
	for _, tt := range tests {
		d := policy.Duration{Duration: tt.d}
		if got := d.String(); got != tt.want {
			t.Errorf("String(%v) = %q, want %q", tt.d, got, tt.want)
		}
		j, err := json.Marshal(d)
		if err != nil || string(j) != `"`+tt.want+`"` {
			t.Errorf("json.Marshal(%v) = %s, %v, want %q", tt.d, j, err, tt.want)
		}
		var back policy.Duration
		if err := json.Unmarshal(j, &back); err != nil || back != d {
			t.Errorf("json.Unmarshal(%s) = %v, %v, want %v", j, back, err, tt.d)
		}
		y, err := yaml.Marshal(struct{ W policy.Duration }{d})
		if err != nil || string(y) != "w: "+tt.want+"\n" {
			t.Errorf("yaml.Marshal(%v) = %q, %v", tt.d, y, err)
		}
		var yback struct{ W policy.Duration }
		if err := yaml.Unmarshal(y, &yback); err != nil || yback.W != d {
			t.Errorf("yaml.Unmarshal(%q) = %v, %v, want %v", y, yback.W, err, tt.d)
		}
	}
	var d policy.Duration
	if err := json.Unmarshal([]byte(`"soon"`), &d); err == nil || err.Error() != `"soon" is not a duration (write it like 30s, 5m or 1h30m)` {
		t.Errorf(`json.Unmarshal("soon") error = %v`, err)
	}
}

// resumeByTwo is the default rule: two people resume over a hold, with a reason.
var resumeByTwo = policy.CommandRules{Resume: policy.ResumeRule{Count: 2, RequireReason: true}}

func TestParseGuardrails(t *testing.T) {
	def := policy.DefaultGuardrails()
	tests := []struct {
		name string
		yaml string
		want policy.Guardrails
	}{
		{"empty file: defaults", "", def},
		{"absent fields keep defaults", "requireDigest: true\n",
			policy.Guardrails{MaxWeightStep: 50, RequireDigest: true, HighRiskNeedsCheck: true, Commands: resumeByTwo}},
		{"every field", "maxWeightStep: 25\nrequireDigest: true\nrequireChangeId: true\nhighRiskNeedsCheck: false\n" +
			"requireSignedStart: true\nengineerGroups: [dev]\ncommands:\n  approve: {groups: [sre]}\n  abort: {groups: [sre, oncall]}\n" +
			"  pause: {groups: [sre]}\n  resume: {groups: [sre], count: 3, requireReason: false}\n",
			policy.Guardrails{MaxWeightStep: 25, RequireDigest: true, RequireChangeID: true, HighRiskNeedsCheck: false,
				RequireSignedStart: true, EngineerGroups: []string{"dev"}, Commands: policy.CommandRules{
					Approve: policy.CommandRule{Groups: []string{"sre"}}, Abort: policy.CommandRule{Groups: []string{"sre", "oncall"}},
					Pause: policy.CommandRule{Groups: []string{"sre"}}, Resume: policy.ResumeRule{Groups: []string{"sre"}, Count: 3}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := policy.ParseGuardrails("guardrails.yaml", []byte(tt.yaml))
			// Compared as JSON: parsed guardrails also hold the line of each field.
			got, _ := json.Marshal(g)
			want, _ := json.Marshal(tt.want)
			if err != nil || string(got) != string(want) {
				t.Errorf("ParseGuardrails = %+v, %v, want %+v", g, err, tt.want)
			}
		})
	}
}

func TestParseGuardrailsRejects(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"requireDigest: true\nmaxWeightStp: 20\n", `guardrails.yaml:2: maxWeightStp: unknown field (did you mean "maxWeightStep"?)`},
		{"maxWeightStep: 0\n", `guardrails.yaml:1: maxWeightStep: 0 is not between 1 and 100`},
		{"maxWeightStep: 120\nrequireDigest: 1\n", "guardrails.yaml:1: maxWeightStep: 120 is not between 1 and 100\n" +
			`guardrails.yaml:2: requireDigest: "1" is not true or false`},
		{"a: 1\n---\nb: 2\n", `guardrails.yaml:2: a second YAML document: the file must hold exactly one (remove the --- and what follows)`},
	}
	for _, tt := range tests {
		_, err := policy.ParseGuardrails("guardrails.yaml", []byte(tt.yaml))
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseGuardrails(%q) error:\n%v\nwant:\n%s", tt.yaml, err, tt.want)
		}
	}
}

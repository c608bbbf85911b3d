package policy_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

func TestValidateAcceptsTheExamples(t *testing.T) {
	for name, spec := range map[string]string{
		"design example": policytest.Valid(),
		"SpecYAML":       policytest.SpecYAML("demo"),
		"BlueGreenYAML":  policytest.BlueGreenYAML("demo"),
		"high risk with an approval before the final step": replace("riskTier: medium", "riskTier: high")(policytest.Valid()),
		"every gate kind": setLine(25, `      prometheus: {query: 'sum(up{version="{{.Version}}"})', min: 1, maxRatio: 1.2, sampleQuery: 'count(up)', minSamples: 10}
    - name: no-alerts
      alerts: {selector: 'service="demo"'}
      severity: warning
    - name: smoke
      webhook: {url: "https://ci.example/smoke", timeout: 30s, secretEnv: SMOKE_HMAC}
      failureLimit: 2
    - name: office-hours
      schedule: {timeZone: Europe/Berlin, windows: [{days: [Mon, Tue, Wed, Thu], start: "09:00", end: "16:00"}]}`)(policytest.Valid()),
		"an overnight change window and one to the end of the day": setLine(25, `      schedule: {timeZone: Europe/Berlin, windows: [{days: [Mon, Tue], start: "22:00", end: "06:00"}, {days: [Sat], start: "10:00", end: "24:00"}]}`)(policytest.Valid()),
		"background gates and a bake":                              insertAfter(22, "      background: {gates: [error-rate], interval: 1m}\n      bake: {duration: 1h, gates: [error-rate]}")(policytest.Valid()),
		"blue-green with background gates and a bake": replace("      rollbackWindow: 30m\n",
			"      rollbackWindow: 30m\n      background: {gates: [error-rate]}\n      bake: {duration: 10m, gates: [error-rate]}\n")(policytest.BlueGreenYAML("demo")),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := policy.Parse(file, []byte(spec))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if errs := policy.Validate(r, policy.DefaultGuardrails()); errs != nil {
				t.Errorf("Validate:\n%v", errs)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	def := policy.DefaultGuardrails()
	tests := []struct {
		name  string
		base  string // policytest.Valid() when empty
		edit  edit
		guard *policy.Guardrails // default when nil
		want  []string           // without the "releases/demo/rollout.yaml:" prefix
	}{
		{name: "a name that is not a DNS label", edit: setLine(4, "  name: Demo_1"),
			want: []string{`4: metadata.name: "Demo_1" is not a DNS label (lowercase letters, digits and '-', at most 63)`}},
		{name: "a name that differs from its folder", edit: setLine(4, "  name: other"),
			want: []string{`4: metadata.name: "other" must live in releases/other/rollout.yaml, not releases/demo/rollout.yaml (rename the folder or the rollout)`}},
		{name: "no owner", edit: setLine(6, ""),
			want: []string{`5: spec.owner: required: the team that owns this rollout`}},
		{name: "an unknown risk tier", edit: replace("riskTier: medium", "riskTier: extreme"),
			want: []string{`7: spec.riskTier: "extreme" is not one of low, medium, high`}},
		{name: "no change id under guardrail requireChangeId", edit: setLine(8, ""),
			guard: &policy.Guardrails{MaxWeightStep: 50, RequireChangeID: true},
			want:  []string{`5: spec.changeId: required by guardrail requireChangeId`}},
		{name: "an absolute release file", edit: replace("{file: apps/demo/canary", "{file: /apps/demo/canary"),
			want: []string{`9: spec.release.file: "/apps/demo/canary/kustomization.yaml" must be a relative path with '/' separators`}},
		{name: "a stable file outside the repository", edit: replace("{file: apps/demo/stable/kustomization.yaml", "{file: apps/../../etc/passwd"),
			want: []string{`10: spec.stable.file: "apps/../../etc/passwd" leaves the repository ('..')`}},
		{name: "an unclean stable file", edit: replace("{file: apps/demo/stable/kustomization.yaml", "{file: ./apps/demo//stable/kustomization.yaml"),
			want: []string{`10: spec.stable.file: "./apps/demo//stable/kustomization.yaml" is not a clean path; write "apps/demo/stable/kustomization.yaml"`}},
		{name: "a release field path that does not parse", edit: replace(`canary/kustomization.yaml, path: "images[name=demo].newTag"`, `canary/kustomization.yaml, path: "images[name=demo.newTag"`),
			want: []string{`9: spec.release.path: field path "images[name=demo.newTag": unclosed [ at offset 6`}},
		{name: "two targets", edit: insertAfter(12, "    field: {file: apps/demo/route.yaml, path: spec.weight}"),
			want: []string{`11: spec.target: has both httpRoute and field; keep one`}},
		{name: "no target", edit: setLines(11, 12, ""),
			want: []string{`5: spec.target: needs one of httpRoute or field`}},
		{name: "an empty httpRoute", edit: setLine(12, "    httpRoute:"),
			want: []string{
				`12: spec.target.httpRoute.file: required: a file of the release repository, e.g. apps/demo/kustomization.yaml`,
				`12: spec.target.httpRoute.stableBackend: required: the Service that serves stable traffic`,
				`12: spec.target.httpRoute.canaryBackend: required: the Service that serves the canary`,
			}},
		{name: "one backend for stable and canary", edit: replace("canaryBackend: demo-canary", "canaryBackend: demo-stable"),
			want: []string{`12: spec.target.httpRoute.canaryBackend: "demo-stable" is also the stableBackend; they must differ`}},
		{name: "a kustomization without namespace", edit: setLine(13, "  kustomizations: [{name: demo}]"),
			want: []string{`13: spec.kustomizations[0].namespace: required: the Flux Kustomization's namespace, e.g. flux-system`}},
		{name: "two strategies", edit: insertAfter(14, "    blueGreen: {rollbackWindow: 30m}"),
			want: []string{`14: spec.strategy: has both canary and blueGreen; keep one`}},
		{name: "no step", edit: setLines(16, 22, "      steps: []"),
			want: []string{`16: spec.strategy.canary.steps: needs at least one step`}},
		{name: "a step with two members", edit: setLine(17, "        - {setWeight: 10, pause: {}}"),
			want: []string{`17: spec.strategy.canary.steps[0]: needs exactly one of setWeight, pause, analysis, approval, setHeaderRoute, setMirrorRoute; has setWeight and pause`}},
		{name: "an empty step", edit: setLine(21, "        - {}"),
			want: []string{`21: spec.strategy.canary.steps[4]: needs exactly one of setWeight, pause, analysis, approval, setHeaderRoute, setMirrorRoute; has none`}},
		{name: "a weight above 100", edit: replace("setWeight: 50", "setWeight: 120"),
			want: []string{`19: spec.strategy.canary.steps[2].setWeight: 120 is not between 0 and 100`}},
		{name: "a decreasing weight", edit: replace("setWeight: 50", "setWeight: 5"),
			want: []string{`19: spec.strategy.canary.steps[2].setWeight: 5 is below the previous weight 10; weights must not decrease`}},
		{name: "a jump above maxWeightStep", edit: replace("setWeight: 50", "setWeight: 100"),
			want: []string{`19: spec.strategy.canary.steps[2].setWeight: 100 raises the weight by 90, above guardrail maxWeightStep 50; add a step in between`}},
		{name: "jumps counted from 0 at the start", edit: func(s string) string { return s },
			guard: &policy.Guardrails{MaxWeightStep: 5},
			want: []string{
				`17: spec.strategy.canary.steps[0].setWeight: 10 raises the weight by 10, above guardrail maxWeightStep 5; add a step in between`,
				`19: spec.strategy.canary.steps[2].setWeight: 50 raises the weight by 40, above guardrail maxWeightStep 5; add a step in between`,
			}},
		{name: "an analysis of an undefined gate", edit: replace("gates: [error-rate], window: 5m", "gates: [error-rate, latency], window: 5m"),
			want: []string{`20: spec.strategy.canary.steps[3].analysis.gates[1]: "latency" is not a gate defined in spec.gates`}},
		{name: "an analysis without window", edit: replace("gates: [error-rate], window: 5m", "gates: [error-rate]"),
			want: []string{`20: spec.strategy.canary.steps[3].analysis.window: must be a positive duration, e.g. 5m: how long the gates measure`}},
		{name: "an approval by ramp itself", edit: replace("approval: {group: sre}", "approval: {group: ramp}"),
			want: []string{`18: spec.strategy.canary.steps[1].approval.group: "ramp" is ramp's own key group; name a group of people`}},
		{name: "an approval group that is not a name", edit: replace("approval: {group: sre}", "approval: {group: SRE team, count: -1}"),
			want: []string{
				`18: spec.strategy.canary.steps[1].approval.group: "SRE team" is not a group name (lowercase letters, digits and '-')`,
				`18: spec.strategy.canary.steps[1].approval.count: -1 is not a number of approvals (1 or more)`,
			}},
		{name: "a negative pause", edit: replace("duration: 2m", "duration: -2m"),
			want: []string{`21: spec.strategy.canary.steps[4].pause.duration: -2m is negative`}},
		{name: "high risk without a check before the final step", edit: func(s string) string {
			s = replace("riskTier: medium", "riskTier: high")(s)
			return setLines(17, 22, "        - setWeight: 10\n        - setWeight: 50\n        - analysis: {gates: [error-rate], window: 5m}")(s)
		},
			want: []string{`16: spec.strategy.canary.steps: riskTier high needs an analysis or approval step before the final step (guardrail highRiskNeedsCheck)`}},
		{name: "a duplicate gate", edit: insertAfter(25, "    - name: error-rate\n      alerts: {selector: 'service=\"demo\"'}"),
			want: []string{`26: spec.gates[1].name: "error-rate" is already the name of spec.gates[0]`}},
		{name: "a gate of no kind", edit: setLine(25, "      severity: warning"),
			want: []string{`24: spec.gates[0]: needs one of prometheus, alerts, webhook, schedule`}},
		{name: "a gate of two kinds", edit: insertAfter(25, `      alerts: {selector: 'service="demo"'}`),
			want: []string{`24: spec.gates[0]: has prometheus and alerts; keep one`}},
		{name: "an unknown severity and a negative limit", edit: insertAfter(25, "      severity: fatal\n      failureLimit: -1"),
			want: []string{
				`26: spec.gates[0].severity: "fatal" is not critical or warning`,
				`27: spec.gates[0].failureLimit: -1 is negative`,
			}},
		{name: "an empty query", edit: setLine(25, `      prometheus: {query: "", max: 0.01}`),
			want: []string{`25: spec.gates[0].prometheus.query: required: a PromQL query`}},
		{name: "a query that is not a template", edit: setLine(25, `      prometheus: {query: 'up{version="{{.Version | quote}}"}', max: 0.01}`),
			want: []string{`25: spec.gates[0].prometheus.query: not a valid Go template: function "quote" not defined`}},
		{name: "a query with an unbalanced parenthesis", edit: setLine(25, `      prometheus: {query: 'sum(rate(http_requests_total{version="{{.Version}}"}[1m])', max: 0.01}`),
			want: []string{`25: spec.gates[0].prometheus.query: not valid PromQL: 1:51: parse error: unclosed left parenthesis (query as rendered: sum(rate(http_requests_total{version="1.1.0"}[1m]))`}},
		{name: "a query naming a variable there is not", edit: setLine(25, `      prometheus: {query: 'up{version="{{.Canary}}"}', max: 0.01}`),
			want: []string{`25: spec.gates[0].prometheus.query: template does not render: executing "query" at <.Canary>: map has no entry for key "Canary" (variables: .Rollout, .Release, .Stable, .Version, .Window, .Interval, .Step)`}},
		{name: "a sample query that is not PromQL, an alert selector that is no matchers", edit: setLine(25, `      prometheus: {query: 'up[{{.Window}}]', max: 1, sampleQuery: 'count(up) by', minSamples: 1}
    - name: alerts
      alerts: {selector: 'service=demo'}`),
			want: []string{
				`25: spec.gates[0].prometheus.sampleQuery: not valid PromQL: 1:13: parse error: unexpected end of input in grouping opts, expected "(" (query as rendered: count(up) by)`,
				`27: spec.gates[1].alerts.selector: not PromQL label matchers: 1:10: parse error: unexpected identifier "demo" in label matching, expected string`,
			}},
		{name: "a query without bounds", edit: setLine(25, `      prometheus: {query: up}`),
			want: []string{`25: spec.gates[0].prometheus: needs at least one of min, max, maxRatio, maxIncrease`}},
		{name: "min samples without a sample query", edit: setLine(25, `      prometheus: {query: up, min: 2, max: 1, minSamples: 100}`),
			want: []string{
				`25: spec.gates[0].prometheus.min: 2 is above max 1; no value could pass`,
				`25: spec.gates[0].prometheus.minSamples: needs a sampleQuery that counts the samples`,
			}},
		{name: "a webhook that is not http", edit: setLine(25, `      webhook: {url: "ftp://ci.example/smoke"}`),
			want: []string{`25: spec.gates[0].webhook.url: "ftp://ci.example/smoke" is not an http or https URL`}},
		{name: "a schedule with an unknown zone, day and time", edit: setLine(25, `      schedule: {timeZone: Mars/Olympus, windows: [{days: [Mon, Funday], start: "9am", end: "16:00"}]}`),
			want: []string{
				`25: spec.gates[0].schedule.timeZone: "Mars/Olympus" is not a known time zone (use an IANA name such as Europe/Berlin)`,
				`25: spec.gates[0].schedule.windows[0].days[1]: "Funday" is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun`,
				`25: spec.gates[0].schedule.windows[0].start: "9am" is not a time of day HH:MM`,
			}},
		{name: "a schedule window that ends as it starts", edit: setLine(25, `      schedule: {timeZone: America/New_York, windows: [{days: [Sat], start: "16:00", end: "16:00"}]}`),
			want: []string{`25: spec.gates[0].schedule.windows[0].end: 16:00 equals start: an empty window; for the whole day write start "00:00", end "24:00"`}},
		{name: "background gates that are not defined, at a negative interval", edit: insertAfter(22, "      background: {gates: [error-rate, latency, error-rate], interval: -1m}"),
			want: []string{
				`23: spec.strategy.canary.background.gates[1]: "latency" is not a gate defined in spec.gates`,
				`23: spec.strategy.canary.background.gates[2]: "error-rate" is listed twice`,
				`23: spec.strategy.canary.background.interval: -1m is negative`,
			}},
		{name: "a bake without duration or gates", edit: insertAfter(22, "      bake: {gates: []}"),
			want: []string{
				`23: spec.strategy.canary.bake.duration: must be a positive duration, e.g. 1h: how long the promoted release is judged`,
				`23: spec.strategy.canary.bake.gates: needs at least one gate name`,
			}},
		{name: "a bake on a gate that compares with stable", edit: func(s string) string {
			s = insertAfter(22, "      bake: {duration: 1h, gates: [error-rate]}")(s)
			return replace("max: 0.01}", "maxRatio: 1.5}")(s)
		},
			want: []string{`23: spec.strategy.canary.bake.gates[0]: gate "error-rate" compares with stable (maxRatio or maxIncrease), but during the bake no other version serves traffic; bake on a gate with min or max`}},
		{name: "blue-green without a rollback window", base: policytest.BlueGreenYAML("demo"), edit: replace("      rollbackWindow: 30m\n", ""),
			want: []string{`13: spec.strategy.blueGreen.rollbackWindow: must be a positive duration, e.g. 30m: how long the old side is kept for a rollback`}},
		{name: "high-risk blue-green without a check", base: policytest.BlueGreenYAML("demo"),
			edit: func(s string) string {
				s = replace("  owner: team-demo\n", "  owner: team-demo\n  riskTier: high\n")(s)
				return replace("      analysis: {gates: [error-rate], window: 5m}\n      approval: {group: sre}\n", "")(s)
			},
			want: []string{`14: spec.strategy.blueGreen: riskTier high needs an analysis or approval step before the final step (guardrail highRiskNeedsCheck)`}},
		{name: "two problems, two errors", edit: func(s string) string {
			return replace("owner: team-demo", `owner: ""`)(replace("riskTier: medium", "riskTier: extreme")(s))
		},
			want: []string{
				`6: spec.owner: required: the team that owns this rollout`,
				`7: spec.riskTier: "extreme" is not one of low, medium, high`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = policytest.Valid()
			}
			g := def
			if tt.guard != nil {
				g = *tt.guard
			}
			r, err := policy.Parse(file, []byte(tt.edit(base)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			errs := policy.Validate(r, g)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, file+":"+w)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestValidateHighRiskCheckIsAGuardrail(t *testing.T) {
	spec := policytest.CanaryYAML("demo", "setWeight: 10", "setWeight: 50")
	r := policytest.MustParse(t, "demo", spec)
	r.Spec.RiskTier = "high"
	if errs := policy.Validate(r, policy.Guardrails{MaxWeightStep: 50}); errs != nil {
		t.Errorf("without highRiskNeedsCheck: %v", errs)
	}
	if errs := policy.Validate(r, policy.DefaultGuardrails()); len(errs) != 1 {
		t.Errorf("with highRiskNeedsCheck: %d errors, want 1: %v", len(errs), errs)
	}
}

func TestValidateNamesFieldsOfARolloutBuiltInCode(t *testing.T) {
	w := 10
	r := &policy.Rollout{
		Path:     "releases/demo/rollout.yaml",
		Metadata: policy.Metadata{Name: "demo"},
		Spec: policy.Spec{
			Owner:    "team-demo",
			Release:  policy.FieldRef{File: "a.yaml", Path: "tag"},
			Stable:   policy.FieldRef{File: "b.yaml", Path: "tag"},
			Target:   policy.Target{Field: &policy.FieldTarget{File: "c.yaml", Path: "weight"}},
			Strategy: policy.Strategy{Canary: &policy.Canary{Steps: []policy.Step{{SetWeight: &w}, {Approval: &policy.ApprovalReq{Group: "sre"}}}}},
		},
	}
	want := "releases/demo/rollout.yaml: spec.strategy.canary.steps[1].approval.count: 0 is not a number of approvals (1 or more)"
	if err := policy.Validate(r, policy.DefaultGuardrails()).Err(); err == nil || err.Error() != want {
		t.Errorf("Validate before Default = %v, want %s", err, want)
	}
	r.Default()
	if err := policy.Validate(r, policy.DefaultGuardrails()).Err(); err != nil {
		t.Errorf("Validate after Default: %v", err)
	}
}

func TestStepsExpandsBlueGreen(t *testing.T) {
	r := policytest.MustParse(t, "demo", policytest.BlueGreenYAML("demo"))
	all := 100
	want := []policy.Step{
		{Analysis: &policy.Analysis{Gates: []string{"error-rate"}, Window: policy.Duration{Duration: 5 * time.Minute}}},
		{Approval: &policy.ApprovalReq{Group: "sre", Count: 1}},
		{SetWeight: &all},
		{Pause: &policy.Pause{Duration: policy.Duration{Duration: 30 * time.Minute}}},
	}
	if got := r.Steps(); !reflect.DeepEqual(got, want) {
		t.Errorf("Steps() =\n%s\nwant\n%s", stepsText(got), stepsText(want))
	}
}

func stepsText(steps []policy.Step) string {
	var b strings.Builder
	for _, s := range steps {
		switch {
		case s.SetWeight != nil:
			b.WriteString("setWeight " + strconv.Itoa(*s.SetWeight) + "\n")
		case s.Pause != nil:
			b.WriteString("pause " + s.Pause.Duration.String() + "\n")
		case s.Analysis != nil:
			b.WriteString("analysis " + strings.Join(s.Analysis.Gates, ",") + " " + s.Analysis.Window.String() + "\n")
		case s.Approval != nil:
			b.WriteString("approval " + s.Approval.Group + "\n")
		}
	}
	return b.String()
}

func TestCheckRelease(t *testing.T) {
	r := policytest.MustParse(t, "demo", policytest.Valid())
	hex := strings.Repeat("0123456789abcdef", 4)
	strict := policy.Guardrails{MaxWeightStep: 50, RequireDigest: true}
	tests := []struct {
		g     policy.Guardrails
		value string
		ok    bool
	}{
		{policy.DefaultGuardrails(), "2.4.0", true},
		{strict, "2.4.0@sha256:" + hex, true},
		{strict, "sha256:" + hex, true},
		{strict, "2.4.0", false},
		{strict, "2.4.0@sha256:" + hex[1:], false},
		{strict, "2.4.0@sha256:" + strings.ToUpper(hex), false},
		{strict, "2.4.0@sha512:" + hex, false},
		{strict, "", false},
	}
	for _, tt := range tests {
		err := policy.CheckRelease(r, tt.g, tt.value)
		if tt.ok != (err == nil) {
			t.Errorf("CheckRelease(%+v, %q) = %v, want ok %v", tt.g, tt.value, err, tt.ok)
		}
	}
	want := `apps/demo/canary/kustomization.yaml: images[name=demo].newTag: "2.4.0" is not pinned by digest; guardrail requireDigest needs tag@sha256:<64 hex> or sha256:<64 hex> (rollout demo)`
	if err := policy.CheckRelease(r, strict, "2.4.0"); err == nil || err.Error() != want {
		t.Errorf("CheckRelease error = %v, want %s", err, want)
	}
}

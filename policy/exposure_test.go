package policy_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

func TestValidateAcceptsExposureSteps(t *testing.T) {
	for name, spec := range map[string]string{
		"the ladder": policytest.LadderYAML("demo"),
		"several cohorts, cookie and query parameter, removed again": policytest.CanaryYAML("demo",
			"setHeaderRoute: {name: internal, match: [{header: x-user-group, value: internal}, {cookie: canary, value: always}]}",
			"setHeaderRoute: {name: beta, match: [{queryParam: beta, value: \"1\"}]}",
			"setWeight: 10",
			"setHeaderRoute: {name: internal}",
			"setHeaderRoute: {name: internal, match: [{header: x-tenant, value: acme}]}"),
		"a mirror changed and removed": policytest.WithShadow(policytest.CanaryYAML("demo",
			"setMirrorRoute: {name: shadow, percent: 10}", "setMirrorRoute: {name: shadow, percent: 50}",
			"setMirrorRoute: {name: shadow}", "setWeight: 10")),
	} {
		t.Run(name, func(t *testing.T) {
			policytest.MustParse(t, "demo", spec)
		})
	}
}

func TestValidateRejectsExposureSteps(t *testing.T) {
	steps := func(s ...string) string { return policytest.CanaryYAML("demo", s...) }
	field := func(spec string) string {
		return strings.Replace(spec, "httpRoute: {file: apps/demo/route.yaml, stableBackend: demo-stable, canaryBackend: demo-canary}",
			"field: {file: apps/demo/flag.yaml, path: spec.weight}", 1)
	}
	tests := []struct {
		name string
		spec string
		want []string // without the "releases/demo/rollout.yaml:" prefix
	}{
		{"a mirror without a shadow declaration", steps("setMirrorRoute: {name: shadow, percent: 10}"),
			[]string{`15: spec.strategy.canary.steps[0].setMirrorRoute: copies requests to the canary, which is dangerous when it writes (databases, payments, e-mails, events): declare spec.shadow: {sideEffects: none|isolated, reason: "…"}`}},
		{"a cohort without a name", steps("setHeaderRoute: {match: [{header: x-user-group, value: internal}]}"),
			[]string{`15: spec.strategy.canary.steps[0].setHeaderRoute.name: required: the cohort's name (a DNS label, e.g. internal)`}},
		{"two cohorts with one name", steps(
			"setHeaderRoute: {name: internal, match: [{header: x-user-group, value: internal}]}",
			"setWeight: 5",
			"setHeaderRoute: {name: internal, match: [{cookie: canary, value: always}]}"),
			[]string{`17: spec.strategy.canary.steps[2].setHeaderRoute.name: cohort "internal" already routes to the canary (an earlier step added it); remove it first with setHeaderRoute: {name: internal}, or give this cohort another name`}},
		{"removing a cohort nobody added", steps("setHeaderRoute: {name: internal}"),
			[]string{`15: spec.strategy.canary.steps[0].setHeaderRoute.name: removes cohort "internal", which no earlier step routes to the canary`}},
		{"a cohort name that makes no rule name", steps("setHeaderRoute: {name: Internal_Users, match: [{header: x, value: y}]}"),
			[]string{`15: spec.strategy.canary.steps[0].setHeaderRoute.name: "Internal_Users" is not a cohort name (lowercase letters, digits and '-', at most 51)`}},
		{"a condition on header and cookie at once", steps("setHeaderRoute: {name: a, match: [{header: x, cookie: c, value: y}]}"),
			[]string{`15: spec.strategy.canary.steps[0].setHeaderRoute.match[0]: needs exactly one of header, cookie, queryParam; has header and cookie`}},
		{"a condition without a value, a bad header name, a bad cookie value", steps(
			"setHeaderRoute: {name: a, match: [{header: x}, {header: \"x y\", value: v}, {cookie: c, value: \"a;b\"}]}"),
			[]string{
				`15: spec.strategy.canary.steps[0].setHeaderRoute.match[0].value: required: the value the header must have`,
				"15: spec.strategy.canary.steps[0].setHeaderRoute.match[1].header: \"x y\" is not a header name (letters, digits and !#$%&'*+-.^_`|~, at most 256)",
				`15: spec.strategy.canary.steps[0].setHeaderRoute.match[2].value: "a;b" is not a cookie value (no spaces, quotes, commas, semicolons or backslashes)`,
			}},
		{"a cohort on a field target", field(steps("setHeaderRoute: {name: a, match: [{header: x, value: y}]}")),
			[]string{`15: spec.strategy.canary.steps[0].setHeaderRoute: cohort rules are written into an HTTPRoute: needs spec.target.httpRoute`}},
		{"a mirror on a field target without mirrorPath", policytest.WithShadow(field(steps("setMirrorRoute: {name: s, percent: 5}"))),
			[]string{`16: spec.strategy.canary.steps[0].setMirrorRoute: needs spec.target.httpRoute (a RequestMirror filter) or spec.target.field.mirrorPath`}},
		{"a mirror of 0%", policytest.WithShadow(steps("setMirrorRoute: {name: s, percent: 0}")),
			[]string{`16: spec.strategy.canary.steps[0].setMirrorRoute.percent: 0 is not between 1 and 100 (to stop mirroring, write setMirrorRoute: {name: s} without percent)`}},
		{"two mirrors at once", policytest.WithShadow(steps("setMirrorRoute: {name: a, percent: 5}", "setMirrorRoute: {name: b, percent: 5}")),
			[]string{`17: spec.strategy.canary.steps[1].setMirrorRoute.name: mirror "b" is set while mirror "a" still copies requests; one mirror at a time (remove a first)`}},
		{"removing a mirror nobody set", steps("setMirrorRoute: {name: a}"),
			[]string{`15: spec.strategy.canary.steps[0].setMirrorRoute.name: removes mirror "a", which no earlier step set`}},
		{"a shadow declaration that declares nothing", strings.Replace(policytest.LadderYAML("demo"),
			`{sideEffects: none, reason: "the canary reads only; its writes go to a sandbox"}`, `{sideEffects: some}`, 1),
			[]string{
				`12: spec.shadow.sideEffects: "some" is not one of none, isolated`,
				`12: spec.shadow.reason: required: why mirrored requests cannot do harm (e.g. "payments go to the sandbox PSP")`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSpecErrors(t, tt.spec, tt.want)
		})
	}
}

func TestExposureAtFollowsTheSteps(t *testing.T) {
	r := policytest.MustParse(t, "demo", policytest.WithShadow(policytest.CanaryYAML("demo",
		"setHeaderRoute: {name: internal, match: [{header: x-user-group, value: internal}]}",
		"setHeaderRoute: {name: beta, match: [{cookie: canary, value: always}]}",
		"setMirrorRoute: {name: shadow, percent: 10}",
		"setHeaderRoute: {name: internal}",
		"setMirrorRoute: {name: shadow}")))
	internal := policy.HeaderRoute{Name: "internal", Match: []policy.CohortMatch{{Header: "x-user-group", Value: "internal"}}}
	beta := policy.HeaderRoute{Name: "beta", Match: []policy.CohortMatch{{Cookie: "canary", Value: "always"}}}
	shadow := &policy.Mirror{Name: "shadow", Percent: 10}
	for k, want := range []policy.Exposure{
		{},
		{Cohorts: []policy.HeaderRoute{internal}},
		{Cohorts: []policy.HeaderRoute{internal, beta}},
		{Cohorts: []policy.HeaderRoute{internal, beta}, Mirror: shadow},
		{Cohorts: []policy.HeaderRoute{beta}, Mirror: shadow},
		{Cohorts: []policy.HeaderRoute{beta}},
	} {
		if got := r.ExposureAt(k); !reflect.DeepEqual(got, want) {
			t.Errorf("ExposureAt(%d) = %+v, want %+v", k, got, want)
		}
	}
}

func TestPlanWritesTheExposureOfTheStepItEnters(t *testing.T) {
	r := policytest.MustParse(t, "demo", policytest.LadderYAML("demo"))
	r.Spec.OnFailure.RevertRelease = true
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	state := func(step, weight int, phase policy.Phase) policy.State {
		return policy.State{Rollout: "demo", Phase: phase, Release: "2.0", Stable: "1.0", Step: step, Weight: weight,
			StartCommit: "start", StartAuthor: "dev@example.com", StepCommit: "step", StepAt: now.Add(-time.Minute)}
	}
	live := policy.Evidence{AppliedUnknown: true}
	cohort := []policy.HeaderRoute{{Name: "internal", Match: []policy.CohortMatch{{Header: "x-user-group", Value: "internal"}}}}
	tests := []struct {
		name   string
		state  policy.State
		action policy.Action
		step   int
		weight int
		x      policy.Exposure
		shadow *policy.ShadowRecord
		reason string
	}{
		{"the start enters the cohort step at weight 0", state(0, 0, policy.PhaseProgressing),
			policy.ActionSetHeaderRoute, 1, 0, policy.Exposure{Cohorts: cohort}, nil,
			"step 1/4 routes cohort internal (header x-user-group=internal) to the canary"},
		{"a live cohort step moves on to the weight", state(1, 0, policy.PhaseProgressing),
			policy.ActionSetWeight, 2, 5, policy.Exposure{Cohorts: cohort}, nil, "step 1/4 is live; step 2/4 sets weight 5%"},
		{"the mirror step records the shadow declaration", state(2, 5, policy.PhaseProgressing),
			policy.ActionSetMirrorRoute, 3, 5, policy.Exposure{Cohorts: cohort, Mirror: &policy.Mirror{Name: "shadow", Percent: 10}},
			&policy.ShadowRecord{Name: "shadow", Percent: 10, SideEffects: "none", Reason: "the canary reads only; its writes go to a sandbox"},
			"mirrors 10% of requests to the canary (shadow); stable still answers"},
		{"promotion removes every cohort and the mirror", state(4, 50, policy.PhaseProgressing),
			policy.ActionPromote, 0, 50, policy.Exposure{}, nil, "stable becomes 2.0"},
		{"complete writes none", state(0, 50, policy.PhasePromoted),
			policy.ActionComplete, 0, 0, policy.Exposure{}, nil, "all traffic returns to stable"},
		{"abort removes them", func() policy.State {
			s := state(3, 5, policy.PhaseProgressing)
			s.AbortBy = &policy.Rejection{Author: "alice@example.com", Commit: "abc"}
			return s
		}(), policy.ActionAbort, 3, 0, policy.Exposure{}, nil, "aborted by alice@example.com"},
		{"rollback writes none", state(3, 0, policy.PhaseAborted),
			policy.ActionRollback, 0, 0, policy.Exposure{}, nil, "release field goes back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := policy.Plan(r, tt.state, live, now, policy.DefaultGuardrails())
			if d.Action != tt.action || d.Step != tt.step || d.Weight != tt.weight {
				t.Fatalf("Plan = %s step %d weight %d (%s), want %s step %d weight %d", d.Action, d.Step, d.Weight, d.Reason, tt.action, tt.step, tt.weight)
			}
			if !reflect.DeepEqual(d.Exposure, tt.x) {
				t.Errorf("exposure %+v, want %+v", d.Exposure, tt.x)
			}
			if !reflect.DeepEqual(d.Shadow, tt.shadow) {
				t.Errorf("shadow %+v, want %+v", d.Shadow, tt.shadow)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q, want it to contain %q", d.Reason, tt.reason)
			}
		})
	}
}

func TestFoldEntersExposureSteps(t *testing.T) {
	r := policytest.MustParse(t, "demo", policytest.LadderYAML("demo"))
	s := policy.State{Rollout: "demo", Phase: policy.PhaseProgressing, Release: "2.0", Stable: "1.0"}
	ramp := &policy.Signer{Principal: "ramp", Groups: []string{policy.RampGroup}}
	for i, a := range []policy.Action{policy.ActionSetHeaderRoute, policy.ActionSetWeight, policy.ActionSetMirrorRoute} {
		rec := &policy.Record{Commit: "c" + string(a), Signer: ramp,
			Entries: []policy.Entry{{Rollout: "demo", Release: "2.0", Step: i + 1, Steps: 4, Action: a, Weight: 5}}}
		s = policy.Fold(s, r, rec, policy.DefaultGuardrails())
		if s.Step != i+1 || s.StepCommit != rec.Commit || s.Phase != policy.PhaseProgressing {
			t.Fatalf("after %s: step %d commit %s phase %s, want step %d", a, s.Step, s.StepCommit, s.Phase, i+1)
		}
	}
}

// wantSpecErrors checks that spec parses and that validating it against
// the default guardrails gives exactly want, each without the
// "releases/demo/rollout.yaml:" prefix.
func wantSpecErrors(t *testing.T, spec string, want []string) {
	t.Helper()
	r, err := policy.Parse(file, []byte(spec))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var got []string
	for _, e := range policy.Validate(r, policy.DefaultGuardrails()) {
		got = append(got, e.Error())
	}
	var full []string
	for _, w := range want {
		full = append(full, file+":"+w)
	}
	if !reflect.DeepEqual(got, full) {
		t.Errorf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(full, "\n"))
	}
}

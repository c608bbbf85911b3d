package controllers_test

import (
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/policy"
)

// TestTheControllersGuardrailsRejectASpecTheDefaultsAccept: rollout demo
// raises its weight from 10 to 50 in one step, which ramp's defaults
// (maxWeightStep 50) accept. Guardrails where the platform team keeps
// them refuse it, and the rollout's status names the rule and the
// spec's file:line: the controller's own default (the chart's value),
// spec.guardrails inline, a risk tier's rule; a repository's own
// guardrails replace the controller's.
func TestTheControllersGuardrailsRejectASpecTheDefaultsAccept(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	defaults, err := policy.ParseGuardrails("guardrails.yaml", []byte("maxWeightStep: 25\n"))
	if err != nil {
		t.Fatal(err)
	}
	w.create(&corev1.ConfigMap{ObjectMeta: w.meta("tiers"), Data: map[string]string{rampv1.GuardrailsKey: "riskTiers:\n  medium: {requireApproval: true, minBake: 30m}\n"}})
	w.start(func(o *controllers.Options) { o.Guardrails = &defaults })
	const at = "releases/demo/rollout.yaml:17: spec.strategy.canary.steps[2].setWeight: 50 raises the weight by 40, above guardrail "
	cases := []struct {
		name   string
		mutate func(*rampv1.ReleaseRepository)
		want   string // in rollout demo's status message
	}{
		{"controller-default", nil, at + "maxWeightStep 25"},
		{"inline", func(rr *rampv1.ReleaseRepository) {
			rr.Spec.Guardrails = "maxWeightStep: 50\nriskTiers:\n  medium: {maxWeightStep: 30}\n"
		},
			at + "riskTiers.medium.maxWeightStep 30"},
		{"configmap-tier", func(rr *rampv1.ReleaseRepository) { rr.Spec.GuardrailsRef = &meta.LocalObjectReference{Name: "tiers"} },
			"releases/demo/rollout.yaml:13: spec.strategy.canary: riskTier medium needs a bake of at least 30m (guardrail riskTiers.medium.minBake)"},
		{"own-replaces-default", func(rr *rampv1.ReleaseRepository) { rr.Spec.Guardrails = "maxWeightStep: 50\n" }, ""},
	}
	for _, c := range cases {
		w.repository(c.name, c.mutate)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rr := w.wait(c.name, "a pass", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Name != "" })
			s := rollout(rr)
			if c.want == "" {
				if s.Phase != "Stable" || s.Message != "no release in progress; stable is 1.0.0" {
					t.Fatalf("rollout %+v, want a valid spec, Stable", s)
				}
				return
			}
			if !strings.Contains(s.Message, c.want) || !strings.HasPrefix(s.Message, "spec does not validate: ") {
				t.Fatalf("rollout message %q, want it to name %q", s.Message, c.want)
			}
		})
	}

	// Inline guardrails that do not parse, or two homes at once, stall.
	w.repository("bad-inline", func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Guardrails = "maxWeightStep: 25\nriskTiers:\n  high: {minBake: soon}\n"
	})
	w.repository("both", func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Guardrails = "maxWeightStep: 25\n"
		rr.Spec.GuardrailsRef = &meta.LocalObjectReference{Name: "tiers"}
	})
	// Guardrails that would weaken themselves stall too: a resume count
	// of 0 (which meant one person), a group spec.approvers has no key of.
	w.repository("weak-inline", func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Guardrails = "maxWeightStep: 25\ncommands:\n  resume: {count: 0}\n"
	})
	w.repository("group-without-keys", func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Guardrails = "commands:\n  approve: {groups: [sre]}\nfreeze: {exceptionGroups: [cab]}\n"
	})
	for name, want := range map[string]string{
		"bad-inline":         `spec.guardrails:3: riskTiers.high.minBake: "soon" is not a duration`,
		"both":               "spec.guardrails and spec.guardrailsRef are both set; keep one",
		"weak-inline":        "spec.guardrails:3: commands.resume.count: 0 is below 1",
		"group-without-keys": `spec.guardrails:3: freeze.exceptionGroups[0]: "cab" is not a group of the trusted keys (groups with keys: sre)`,
	} {
		rr := w.wait(name, "Stalled", func(rr *rampv1.ReleaseRepository) bool {
			return condition(rr, meta.StalledCondition).Status == metav1.ConditionTrue
		})
		if st := condition(rr, meta.StalledCondition); st.Reason != controllers.ReasonInvalidGuardrails || !strings.Contains(st.Message, want) {
			t.Errorf("%s: Stalled %s %q, want %s naming %q", name, st.Reason, st.Message, controllers.ReasonInvalidGuardrails, want)
		}
	}
}

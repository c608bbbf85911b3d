package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// RiskTiers are the guardrails' rules for the rollouts of each riskTier.
type RiskTiers struct {
	Low    *TierRules `json:"low,omitempty" yaml:"low"`
	Medium *TierRules `json:"medium,omitempty" yaml:"medium"`
	High   *TierRules `json:"high,omitempty" yaml:"high"`
}

// TierRules are what a risk tier requires of a spec, besides the
// guardrails every spec meets.
type TierRules struct {
	// MaxWeightStep replaces the guardrails' maxWeightStep for the tier
	// (0: that one); under 100 it also refuses a blue-green switch.
	MaxWeightStep int `json:"maxWeightStep,omitempty" yaml:"maxWeightStep"`
	// RequireGates are gates the spec must define and judge, in an
	// analysis step or as background gates.
	RequireGates []string `json:"requireGates,omitempty" yaml:"requireGates"`
	// RequireMinSamples: every Prometheus gate the spec judges sets
	// minSamples ("no sample, no signal").
	RequireMinSamples bool `json:"requireMinSamples,omitempty" yaml:"requireMinSamples"`
	// RequireBackground: the strategy has background gates, among them
	// every gate of RequireGates.
	RequireBackground bool `json:"requireBackground,omitempty" yaml:"requireBackground"`
	// MinBake: the strategy bakes for at least this long.
	MinBake Duration `json:"minBake,omitzero" yaml:"minBake"`
	// RequireApproval: an approval step (or a pause until approved)
	// before the final step; for blue-green, an approval.
	RequireApproval bool `json:"requireApproval,omitempty" yaml:"requireApproval"`
}

// Tier returns the rules of a risk tier, or nil.
func (g Guardrails) Tier(tier string) *TierRules {
	switch tier {
	case RiskLow:
		return g.RiskTiers.Low
	case RiskMedium, "":
		return g.RiskTiers.Medium
	case RiskHigh:
		return g.RiskTiers.High
	}
	return nil
}

// checkTiers reports what the rules of each tier cannot be, at their
// fields: a maxWeightStep or a minBake written must say something (0
// would mean "not set" silently), and a required gate has a name.
func (g Guardrails) checkTiers(written func(string) bool, fail func(field, format string, args ...any)) {
	for _, name := range []string{RiskLow, RiskMedium, RiskHigh} {
		t := g.Tier(name)
		if t == nil {
			continue
		}
		f := "riskTiers." + name
		if (t.MaxWeightStep != 0 || written(f+".maxWeightStep")) && (t.MaxWeightStep < 1 || t.MaxWeightStep > 100) {
			fail(f+".maxWeightStep", "%d is not between 1 and 100 (leave it out for the guardrails' maxWeightStep)", t.MaxWeightStep)
		}
		if (t.MinBake.Duration != 0 || written(f+".minBake")) && t.MinBake.Duration <= 0 {
			fail(f+".minBake", "%s is not a positive duration, e.g. 30m (leave it out for no minimum bake)", t.MinBake)
		}
		for i, gate := range t.RequireGates {
			gf := f + ".requireGates[" + strconv.Itoa(i) + "]"
			switch {
			case !groupName.MatchString(gate):
				fail(gf, "%q is not a gate name (lowercase letters, digits and '-')", gate)
			case slices.Index(t.RequireGates, gate) < i:
				fail(gf, "%q is listed twice", gate)
			}
		}
	}
}

// maxWeightStep is the largest weight increase one step of r may make,
// and the guardrail that says so.
func (v *validator) maxWeightStep() (int, string) {
	if t := v.g.Tier(v.r.Spec.RiskTier); t != nil && t.MaxWeightStep > 0 {
		return t.MaxWeightStep, "riskTiers." + v.r.Spec.RiskTier + ".maxWeightStep"
	}
	return v.g.MaxWeightStep, "maxWeightStep"
}

// tierRules applies the rules of the spec's risk tier.
func (v *validator) tierRules() {
	t := v.g.Tier(v.r.Spec.RiskTier)
	if t == nil {
		return
	}
	rule := func(name string) string { return "guardrail riskTiers." + v.r.Spec.RiskTier + "." + name }
	s := v.r.Spec.Strategy
	strategy := "spec.strategy.canary"
	if s.Canary == nil {
		strategy = "spec.strategy.blueGreen"
	}
	judged := v.judgedGates()
	for _, name := range t.RequireGates {
		switch {
		case v.r.Gate(name) == nil:
			v.fail("spec.gates", "riskTier %s needs a gate %q (%s)", v.r.Spec.RiskTier, name, rule("requireGates"))
		case !judged[name]:
			v.fail(v.gateField(name), "riskTier %s needs gate %q judged in an analysis step, as a background gate or in the bake (%s)", v.r.Spec.RiskTier, name, rule("requireGates"))
		}
	}
	if t.RequireMinSamples {
		for i, g := range v.r.Spec.Gates {
			if g.Prometheus != nil && judged[g.Name] && g.Prometheus.MinSamples <= 0 {
				v.fail("spec.gates["+strconv.Itoa(i)+"].prometheus", "riskTier %s needs minSamples and a sampleQuery on gate %q (%s)", v.r.Spec.RiskTier, g.Name, rule("requireMinSamples"))
			}
		}
	}
	if t.RequireBackground {
		b := v.r.Background()
		var missing []string
		for _, name := range t.RequireGates {
			if b == nil || !slices.Contains(b.Gates, name) {
				missing = append(missing, name)
			}
		}
		switch {
		case b == nil:
			v.fail(strategy, "riskTier %s needs background gates (%s)", v.r.Spec.RiskTier, rule("requireBackground"))
		case len(missing) > 0:
			v.fail(strategy+".background.gates", "riskTier %s needs %s among the background gates (%s)", v.r.Spec.RiskTier, strings.Join(missing, ", "), rule("requireBackground"))
		}
	}
	if t.MinBake.Duration > 0 {
		switch b := v.r.Bake(); {
		case b == nil:
			v.fail(strategy, "riskTier %s needs a bake of at least %s (%s)", v.r.Spec.RiskTier, t.MinBake, rule("minBake"))
		case b.Duration.Duration < t.MinBake.Duration:
			v.fail(strategy+".bake.duration", "%s is shorter than %s, the bake riskTier %s needs (%s)", b.Duration, t.MinBake, v.r.Spec.RiskTier, rule("minBake"))
		}
	}
	if t.RequireApproval && !v.approvalBeforeLastStep() {
		v.fail(strategy, "riskTier %s needs an approval before the final step (%s)", v.r.Spec.RiskTier, rule("requireApproval"))
	}
	if s.BlueGreen != nil && t.MaxWeightStep > 0 && t.MaxWeightStep < 100 {
		v.fail(strategy, "blue-green switches all traffic at once, above %d (%s): use a canary", t.MaxWeightStep, rule("maxWeightStep"))
	}
}

// judgedGates are the gates an analysis step, the background or the bake
// judges.
func (v *validator) judgedGates() map[string]bool {
	judged := map[string]bool{}
	for _, st := range v.r.Steps() {
		if st.Analysis != nil {
			for _, name := range st.Analysis.Gates {
				judged[name] = true
			}
		}
	}
	if b := v.r.Background(); b != nil {
		for _, name := range b.Gates {
			judged[name] = true
		}
	}
	if b := v.r.Bake(); b != nil {
		for _, name := range b.Gates {
			judged[name] = true
		}
	}
	return judged
}

// approvalBeforeLastStep reports whether a step before the final one
// waits for people: an approval step or a pause until approved.
func (v *validator) approvalBeforeLastStep() bool {
	steps := v.r.Steps()
	for _, st := range steps[:max(len(steps)-1, 0)] {
		if st.Approval != nil || (st.Pause != nil && st.Pause.Duration.Duration == 0) {
			return true
		}
	}
	return false
}

// gateField is the field of the spec's gate of that name.
func (v *validator) gateField(name string) string {
	for i, g := range v.r.Spec.Gates {
		if g.Name == name {
			return fmt.Sprintf("spec.gates[%d]", i)
		}
	}
	return "spec.gates"
}

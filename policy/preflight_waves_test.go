package policy_test

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// withPreflightIncident gives a spec of policytest.WavesYAML an alerts
// gate incident, judged before each target's step 1.
func withPreflightIncident(spec string) string {
	spec = strings.Replace(spec, "    canary:\n", "    canary:\n      preflight: {gates: [incident]}\n", 1)
	return spec + "    - name: incident\n      alerts: {selector: 'service=\"pay\"'}\n"
}

func TestPlanFleetHoldsATargetsStepOneOnItsPreflight(t *testing.T) {
	f := newFleet(t, withPreflightIncident(policytest.WavesYAML("pay")))
	incident := policy.Gate{Name: "incident", Severity: policy.SeverityCritical, Alerts: &policy.AlertsGate{Selector: `service="pay"`}}
	firing := true
	plan := func() policy.Decision {
		ev := f.evidence()
		for name, tev := range ev.Targets {
			var names []string
			if firing {
				names = []string{"PaymentsDown"}
			}
			tev.Preflight = map[string]policy.GateResult{"incident": policy.JudgeAlerts(incident, names, "")}
			ev.Targets[name] = tev
		}
		return policy.PlanFleet(f.r, f.fs, ev, f.now, f.g)
	}
	f.release("2.0.0")
	d := plan()
	if d.Action != policy.ActionStartWave || d.Wave != "first" {
		t.Fatalf("got %s %s (%s), want the hand-over to wave first: it writes the release field at weight 0", d.Action, d.Wave, d.Reason)
	}
	f.apply(d)
	d = plan()
	want := `wave 1/2 first: target eu: preflight: gate incident (alerts) is firing: ALERTS{alertstate="firing", service="pay"} (alert PaymentsDown firing); the release waits before step 1`
	if !d.Holds() || d.Reason != want {
		t.Fatalf("got %s (%s), want a hold: %s", d.Action, d.Reason, want)
	}
	firing = false
	d = plan()
	if d.Action != policy.ActionSetWeight || d.Step != 1 || len(d.Targets) != 1 || d.Targets[0] != "eu" || len(d.Gates) != 1 || d.Gates[0].Scope != policy.ScopePreflight {
		t.Fatalf("once the alert resolved: %s step %d targets %v gates %+v (%s), want eu's step 1 carrying the preflight", d.Action, d.Step, d.Targets, d.Gates, d.Reason)
	}
}

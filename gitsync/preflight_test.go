package gitsync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// incidentRules fire alert PaymentsDown (service demo) while the app of
// version "incident" answers more than 5 errors a second: an incident
// elsewhere that the rollout's alerts gate watches.
const incidentRules = `groups:
  - name: incidents
    rules:
      - alert: PaymentsDown
        expr: sum(rate(http_requests_total{version="incident",code="500"}[3s])) > 5
        labels:
          service: demo
`

// incidentSpec is a canary (weight 10, then 20) with background gates
// error-rate and incident (an alerts gate on service="demo"), every
// second: with no preflight of its own, both are its preflight.
func incidentSpec() string {
	spec := strings.Replace(policytest.GatedYAML("demo", "setWeight: 10", "setWeight: 20"), "  gates:\n",
		"      background: {gates: [error-rate, incident], interval: 1s}\n  gates:\n", 1)
	return strings.Replace(spec, "  onFailure:", "    - name: incident\n      alerts: {selector: 'service=\"demo\"'}\n  onFailure:", 1)
}

func TestAFiringAlertHoldsTheStartWithNoCommitUntilItResolves(t *testing.T) {
	incident := evidencetest.NewApp(t, "incident")
	incident.SetTraffic(50)
	incident.SetErrorRate(0.5)
	w, canary, p := promWorldWith(t, incidentSpec(), incidentRules, incident)
	canary.SetTraffic(50)
	p.WaitFor(t, `count(ALERTS{alertname="PaymentsDown",alertstate="firing"})`, 1, 30*time.Second)

	w.release("1.1.0")
	before := w.serverLog()
	o := w.passes(4 * time.Second)
	if got := w.serverLog(); len(got) != len(before) || got[0] != before[0] {
		t.Fatalf("%d commits while an incident alert fired before step 1, want none:\n%s", len(got)-len(before), strings.Join(got[:len(got)-len(before)], "\n"))
	}
	want := `preflight: gate incident (alerts) is firing: ALERTS{alertstate="firing", service="demo"} (alert PaymentsDown firing); the release waits before step 1`
	if d := o.Decision; d.Reason != want || d.Step != 0 || !strings.Contains(d.WaitingFor, "preflight") {
		t.Fatalf("hold %q at step %d waiting for %q, want %q", d.Reason, d.Step, d.WaitingFor, want)
	}
	if o.State.Step != 0 || o.State.Weight != 0 {
		t.Fatalf("state step %d weight %d, want the release before step 1 at weight 0", o.State.Step, o.State.Weight)
	}
	w.wantFiles("1.1.0", "1.0.0", 0)

	incident.SetErrorRate(0) // the incident is resolved
	if o, _ := w.untilActs(30 * time.Second); o.Decision.Action != policy.ActionSetWeight || o.Decision.Step != 1 {
		t.Fatalf("once the alert resolved: %s step %d (%s), want weight 10", o.Decision.Action, o.Decision.Step, o.Decision.Reason)
	}
	msg := w.lastMessage("step 1/2")
	for _, want := range []string{"Ramp-Step: 1/2", "Ramp-Weight: 10",
		`Ramp-Gate: name=incident verdict=pass value=0 bound="no alert firing"`, "Ramp-Gate: name=error-rate verdict=pass value=",
		"scope=preflight", "preflight passed: error-rate, incident"} {
		if !strings.Contains(msg, want) {
			t.Errorf("step 1's commit lacks %q:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "scope=preflight"); n != 2 {
		t.Errorf("step 1's commit has %d gates of scope preflight, want 2:\n%s", n, msg)
	}
}

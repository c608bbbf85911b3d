package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

func TestStatusSaysAFiringAlertHoldsTheStart(t *testing.T) {
	spec := strings.Replace(policytest.CanaryYAML("api", "setWeight: 10"), "  gates:\n",
		"      preflight: {gates: [incident]}\n  gates:\n    - name: incident\n      alerts: {selector: 'service=\"api\"'}\n", 1)
	r := policytest.MustParse(t, "api", spec)
	s := policy.State{Rollout: "api", Phase: policy.PhaseProgressing, Release: "2.0", Stable: "1.0", StartAuthor: "dev@example.com"}
	incident := *r.Gate("incident")
	ev := policy.Evidence{AppliedUnknown: true, Preflight: map[string]policy.GateResult{
		"incident": policy.JudgeAlerts(incident, []string{"PaymentsDown"}, "")}}
	d := policy.Plan(r, s, ev, time.Now(), policy.DefaultGuardrails())
	var b bytes.Buffer
	printStatus(&b, []rolloutStatus{toStatus(gitsync.Outcome{Rollout: "api", State: s, Decision: d})})
	for _, want := range []string{
		`preflight: gate incident (alerts) is firing: ALERTS{alertstate="firing", service="api"} (alert PaymentsDown firing); the release waits before step 1`,
		"gate preflight incident: inconclusive",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestAuditRecordShowsThePreflightAndItsVerdict(t *testing.T) {
	rec := policy.ReleaseRecord{Outcome: policy.OutcomeInProgress,
		Strategy:  policy.StrategyRecord{Kind: "canary", Preflight: &policy.Preflight{Gates: []string{"incident"}}},
		Preflight: []policy.AuditGate{{GateResult: policy.GateResult{Name: "incident", Verdict: policy.Pass, Value: 0, HasValue: true, Bound: "no alert firing", Scope: policy.ScopePreflight}}}}
	for _, l := range recordLines(rec) {
		if l.Label == "preflight" {
			if l.Text != "before step 1: incident" || len(l.Details) != 1 || !strings.HasPrefix(l.Details[0], "gate preflight incident: pass") {
				t.Fatalf("preflight line %+v, want its gates and the verdict of step 1's commit", l)
			}
			return
		}
	}
	t.Fatalf("no preflight line in %+v", recordLines(rec))
}

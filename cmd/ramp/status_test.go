package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

func TestStatusShowsTheDriftedWeightAndAnUnverifiableStart(t *testing.T) {
	drift := 77
	stable := gitsync.Outcome{Rollout: "web", State: policy.State{Phase: policy.PhaseStable, Release: "1.0", Stable: "1.0", DriftWeight: &drift},
		Decision: policy.Decision{Reason: "commit abc by bob set the canary weight in route.yaml to 77%", WaitingFor: "a signed Ramp-Resume"}}
	started := gitsync.Outcome{Rollout: "api", State: policy.State{Phase: policy.PhaseProgressing, Release: "2.0", Stable: "1.0",
		StartUnverified: "not signed by a trusted key: start commit 0123456789 by dev@example.com (unsigned)"}}
	started.Decision.SeparationOfDuties = policy.SeparationOfDuties(started.State, policy.DefaultGuardrails())
	out := []rolloutStatus{toStatus(stable), toStatus(started)}
	if out[0].Weight != 77 || out[1].Unverified != started.Decision.SeparationOfDuties || out[1].Unverified == "" || out[0].Unverified != "" {
		t.Fatalf("statuses %+v, want web at the file's 77%% and api's unverifiable start", out)
	}
	var b bytes.Buffer
	printStatus(&b, out)
	for _, want := range []string{"77%", "api: separation of duties not verified for release 2.0: not signed by a trusted key: start commit 0123456789"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, b.String())
		}
	}
}

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

func TestStatusShowsEveryDriftedFieldWithRampsValueAndTheNextCommand(t *testing.T) {
	d := policy.FieldDrift{FieldChange: policy.FieldChange{Field: policy.FieldStable, File: "apps/web/stable/kustomization.yaml",
		Path: "images[name=web].newTag", Old: "1.0", New: "1.1"}, Commit: "0123456789abcdef"}
	o := gitsync.Outcome{Rollout: "web", State: policy.State{Phase: policy.PhaseStable, Release: "1.1", Stable: "1.1", Drift: []policy.FieldDrift{d},
		Holds: []policy.Hold{{Commit: d.Commit, Reason: "commit 0123456789 (unsigned, author bob@example.com) changed the stable field …"}}},
		Decision: policy.Decision{Reason: "commit 0123456789 (unsigned, …)", WaitingFor: "a signed Ramp-Resume accepting the change"}}
	st := toStatus(o)
	if len(st.Drift) != 1 || st.NextStep == "" || !strings.Contains(st.NextStep, "ramp resume web") {
		t.Fatalf("status %+v, want the drift and a resume as the next command", st)
	}
	var b bytes.Buffer
	printStatus(&b, []rolloutStatus{st})
	want := "web: drift: the stable field apps/web/stable/kustomization.yaml images[name=web].newTag holds 1.1, ramp's value is 1.0 (commit 0123456789)"
	if !strings.Contains(b.String(), want) {
		t.Errorf("status output lacks %q:\n%s", want, b.String())
	}
}

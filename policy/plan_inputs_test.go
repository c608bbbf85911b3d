package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Decisions made from what the shell reports besides gates: a spec that
// does not validate, an untrusted branch tip, and when to look again.

func TestPlanHoldsOnAnInvalidSpec(t *testing.T) {
	ev := Evidence{AppliedUnknown: true, SpecError: errors.New("releases/demo/rollout.yaml:14: steps[2].setWeight: 120 is above 100")}
	d := Plan(nil, State{}, ev, t0, DefaultGuardrails())
	if !d.Holds() || d.Reason != "spec does not validate: releases/demo/rollout.yaml:14: steps[2].setWeight: 120 is above 100" || d.WaitingFor != "a valid spec" {
		t.Fatalf("got %q (%q, waiting for %q), want a hold naming the spec error and waiting for a valid spec", d.Action, d.Reason, d.WaitingFor)
	}
	// Even a state that would move on holds while the spec is invalid.
	d = Plan(planRollout(), *at(0, 0), ev, t0, DefaultGuardrails())
	if !d.Holds() || !strings.HasPrefix(d.Reason, "spec does not validate: ") {
		t.Fatalf("got %q (%q), want a hold on the invalid spec", d.Action, d.Reason)
	}
}

func TestPlanHoldsOnAnUntrustedTipInsteadOfActing(t *testing.T) {
	tip := "branch tip 0123456789 by mallory@example.com is not signed by a trusted key (unsigned)"
	tests := []struct {
		name       string
		state      *State
		wantReason string
	}{
		{"would start step 1", at(0, 0), tip + "; ramp will not build on it (next: set-weight)"},
		{"would set weight 50 after step 2's approvals", at(2, 10, approved(2, "alice", "bob")), tip + "; ramp will not build on it (next: set-weight)"},
		{"would promote after the last step", at(6, 50, approved(6, "alice")), tip + "; ramp will not build on it (next: promote)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Evidence{AppliedUnknown: true, UntrustedTip: tip}
			d := Plan(planRollout(), *tt.state, ev, t0.Add(time.Minute), DefaultGuardrails())
			if !d.Holds() || d.Reason != tt.wantReason || d.WaitingFor != "a signed commit at the branch tip" {
				t.Fatalf("got %q (%q, waiting for %q), want a hold: %q", d.Action, d.Reason, d.WaitingFor, tt.wantReason)
			}
			if d.Step != tt.state.Step || d.Weight != tt.state.Weight || d.Release != "2.0" {
				t.Fatalf("hold at step %d weight %d release %s, want the current step %d weight %d release 2.0",
					d.Step, d.Weight, d.Release, tt.state.Step, tt.state.Weight)
			}
		})
	}
	// A decision that holds anyway keeps its own reason.
	d := Plan(planRollout(), *at(2, 10), Evidence{AppliedUnknown: true, UntrustedTip: tip}, t0, DefaultGuardrails())
	if !d.Holds() || !strings.Contains(d.Reason, "needs 2 approval(s) from group sre") {
		t.Fatalf("got %q (%q), want the approval hold's own reason", d.Action, d.Reason)
	}
}

func TestPlanSaysWhenToLookAgain(t *testing.T) {
	r := planRollout()
	r.Spec.Gates[0].Interval = Duration{30 * time.Second} // error-rate
	r.Spec.Gates[1].Interval = Duration{2 * time.Minute}  // latency
	now := t0.Add(time.Minute)
	tests := []struct {
		name  string
		state *State
		ev    Evidence
		want  time.Time
	}{
		{"analysis waiting for conclusive results: the shortest gate interval", at(5, 50),
			gates(GateResult{Name: "error-rate", Verdict: Inconclusive}, GateResult{Name: "latency", Verdict: Pass}), now.Add(30 * time.Second)},
		{"analysis step not applied yet: the same", at(5, 50), Evidence{}, now.Add(30 * time.Second)},
		{"timed pause: when it ends", at(4, 50), live, t0.Add(5 * time.Minute)},
		{"approval: no time", at(2, 10), live, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Plan(r, *tt.state, tt.ev, now, DefaultGuardrails())
			if !d.Holds() || !d.Wake.Equal(tt.want) {
				t.Fatalf("got %q wake %v (%s), want a hold waking at %v", d.Action, d.Wake, d.Reason, tt.want)
			}
		})
	}
	// Without an interval a gate is measured every DefaultInterval.
	d := Plan(planRollout(), *at(5, 50), Evidence{}, now, DefaultGuardrails())
	if want := now.Add(DefaultInterval); !d.Wake.Equal(want) {
		t.Fatalf("wake %v, want %v", d.Wake, want)
	}
}

func TestLiveAtIsTheLaterOfCommitAndApply(t *testing.T) {
	s := *at(3, 50) // step committed at t0
	tests := []struct {
		name string
		ev   Evidence
		want time.Time
	}{
		{"no Flux: the commit time", Evidence{AppliedUnknown: true, Applied: t0.Add(time.Hour)}, t0},
		{"applied after the commit", Evidence{Applied: t0.Add(90 * time.Second)}, t0.Add(90 * time.Second)},
		{"applied time before the commit (clock skew)", Evidence{Applied: t0.Add(-time.Minute)}, t0},
	}
	for _, tt := range tests {
		if got := LiveAt(s, tt.ev); !got.Equal(tt.want) {
			t.Errorf("%s: LiveAt = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPlanHoldsAnUnsignedStartWhenTheGuardrailsRequireSignedStartsAndNotesItWhenNot(t *testing.T) {
	s := *at(0, 0, func(s *State) {
		s.StartUnverified = "not signed by a trusted key: start commit start by dev@example.com (unsigned)"
	})
	g := DefaultGuardrails()
	d := Plan(planRollout(), s, live, t0, g)
	if d.Action != ActionSetWeight {
		t.Fatalf("without the guardrail: %q (%s), want step 1 to start", d.Action, d.Reason)
	}
	note := "separation of duties not verified for release 2.0: not signed by a trusted key: start commit start by dev@example.com (unsigned) (guardrail requireSignedStart is off"
	if !strings.HasPrefix(d.SeparationOfDuties, note) {
		t.Errorf("without the guardrail: note %q, want it to start %q", d.SeparationOfDuties, note)
	}
	g.RequireSignedStart = true
	d = Plan(planRollout(), s, live, t0, g)
	want := "guardrail requireSignedStart: separation of duties cannot be verified for release 2.0: not signed by a trusted key: start commit start by dev@example.com (unsigned); "
	if !d.Holds() || !strings.HasPrefix(d.Reason, want) || d.WaitingFor != "a release started by signed commits" {
		t.Fatalf("got %q (%q, waiting for %q), want a hold: %q", d.Action, d.Reason, d.WaitingFor, want)
	}
	// The hold says how to sign, with SSH and OpenPGP, and how to opt out.
	for _, how := range []string{"git config gpg.format ssh", "git config user.signingkey ~/.ssh/id_ed25519.pub", "git commit -S", "git merge -S",
		"OpenPGP: git config user.signingkey KEYID", "requireSignedStart: false in the guardrails"} {
		if !strings.Contains(d.Reason, how) {
			t.Errorf("hold %q does not say %q", d.Reason, how)
		}
	}
	if d.SeparationOfDuties != "" {
		t.Errorf("with the guardrail on: note %q besides the hold", d.SeparationOfDuties)
	}
	// A verified start has no note.
	s.StartUnverified = ""
	if d := Plan(planRollout(), s, live, t0, DefaultGuardrails()); d.SeparationOfDuties != "" {
		t.Errorf("verified start: note %q", d.SeparationOfDuties)
	}
}

func TestPlanSaysHowManyPeopleMustResumeOverAHold(t *testing.T) {
	s := *at(3, 50, func(s *State) {
		s.Holds = []Hold{{Commit: "edit", Reason: "commit edit by bob@example.com edited the traffic target"}}
		s.Resumes = []Approval{{Principal: "alice@example.com"}}
	})
	d := Plan(planRollout(), s, live, t0, DefaultGuardrails())
	if want := "a signed Ramp-Resume or Ramp-Abort (resuming takes 2 people with reason=, 1 so far)"; !d.Holds() || d.WaitingFor != want {
		t.Fatalf("waiting for %q, want %q", d.WaitingFor, want)
	}
}

func TestPlanAnswersDriftByHoldingOrRestoring(t *testing.T) {
	drifted := State{Rollout: "demo", Phase: PhaseStable, Release: "1.0", Stable: "1.0", Weight: 0, DriftWeight: intp(77),
		Holds: []Hold{{Commit: "edit", Reason: "commit edit by bob@example.com set the canary weight in apps/demo/route.yaml to 77% without ramp's signature (ramp's weight is 0%)"}}}
	d := Plan(planRollout(), drifted, live, t0, DefaultGuardrails())
	if !d.Holds() || !strings.Contains(d.Reason, "to 77% without ramp's signature") ||
		d.WaitingFor != "a signed Ramp-Resume accepting the change (resuming takes 2 people, 0 so far), or spec.onDrift: restore" {
		t.Fatalf("got %q (%q, waiting for %q), want a hold naming the drift", d.Action, d.Reason, d.WaitingFor)
	}
	r := planRollout()
	r.Spec.OnDrift = OnDriftRestore
	d = Plan(r, drifted, live, t0, DefaultGuardrails())
	if d.Action != ActionRestore || d.Weight != 0 || !strings.HasPrefix(d.Reason, "onDrift: restore: canary weight back to 0%") {
		t.Fatalf("got %q weight %d (%q), want a restore to weight 0", d.Action, d.Weight, d.Reason)
	}
	// A release that started on top of the drift holds too.
	started := drifted
	started.Phase, started.Release = PhaseProgressing, "2.0"
	if d := Plan(planRollout(), started, live, t0, DefaultGuardrails()); !d.Holds() || !strings.Contains(d.Reason, "77%") {
		t.Fatalf("got %q (%q), want the new release to hold on the drift", d.Action, d.Reason)
	}
}

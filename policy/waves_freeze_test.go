package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// A freeze from 09:30 UTC on the day the fleet tests start (09:00).
const fleetFreeze = `apiVersion: ramp.dev/v1alpha1
kind: FreezeCalendar
freezes:
  - name: weekend
    start: "2026-11-27T09:30"
    end: "2026-11-28T00:00"
    timeZone: UTC
    reason: weekend change freeze
`

// TestPlanFleetHoldsAHandOverDuringAFreeze: the hand-over to wave rest
// raises exposure (us and ap take the release), so a freeze holds it,
// naming the wave, the freeze and the exception that lets it through; a
// calendar that does not parse holds it too; an exception to the freeze
// for the rollout (Ramp-Approve: rollout=pay release=2.0.0
// freeze=weekend, by the guardrails' exception group) lets it through
// and the hand-over says so and records the approval.
func TestPlanFleetHoldsAHandOverDuringAFreeze(t *testing.T) {
	cal, err := policy.ParseFreeze("freeze.yaml", []byte(fleetFreeze))
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, policytest.WavesYAML("pay"))
	f.g.Freeze.ExceptionGroups = []string{"cab"}
	f.freeze = cal
	f.release("2.0.0")
	if got, _ := f.run(); len(got) != 5 || got[0] != "start-wave first eu" {
		t.Fatalf("first wave before the freeze: %v", got)
	}
	f.now = f.now.Add(30 * time.Minute) // 09:30: the soak is over, the freeze has begun
	d := f.plan()
	if !d.Holds() || d.Wave != "rest" ||
		!strings.Contains(d.Reason, "wave 2/2 rest cannot start: freeze weekend until 2026-11-28T00:00 UTC: weekend change freeze") ||
		!strings.Contains(d.WaitingFor, "Ramp-Approve: rollout=pay release=2.0.0 freeze=weekend") ||
		!d.Wake.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("hand-over during a freeze: %s %q waiting for %q wake %v", d.Action, d.Reason, d.WaitingFor, d.Wake)
	}

	f.freeze = nil
	ev := f.evidence()
	ev.FreezeError = errString("freeze.yaml:3: freezes: not a list")
	if d := policy.PlanFleet(f.r, f.fs, ev, f.now, f.g); !d.Holds() || !strings.Contains(d.Reason, "freeze calendar: freeze.yaml:3: freezes: not a list") {
		t.Fatalf("hand-over with a calendar that does not parse: %s %q", d.Action, d.Reason)
	}
	f.freeze = cal

	// The release's author may not grant it; a dev may not either.
	f.command("dev@example.com", []string{"dev"}, policy.Command{Kind: policy.CommandApprove, Rollout: "pay", Release: "2.0.0", Freeze: "weekend"})
	if n := len(f.fs.Rejected); n != 1 || !strings.Contains(f.fs.Rejected[0].Reason, "grant freeze exceptions") {
		t.Fatalf("dev's exception: %+v", f.fs.Rejected)
	}
	if d := f.plan(); !d.Holds() {
		t.Fatalf("a rejected exception let the hand-over through: %s %q", d.Action, d.Reason)
	}
	f.command("carol@example.com", []string{"cab"}, policy.Command{Kind: policy.CommandApprove, Rollout: "pay", Release: "2.0.0", Freeze: "weekend"})
	d = f.plan()
	if d.Action != policy.ActionStartWave || d.Wave != "rest" ||
		!strings.Contains(d.Reason, "during freeze weekend by exception of carol@example.com") ||
		len(d.Approved) != 1 || d.Approved[0].Principal != "carol@example.com" {
		t.Fatalf("hand-over with an exception: %s %q approved %+v", d.Action, d.Reason, d.Approved)
	}
}

// TestPlanFleetHoldsAHandOverOutsideAChangeWindow: outside the window of
// a schedule gate of the spec the hand-over waits for it to open.
func TestPlanFleetHoldsAHandOverOutsideAChangeWindow(t *testing.T) {
	f := newFleet(t, policytest.WavesYAML("pay"))
	f.r.Spec.Gates = append(f.r.Spec.Gates, policy.Gate{Name: "mornings", Schedule: &policy.ScheduleGate{TimeZone: "UTC",
		Windows: []policy.ChangeWindow{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "09:20"}}}})
	f.release("2.0.0")
	if got, _ := f.run(); len(got) != 5 || got[0] != "start-wave first eu" {
		t.Fatalf("first wave inside the window: %v", got)
	}
	f.now = f.now.Add(30 * time.Minute) // 09:30 on a Friday: closed until Monday 09:00
	d := f.plan()
	if !d.Holds() || d.Wave != "rest" || !strings.Contains(d.Reason, "wave 2/2 rest cannot start: outside change window mornings") ||
		d.WaitingFor != "change window mornings to open" || !d.Wake.Equal(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("hand-over outside the window: %s %q waiting for %q wake %v", d.Action, d.Reason, d.WaitingFor, d.Wake)
	}
	f.now = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if got := f.step(); got != "start-wave rest us,ap" {
		t.Fatalf("hand-over once the window opens: %s", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

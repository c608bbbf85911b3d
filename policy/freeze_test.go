package policy

import (
	"strings"
	"testing"
	"time"
)

const yearEnd = `apiVersion: ramp.dev/v1alpha1
kind: FreezeCalendar
freezes:
  - name: year-end
    start: "2026-12-20T00:00"
    end: "2027-01-03T00:00"
    timeZone: Europe/Berlin
    reason: year-end change freeze
`

func mustFreeze(t *testing.T) *FreezeCalendar {
	t.Helper()
	c, err := ParseFreeze(FreezeFile, []byte(yearEnd))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseFreezeNamesFileLineAndField(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	c := mustFreeze(t)
	if f := c.Active(time.Date(2026, 12, 24, 12, 0, 0, 0, berlin)); f == nil || f.Name != "year-end" {
		t.Fatalf("Active at Christmas: %v, want year-end", f)
	}
	for _, at := range []time.Time{time.Date(2026, 12, 19, 23, 59, 0, 0, berlin), time.Date(2027, 1, 3, 0, 0, 0, 0, berlin)} {
		if f := c.Active(at); f != nil {
			t.Errorf("Active at %s: %v, want none (the end is not frozen)", at, f)
		}
	}
	bad := strings.NewReplacer(`name: year-end`, `name: Year End`, `"2027-01-03T00:00"`, `"2026-12-01T00:00"`,
		`timeZone: Europe/Berlin`, "timeZone: Europe/Berlin\n    until: later").Replace(yearEnd)
	_, err := ParseFreeze(FreezeFile, []byte(bad))
	want := []string{
		`freeze.yaml:4: freezes[0].name: "Year End" is not a name (lowercase letters, digits and '-'): exceptions name the freeze`,
		`freeze.yaml:6: freezes[0].end: 2026-12-01T00:00 is not after start 2026-12-20T00:00`,
		`freeze.yaml:8: freezes[0].until: unknown field (known fields: end, name, reason, start, timeZone)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("ParseFreeze:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestPlanHoldsStepsThatRaiseExposureDuringAFreeze(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	christmas := time.Date(2026, 12, 24, 12, 0, 0, 0, berlin)
	exception := func(s *State) {
		s.Approvals = append(s.Approvals, Approval{Freeze: "year-end", Principal: "carol@example.com", Key: "SHA256:carol", Groups: []string{"cab"}, Commit: "c-carol"})
	}
	failing := gates(GateResult{Name: "error-rate", Verdict: Fail}, GateResult{Name: "latency", Verdict: Pass})
	tests := []struct {
		name   string
		state  *State
		ev     Evidence
		want   Action
		step   int
		reason string
	}{
		{"a release's first weight step: hold", at(0, 0), live, ActionNone, 0, "freeze year-end until 2027-01-03T00:00 Europe/Berlin: year-end change freeze"},
		{"a weight step: hold", at(2, 10, approved(2, "alice", "bob")), live, ActionNone, 2, "freeze year-end"},
		{"a step that raises nothing goes on", at(3, 50), live, ActionPause, 4, ""},
		{"the promote: hold", at(6, 50, approved(6, "dave")), live, ActionNone, 6, "freeze year-end"},
		{"a failing gate's abort goes through", at(5, 50), failing, ActionAbort, 5, "gate error-rate fail"},
		{"the rollback after it goes through", at(5, 0, func(s *State) { s.Phase = PhaseAborted }), live, ActionRollback, 0, "revertRelease"},
		{"a person's abort goes through", at(3, 50, func(s *State) {
			s.AbortBy = &Rejection{Commit: "abc", Author: "sre@example.com", Command: &Command{Kind: CommandAbort}}
		}), live, ActionAbort, 3, "aborted by"},
		{"with an exception: the weight step, recorded", at(2, 10, approved(2, "alice", "bob"), exception), live, ActionSetWeight, 3,
			"during freeze year-end by exception of carol@example.com"},
		{"with an exception: the first step", at(0, 0, exception), live, ActionSetWeight, 1, "by exception of carol@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := planRollout()
			r.Spec.OnFailure.RevertRelease = true
			ev := tt.ev
			ev.Freeze = mustFreeze(t)
			s := *tt.state
			s.StepAt = christmas.Add(-time.Hour)
			d := Plan(r, s, ev, christmas, DefaultGuardrails())
			if d.Action != tt.want || d.Step != tt.step || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("got %q step %d (%s), want %q step %d saying %q", d.Action, d.Step, d.Reason, tt.want, tt.step, tt.reason)
			}
			if d.Holds() && (!strings.Contains(d.WaitingFor, "freeze=year-end") || !d.Wake.Equal(mustFreeze(t).Freezes[0].Until())) {
				t.Errorf("hold waits for %q, wakes %s; want the exception named and a wake at the freeze's end", d.WaitingFor, d.Wake)
			}
			if strings.Contains(tt.name, "exception") && (len(d.Approved) == 0 || d.Approved[len(d.Approved)-1].Commit != "c-carol") {
				t.Errorf("approved %+v, want the exception recorded in the step's commit", d.Approved)
			}
		})
	}
	d := Plan(planRollout(), *at(0, 0), Evidence{AppliedUnknown: true, FreezeError: &SpecError{File: "freeze.yaml", Line: 3, Msg: "bad"}}, christmas, DefaultGuardrails())
	if !d.Holds() || !strings.Contains(d.Reason, "freeze calendar: freeze.yaml:3: bad") {
		t.Fatalf("an unreadable calendar: %s (%s), want a hold naming it", d.Action, d.Reason)
	}
}

func TestFoldAcceptsFreezeExceptionsOnlyFromTheNamedGroups(t *testing.T) {
	cab := &Signer{Principal: "carol@example.com", Key: "SHA256:carol", Groups: []string{"cab"}}
	g := DefaultGuardrails()
	g.Freeze.ExceptionGroups = []string{"cab"}
	exc := Command{Kind: CommandApprove, Release: "2.0", Freeze: "year-end"}
	fold := func(g Guardrails, recs ...*Record) State {
		s := Base("demo", "1.0", "1.0", 0)
		for _, r := range recs {
			s = Fold(s, foldRollout(), r, g)
		}
		return s
	}
	s := fold(g, startRelease("2.0"), cmd("e1", cab, exc))
	if len(s.Approvals) != 1 || s.Approvals[0].Freeze != "year-end" || s.Approvals[0].Step != 0 {
		t.Fatalf("approvals %+v, want carol's exception to year-end", s.Approvals)
	}
	for _, tt := range []struct {
		name   string
		g      Guardrails
		rec    *Record
		reason string
	}{
		{"a key outside the named groups", g, cmd("e2", alice, exc), "is in none of the groups cab, which may grant freeze exceptions"},
		{"no group named", DefaultGuardrails(), cmd("e3", cab, exc), "no group may grant freeze exceptions (guardrails freeze.exceptionGroups names none)"},
		{"the release's own author", g, cmd("e4", &Signer{Principal: "dev@example.com", Key: "SHA256:dev2", Groups: []string{"cab"}}, exc),
			"dev@example.com signed the start of release 2.0 and cannot grant freeze exceptions for it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := signedBy(startRelease("2.0"), dev)
			s := fold(tt.g, start, tt.rec)
			if len(s.Approvals) != 0 || len(s.Rejected) != 1 || !strings.Contains(s.Rejected[0].Reason, tt.reason) {
				t.Fatalf("approvals %+v rejected %+v, want it rejected: %q", s.Approvals, s.Rejected, tt.reason)
			}
		})
	}
}

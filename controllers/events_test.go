package controllers

import (
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

func TestEventReasonIsTheActionInUpperCamelCase(t *testing.T) {
	for a, want := range map[policy.Action]string{
		policy.ActionSetWeight: "SetWeight", policy.ActionPause: "Pause", policy.ActionAbort: "Abort",
		policy.ActionComplete: "Complete", policy.ActionRollback: "Rollback",
	} {
		if got := eventReason(a); got != want {
			t.Errorf("eventReason(%s) = %q, want %q", a, got, want)
		}
	}
}

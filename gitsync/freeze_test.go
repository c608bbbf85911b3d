package gitsync_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// freezeNow commits a freeze calendar whose freeze "hotfix-only" runs
// from a day before w.now to a day after.
func (w *world) freezeNow() {
	w.t.Helper()
	w.pull()
	const layout = "2006-01-02T15:04"
	gittest.WriteFiles(w.t, w.work, map[string]string{"freeze.yaml": fmt.Sprintf(`apiVersion: ramp.dev/v1alpha1
kind: FreezeCalendar
freezes:
  - name: hotfix-only
    start: "%s"
    end: "%s"
    timeZone: UTC
    reason: incident review week
`, w.now.Add(-24*time.Hour).UTC().Format(layout), w.now.Add(24*time.Hour).UTC().Format(layout))})
	w.git("dev", "add", "freeze.yaml")
	w.git("dev", "commit", "-q", "-S", "-m", "freeze: incident review week")
	w.git("dev", "push", "-q", "origin", "main")
}

func TestFreezeHoldsAReleaseUntilTheNamedGroupGrantsAnException(t *testing.T) {
	w := newWorld(t)
	w.cfg.Guardrails = policy.DefaultGuardrails()
	w.cfg.Guardrails.Freeze.ExceptionGroups = []string{"dba"}
	w.loop = w.newLoop()
	w.freezeNow()
	w.release("1.1.0")
	before := len(w.serverLog())
	o := w.expect(policy.ActionNone, 0, 0)
	if d := o.Decision; !strings.Contains(d.Reason, "freeze hotfix-only until") || !strings.Contains(d.WaitingFor, "freeze=hotfix-only") {
		t.Fatalf("hold %q waiting for %q, want the freeze named and how to make an exception", d.Reason, d.WaitingFor)
	}
	// An approver outside the named group cannot make an exception.
	w.command("alice", true, "exception", "Ramp-Approve: rollout=demo release=1.1.0 freeze=hotfix-only")
	o = w.expect(policy.ActionNone, 0, 0)
	if r := o.State.Rejected; len(r) != 1 || !strings.Contains(r[0].Reason, "which may grant freeze exceptions") {
		t.Fatalf("rejected %+v, want alice's exception refused", r)
	}
	if got := len(w.serverLog()) - before; got != 1 {
		t.Fatalf("%d commits while frozen, want only alice's", got)
	}
	exc := w.command("dan", true, "exception for 1.1.0", "Ramp-Approve: rollout=demo release=1.1.0 freeze=hotfix-only reason=\"CVE fix\"")
	o = w.expect(policy.ActionSetWeight, 1, 10)
	if !strings.Contains(o.Decision.Reason, "during freeze hotfix-only by exception of dan@example.com") {
		t.Errorf("step 1's reason %q, want the exception named", o.Decision.Reason)
	}
	w.wantApprovedBy("step 1/4", "dan@example.com", exc)
}

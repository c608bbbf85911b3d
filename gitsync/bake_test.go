package gitsync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// strategyField adds one field (YAML flow style) to the strategy of a
// spec from policytest, e.g. "bake: {duration: 4s, gates: [error-rate]}".
func strategyField(spec, field string) string {
	return strings.Replace(spec, "  gates:\n", "      "+field+"\n  gates:\n", 1)
}

// files returns what main holds in the release, stable and route files.
func (w *world) files() (release, stable, route string) {
	w.t.Helper()
	w.pull()
	return w.git("dev", "show", "HEAD:apps/demo/canary/kustomization.yaml"),
		w.git("dev", "show", "HEAD:apps/demo/stable/kustomization.yaml"),
		w.git("dev", "show", "HEAD:apps/demo/route.yaml") + "\n"
}

// wantFiles checks the release and stable tags and the canary weight on main.
func (w *world) wantFiles(release, stable string, weight int) {
	w.t.Helper()
	rel, st, route := w.files()
	if !strings.Contains(rel, `newTag: "`+release+`"`) || !strings.Contains(st, `newTag: "`+stable+`"`) || route != gittest.Route("demo", weight) {
		w.t.Fatalf("main holds release\n%s\nstable\n%s\nroute\n%s\nwant release %s, stable %s, canary weight %d", rel, st, route, release, stable, weight)
	}
}

// wantApprovedBy checks that ramp's newest commit whose subject has
// subject records principal's approval commit in Ramp-Approved-By.
func (w *world) wantApprovedBy(subject, principal, commit string) {
	w.t.Helper()
	if msg := w.lastMessage(subject); !strings.Contains(msg, "Ramp-Approved-By: principal="+principal) || !strings.Contains(msg, "commit="+commit) {
		w.t.Errorf("commit %q does not record %s's approval %.10s:\n%s", subject, principal, commit, msg)
	}
}

// lastMessage is the message of main's newest commit whose subject has substr.
func (w *world) lastMessage(substr string) string {
	w.t.Helper()
	w.pull()
	return w.git("dev", "log", "-1", "--format=%B", "--grep="+substr, "HEAD")
}

func bakedCanary() string {
	return strategyField(policytest.GatedYAML("demo", "setWeight: 10", "setWeight: 20"), "bake: {duration: 4s, gates: [error-rate]}")
}

// promotedBake takes release 1.1.0 of bakedCanary to its promote, with
// traffic on both versions: its bake begins.
func promotedBake(t *testing.T) (*world, *evidencetest.App) {
	w, canary, _ := promWorld(t, bakedCanary())
	canary.SetTraffic(50)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionSetWeight, 2, 20)
	w.expect(policy.ActionPromote, 0, 20)
	w.wantFiles("1.1.0", "1.1.0", 20)
	return w, canary
}

func TestCanaryBakeCompletesWithItsVerdictRecorded(t *testing.T) {
	w, _ := promotedBake(t)
	o := w.pass()
	if d := o.Decision; !d.Holds() || !strings.Contains(d.Reason, "baking 1.1.0 for 4s") {
		t.Fatalf("after promote: %s (%s), want a hold while the bake runs", d.Action, d.Reason)
	}
	o, _ = w.untilActs(30 * time.Second)
	if d := o.Decision; d.Action != policy.ActionComplete || d.Weight != 0 {
		t.Fatalf("after the bake: %s weight %d (%s), want complete", d.Action, d.Weight, d.Reason)
	}
	w.wantFiles("1.1.0", "1.1.0", 0)
	msg := w.lastMessage("complete")
	for _, want := range []string{"Ramp-Action: complete", "Ramp-Gate: name=error-rate verdict=pass", "scope=bake", "bake of 4s passed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("complete commit lacks %q:\n%s", want, msg)
		}
	}
	if s := w.snap.States["demo"]; s.Phase != policy.PhaseStable {
		t.Errorf("after complete: phase %s, want Stable", s.Phase)
	}
}

func TestCanaryBakeFailureRollsBackToThePreviousStable(t *testing.T) {
	w, canary := promotedBake(t)
	canary.SetErrorRate(0.5) // the new stable turns bad during its bake
	o, _ := w.untilActs(30 * time.Second)
	if d := o.Decision; d.Action != policy.ActionRollback || d.Weight != 0 || d.SetStable != "1.0.0" || d.SetRelease != "1.0.0" {
		t.Fatalf("got %s weight %d stable %q release %q (%s), want a rollback to 1.0.0", d.Action, d.Weight, d.SetStable, d.SetRelease, d.Reason)
	}
	w.wantFiles("1.0.0", "1.0.0", 0)
	msg := w.lastMessage("rollback")
	for _, want := range []string{"Ramp-Action: rollback", "Ramp-Gate: name=error-rate verdict=fail", "scope=bake",
		"Ramp-Reason: bake of 1.1.0 failed: bake gate error-rate: ", "stable goes back to 1.0.0"} {
		if !strings.Contains(msg, want) {
			t.Errorf("rollback commit lacks %q:\n%s", want, msg)
		}
	}
	// A fresh ramp derives the same: nothing left to do.
	w.loop = w.newLoop()
	if o := w.pass(); !o.Decision.Holds() || o.State.Phase != policy.PhaseStable || o.State.Stable != "1.0.0" {
		t.Fatalf("a fresh ramp after the rollback: %s, phase %s stable %s, want Stable at 1.0.0", o.Decision.Action, o.State.Phase, o.State.Stable)
	}
}

// blueGreen is a blue-green rollout: error-rate over 3s on the idle side,
// an approval by sre, the switch, a 4s bake, and what is left of an 8s
// rollback window; with guard, error-rate is a background gate too.
func blueGreen(guard bool) string {
	fields := []string{"analysis: {gates: [error-rate], window: 3s}", "approval: {group: sre}", "rollbackWindow: 8s",
		"bake: {duration: 4s, gates: [error-rate]}"}
	if guard {
		fields = append(fields, "background: {gates: [error-rate], interval: 1s}")
	}
	return policytest.Gated(policytest.BlueGreenWith("demo", fields...))
}

func TestBlueGreenFromTheIdleSideThroughTheBakeToComplete(t *testing.T) {
	w, canary, _ := promWorld(t, blueGreen(true))
	canary.SetTraffic(50)
	w.release("1.1.0")
	w.expect(policy.ActionAnalysis, 1, 0)
	w.wantFiles("1.1.0", "1.0.0", 0)
	if o, _ := w.untilActs(30 * time.Second); o.Decision.Action != policy.ActionPause || o.Decision.Step != 2 {
		t.Fatalf("after the idle side's analysis: %s step %d (%s), want the approval step", o.Decision.Action, o.Decision.Step, o.Decision.Reason)
	}
	w.approve("alice", "1.1.0", 2)
	if o, _ := w.untilActs(10 * time.Second); o.Decision.Action != policy.ActionSetWeight || o.Decision.Step != 3 || o.Decision.Weight != 100 {
		t.Fatalf("after the approval: %s step %d weight %d (%s), want the switch to 100", o.Decision.Action, o.Decision.Step, o.Decision.Weight, o.Decision.Reason)
	}
	w.wantFiles("1.1.0", "1.0.0", 100)
	o, _ := w.untilActs(10 * time.Second)
	if d := o.Decision; d.Action != policy.ActionAnalysis || d.Step != 4 || !strings.Contains(d.Reason, "bakes") {
		t.Fatalf("after the switch: %s step %d (%s), want the bake", d.Action, d.Step, d.Reason)
	}
	o, _ = w.untilActs(30 * time.Second)
	if d := o.Decision; d.Action != policy.ActionPause || d.Step != 5 {
		t.Fatalf("after the bake: %s step %d (%s), want the rest of the rollback window", d.Action, d.Step, d.Reason)
	}
	if msg := w.lastMessage("step 5/5"); !strings.Contains(msg, "scope=bake") || !strings.Contains(msg, "scope=background") {
		t.Errorf("the commit leaving the bake does not carry its verdict and the background gate's:\n%s", msg)
	}
	if o, _ := w.untilActs(30 * time.Second); o.Decision.Action != policy.ActionPromote {
		t.Fatalf("after the rollback window: %s (%s), want promote", o.Decision.Action, o.Decision.Reason)
	}
	w.wantFiles("1.1.0", "1.1.0", 100)
	w.expect(policy.ActionComplete, 0, 0)
	w.wantFiles("1.1.0", "1.1.0", 0)
}

func TestBlueGreenFailingItsBakeGoesBackToTheOldSide(t *testing.T) {
	w, canary, _ := promWorld(t, blueGreen(false))
	canary.SetTraffic(50)
	w.release("1.1.0")
	w.expect(policy.ActionAnalysis, 1, 0)
	if o, _ := w.untilActs(30 * time.Second); o.Decision.Step != 2 {
		t.Fatalf("after the idle side's analysis: %s step %d (%s), want the approval step", o.Decision.Action, o.Decision.Step, o.Decision.Reason)
	}
	w.approve("alice", "1.1.0", 2)
	w.expect(policy.ActionSetWeight, 3, 100)
	w.expect(policy.ActionAnalysis, 4, 100)
	canary.SetErrorRate(0.5)
	o, _ := w.untilActs(30 * time.Second)
	if d := o.Decision; d.Action != policy.ActionAbort || d.Step != 4 || d.Weight != 0 {
		t.Fatalf("bake failing: %s step %d weight %d (%s), want an abort putting all traffic on the old side", d.Action, d.Step, d.Weight, d.Reason)
	}
	w.wantFiles("1.1.0", "1.0.0", 0)
	if msg := w.lastMessage("abort"); !strings.Contains(msg, "Ramp-Reason: bake gate error-rate: ") || !strings.Contains(msg, "scope=bake") {
		t.Errorf("abort commit lacks the bake's evidence:\n%s", msg)
	}
	w.expect(policy.ActionRollback, 0, 0)
	w.wantFiles("1.0.0", "1.0.0", 0)
}

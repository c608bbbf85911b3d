package gitsync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// gatedSpec: weight 10, then a 3s analysis of the canary's error rate
// (policytest.GatedYAML's gate), then weight 50.
func gatedSpec() string {
	return policytest.GatedYAML("demo", "setWeight: 10", "analysis: {gates: [error-rate], window: 3s}", "setWeight: 50")
}

// gatedWorld is promWorld with gatedSpec; its canary has no traffic yet.
func gatedWorld(t *testing.T) (*world, *evidencetest.App, *evidencetest.Prom) {
	return promWorld(t, gatedSpec())
}

// until runs passes (bounded) until one does not hold, and returns it.
func (w *world) until(limit time.Duration) gitsync.Outcome {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		o := w.pass()
		if !o.Decision.Holds() || time.Now().After(deadline) {
			return o
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestGateOnRealPrometheusPassesAHealthyCanary(t *testing.T) {
	w, canary, _ := gatedWorld(t)
	canary.SetTraffic(50)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionAnalysis, 2, 10)
	o := w.until(30 * time.Second)
	d := o.Decision
	if d.Action != policy.ActionSetWeight || d.Step != 3 || len(d.Gates) != 1 || d.Gates[0].Verdict != policy.Pass {
		t.Fatalf("after the window: %s step %d gates %+v (%s), want weight 50 with error-rate=pass", d.Action, d.Step, d.Gates, d.Reason)
	}
	w.pull()
	// The trailers as git itself reads them.
	msg := w.git("dev", "log", "-1", "--format=%(trailers:only,unfold)", "HEAD")
	if !strings.Contains(msg, "Ramp-Gate: name=error-rate verdict=pass") || !strings.Contains(msg, `bound="<=0.05"`) || !strings.Contains(msg, "samples=") {
		t.Fatalf("step 3's commit does not carry the gate evidence:\n%s", msg)
	}
}

func TestGateOnRealPrometheusRollsBackA5xxCanary(t *testing.T) {
	w, canary, _ := gatedWorld(t)
	canary.SetTraffic(50)
	canary.SetErrorRate(0.5)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionAnalysis, 2, 10)
	o := w.until(30 * time.Second)
	if d := o.Decision; d.Action != policy.ActionAbort || d.Weight != 0 {
		t.Fatalf("got %s weight %d (%s), want abort to weight 0", d.Action, d.Weight, d.Reason)
	}
	w.expect(policy.ActionRollback, 0, 0) // onFailure.revertRelease
	w.pull()
	abort := w.git("dev", "log", "-1", "--format=%B", "--grep=abort", "HEAD")
	for _, want := range []string{"Ramp-Action: abort", "Ramp-Weight: 0", "Ramp-Gate: name=error-rate verdict=fail value=0.5", `bound="<=0.05"`, "Ramp-Reason: gate error-rate: 0.5 > 0.05 ("} {
		if !strings.Contains(abort, want) {
			t.Errorf("abort commit lacks %q:\n%s", want, abort)
		}
	}
	if got := w.git("dev", "show", "HEAD:apps/demo/canary/kustomization.yaml"); !strings.Contains(got, `newTag: "1.0.0"`) {
		t.Errorf("release field after rollback:\n%s\nwant it back at 1.0.0", got)
	}
	if got := w.git("dev", "show", "HEAD:apps/demo/route.yaml"); got+"\n" != gittest.Route("demo", 0) {
		t.Errorf("route after abort:\n%s\nwant weight 0", got)
	}
}

func TestGateOnRealPrometheusHoldsACanaryWithoutTraffic(t *testing.T) {
	w, _, _ := gatedWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionAnalysis, 2, 10)
	time.Sleep(5 * time.Second) // the window has passed: still no signal
	for i := 0; i < 3; i++ {
		o := w.expect(policy.ActionNone, 2, 10)
		if g := o.Decision.Gates; len(g) != 1 || g[0].Verdict != policy.Inconclusive {
			t.Fatalf("gates %+v, want error-rate inconclusive", g)
		}
	}
}

func TestGateHoldsWhilePrometheusIsStoppedAndResumesAfter(t *testing.T) {
	w, canary, p := gatedWorld(t)
	canary.SetTraffic(50)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionAnalysis, 2, 10)
	p.Stop()
	time.Sleep(4 * time.Second)
	o := w.expect(policy.ActionNone, 2, 10)
	if !strings.Contains(o.Decision.Reason, "connection refused") {
		t.Fatalf("hold reason %q, want it to say Prometheus is unreachable", o.Decision.Reason)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if o := w.until(30 * time.Second); o.Decision.Action != policy.ActionSetWeight || o.Decision.Step != 3 {
		t.Fatalf("after Prometheus came back: %s step %d (%s), want weight 50", o.Decision.Action, o.Decision.Step, o.Decision.Reason)
	}
}

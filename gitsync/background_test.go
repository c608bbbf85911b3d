package gitsync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence"
	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// bgInterval spaces the background measurements of the tests below.
const bgInterval = 3 * time.Second

// withBackground adds background gate error-rate, measured every
// bgInterval, to a canary spec of policytest.GatedYAML.
func withBackground(spec string) string {
	return strings.Replace(spec, "  gates:\n", "      background: {gates: [error-rate], interval: 3s}\n  gates:\n", 1)
}

// promWorld is a world with rollout demo's spec whose loop gathers
// evidence from a real Prometheus scraping a stable (1.0.0) app with
// traffic and a canary (1.1.0) app without, until the test sets some.
// It returns once Prometheus has a few scrapes of the stable version, as
// a stable version in production has a history when a release starts
// (a preflight measures it).
func promWorld(t *testing.T, spec string) (*world, *evidencetest.App, *evidencetest.Prom) {
	return promWorldWith(t, spec, "")
}

// promWorldWith is promWorld whose Prometheus evaluates rules (YAML of
// a rules file) and scrapes the apps more too.
func promWorldWith(t *testing.T, spec, rules string, more ...*evidencetest.App) (*world, *evidencetest.App, *evidencetest.Prom) {
	w := newWorldWithSpec(t, spec)
	stable, canary := evidencetest.NewApp(t, "1.0.0"), evidencetest.NewApp(t, "1.1.0")
	stable.SetTraffic(50)
	targets := []string{stable.Target, canary.Target}
	for _, a := range more {
		targets = append(targets, a.Target)
	}
	p := evidencetest.StartPrometheus(t, targets, rules)
	p.WaitFor(t, `count_over_time(http_requests_total{version="1.0.0",code="200"}[1m])`, 4, 30*time.Second)
	prom, err := evidence.NewPrometheus(p.URL, evidence.WithQueryTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	g := &evidence.Gatherer{Prom: prom}
	w.cfg.Evidence = func(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence {
		return g.Evidence(ctx, r, s, policy.Evidence{AppliedUnknown: true}, time.Now())
	}
	w.cfg.Now = time.Now
	w.loop = w.newLoop()
	return w, canary, p
}

// passes runs passes every 250ms for d (bounded), failing on any that
// does not hold, and returns the last.
func (w *world) passes(d time.Duration) gitsync.Outcome {
	w.t.Helper()
	var o gitsync.Outcome
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if o = w.pass(); !o.Decision.Holds() {
			w.t.Fatalf("pass: %s step %d (%s), want a hold", o.Decision.Action, o.Decision.Step, o.Decision.Reason)
		}
	}
	return o
}

// untilActs runs passes every 250ms until one acts, for at most limit.
func (w *world) untilActs(limit time.Duration) (gitsync.Outcome, time.Time) {
	w.t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(250 * time.Millisecond) {
		o := w.pass()
		if !o.Decision.Holds() {
			return o, time.Now()
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no action within %s; last hold: %s", limit, o.Decision.Reason)
		}
	}
}

func TestBackgroundGateAbortsACanaryThatTurnsBadWhileWaitingForAnApproval(t *testing.T) {
	w, canary, _ := promWorld(t, withBackground(policytest.GatedYAML("demo", "setWeight: 10", "approval: {group: sre}", "setWeight: 50")))
	canary.SetTraffic(50)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	if o, _ := w.untilActs(20 * time.Second); o.Decision.Action != policy.ActionPause || o.Decision.Step != 2 {
		t.Fatalf("after weight 10: %s step %d (%s), want the approval step once the background gate passed", o.Decision.Action, o.Decision.Step, o.Decision.Reason)
	}

	// Waiting for the approval, healthy: the guard measures, and a verdict
	// that changes nothing is no commit.
	before := len(w.serverLog())
	o := w.passes(6 * time.Second)
	if got := len(w.serverLog()); got != before {
		t.Fatalf("%d commits while a healthy canary waited for its approval, want none", got-before)
	}
	if g := o.Decision.Gates; len(g) != 1 || g[0].Scope != policy.ScopeBackground || g[0].Verdict != policy.Pass || !g[0].HasValue {
		t.Fatalf("hold carries gates %+v, want the background gate's passing value", g)
	}

	canary.SetErrorRate(0.5)
	bad := time.Now()
	o, at := w.untilActs(30 * time.Second)
	took := at.Sub(bad)
	t.Logf("aborted %s after the canary turned bad (background interval %s)", took.Round(10*time.Millisecond), bgInterval)
	if d := o.Decision; d.Action != policy.ActionAbort || d.Step != 2 || d.Weight != 0 {
		t.Fatalf("got %s step %d weight %d (%s), want an abort of the approval step to weight 0", d.Action, d.Step, d.Weight, d.Reason)
	}
	if took > 2*bgInterval {
		t.Errorf("aborted %s after the canary turned bad, want within two background intervals (%s)", took, 2*bgInterval)
	}
	w.pull()
	abort := w.git("dev", "log", "-1", "--format=%B", "--grep=abort", "HEAD")
	for _, want := range []string{"Ramp-Action: abort", "Ramp-Step: 2/3", "Ramp-Weight: 0",
		"Ramp-Gate: name=error-rate verdict=fail value=", `bound="<=0.05"`, "samples=", "scope=background",
		"Ramp-Reason: background gate error-rate: "} {
		if !strings.Contains(abort, want) {
			t.Errorf("abort commit lacks %q:\n%s", want, abort)
		}
	}
	w.expect(policy.ActionRollback, 0, 0) // onFailure.revertRelease
}

func TestBackgroundGateHoldsTheNextStepWhileInconclusive(t *testing.T) {
	w, canary, _ := promWorld(t, withBackground(policytest.GatedYAML("demo", "setWeight: 10", "setWeight: 20")))
	w.release("1.1.0") // the canary has no traffic: no sample, no signal
	w.expect(policy.ActionSetWeight, 1, 10)
	before := len(w.serverLog())
	o := w.passes(3 * bgInterval)
	if d := o.Decision; d.WaitingFor != "conclusive background gates" || !strings.Contains(d.Reason, "background gate error-rate inconclusive") {
		t.Fatalf("hold %q waiting for %q, want it held by the background gate without samples", d.Reason, d.WaitingFor)
	}
	if got := len(w.serverLog()); got != before {
		t.Fatalf("%d commits while the background gate was inconclusive, want none", got-before)
	}
	canary.SetTraffic(50)
	if o, _ := w.untilActs(20 * time.Second); o.Decision.Action != policy.ActionSetWeight || o.Decision.Step != 2 {
		t.Fatalf("with traffic: %s step %d (%s), want weight 20", o.Decision.Action, o.Decision.Step, o.Decision.Reason)
	}
}

package controllers_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// TestAnalysisJudgesPrometheusGatesOnceFluxAppliedTheStep runs a release
// whose canary answers 20% of its requests with 500 against a real
// Prometheus: the analysis step is committed, its gates are not judged
// while Flux has not applied it, and once Flux has, the error-rate gate
// fails and ramp aborts with the gate's evidence in the commit, the
// status and the metrics.
func TestAnalysisJudgesPrometheusGatesOnceFluxAppliedTheStep(t *testing.T) {
	t.Parallel()
	canary := evidencetest.NewApp(t, releaseVersion)
	canary.SetTraffic(100)
	canary.SetErrorRate(0.2)
	prom := evidencetest.StartPrometheus(t, []string{canary.Target}, "")

	spec := policytest.CanaryYAML("demo", "setWeight: 10", "analysis: {gates: [error-rate], window: 3s}", "setWeight: 50", "approval: {group: sre}")
	spec = strings.Replace(spec, "    - name: error-rate\n", "    - name: error-rate\n      interval: 1s\n", 1)
	w := newWorldWith(t, "", "", spec)
	w.start(nil)
	w.repository(repoName, func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Prometheus = &rampv1.Prometheus{Address: prom.URL}
	})
	w.wait(repoName, "Ready", func(rr *rampv1.ReleaseRepository) bool { return rr.Status.LastFetchedRevision != "" })

	w.release(releaseVersion)
	w.requestReconcile(repoName)
	w.wait(repoName, "step 1", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 1 })
	step1 := w.tip()
	w.setFluxStatus("True", "ReconciliationSucceeded", "applied", "main@sha1:"+step1, "main@sha1:"+step1)
	w.wait(repoName, "step 2 (analysis)", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 2 })
	step2 := w.tip()
	if a := w.trailer(step2, "Ramp-Action"); a != "analysis" {
		t.Fatalf("step 2 commit: Ramp-Action %q, want analysis", a)
	}
	prom.WaitFor(t, `count_over_time(http_requests_total{version="`+releaseVersion+`",code="500"}[1m])`, 3, 30*time.Second)

	// Not applied yet: the analysis has not started, whatever Prometheus says.
	token := w.requestReconcile(repoName)
	rr := w.wait(repoName, "the hold", func(rr *rampv1.ReleaseRepository) bool { return rr.Status.LastHandledReconcileAt == token })
	if got := rollout(rr); !strings.Contains(got.WaitingFor, "Flux to apply commit "+step2[:7]) || len(got.LastGates) != 0 {
		t.Fatalf("before Flux applied step 2: waiting for %q with gates %+v; want Flux and no verdicts", got.WaitingFor, got.LastGates)
	}

	applied := time.Now().Truncate(time.Second)
	w.setFluxStatus("True", "ReconciliationSucceeded", "applied", "main@sha1:"+step2, "main@sha1:"+step2)
	rr = w.wait(repoName, "the abort on the failing gate", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Phase == "Aborted" })
	abort := w.tip()
	if a := w.trailer(abort, "Ramp-Action"); a != "abort" {
		t.Fatalf("tip %s: Ramp-Action %q, want abort", abort, a)
	}
	gate := w.trailer(abort, "Ramp-Gate")
	if !strings.Contains(gate, "name=error-rate") || !strings.Contains(gate, "verdict=fail") {
		t.Fatalf("abort's Ramp-Gate %q, want error-rate failing", gate)
	}
	when, err := strconv.ParseInt(w.serverGit("log", "-1", "--format=%ct", abort), 10, 64)
	if err != nil || time.Unix(when, 0).Before(applied) {
		t.Fatalf("abort committed at %d, before Flux applied step 2 at %s (%v)", when, applied, err)
	}
	gates := rollout(rr).LastGates
	if len(gates) != 1 || gates[0].Name != "error-rate" || gates[0].Verdict != "fail" || gates[0].Bound != "<=0.01" || gates[0].Value == "" {
		t.Fatalf("status lastGates %+v, want error-rate fail with a value and bound <=0.01", gates)
	}
	repo := w.ns + "/" + repoName
	labels := map[string]string{"repository": repo, "rollout": "demo", "gate": "error-rate"}
	if v, ok := metricValue("ramp_gate_value", labels); !ok || v <= 0.01 {
		t.Errorf("ramp_gate_value = %v (found %v), want the failing value", v, ok)
	}
	labels["verdict"] = "fail"
	if v, _ := metricValue("ramp_gate_verdict", labels); v != 1 {
		t.Errorf("ramp_gate_verdict{verdict=fail} = %v, want 1", v)
	}
	if c := condition(rr, meta.ReadyCondition); c.Status != "True" {
		t.Errorf("an aborted release leaves the repository Ready: %+v", c)
	}
}

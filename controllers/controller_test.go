package controllers_test

import (
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"k8s.io/utils/ptr"
)

func TestReleaseAdvancesOnlyAfterFluxAppliedTheStep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(nil)
	w.repository(repoName, nil)
	initial := w.tip()

	// The Secrets and keys are read, the repository is fetched: Ready.
	rr := w.wait(repoName, "Ready=True at the initial commit", func(rr *rampv1.ReleaseRepository) bool {
		return condition(rr, meta.ReadyCondition).Status == metav1.ConditionTrue &&
			rr.Status.LastFetchedRevision == "main@sha1:"+initial
	})
	if got := rollout(rr); got.Phase != "Stable" || got.Release != "1.0.0" || got.Stable != "1.0.0" {
		t.Fatalf("rollout before a release: %+v, want phase Stable at 1.0.0", got)
	}
	if rr.Status.ObservedGeneration != rr.Generation {
		t.Errorf("observedGeneration %d, want %d", rr.Status.ObservedGeneration, rr.Generation)
	}

	// A release commit, then a reconcile request: ramp enters step 1.
	w.release(releaseVersion)
	token := w.requestReconcile(repoName)
	rr = w.wait(repoName, "step 1 at weight 10", func(rr *rampv1.ReleaseRepository) bool {
		r := rollout(rr)
		return r.Step == 1 && r.Weight == 10 && rr.Status.LastHandledReconcileAt == token
	})
	if got := rollout(rr); got.Phase != "Progressing" || got.Release != releaseVersion || got.Steps != 4 {
		t.Fatalf("rollout after the release: %+v, want Progressing %s with 4 steps", got, releaseVersion)
	}
	if rr.Status.Progressing != 1 {
		t.Errorf("status.progressing = %d, want 1", rr.Status.Progressing)
	}
	step1 := w.tip()
	if got := rollout(rr).LastCommit; got != step1 {
		t.Errorf("status lastCommit %s, want the server's tip %s", got, step1)
	}
	if a, s := w.trailer(step1, "Ramp-Action"), w.trailer(step1, "Ramp-Step"); a != "set-weight" || s != "1/4" {
		t.Fatalf("server tip %s: Ramp-Action %q Ramp-Step %q, want set-weight 1/4", step1, a, s)
	}
	w.verifyRampCommit(step1)
	w.eventually("a SetWeight event naming the step commit", func() bool {
		for _, e := range w.events(repoName, "SetWeight") {
			if strings.Contains(e.Note, step1[:12]) && strings.Contains(e.Note, "rollout demo release "+releaseVersion) {
				return true
			}
		}
		return false
	})
	k := w.kustomization()
	if k.GetAnnotations()[meta.ReconcileRequestAnnotation] == "" {
		t.Errorf("Kustomization %s has no %s annotation after the push", kustomizeName, meta.ReconcileRequestAnnotation)
	}
	g := w.flux("GitRepository", gitRepoName, nil)
	if err := k8s.Get(t.Context(), objectKey(g), g); err != nil || g.GetAnnotations()[meta.ReconcileRequestAnnotation] == "" {
		t.Errorf("GitRepository %s has no %s annotation after the push (err %v)", gitRepoName, meta.ReconcileRequestAnnotation, err)
	}

	// Until Flux applied step 1, the next reconcile holds.
	token = w.requestReconcile(repoName)
	rr = w.wait(repoName, "the request handled", func(rr *rampv1.ReleaseRepository) bool {
		return rr.Status.LastHandledReconcileAt == token
	})
	if got := rollout(rr); !strings.Contains(got.WaitingFor, "Flux to apply commit "+step1[:7]) {
		t.Fatalf("rollout waits for %q (%s), want Flux to apply %s", got.WaitingFor, got.Message, step1[:7])
	}
	if tip := w.tip(); tip != step1 {
		t.Fatalf("ramp committed %s before Flux applied step 1", tip)
	}

	// kustomize-controller reports step 1 applied: step 2 follows.
	w.setFluxStatus("True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+step1, "main@sha1:"+step1, "main@sha1:"+step1)
	rr = w.wait(repoName, "step 2 (approval)", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 2 })
	step2 := w.tip()
	if a := w.trailer(step2, "Ramp-Action"); a != "pause" {
		t.Fatalf("step 2 commit %s: Ramp-Action %q, want pause", step2, a)
	}
	if parent := w.serverGit("rev-parse", step2+"^"); parent != step1 {
		t.Fatalf("step 2's parent is %s, want step 1 %s", parent, step1)
	}
	w.eventually("a Pause event", func() bool { return len(w.events(repoName, "Pause")) > 0 })

	// Once Flux applied step 2, it waits for an approval by sre.
	w.setFluxStatus("True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+step2, "main@sha1:"+step2, "main@sha1:"+step2)
	rr = w.wait(repoName, "an approval by sre", func(rr *rampv1.ReleaseRepository) bool {
		return strings.Contains(rollout(rr).WaitingFor, "sre")
	})
	if tip := w.tip(); tip != step2 {
		t.Fatalf("ramp committed %s without an approval", tip)
	}

	repo := w.ns + "/" + repoName
	if v, ok := metricValue("ramp_rollout_step", map[string]string{"repository": repo, "rollout": "demo"}); !ok || v != 2 {
		t.Errorf("ramp_rollout_step = %v (found %v), want 2", v, ok)
	}
	if v, ok := metricValue("ramp_rollout_phase", map[string]string{"repository": repo, "rollout": "demo", "phase": "Progressing"}); !ok || v != 1 {
		t.Errorf("ramp_rollout_phase{phase=Progressing} = %v (found %v), want 1", v, ok)
	}
	if v, _ := metricValue("ramp_commits_pushed_total", map[string]string{"repository": repo, "action": "set-weight"}); v != 1 {
		t.Errorf("ramp_commits_pushed_total{action=set-weight} = %v, want 1", v)
	}
	if v, ok := metricValue("ramp_git_fetch_duration_seconds", map[string]string{"repository": repo}); !ok || v < 3 {
		t.Errorf("ramp_git_fetch_duration_seconds count = %v, want at least 3 fetches", v)
	}
}

func TestFluxApplyFailureAbortsTheRelease(t *testing.T) {
	t.Parallel()
	// The server requires basic auth: ramp pushes with the Secret's credentials.
	w := newWorldWithAuth(t, "ramp", "a-push-token")
	w.start(nil)
	w.repository(repoName, nil)
	w.wait(repoName, "Ready", func(rr *rampv1.ReleaseRepository) bool {
		return condition(rr, meta.ReadyCondition).Status == metav1.ConditionTrue
	})
	w.release(releaseVersion)
	w.requestReconcile(repoName)
	w.wait(repoName, "step 1", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 1 })
	step1 := w.tip()

	w.setFluxStatus("False", "ReconciliationFailed", "kustomize build failed: accumulating resources: boom", "", "main@sha1:"+step1)
	rr := w.wait(repoName, "the abort", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Phase == "Aborted" })
	abort := w.tip()
	if a := w.trailer(abort, "Ramp-Action"); a != "abort" {
		t.Fatalf("tip %s: Ramp-Action %q, want abort", abort, a)
	}
	if reason := w.trailer(abort, "Ramp-Reason"); !strings.Contains(reason, "boom") {
		t.Errorf("abort reason %q does not carry Flux's message", reason)
	}
	if got := rollout(rr); got.Weight != 0 {
		t.Errorf("weight after abort = %d, want 0", got.Weight)
	}
	w.verifyRampCommit(abort)
	w.eventually("a warning Abort event", func() bool {
		for _, e := range w.events(repoName, "Abort") {
			if e.Type == "Warning" && strings.Contains(e.Note, "boom") {
				return true
			}
		}
		return false
	})
}

func TestRequireSignedTipHoldsOnAnUnsignedTip(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(nil)
	w.repository(repoName, func(rr *rampv1.ReleaseRepository) { rr.Spec.RequireSignedTip = ptr.To(true) })
	w.wait(repoName, "the first reconcile", func(rr *rampv1.ReleaseRepository) bool { return rr.Status.LastFetchedRevision != "" })
	unsigned := w.releaseSigned(releaseVersion, false)
	token := w.requestReconcile(repoName)
	rr := w.wait(repoName, "the request handled", func(rr *rampv1.ReleaseRepository) bool {
		return rr.Status.LastHandledReconcileAt == token
	})
	if got := rollout(rr); got.WaitingFor != "a signed commit at the branch tip" || !strings.Contains(got.Message, unsigned[:7]) {
		t.Fatalf("rollout on an unsigned tip: waiting for %q (%s); want a signed tip naming %s", got.WaitingFor, got.Message, unsigned[:7])
	}
	if tip := w.tip(); tip != unsigned {
		t.Fatalf("ramp committed %s on top of the unsigned tip %s", tip, unsigned)
	}
}

func TestSuspendedRepositoryMakesNoCommit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(nil)
	w.repository(repoName, func(rr *rampv1.ReleaseRepository) { rr.Spec.Suspend = true })
	start := w.release(releaseVersion)
	token := w.requestReconcile(repoName)
	rr := w.wait(repoName, "the request handled", func(rr *rampv1.ReleaseRepository) bool {
		return rr.Status.LastHandledReconcileAt == token
	})
	if c := condition(rr, meta.ReadyCondition); c.Status != metav1.ConditionFalse || c.Reason != controllers.ReasonSuspended {
		t.Fatalf("Ready of a suspended repository: %s %s, want False %s", c.Status, c.Reason, controllers.ReasonSuspended)
	}
	if tip := w.tip(); tip != start || rr.Status.LastFetchedRevision != "" {
		t.Fatalf("a suspended repository was fetched (%q) or committed to (tip %s, release %s)", rr.Status.LastFetchedRevision, tip, start)
	}
}

// metricValue returns a gauge's or counter's value, or a histogram's
// sample count, from the controller-runtime registry.
func metricValue(name string, labels map[string]string) (float64, bool) {
	families, err := metrics.Registry.(prometheus.Gatherer).Gather()
	if err != nil {
		return 0, false
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.Gauge != nil:
					return m.GetGauge().GetValue(), true
				case m.Counter != nil:
					return m.GetCounter().GetValue(), true
				case m.Histogram != nil:
					return float64(m.GetHistogram().GetSampleCount()), true
				}
			}
		}
	}
	return 0, false
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

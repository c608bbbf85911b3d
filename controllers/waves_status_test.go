package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// TestStatusListsEveryTargetOfARolloutWithTargets: while target eu of
// rollout pay waits for the approval of its step 2, the status lists the
// rollout (its release, its waves as its phase) and each of its targets,
// not only the one the decision is about: eu progressing at step 2/2 with
// the decision's reason, us and ap on their stable version waiting for
// wave rest.
func TestStatusListsEveryTargetOfARolloutWithTargets(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	spec := strings.NewReplacer("cluster: eu}", "}", "cluster: us}", "}", "cluster: ap}", "}",
		"namespace: flux-system", "namespace: "+w.ns,
		"        - analysis: {gates: [error-rate], window: 5m}\n", "        - pause: {}\n").Replace(policytest.WavesYAML("pay"))
	w.git("pull", "-q", "origin", "main")
	gittest.WriteFiles(t, w.work, gittest.WavesFiles("pay", "1.0.0", spec, "eu", "us", "ap"))
	w.git("add", "-A")
	w.git("commit", "-q", "-S", "-m", "pay: rollout in waves")
	w.git("push", "-q", "origin", "main")
	u := w.flux(controllers.KustomizationGVK.Kind, "pay", map[string]any{"interval": "10m", "prune": true, "path": "./clusters",
		"sourceRef": map[string]any{"kind": "GitRepository", "name": gitRepoName}})
	if err := k8s.Create(ctx, u); err != nil {
		t.Fatalf("create Kustomization pay: %v", err)
	}
	w.repository("fleet", nil)
	w.start(nil)

	// Flux, played by the test: the tip is applied.
	applied := func() {
		for try := 0; ; try++ {
			u := w.flux(controllers.KustomizationGVK.Kind, "pay", nil)
			err := k8s.Get(ctx, client.ObjectKeyFromObject(u), u)
			if err == nil {
				rev := "main@sha1:" + w.tip()
				u.Object["status"] = map[string]any{"observedGeneration": u.GetGeneration(), "lastAppliedRevision": rev, "lastAttemptedRevision": rev,
					"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "Applied revision: " + rev,
						"lastTransitionTime": time.Now().UTC().Format(time.RFC3339), "observedGeneration": u.GetGeneration()}}}
				err = k8s.Status().Update(ctx, u)
			}
			if err == nil {
				return
			}
			if !apierrors.IsConflict(err) || try > 5 {
				t.Fatalf("update Kustomization status: %v", err)
			}
		}
	}
	w.git("pull", "-q", "origin", "main")
	gittest.WriteFiles(t, w.work, map[string]string{"releases/pay/release.yaml": gittest.Release("2.0.0")})
	w.git("commit", "-q", "-S", "-am", "pay: release 2.0.0")
	w.git("push", "-q", "origin", "main")
	w.eventually("ramp: pay/eu 2.0.0 step 2/2 pause", func() bool {
		applied()
		w.requestReconcile("fleet")
		time.Sleep(300 * time.Millisecond)
		return strings.HasPrefix(w.serverGit("log", "-1", "--format=%s", "main"), "ramp: pay/eu 2.0.0 step 2/2 pause")
	})
	rows := map[string]rampv1.RolloutStatus{}
	w.wait("fleet", "a row for pay and each of its targets", func(rr *rampv1.ReleaseRepository) bool {
		applied()
		w.requestReconcile("fleet")
		rows = map[string]rampv1.RolloutStatus{}
		for _, r := range rr.Status.Rollouts {
			rows[r.Name] = r
		}
		eu := rows["pay/eu"]
		return eu.Step == 2 && strings.Contains(eu.WaitingFor, "approval")
	})
	pay, eu, us, ap := rows["pay"], rows["pay/eu"], rows["pay/us"], rows["pay/ap"]
	if pay.Release != "2.0.0" || pay.Phase != "Wave 1/2 first progressing" || !strings.Contains(pay.WaitingFor, "approval") {
		t.Errorf("pay: %+v", pay)
	}
	if eu.Release != "2.0.0" || eu.Stable != "1.0.0" || eu.Phase != "Progressing" || eu.Step != 2 || eu.Steps != 2 || eu.Weight != 50 ||
		!strings.Contains(eu.Message, "wave 1/2 first") {
		t.Errorf("pay/eu: %+v", eu)
	}
	for name, r := range map[string]rampv1.RolloutStatus{"pay/us": us, "pay/ap": ap} {
		if r.Release != "1.0.0" || r.Stable != "1.0.0" || r.Phase != "Stable" || r.Step != 0 || r.Weight != 0 ||
			r.Message != "wave 2/2 rest waiting" || r.WaitingFor != "" {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

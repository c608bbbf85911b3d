package controllers_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
)

func TestTwoManagersWithLeaderElectionCommitOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, dir := range dirs {
		w.start(func(o *controllers.Options) {
			o.DataDir = dir
			o.LeaderElect = true
			o.LeaderElectionID = "ramp-" + w.ns
			o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 4*time.Second, 3*time.Second, 500*time.Millisecond
		})
	}
	// The approvers' keys come from a Secret here (a ConfigMap elsewhere).
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(t.Context(), types.NamespacedName{Namespace: w.ns, Name: approversCM}, cm); err != nil {
		t.Fatal(err)
	}
	w.create(&corev1.Secret{ObjectMeta: w.meta("approver-keys"), StringData: cm.Data})
	w.repository(repoName, func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Approvers = &rampv1.Approvers{SecretRef: &meta.LocalObjectReference{Name: "approver-keys"}}
	})
	w.wait(repoName, "the first reconcile", func(rr *rampv1.ReleaseRepository) bool { return rr.Status.LastFetchedRevision != "" })
	start := w.release(releaseVersion)
	w.requestReconcile(repoName)
	w.wait(repoName, "step 1", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 1 })
	// Both managers had every chance to act on the release.
	w.requestReconcile(repoName)
	time.Sleep(2 * time.Second)

	commits := strings.Fields(w.serverGit("rev-list", start+"..main"))
	if len(commits) != 1 || w.trailer(commits[0], "Ramp-Action") != "set-weight" {
		t.Fatalf("commits after the release: %v, want exactly one set-weight commit", commits)
	}
	var cloned int
	for _, dir := range dirs {
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			cloned++
		}
	}
	if cloned != 1 {
		t.Fatalf("%d managers cloned the repository, want only the leader", cloned)
	}
	lease := &coordinationv1.Lease{}
	if err := k8s.Get(t.Context(), types.NamespacedName{Namespace: w.ns, Name: "ramp-" + w.ns}, lease); err != nil {
		t.Fatalf("leader election Lease: %v", err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("Lease has no holder: %+v", lease.Spec)
	}
}

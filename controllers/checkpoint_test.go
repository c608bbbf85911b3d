package controllers_test

import (
	"strings"
	"testing"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
)

// TestControllerWritesACheckpointAtItsDepth: with CheckpointEvery 3
// (--checkpoint-every, the chart's checkpointEvery), a release Flux failed
// to apply is aborted; once three commits lie above the abort, the next
// pass pushes ramp's signed checkpoint commit, on the server's tip and
// naming the abort (Ramp-Anchor), and the rollout still reads Aborted.
func TestControllerWritesACheckpointAtItsDepth(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(func(o *controllers.Options) { o.CheckpointEvery = 3 })
	w.repository(repoName, nil)
	w.wait(repoName, "the first reconcile", func(rr *rampv1.ReleaseRepository) bool { return rr.Status.LastFetchedRevision != "" })
	w.release(releaseVersion)
	w.requestReconcile(repoName)
	w.wait(repoName, "step 1", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 1 })
	step1 := w.tip()
	w.setFluxStatus("False", "ReconciliationFailed", "kustomize build failed: boom", "", "main@sha1:"+step1)
	w.wait(repoName, "the abort", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Phase == "Aborted" })
	abort := w.tip()
	if a := w.trailer(abort, "Ramp-Action"); a != "abort" {
		t.Fatalf("tip %s: Ramp-Action %q, want abort", abort, a)
	}

	w.fillers(2, "unrelated work")
	w.requestReconcile(repoName)
	rr := w.wait(repoName, "the pass over two commits above the abort", func(rr *rampv1.ReleaseRepository) bool {
		return rr.Status.LastFetchedRevision != "" && strings.Contains(rr.Status.LastFetchedRevision, w.tip())
	})
	if a := w.trailer(w.tip(), "Ramp-Action"); a == "checkpoint" {
		t.Fatalf("a checkpoint with only two commits above the abort (CheckpointEvery 3)")
	}
	if got := rollout(rr).Phase; got != "Aborted" {
		t.Fatalf("phase %q before the checkpoint, want Aborted", got)
	}

	w.fillers(1, "more work")
	filled := w.tip()
	w.requestReconcile(repoName)
	w.eventually("a checkpoint commit on the server", func() bool { return w.tip() != filled })
	cp := w.tip()
	if a := w.trailer(cp, "Ramp-Action"); a != "checkpoint" {
		t.Fatalf("tip %s: Ramp-Action %q, want checkpoint", cp, a)
	}
	if anchor := w.trailer(cp, "Ramp-Anchor"); !strings.Contains(anchor, "commit="+abort) {
		t.Errorf("checkpoint %s: Ramp-Anchor %q, want commit=%s", cp, anchor, abort)
	}
	if parent := w.serverGit("rev-parse", cp+"^"); parent != filled {
		t.Errorf("checkpoint's parent %s, want the tip it saw %s", parent, filled)
	}
	if tree, parentTree := w.serverGit("rev-parse", cp+"^{tree}"), w.serverGit("rev-parse", filled+"^{tree}"); tree != parentTree {
		t.Errorf("checkpoint changed the tree: %s, parent's %s", tree, parentTree)
	}
	w.verifyRampCommit(cp)
	w.wait(repoName, "the rollout aborted after the checkpoint", func(rr *rampv1.ReleaseRepository) bool {
		return strings.Contains(rr.Status.LastFetchedRevision, cp) && rollout(rr).Phase == "Aborted"
	})
}

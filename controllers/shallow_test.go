package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// fillers commits n empty commits as dev on the person's clone and pushes
// them; the last is signed, so that a signed tip is what ramp builds on.
func (w *world) fillers(n int, what string) {
	w.t.Helper()
	w.git("pull", "-q", "--ff-only", "origin", "main")
	for i := 1; i <= n; i++ {
		args := []string{"commit", "-q", "--allow-empty", "-m", fmt.Sprintf("%s %d", what, i)}
		if i == n {
			args = append(args, "-S")
		}
		w.git(args...)
	}
	w.git("push", "-q", "origin", "main")
}

// TestControllerClonesShallowAndDeepensForAReleaseBelowTheDepth: with
// CloneDepth 5 (--clone-depth), a repository of ~135 commits whose
// release started 30 commits below the tip. The controller's clone is
// shallow (its shallow file lists boundary commits) and stays so: the
// derive deepens it to the release's start and no further. The release
// progresses: step 1 (set-weight) lands on the server, and once Flux
// applied it (the applied revision is checked for the step commit in the
// shallow clone), step 2 too, each a signed child of the server's tip.
// The status equals what a full clone derives. A restarted controller
// reopens the shallow clone without a rebuild and answers the same. The
// server's repository passes git fsck.
func TestControllerClonesShallowAndDeepensForAReleaseBelowTheDepth(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.fillers(100, "history")
	w.release(releaseVersion)
	w.fillers(30, "other work")
	before := w.tip()

	data := t.TempDir()
	shallow := func(o *controllers.Options) { o.DataDir, o.CloneDepth = data, 5 }
	stop := w.start(shallow)
	w.repository(repoName, nil)
	rr := w.wait(repoName, "step 1 at weight 10", func(rr *rampv1.ReleaseRepository) bool {
		r := rollout(rr)
		return r.Step == 1 && r.Weight == 10
	})
	step1 := w.tip()
	if a := w.trailer(step1, "Ramp-Action"); a != "set-weight" || w.serverGit("rev-parse", step1+"^") != before {
		t.Fatalf("server tip %s: Ramp-Action %q, parent %s; want set-weight on %s", step1, a, w.serverGit("rev-parse", step1+"^"), before)
	}
	w.verifyRampCommit(step1)

	var clones []string
	paths, _ := filepath.Glob(filepath.Join(data, w.ns, repoName, "clone-*"))
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			clones = append(clones, p)
		}
	}
	if len(clones) != 1 {
		t.Fatalf("clones under the data dir: %v, want one", clones)
	}
	clone := clones[0]
	list, err := os.ReadFile(filepath.Join(clone, "shallow"))
	if err != nil || len(list) == 0 {
		t.Fatalf("the controller's clone is not shallow (shallow file: %q, %v)", list, err)
	}
	if n := w.gitIn(clone, "rev-list", "--count", "main"); n == w.serverGit("rev-list", "--count", "main") {
		t.Errorf("the controller's clone holds all %s commits: it deepened past the release's start", n)
	}
	w.compareWithFullDerive(rr)

	// Flux applied step 1: the applied revision is checked against the
	// step commit in the shallow clone, and step 2 follows.
	w.setFluxStatus("True", "ReconciliationSucceeded", "Applied revision: main@sha1:"+step1, "main@sha1:"+step1, "main@sha1:"+step1)
	w.requestReconcile(repoName)
	rr = w.wait(repoName, "step 2", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 2 })
	step2 := w.tip()
	if a := w.trailer(step2, "Ramp-Action"); a != "pause" || w.serverGit("rev-parse", step2+"^") != step1 {
		t.Fatalf("server tip %s: Ramp-Action %q; want pause on step 1 %s", step2, a, step1)
	}
	w.verifyRampCommit(step2)
	w.compareWithFullDerive(rr)
	if b, err := os.ReadFile(filepath.Join(clone, "shallow")); err != nil || len(b) == 0 {
		t.Errorf("the controller's clone is no longer shallow after step 2 (%v)", err)
	}

	// A restarted controller reopens the shallow clone as it is: no
	// rebuild (a file left in it survives), the same boundary, the same
	// answers.
	stop()
	marker := filepath.Join(clone, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	list, _ = os.ReadFile(filepath.Join(clone, "shallow"))
	w.start(shallow)
	token := w.requestReconcile(repoName)
	rr = w.wait(repoName, "the request handled after the restart", func(rr *rampv1.ReleaseRepository) bool {
		return rr.Status.LastHandledReconcileAt == token
	})
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the restarted controller rebuilt its shallow clone: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(clone, "shallow")); string(b) != string(list) {
		t.Errorf("boundary after the restart:\n%s\nwant\n%s", b, list)
	}
	if tip := w.tip(); tip != step2 {
		t.Errorf("the restarted controller committed %s", tip)
	}
	w.compareWithFullDerive(rr)
	if out, err := gittest.GitResult(t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(t.TempDir()), "fsck", "--strict", "--no-dangling"); err != nil {
		t.Errorf("git fsck on the server: %v\n%s", err, out)
	}
}

// gitIn runs the system git in dir.
func (w *world) gitIn(dir string, args ...string) string {
	w.t.Helper()
	return gittest.Git(w.t, dir, gittest.GitEnv(w.t.TempDir()), args...)
}

// compareWithFullDerive derives rollout demo from a full clone of the
// server, with ramp's key and the approvers the controller trusts, and
// checks that rr's status shows the same state at the same tip.
func (w *world) compareWithFullDerive(rr *rampv1.ReleaseRepository) {
	w.t.Helper()
	ctx := context.Background()
	full, err := gitsync.Open(ctx, w.url, filepath.Join(w.t.TempDir(), "full"), "main", gitsync.Auth{})
	if err != nil {
		w.t.Fatal(err)
	}
	approvers := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: w.ns, Name: approversCM}, approvers); err != nil {
		w.t.Fatal(err)
	}
	cm := map[string][]byte{}
	for k, v := range approvers.Data {
		cm[k] = []byte(v)
	}
	keys, err := signing.ParseKeyring(cm, "approvers")
	if err != nil {
		w.t.Fatal(err)
	}
	signer, err := signing.ParseSigner(w.rampKey, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	keys.Trust(policy.RampGroup, signer)
	tip := plumbing.NewHash(w.tip())
	snap, err := (&history.Deriver{Repo: full.Git(), Keys: keys, Guardrails: policy.DefaultGuardrails()}).Derive(tip)
	if err != nil {
		w.t.Fatal(err)
	}
	s := snap.States["demo"]
	got := rollout(rr)
	if rr.Status.LastFetchedRevision != "main@sha1:"+tip.String() {
		w.t.Fatalf("status at %s, want the server's tip %s", rr.Status.LastFetchedRevision, tip)
	}
	if got.Release != s.Release || got.Stable != s.Stable || got.Phase != string(s.Phase) ||
		got.Step != s.Step || got.Weight != s.LiveWeight() || got.LastCommit != s.LastCommit {
		w.t.Fatalf("status of the shallow controller: release %s stable %s phase %s step %d weight %d last %s;\n"+
			"full clone's derive: release %s stable %s phase %s step %d weight %d last %s",
			got.Release, got.Stable, got.Phase, got.Step, got.Weight, got.LastCommit,
			s.Release, s.Stable, s.Phase, s.Step, s.LiveWeight(), s.LastCommit)
	}
}

//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/types"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// migrationJobFile is the migration Job of s9, under the Kustomization's
// path, so Flux applies it with the app.
const migrationJobFile = "apps/demo/migrations/job.yaml"

// migrationJobYAML is a migration Job named name with spec.suspend: suspend.
func migrationJobYAML(name, suspend string) string {
	return `# the schema migration this release ships; only ramp unsuspends it
apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
spec:
  suspend: ` + suspend + `
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/example/demo-migrate:` + name + `
`
}

// TestAMigrationJobAppliedByFluxStaysSuspendedUntilRampReleasesIt: the
// release commit ships a migration Job committed suspended; Flux applies
// it at once, and the API server holds it suspended while ramp waits for
// the expand approval (sre, guardrail migrations.expandGroups). Alice's
// approval lets ramp's step-1 commit write spec.suspend: false, which Flux
// applies. A contract release started while that release has traffic is
// refused: its Job, applied suspended, is never unsuspended. (The API
// server runs no Job controller: the Jobs never run, their spec.suspend
// is what counts.)
func TestAMigrationJobAppliedByFluxStaysSuspendedUntilRampReleasesIt(t *testing.T) {
	defer wallTime(t)()
	sp := strings.Replace(spec(false, "setWeight: 20", "approval: {group: sre}", "setWeight: 50"), "  kustomizations:",
		"  migrations:\n    - job: {file: "+migrationJobFile+"}\n  kustomizations:", 1)
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: sp,
		Guardrails: "migrations:\n  paths: [apps/demo/migrations/**]\n  expandGroups: [sre]\n",
		Files: map[string]string{
			"apps/demo/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
				"resources:\n  - stable\n  - canary\n  - route.yaml\n  - migrations/job.yaml\n",
			// The migration of the stable version ran long ago.
			migrationJobFile: migrationJobYAML("schema-1-0-0", "false"),
		}})
	suspended := func(name string) (bool, error) {
		var job batchv1.Job
		if err := w.Cluster.Client.Get(w.Ctx, types.NamespacedName{Namespace: w.NS, Name: name}, &job); err != nil {
			return false, err
		}
		return job.Spec.Suspend != nil && *job.Spec.Suspend, nil
	}
	// release is Dev's signed commit that moves the canary from one
	// version to another and ships the migration Job name, suspended.
	release := func(from, to, job, kind string) string {
		w.Dev.Pull()
		canary, err := os.ReadFile(filepath.Join(w.Dev.Dir, "apps/demo/canary/kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return w.Dev.Commit(true, "demo: release "+to+" with migration "+job, map[string]string{
			"apps/demo/canary/kustomization.yaml": strings.Replace(string(canary), `newTag: "`+from+`"`, `newTag: "`+to+`"`, 1),
			migrationJobFile:                      migrationJobYAML(job, "true"),
		}, "Ramp-Migration: "+kind)
	}
	// applied asks Flux to apply the tip now and waits until it did.
	applied := func(sha string) {
		if err := errorsOf(
			e2etest.RequestReconcile(w.Ctx, w.Cluster.Client, e2etest.GitRepositoryGVK, w.NS, e2etest.RepoName),
			e2etest.RequestReconcile(w.Ctx, w.Cluster.Client, e2etest.KustomizationGVK, w.NS, e2etest.KustomizationName)); err != nil {
			t.Fatal(err)
		}
		w.WaitApplied(sha, time.Minute)
	}
	stillSuspended := func(name string, d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			if s, err := suspended(name); err != nil || !s {
				t.Fatalf("Job %s: suspended %v (%v), want it suspended until ramp releases it", name, s, err)
			}
		}
	}

	// The expand: applied suspended, waiting for sre's approval.
	start := release(e2etest.StableVersion, e2etest.ReleaseVersion, "schema-1-1-0", "expand")
	w.WaitRollout(30*time.Second, "ramp waits for the expand approval", func(s rampv1.RolloutStatus) bool {
		return strings.Contains(s.WaitingFor, "an approval of the expand migration from sre")
	})
	applied(start)
	stillSuspended("schema-1-1-0", 5*time.Second)
	if cs := w.RampCommits(start); len(cs) > 0 {
		t.Fatalf("ramp committed before the expand approval: %q", describeAll(cs))
	}
	approval := w.Alice.Commit(true, "approve the demo migration", nil,
		"Ramp-Approve: rollout=demo release="+e2etest.ReleaseVersion+" migration=expand")
	step1 := w.WaitCommit(approval, 30*time.Second, "ramp's step 1 after the approval", enteredStep("1/3"))
	if got := describe(step1); got != "set-weight 1/3 20" {
		t.Errorf("step 1: %s, want set-weight 1/3 20", got)
	}
	if got, want := step1.Trailer("Ramp-Migrate"), "job="+migrationJobFile+" migration=expand"; got != want {
		t.Errorf("Ramp-Migrate %q, want %q", got, want)
	}
	if by := step1.Trailer("Ramp-Approved-By"); !hasAll(by, "principal=alice@example.com", "commit="+approval) {
		t.Errorf("Ramp-Approved-By %q, want Alice's approval %s", by, approval)
	}
	w.WaitApplied(step1.SHA, time.Minute)
	w.Eventually(30*time.Second, "the API server has Job schema-1-1-0 unsuspended", func() (bool, string) {
		s, err := suspended("schema-1-1-0")
		return err == nil && !s, fmt.Sprintf("suspended %v (%v)", s, err)
	})

	// The contract, started while 1.1.0 has 20% of traffic: refused.
	w.WaitCommit(step1.SHA, time.Minute, "ramp enters the approval step", enteredStep("2/3"))
	const contract = "1.2.0"
	start = release(e2etest.ReleaseVersion, contract, "schema-1-2-0", "contract")
	rollback := w.WaitCommit(start, time.Minute, "ramp returns 1.1.0's traffic", e2etest.IsAction("rollback"))
	w.WaitApplied(rollback.SHA, time.Minute)
	s := w.WaitRollout(30*time.Second, "ramp refuses the contract", func(s rampv1.RolloutStatus) bool {
		return strings.Contains(s.Message, "contract migration refused")
	})
	t.Logf("contract: %s (waiting for %s)", s.Message, s.WaitingFor)
	stillSuspended("schema-1-2-0", 10*time.Second)
	for _, c := range w.RampCommits(start) {
		if c.Trailer("Ramp-Migrate") != "" {
			t.Errorf("ramp's commit %.10s (%s) released a migration Job: %s", c.SHA, describe(c), c.Trailer("Ramp-Migrate"))
		}
	}
	if got := w.Auditor.Git("show", "origin/main:"+migrationJobFile); !strings.Contains(got, "suspend: true") {
		t.Errorf("the contract's Job at the tip:\n%s\nwant it suspended", got)
	}
	assertSigned(t, w, start)
}

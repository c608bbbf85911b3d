package gitsync_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

const jobPath = "db/migrations/job.yaml"

// migrationJob is a migration Job named name with spec.suspend: suspend.
func migrationJob(name, suspend string) string {
	return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\nspec:\n  suspend: " + suspend +
		"   # only ramp releases it\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n" +
		"        - name: migrate\n          image: registry.example.com/demo-migrate:" + name + "\n"
}

// jobWorld is migrationWorld whose rollout names a migration Job in
// spec.migrations, db/migrations/job.yaml, which an earlier release ran
// (unsuspended in the repository's first commit: a person unsuspending it
// later, with no release in flight, is drift).
func jobWorld(t *testing.T) *world {
	spec := strings.Replace(policytest.SpecYAML("demo"), "  kustomizations:",
		"  migrations:\n    - job: {file: "+jobPath+"}\n  kustomizations:", 1)
	w := newWorldWithFiles(t, spec, map[string]string{jobPath: migrationJob("schema-1-0-0", "false")})
	w.cfg.Guardrails = policy.DefaultGuardrails()
	w.cfg.Guardrails.Migrations = policy.MigrationRules{Paths: []string{"db/migrations/**"}, ExpandGroups: []string{"dba"}}
	w.loop = w.newLoop()
	return w
}

// releaseWithJob starts release version in one signed commit by dev that
// also writes the migration Job file (content) and has the given trailer.
func (w *world) releaseWithJob(version, job, trailer string) string {
	w.t.Helper()
	w.pull()
	gittest.WriteFiles(w.t, w.work, map[string]string{
		"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", version),
		jobPath:                               job,
	})
	w.git("dev", "add", "-A")
	w.git("dev", "commit", "-q", "-S", "-m", "demo: release "+version, "--trailer", trailer)
	w.git("dev", "push", "-q", "origin", "main")
	return w.git("dev", "rev-parse", "HEAD")
}

// trailersOf returns the trailers of commit c at the server, one per line.
func (w *world) trailersOf(c string) string {
	w.t.Helper()
	return gittest.Git(w.t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(w.t.TempDir()),
		"log", "-1", "--format=%(trailers:only,unfold)", c)
}

func TestAMigrationJobStaysSuspendedUntilRampsStep1AfterTheExpandApproval(t *testing.T) {
	w := jobWorld(t)
	job := migrationJob("schema-1-1-0", "true")
	w.releaseWithJob("1.1.0", job, "Ramp-Migration: expand")
	o := w.expect(policy.ActionNone, 0, 0)
	if !strings.Contains(o.Decision.WaitingFor, "an approval of the expand migration from dba") {
		t.Fatalf("waiting for %q, want the dba's approval", o.Decision.WaitingFor)
	}
	w.command("alice", true, "approve the migration", "Ramp-Approve: rollout=demo release=1.1.0 migration=expand")
	w.expect(policy.ActionNone, 0, 0) // alice is not in dba
	if got := w.show(jobPath); got != job {
		t.Fatalf("before the dba's approval the Job file is\n%s\nwant it as committed, suspended", got)
	}
	approval := w.command("dan", true, "approve the migration", "Ramp-Approve: rollout=demo release=1.1.0 migration=expand")
	o = w.expect(policy.ActionSetWeight, 1, 10)
	if !strings.Contains(o.Decision.Reason, "releases expand migration Job "+jobPath+" (spec.suspend: false)") {
		t.Errorf("step 1's reason %q, want the Job's release named", o.Decision.Reason)
	}
	if got, want := w.show(jobPath), strings.Replace(job, "suspend: true", "suspend: false", 1); got != want {
		t.Fatalf("after step 1 the Job file is\n%s\nwant only spec.suspend changed:\n%s", got, want)
	}
	step1 := o.Commit.String()
	trailers := w.trailersOf(step1)
	for _, want := range []string{"Ramp-Migrate: job=" + jobPath + " migration=expand", "Ramp-Approved-By: principal=dan@example.com", "commit=" + approval} {
		if !strings.Contains(trailers, want) {
			t.Errorf("step 1's trailers:\n%s\nwant %q", trailers, want)
		}
	}
	// ramp's own release of the Job holds nothing, for this ramp and for
	// a fresh one deriving from git.
	if o := w.expect(policy.ActionPause, 2, 10); len(o.State.Holds) != 0 || len(o.Decision.Migrate) != 0 {
		t.Fatalf("step 2: holds %+v migrate %+v, want none", o.State.Holds, o.Decision.Migrate)
	}
	w.loop = w.newLoop()
	if o := w.expect(policy.ActionNone, 2, 10); len(o.State.Holds) != 0 || !strings.Contains(o.Decision.Reason, "needs 1 approval(s) from group sre") {
		t.Fatalf("a fresh ramp: holds %+v, %q, want it waiting for sre only", o.State.Holds, o.Decision.Reason)
	}
}

func TestARefusedContractNeverUnsuspendsItsJob(t *testing.T) {
	w := jobWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10) // 1.1.0 has 10% of traffic
	job := migrationJob("schema-1-2-0", "true")
	w.releaseWithJob("1.2.0", job, "Ramp-Migration: contract")
	w.expect(policy.ActionRollback, 0, 0)
	o := w.expect(policy.ActionNone, 0, 0)
	if !strings.Contains(o.Decision.Reason, "contract migration refused") {
		t.Fatalf("hold %q, want the contract refused", o.Decision.Reason)
	}
	w.command("alice", true, "abort the contract", "Ramp-Abort: rollout=demo release=1.2.0")
	w.expect(policy.ActionAbort, 0, 0)
	w.expect(policy.ActionNone, 0, 0)
	w.loop = w.newLoop()
	w.expect(policy.ActionNone, 0, 0)
	if got := w.show(jobPath); got != job {
		t.Fatalf("after the refusal and the abort the Job file is\n%s\nwant it suspended, as committed", got)
	}
	for _, line := range w.serverLog() {
		if strings.Contains(w.trailersOf(strings.Fields(line)[0]), "Ramp-Migrate") {
			t.Fatalf("commit %q released a migration Job", line)
		}
	}
}

func TestAMigrationJobUnsuspendedByHandHoldsTheRelease(t *testing.T) {
	t.Run("at the start", func(t *testing.T) {
		w := jobWorld(t)
		start := w.releaseWithJob("1.1.0", migrationJob("schema-1-1-0", "false"), "Ramp-Migration: expand")
		w.command("dan", true, "approve the migration", "Ramp-Approve: rollout=demo release=1.1.0 migration=expand")
		o := w.expect(policy.ActionNone, 0, 0)
		want := "commit " + start[:10] + " by dev@example.com starts release 1.1.0 with migration Job " + jobPath + " not suspended (spec.suspend: false)"
		if !strings.Contains(o.Decision.Reason, want) || !strings.Contains(o.Decision.WaitingFor, "Ramp-Resume") {
			t.Fatalf("hold %q waiting for %q, want %q", o.Decision.Reason, o.Decision.WaitingFor, want)
		}
	})
	t.Run("while the release waits for the approval", func(t *testing.T) {
		w := jobWorld(t)
		job := migrationJob("schema-1-1-0", "true")
		w.releaseWithJob("1.1.0", job, "Ramp-Migration: expand")
		w.expect(policy.ActionNone, 0, 0)
		edit := w.commitFiles("dev", "run the migration now", map[string]string{jobPath: strings.Replace(job, "suspend: true", "suspend: false", 1)})
		w.command("dan", true, "approve the migration", "Ramp-Approve: rollout=demo release=1.1.0 migration=expand")
		o := w.expect(policy.ActionNone, 0, 0)
		want := "commit " + edit[:10] + " by dev@example.com edited migration Job " + jobPath + " while release 1.1.0 is in progress (spec.suspend: false)"
		if !strings.Contains(o.Decision.Reason, want) {
			t.Fatalf("hold %q, want %q", o.Decision.Reason, want)
		}
		w.loop = w.newLoop()
		if o := w.expect(policy.ActionNone, 0, 0); !strings.Contains(o.Decision.Reason, want) {
			t.Fatalf("a fresh ramp: %q, want the same hold", o.Decision.Reason)
		}
	})
}

// TestAMigrationJobUnsuspendedByHandWhileIdleHoldsTheNextRelease: with no
// release in flight, a new migration Job committed unsuspended runs when
// Flux applies it, outside any release: ramp holds the rollout, naming
// the commit, its signer and the Job, and the next release waits on it.
func TestAMigrationJobUnsuspendedByHandWhileIdleHoldsTheNextRelease(t *testing.T) {
	w := jobWorld(t)
	w.expect(policy.ActionNone, 0, 0) // ramp has seen the tip: no release in flight
	edit := w.commitFiles("dev", "db: run the 1.1.0 migration now", map[string]string{jobPath: migrationJob("schema-1-1-0", "false")})
	want := "commit " + edit[:10] + " (signed by dev@example.com, author dev@example.com) edited migration Job " + jobPath +
		" while no release is in flight (spec.suspend: false)"
	if o := w.expect(policy.ActionNone, 0, 0); !strings.Contains(o.Decision.Reason, want) || !strings.Contains(o.Decision.WaitingFor, "Ramp-Resume") {
		t.Fatalf("hold %q waiting for %q, want %q", o.Decision.Reason, o.Decision.WaitingFor, want)
	}
	w.releaseWithJob("1.1.0", migrationJob("schema-1-1-0", "false"), "Ramp-Migration: expand")
	w.command("dan", true, "approve the migration", "Ramp-Approve: rollout=demo release=1.1.0 migration=expand")
	if o := w.expect(policy.ActionNone, 0, 0); !strings.Contains(o.Decision.Reason, want) {
		t.Fatalf("the next release: %q, want it held on %q", o.Decision.Reason, want)
	}
}

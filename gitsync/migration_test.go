package gitsync_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// migrationWorld is a world whose guardrails mark db/migrations/** as
// migrations, approved by group dba.
func migrationWorld(t *testing.T) *world {
	w := newWorld(t)
	w.cfg.Guardrails = policy.DefaultGuardrails()
	w.cfg.Guardrails.Migrations = policy.MigrationRules{Paths: []string{"db/migrations/**"}, ExpandGroups: []string{"dba"}}
	w.loop = w.newLoop()
	return w
}

// releaseWithMigration starts release version in a commit that also adds
// a migration, with the given trailer ("" for none).
func (w *world) releaseWithMigration(version, trailer string) string {
	w.t.Helper()
	w.pull()
	gittest.WriteFiles(w.t, w.work, map[string]string{
		"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", version),
		"db/migrations/0042_add_column.sql":   "ALTER TABLE orders ADD COLUMN note text;\n",
	})
	w.git("dev", "add", "-A")
	args := []string{"commit", "-q", "-S", "-m", "demo: release " + version}
	if trailer != "" {
		args = append(args, "--trailer", trailer)
	}
	w.git("dev", args...)
	w.git("dev", "push", "-q", "origin", "main")
	return w.git("dev", "rev-parse", "HEAD")
}

func TestAReleaseShippingMigrationsMustDeclareThem(t *testing.T) {
	w := migrationWorld(t)
	w.releaseWithMigration("1.1.0", "")
	o := w.expect(policy.ActionNone, 0, 0)
	if !strings.Contains(o.Decision.Reason, "changes db/migrations/** (guardrail migrations.paths) but declares no migration") {
		t.Fatalf("hold %q, want the undeclared migration named", o.Decision.Reason)
	}
}

func TestAnExpandMigrationWaitsForTheDBAsApproval(t *testing.T) {
	w := migrationWorld(t)
	w.releaseWithMigration("1.1.0", "Ramp-Migration: expand")
	o := w.expect(policy.ActionNone, 0, 0)
	if !strings.Contains(o.Decision.WaitingFor, "an approval of the expand migration from dba") {
		t.Fatalf("waiting for %q, want the dba's approval", o.Decision.WaitingFor)
	}
	w.command("alice", true, "approve the migration", "Ramp-Approve: rollout=demo release=1.1.0 migration=expand")
	w.expect(policy.ActionNone, 0, 0) // alice is not in dba
	approval := w.command("dan", true, "approve the migration", "Ramp-Approve: rollout=demo release=1.1.0 migration=expand")
	o = w.expect(policy.ActionSetWeight, 1, 10)
	if !strings.Contains(o.Decision.Reason, "expand migration approved by dan@example.com") {
		t.Errorf("step 1's reason %q, want the approval named", o.Decision.Reason)
	}
	w.wantApprovedBy("step 1/4", "dan@example.com", approval)
}

func TestAContractMigrationIsRefusedWhileAnOlderVersionHasTraffic(t *testing.T) {
	w := migrationWorld(t)
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10) // 1.1.0 has 10% of traffic
	w.releaseWithMigration("1.2.0", "Ramp-Migration: contract")
	w.expect(policy.ActionRollback, 0, 0) // 1.1.0's traffic returns to stable first
	o := w.expect(policy.ActionNone, 0, 0)
	if !strings.Contains(o.Decision.Reason, "contract migration refused: release 1.1.0 still had 10% of traffic") {
		t.Fatalf("hold %q, want the contract refused naming the release that had traffic", o.Decision.Reason)
	}
	// A fresh ramp derives the same refusal from git.
	w.loop = w.newLoop()
	if o := w.expect(policy.ActionNone, 0, 0); !strings.Contains(o.Decision.Reason, "contract migration refused") {
		t.Fatalf("a fresh ramp: %q, want the same refusal", o.Decision.Reason)
	}
}

// TestAMigrationsPathThatIsASymbolicLinkCountsAsChanged: db/migrations
// committed as a link to sql/: a release whose start commit adds a
// migration under sql/ changes no entry at db/migrations, yet it must
// declare the migration, since ramp cannot see what changes behind a
// link.
func TestAMigrationsPathThatIsASymbolicLinkCountsAsChanged(t *testing.T) {
	w := migrationWorld(t)
	w.pull()
	gittest.WriteFiles(t, w.work, map[string]string{"sql/0001_init.sql": "CREATE TABLE orders (id int);\n"})
	if err := os.MkdirAll(filepath.Join(w.work, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../sql", filepath.Join(w.work, "db", "migrations")); err != nil {
		t.Fatal(err)
	}
	w.git("dev", "add", "-A")
	w.git("dev", "commit", "-q", "-S", "-m", "db: migrations live in sql/")
	w.git("dev", "push", "-q", "origin", "main")
	gittest.WriteFiles(t, w.work, map[string]string{
		"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "1.1.0"),
		"sql/0042_drop_column.sql":            "ALTER TABLE orders DROP COLUMN note;\n",
	})
	w.git("dev", "add", "-A")
	w.git("dev", "commit", "-q", "-S", "-m", "demo: release 1.1.0")
	w.git("dev", "push", "-q", "origin", "main")
	o := w.expect(policy.ActionNone, 0, 0)
	if !strings.Contains(o.Decision.Reason, "changes db/migrations/** (guardrail migrations.paths) but declares no migration") {
		t.Fatalf("hold %q, want the migration behind the link to need declaring", o.Decision.Reason)
	}
}

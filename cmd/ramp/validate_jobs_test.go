package main

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// validateJob is a migration Job named name with spec.suspend: suspend.
func validateJob(name, suspend string) string {
	return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\nspec:\n  suspend: " + suspend +
		"\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: migrate, image: migrate:" + name + "}]\n"
}

func TestValidateRefusesAMigrationJobNotSuspendedUnlessRampReleasedIt(t *testing.T) {
	dir := t.TempDir()
	spec := strings.Replace(policytest.SpecYAML("demo"), "  kustomizations:",
		"  migrations:\n    - job: {file: db/migrations/job.yaml}\n  kustomizations:", 1)
	files := gittest.RolloutFilesWithSpec("demo", "1.0.0", spec)
	files["db/migrations/job.yaml"] = validateJob("schema-1", "true")
	gittest.InitRepo(t, dir, files)
	env := gittest.GitEnv(t.TempDir(), "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_EMAIL=dev@example.com")
	commit := func(msg, job string, trailers ...string) string {
		gittest.WriteFiles(t, dir, map[string]string{"db/migrations/job.yaml": job})
		args := []string{"commit", "-q", "-am", msg}
		for _, tr := range trailers {
			args = append(args, "--trailer", tr)
		}
		gittest.Git(t, dir, env, args...)
		return gittest.Git(t, dir, env, "rev-parse", "HEAD")
	}
	validate := func(want string) {
		t.Helper()
		out, err := runRamp("validate", "--repo", dir)
		switch {
		case want == "" && err != nil:
			t.Fatalf("ramp validate = %v:\n%s\nwant the rollout valid", err, out)
		case want != "" && (err == nil || !strings.Contains(out, want)):
			t.Fatalf("ramp validate = %v:\n%s\nwant %q", err, out, want)
		}
	}
	const problem = "releases/demo/rollout.yaml:12: spec.migrations[0].job.file: db/migrations/job.yaml: spec.suspend is false: " +
		"a migration Job is committed suspended (spec.suspend: true) and only ramp's signed commit releases it; "

	validate("") // suspended
	byHand := commit("run it now", validateJob("schema-1", "false"))
	validate(problem + "commit " + byHand[:10] + " by dev@example.com, which last changed it, is not ramp's release of it (no Ramp-Migrate trailer naming it)")

	// As ramp's step-1 commit leaves it: valid, also after later commits.
	commit("ramp: demo 1.1.0 step 1/4 set-weight (weight 10)", validateJob("schema-1", "true"))
	commit("ramp: demo 1.1.0 step 1/4 set-weight (weight 10)", validateJob("schema-1", "false"),
		"Ramp-Rollout: demo", "Ramp-Release: 1.1.0", "Ramp-Step: 1/4", "Ramp-Action: set-weight", "Ramp-Weight: 10",
		"Ramp-Migrate: job=db/migrations/job.yaml migration=expand")
	gittest.WriteFiles(t, dir, map[string]string{"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "1.2.0")})
	gittest.Git(t, dir, env, "commit", "-q", "-am", "demo: release 1.2.0")
	validate("")

	// The next migration, a new Job written unsuspended in the working copy.
	gittest.WriteFiles(t, dir, map[string]string{"db/migrations/job.yaml": validateJob("schema-2", "false")})
	validate(problem + "the file differs from HEAD's: this change unsuspends it")
	gittest.WriteFiles(t, dir, map[string]string{"db/migrations/job.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata: {name: schema-2}\nspec: {}\n"})
	validate("releases/demo/rollout.yaml:12: spec.migrations[0].job.file: db/migrations/job.yaml: spec.suspend: no key")
}

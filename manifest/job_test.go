package manifest

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

const migrationJob = `# the schema change of 2.0
apiVersion: batch/v1
kind: Job
metadata:
  name: schema-2-0   # a new name per migration: a Job runs once
spec:
  suspend: true      # ramp releases it
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.example.com/demo-migrate:2.0
`

func TestEditsReleaseAMigrationJobByItsSuspendFieldOnly(t *testing.T) {
	r := policytest.MustParse(t, "demo", strings.Replace(policytest.SpecYAML("demo"), "  kustomizations:",
		"  migrations:\n    - job: {file: db/migrations/job.yaml}\n  kustomizations:", 1))
	files := map[string]string{"apps/demo/route.yaml": route, "db/migrations/job.yaml": migrationJob}
	if errs := CheckMigrationJobs(reader(files), r); len(errs) != 0 {
		t.Fatalf("CheckMigrationJobs: %v", errs)
	}
	d := policy.Decision{Action: policy.ActionSetWeight, Step: 1, Weight: 10,
		Migrate: []policy.MigrateRef{{Job: "db/migrations/job.yaml", Migration: policy.MigrationExpand}}}
	edits, err := Edits(reader(files), r, d)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(migrationJob, "suspend: true", "suspend: false", 1)
	if got := string(edits["db/migrations/job.yaml"]); got != want {
		t.Fatalf("job file:\n%s\nwant only spec.suspend changed:\n%s", got, want)
	}
	if s, err := JobSuspend(edits["db/migrations/job.yaml"]); s != "false" || err != nil {
		t.Fatalf("JobSuspend after the edit: %q, %v", s, err)
	}
	// A decision without Migrate leaves the Job alone.
	d.Migrate = nil
	if edits, err := Edits(reader(files), r, d); err != nil || edits["db/migrations/job.yaml"] != nil {
		t.Fatalf("without Migrate: %v, %v", edits, err)
	}
}

func TestJobSuspendRefusesWhatIsNotASuspendableJob(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"no suspend field", strings.Replace(migrationJob, "  suspend: true      # ramp releases it\n", "", 1), "spec.suspend: no key"},
		{"a Deployment", strings.Replace(migrationJob, "kind: Job", "kind: Deployment", 1), `the document with spec.suspend is "batch/v1" "Deployment", not a batch/v1 Job`},
		{"a string", strings.Replace(migrationJob, "suspend: true", `suspend: "true"`, 1), `spec.suspend is "true", not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := JobSuspend([]byte(tt.file)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("JobSuspend: %v, want %q", err, tt.want)
			}
		})
	}
}

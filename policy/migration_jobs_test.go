package policy

import (
	"strings"
	"testing"
)

const jobFile = "db/migrations/job.yaml"

// jobRollout is foldRollout with one migration Job.
func jobRollout() *Rollout {
	r := foldRollout()
	r.Spec.Migrations = []MigrationSpec{{Job: &MigrationJob{File: jobFile}}}
	return r
}

func migrationGuardrails() Guardrails {
	g := DefaultGuardrails()
	g.Migrations = MigrationRules{Paths: []string{"db/migrations/**"}, ExpandGroups: []string{"dba"}}
	return g
}

// startWithJob starts release v declaring kind, with the Job file as
// the shell read it at the start.
func startWithJob(v, kind string, job JobFact) *Record {
	rec := startRelease(v)
	rec.Signer = dev
	rec.Migration = kind
	if job.Changed {
		rec.MigrationPaths = []string{"db/migrations/**"}
	}
	job.File = jobFile
	rec.Jobs = map[string][]JobFact{"demo": {job}}
	return rec
}

func TestAnExpandMigrationJobIsReleasedOnlyByStep1AfterTheApproval(t *testing.T) {
	g, r := migrationGuardrails(), jobRollout()
	s := Fold(Base("demo", "1.0", "1.0", 0), r, startWithJob("2.0", MigrationExpand, JobFact{Changed: true, Suspend: "true"}), g)
	if len(s.MigrationJobs) != 1 || s.MigrationJobs[0] != jobFile || len(s.Holds) != 0 {
		t.Fatalf("after the start: jobs %v holds %+v, want the suspended Job shipped and no hold", s.MigrationJobs, s.Holds)
	}
	d := Plan(r, s, live, t0.Add(1), g)
	if !d.Holds() || len(d.Migrate) != 0 || !strings.Contains(d.WaitingFor, "an approval of the expand migration from dba") {
		t.Fatalf("before the approval: %+v, want a hold releasing nothing", d)
	}
	s = Fold(s, r, cmd("a-dan", dba, Command{Kind: CommandApprove, Release: "2.0", Migration: MigrationExpand}), g)
	d = Plan(r, s, live, t0.Add(1), g)
	if d.Action != ActionSetWeight || d.Step != 1 || len(d.Migrate) != 1 || d.Migrate[0] != (MigrateRef{Job: jobFile, Migration: MigrationExpand}) {
		t.Fatalf("after the dba's approval: %+v, want step 1 releasing the Job", d)
	}
	if !strings.Contains(d.Reason, "releases expand migration Job "+jobFile) || len(d.Approved) != 1 || d.Approved[0].Commit != "a-dan" {
		t.Errorf("step 1: reason %q approved %+v, want the release and the approval named", d.Reason, d.Approved)
	}
	// Once step 1 is entered, no later decision releases it again.
	step1 := rampStep("r1", "2.0", 1, ActionSetWeight, 10)
	step1.Jobs = map[string][]JobFact{"demo": {{File: jobFile, Changed: true, Suspend: "false"}}}
	s = Fold(s, r, step1, g)
	if len(s.Holds) != 0 {
		t.Fatalf("ramp's own release of the Job: holds %+v", s.Holds)
	}
	if d := Plan(r, s, live, t0.Add(1), g); d.Action != ActionPause || d.Step != 2 || len(d.Migrate) != 0 {
		t.Fatalf("step 2: %+v, want no Job released", d)
	}
}

func TestARefusedContractNeverReleasesItsJob(t *testing.T) {
	g, r := migrationGuardrails(), jobRollout()
	s := Fold(Base("demo", "1.5", "1.0", 20), r, startWithJob("2.0", MigrationContract, JobFact{Changed: true, Suspend: "true"}), g)
	s = Fold(s, r, &Record{Commit: "rb", Author: "ramp@localhost", Signer: rampKey,
		Entries: []Entry{{Rollout: "demo", Release: "1.5", Action: ActionRollback, Weight: 0}}}, g)
	d := Plan(r, s, live, t0.Add(1), g)
	if !d.Holds() || len(d.Migrate) != 0 || !strings.Contains(d.Reason, "contract migration refused") {
		t.Fatalf("%+v, want the contract refused and no Job released", d)
	}
	s = Fold(s, r, cmd("ab", alice, Command{Kind: CommandAbort, Release: "2.0"}), g)
	if d := Plan(r, s, live, t0.Add(1), g); d.Action != ActionAbort || len(d.Migrate) != 0 {
		t.Fatalf("the abort: %+v, want no Job released", d)
	}

	// A contract started while nothing was in flight releases it at step 1.
	s = Fold(Base("demo", "1.0", "1.0", 0), r, startWithJob("2.0", MigrationContract, JobFact{Changed: true, Suspend: "true"}), g)
	if d := Plan(r, s, live, t0.Add(1), g); d.Step != 1 || len(d.Migrate) != 1 || d.Migrate[0].Migration != MigrationContract {
		t.Fatalf("a contract nothing refuses: %+v, want step 1 releasing the Job", d)
	}
}

func TestAMigrationJobUnsuspendedByHandHolds(t *testing.T) {
	g, r := migrationGuardrails(), jobRollout()
	// The release commits the Job unsuspended: it would run at once.
	s := Fold(Base("demo", "1.0", "1.0", 0), r, startWithJob("2.0", MigrationExpand, JobFact{Changed: true, Suspend: "false"}), g)
	if len(s.Holds) != 1 || !strings.Contains(s.Holds[0].Reason, "starts release 2.0 with migration Job "+jobFile+" not suspended (spec.suspend: false)") ||
		s.Holds[0].By != "dev@example.com" || len(s.MigrationJobs) != 0 {
		t.Fatalf("holds %+v jobs %v, want a hold naming the Job and its signer", s.Holds, s.MigrationJobs)
	}
	s = Fold(s, r, cmd("a-dan", dba, Command{Kind: CommandApprove, Release: "2.0", Migration: MigrationExpand}), g)
	if d := Plan(r, s, live, t0.Add(1), g); !d.Holds() || !strings.Contains(d.Reason, "not suspended") {
		t.Fatalf("%+v, want the hold to stand despite the approval", d)
	}

	// Suspended at the start, unsuspended by hand while waiting for the
	// approval.
	s = Fold(Base("demo", "1.0", "1.0", 0), r, startWithJob("2.0", MigrationExpand, JobFact{Changed: true, Suspend: "true"}), g)
	edit := &Record{Commit: "edit", Author: "dev@example.com", Signer: dev, Jobs: map[string][]JobFact{"demo": {{File: jobFile, Changed: true, Suspend: "false"}}}}
	if got := edit.Rollouts(); len(got) != 1 || got[0] != "demo" {
		t.Fatalf("Rollouts() %v, want demo: the record concerns it", got)
	}
	s = Fold(s, r, edit, g)
	if len(s.Holds) != 1 || !strings.Contains(s.Holds[0].Reason, "commit edit by dev@example.com edited migration Job "+jobFile+" while release 2.0 is in progress (spec.suspend: false)") {
		t.Fatalf("holds %+v, want the hand edit held", s.Holds)
	}
	// The same edit signed by ramp's key is ramp's own release.
	s = Fold(Base("demo", "1.0", "1.0", 0), r, startWithJob("2.0", MigrationExpand, JobFact{Changed: true, Suspend: "true"}), g)
	if s = Fold(s, r, signedBy(edit, rampKey), g); len(s.Holds) != 0 {
		t.Fatalf("ramp's commit: holds %+v", s.Holds)
	}
}

func TestASuspendedJobTheStartDidNotChangeIsShippedAndNeedsADeclaration(t *testing.T) {
	g, r := migrationGuardrails(), jobRollout()
	// Committed before the release commit (a rebased pull request): still
	// suspended at the start, so the release ships it.
	s := Fold(Base("demo", "1.0", "1.0", 0), r, startWithJob("2.0", "", JobFact{Suspend: "true"}), g)
	d := Plan(r, s, live, t0.Add(1), g)
	if !d.Holds() || !strings.Contains(d.Reason, "release 2.0 ships suspended migration Job "+jobFile+" (spec.migrations) but declares no migration") {
		t.Fatalf("%+v, want a hold asking for the declaration", d)
	}
	// A Job ramp released in an earlier release is not shipped again.
	s = Fold(Base("demo", "1.0", "1.0", 0), r, startWithJob("2.0", "", JobFact{Suspend: "false"}), g)
	if d := Plan(r, s, live, t0.Add(1), g); d.Action != ActionSetWeight || len(d.Migrate) != 0 || len(s.Holds) != 0 {
		t.Fatalf("%+v (holds %+v), want step 1 without a Job", d, s.Holds)
	}
}

func TestValidateChecksTheMigrationJobs(t *testing.T) {
	r := jobRollout()
	r.Spec.Migrations = append(r.Spec.Migrations, MigrationSpec{}, MigrationSpec{Job: &MigrationJob{File: jobFile}},
		MigrationSpec{Job: &MigrationJob{File: r.TargetFile()}}, MigrationSpec{Job: &MigrationJob{File: "../job.yaml"}})
	var got []string
	for _, e := range Validate(r, DefaultGuardrails()) {
		if strings.HasPrefix(e.Field, "spec.migrations") {
			got = append(got, e.Field+": "+e.Msg)
		}
	}
	want := []string{
		"spec.migrations[1].job: required: the file of a batch/v1 Job committed with spec.suspend: true, e.g. job: {file: db/migrations/job.yaml}",
		`spec.migrations[2].job.file: "db/migrations/job.yaml" is also spec.migrations[0]`,
		`spec.migrations[3].job.file: "apps/demo/route.yaml" is also the traffic target: a migration Job has a file of its own`,
		`spec.migrations[4].job.file: "../job.yaml" leaves the repository ('..')`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAuditFindsAMigrationJobReleasedOutsideTheRules(t *testing.T) {
	r := jobRollout()
	shipped := State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.0", Stable: "1.0", MigrationJobs: []string{jobFile}}
	rec := func(step int, a Action) *Record {
		return &Record{Commit: "r", Author: "ramp@localhost", Signer: rampKey, Entries: []Entry{{Rollout: "demo", Release: "2.0",
			Step: step, Steps: 4, Action: a, Weight: 10, Migrate: []MigrateRef{{Job: jobFile, Migration: MigrationExpand}}}}}
	}
	if row := AuditRecord(r, shipped, shipped, rec(1, ActionSetWeight)); len(row.Findings) != 0 {
		t.Fatalf("step 1 releasing the shipped Job: findings %q", row.Findings)
	}
	notShipped := shipped
	notShipped.MigrationJobs = nil
	if row := AuditRecord(r, notShipped, notShipped, rec(1, ActionSetWeight)); len(row.Findings) != 1 ||
		row.Findings[0] != "releases migration Job "+jobFile+", which release 2.0 did not ship suspended" {
		t.Fatalf("findings %q, want the Job named", row.Findings)
	}
	later := shipped
	later.Step = 2
	if row := AuditRecord(r, later, later, rec(3, ActionSetWeight)); len(row.Findings) != 1 || !strings.Contains(row.Findings[0], "outside the commit that enters step 1") {
		t.Fatalf("findings %q, want the release outside step 1 found", row.Findings)
	}
}

// TestAMigrationJobUnsuspendedByHandWhileIdleIsDriftUntilTheQuorumAcceptsIt:
// with no release in flight, a Job someone else unsuspends runs when Flux
// applies it, outside any release: it holds the rollout and the next
// release (ramp never restores it, onDrift: restore included), the resume
// quorum accepts it, and suspending it again ends the drift.
func TestAMigrationJobUnsuspendedByHandWhileIdleIsDriftUntilTheQuorumAcceptsIt(t *testing.T) {
	g, r := migrationGuardrails(), jobRollout()
	edit := &Record{Commit: "edit", Author: "dev@example.com", Signer: dev, Jobs: map[string][]JobFact{"demo": {{File: jobFile, Changed: true, Suspend: "false"}}}}
	s := Fold(Base("demo", "1.0", "1.0", 0), r, edit, g)
	want := "commit edit (signed by dev@example.com, author dev@example.com) edited migration Job " + jobFile + " while no release is in flight (spec.suspend: false)"
	if len(s.Holds) != 1 || !strings.Contains(s.Holds[0].Reason, want) || !s.Drifted() {
		t.Fatalf("holds %+v drift %+v, want the idle unsuspend held as drift: %q", s.Holds, s.Drift, want)
	}
	if d := Plan(r, s, live, t0.Add(1), g); !d.Holds() || !strings.Contains(d.Reason, "migration Job") {
		t.Fatalf("plan %+v, want a hold naming the Job", d)
	}
	restoring := jobRollout()
	restoring.Spec.OnDrift = OnDriftRestore
	if d := Plan(restoring, s, live, t0.Add(1), g); !d.Holds() || d.Action == ActionRestore {
		t.Fatalf("onDrift: restore: %+v, want a hold (a Job that ran cannot be un-run)", d)
	}
	// The next release waits too.
	next := Fold(s, r, startWithJob("2.0", MigrationExpand, JobFact{Changed: false, Suspend: "false"}), g)
	if d := Plan(r, next, live, t0.Add(1), g); !d.Holds() || d.Action == ActionSetWeight {
		t.Fatalf("next release: %+v, want it held on the drift", d)
	}
	// Suspending it again ends the drift and its hold.
	back := &Record{Commit: "back", Author: "dev@example.com", Signer: dev, Jobs: map[string][]JobFact{"demo": {{File: jobFile, Changed: true, Suspend: "true"}}}}
	if b := Fold(s, r, back, g); b.Drifted() || len(b.Holds) != 0 {
		t.Fatalf("after suspending it again: drift %+v holds %+v, want none", b.Drift, b.Holds)
	}
}

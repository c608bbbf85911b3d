package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Migration Jobs: the Jobs that run a release's migrations are committed
// suspended (a batch/v1 Job with spec.suspend: true), so Flux applies
// them without running them. ramp's commit that enters step 1, once the
// migration rules allow it (migration.go: an expand approved by a group
// of migrations.expandGroups, a contract only when no older version may
// still serve traffic), writes spec.suspend: false: only then does the
// Job run. Nobody else unsuspends one: a commit ramp did not make that
// starts a release with a Job not suspended, or edits a Job while a
// release is in flight, holds the rollout until people resume over it.
// A Job that ran stays as it is: an abort or a rollback takes traffic
// back, it cannot un-run a migration, and ramp never suspends a Job again
// (a running Job would be stopped half-way). The next migration is a new
// Job, committed suspended.

// JobSuspendPath is the field of a migration Job ramp reads and writes.
const JobSuspendPath = "spec.suspend"

// MigrationSpec is one migration the rollout's releases may ship
// (spec.migrations[]).
type MigrationSpec struct {
	// Job is a file holding one batch/v1 Job.
	Job *MigrationJob `yaml:"job" json:"job,omitempty"`
}

// MigrationJob names the file of a migration Job.
type MigrationJob struct {
	File string `yaml:"file" json:"file"`
}

// MigrationJobFiles returns the files of the rollout's migration Jobs.
func (r *Rollout) MigrationJobFiles() []string {
	var out []string
	for _, m := range r.Spec.Migrations {
		if m.Job != nil {
			out = append(out, m.Job.File)
		}
	}
	return out
}

// JobFact is what a commit holds of one migration Job file, as the shell
// read it.
type JobFact struct {
	File string
	// Changed: the commit changed the file (relative to its first parent).
	Changed bool
	// Suspend is the Job's spec.suspend in the commit: "true", "false",
	// or "" when it cannot be read (Problem says why).
	Suspend string
	Problem string
}

// suspendText describes a Job's spec.suspend for a message.
func (f JobFact) suspendText() string {
	if f.Suspend == "" {
		return "spec.suspend cannot be read: " + f.Problem
	}
	return "spec.suspend: " + f.Suspend
}

// MigrateRef is a migration Job a ramp commit released: its file and the
// migration it runs (expand or contract), as the Ramp-Migrate trailer
// records it.
type MigrateRef struct {
	Job       string `json:"job"`
	Migration string `json:"migration"`
}

// foldJobs folds what rec did to the rollout's migration Jobs. A commit
// that starts a release records the Jobs committed suspended, which the
// release ships. A commit ramp did not make holds the rollout when it
// starts a release with a Job it changed left unsuspended, or changes a
// Job while a release is in flight (what the expand approval was given
// for must be what runs).
func foldJobs(s State, r *Rollout, rec *Record, isRamp, started bool) State {
	facts := rec.Jobs[r.Name()]
	if started {
		s.MigrationJobs = nil
		for _, f := range facts {
			if f.Suspend == "true" {
				s.MigrationJobs = append(s.MigrationJobs, f.File)
			}
		}
	}
	if isRamp {
		return s
	}
	if !started && !s.InProgress() {
		return idleJobs(s, rec, facts)
	}
	for _, f := range facts {
		switch {
		case !f.Changed || started && f.Suspend == "true":
		case started:
			s = hold(s, rec, fmt.Sprintf("commit %s by %s starts release %s with migration Job %s not suspended (%s): only ramp releases a migration; commit the Job with spec.suspend: true",
				short(rec.Commit), rec.Author, s.Release, f.File, f.suspendText()))
		default:
			s = hold(s, rec, fmt.Sprintf("commit %s by %s edited migration Job %s while release %s is in progress (%s): only ramp releases a migration, and the Job must stay what the release shipped",
				short(rec.Commit), rec.Author, f.File, s.Release, f.suspendText()))
		}
	}
	return s
}

// migrationKind is what the release declares its migrations do, and where
// it says so.
func migrationKind(r *Rollout, s *State) (kind, from string) {
	if s.Migration != "" {
		return s.Migration, "its start commit's Ramp-Migration trailer"
	}
	return r.Spec.Migration, "spec.migration"
}

// releaseJobs adds to d, the decision that enters step 1 (the migration
// rules allowed it), the release of the migration Jobs the release ships:
// its commit writes their spec.suspend: false.
func (p *planner) releaseJobs(d Decision) Decision {
	if len(p.s.MigrationJobs) == 0 {
		return d
	}
	kind, _ := migrationKind(p.r, p.s)
	for _, f := range p.s.MigrationJobs {
		d.Migrate = append(d.Migrate, MigrateRef{Job: f, Migration: kind})
	}
	d.Reason += fmt.Sprintf("; releases %s migration Job %s (spec.suspend: false)", kind, strings.Join(p.s.MigrationJobs, ", "))
	return d
}

// migrationJobs checks spec.migrations: each names a Job file, once, that
// is none of the other files ramp edits.
func (v *validator) migrationJobs() {
	ms := v.r.Spec.Migrations
	if len(ms) == 0 {
		return
	}
	if v.r.HasTargets() {
		v.fail("spec.migrations", "not supported in a rollout with targets")
		return
	}
	others := map[string]string{v.r.Path: "the spec"}
	for field, f := range map[string]string{"spec.release.file": v.r.Spec.Release.File, "spec.stable.file": v.r.Spec.Stable.File, "the traffic target": v.r.TargetFile()} {
		if f != "" {
			others[f] = field
		}
	}
	seen := map[string]int{}
	for i, m := range ms {
		f := "spec.migrations[" + strconv.Itoa(i) + "]"
		if m.Job == nil {
			v.fail(f+".job", "required: the file of a batch/v1 Job committed with spec.suspend: true, e.g. job: {file: db/migrations/job.yaml}")
			continue
		}
		v.file(f+".job.file", m.Job.File)
		if first, dup := seen[m.Job.File]; dup {
			v.fail(f+".job.file", "%q is also spec.migrations[%d]", m.Job.File, first)
			continue
		}
		seen[m.Job.File] = i
		if other, ok := others[m.Job.File]; ok {
			v.fail(f+".job.file", "%q is also %s: a migration Job has a file of its own", m.Job.File, other)
		}
	}
}

// migrateFindings are the audit's findings on ramp's entry e that
// releases migration Jobs, given the state before it: a Job the release
// did not ship suspended, or a release anywhere but at step 1.
func migrateFindings(before State, e Entry) []string {
	var out []string
	for _, m := range e.Migrate {
		switch {
		case e.Step != 1 || !EntersStep(e.Action) || before.Step != 0:
			out = append(out, fmt.Sprintf("releases migration Job %s outside the commit that enters step 1", m.Job))
		case !slices.Contains(before.MigrationJobs, m.Job):
			out = append(out, fmt.Sprintf("releases migration Job %s, which release %s did not ship suspended", m.Job, e.Release))
		}
	}
	return out
}

// FieldMigrationJob is a migration Job's spec.suspend, changed by a commit
// ramp did not make while no release was in flight (idleJobs).
const FieldMigrationJob = "migration Job"

// idleJobs folds the Job files rec, a commit ramp did not make, changed
// while no release was in flight. A Job it left unsuspended (or whose
// spec.suspend cannot be read) runs when Flux applies it, outside any
// release: that is drift, held and flagged until the resume quorum
// accepts it. ramp never writes it back (a Job that ran cannot be
// un-run), so it is marked Unrestored: spec.onDrift: restore holds on it
// too. A commit that suspends the Job again ends that drift.
func idleJobs(s State, rec *Record, facts []JobFact) State {
	ended := false
	for _, f := range facts {
		if !f.Changed {
			continue
		}
		i := slices.IndexFunc(s.Drift, func(d FieldDrift) bool { return d.Field == FieldMigrationJob && d.File == f.File })
		if f.Suspend == "true" {
			if i >= 0 {
				s.Drift = slices.Delete(s.Drift, i, i+1)
				ended = true
			}
			continue
		}
		d := FieldDrift{FieldChange: FieldChange{Field: FieldMigrationJob, File: f.File, Path: "spec.suspend", Old: "true", New: f.Suspend},
			Commit: rec.Commit, Unrestored: true}
		if i >= 0 {
			s.Drift[i] = d
		} else {
			s.Drift = append(s.Drift, d)
		}
		s = hold(s, rec, fmt.Sprintf("%s edited migration Job %s while no release is in flight (%s): only ramp releases a migration, and Flux runs this one outside any release",
			committedBy(rec), f.File, f.suspendText()))
	}
	if ended && !s.Drifted() {
		s.Holds, s.Resumes = nil, nil
	}
	return s
}

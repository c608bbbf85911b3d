package manifest

import (
	"fmt"
	"strconv"

	"github.com/ramp-dev/ramp/policy"
)

// JobSuspend reads a migration Job's file (spec.migrations[].job.file):
// the one batch/v1 Job in it and its spec.suspend, "true" or "false".
func JobSuspend(data []byte) (string, error) {
	f, err := parseYAML(data)
	if err != nil {
		return "", err
	}
	p, err := policy.ParseFieldPath(policy.JobSuspendPath)
	if err != nil {
		return "", err
	}
	doc, n, _, err := f.find(p)
	if err != nil {
		return "", fmt.Errorf("%w: a migration Job is committed with spec.suspend: true", err)
	}
	root := f.docs[doc]
	var kind, version string
	if v := mappingValue(root, "kind"); v != nil {
		kind = v.Value
	}
	if v := mappingValue(root, "apiVersion"); v != nil {
		version = v.Value
	}
	if kind != "Job" || version != "batch/v1" {
		return "", fmt.Errorf("the document with %s is %s %s, not a batch/v1 Job", policy.JobSuspendPath, strconv.Quote(version), strconv.Quote(kind))
	}
	var b bool
	if n.Tag != "!!bool" || n.Decode(&b) != nil {
		return "", fmt.Errorf("%s is %q, not true or false", policy.JobSuspendPath, n.Value)
	}
	return strconv.FormatBool(b), nil
}

// CheckMigrationJobs checks that the file of every migration Job the
// rollout names (spec.migrations) holds one batch/v1 Job with a
// spec.suspend ramp can read and write. Each problem names the spec's
// file, line and field.
func CheckMigrationJobs(read func(string) ([]byte, error), r *policy.Rollout) policy.SpecErrors {
	var errs policy.SpecErrors
	for i, m := range r.Spec.Migrations {
		if m.Job == nil {
			continue
		}
		field := "spec.migrations[" + strconv.Itoa(i) + "].job.file"
		data, err := read(m.Job.File)
		if err == nil {
			_, err = JobSuspend(data)
			if err != nil {
				err = fmt.Errorf("%s: %w", m.Job.File, err)
			}
		}
		if err != nil {
			errs = append(errs, r.FieldError(field, err))
		}
	}
	return errs
}

// releaseJobs sets spec.suspend: false in the file of every migration Job
// decision d releases.
func releaseJobs(d policy.Decision, read func(string) ([]byte, error), set func(policy.FieldRef, string) error) error {
	for _, m := range d.Migrate {
		data, err := read(m.Job)
		if err != nil {
			return err
		}
		if _, err := JobSuspend(data); err != nil {
			return fmt.Errorf("migration Job %s: %w", m.Job, err)
		}
		if err := set(policy.FieldRef{File: m.Job, Path: policy.JobSuspendPath}, "false"); err != nil {
			return fmt.Errorf("migration Job %s: %w", m.Job, err)
		}
	}
	return nil
}

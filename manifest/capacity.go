package manifest

import (
	"fmt"
	"strconv"

	"github.com/ramp-dev/ramp/policy"
)

// canaryReplicas is the canary replica count decision d needs: from its
// weight and exposure and the stable count in target.stableReplicas (as
// read sees it, with the commit's other edits).
func canaryReplicas(read func(string) ([]byte, error), r *policy.Rollout, d policy.Decision) (int, error) {
	t := r.Spec.Target
	stable, err := readCount(read, t.StableReplicas)
	if err != nil {
		return 0, fmt.Errorf("spec.target.stableReplicas: %w", err)
	}
	min := 0
	if t.CanaryReplicas.MinReplicas != nil {
		min = *t.CanaryReplicas.MinReplicas
	}
	return policy.CanaryReplicas(d.Weight, stable, min, !d.Exposure.IsZero()), nil
}

// readCount reads a whole number >= 0 (a replica count, a weight, a
// percent) at ref.
func readCount(read func(string) ([]byte, error), ref *policy.ReplicasRef) (int, error) {
	data, err := read(ref.File)
	if err != nil {
		return 0, err
	}
	p, err := policy.ParseFieldPath(ref.Path)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", ref.File, ref.Path, err)
	}
	v, err := GetField(data, p)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", ref.File, err)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: %s is %q, not a whole number >= 0", ref.File, ref.Path, v)
	}
	return n, nil
}

// CheckTarget checks that every field the rollout's traffic target names
// can be read in the files read returns: the weight, the stable side's
// value, the mirror percent and the replica counts. Each problem names the spec's file, line and
// field.
func CheckTarget(read func(string) ([]byte, error), r *policy.Rollout) policy.SpecErrors {
	var errs policy.SpecErrors
	t := r.Spec.Target
	field, file := "spec.target.httpRoute", "spec.target.httpRoute.file"
	if t.Field != nil {
		field, file = "spec.target.field.path", "spec.target.field.file"
	}
	if data, err := read(r.TargetFile()); err != nil {
		errs = append(errs, r.FieldError(file, err))
	} else if _, err := Weight(data, r); err != nil {
		errs = append(errs, r.FieldError(field, fmt.Errorf("%s: %w", r.TargetFile(), err)))
	}
	type count struct {
		field string
		ref   *policy.ReplicasRef
	}
	counts := []count{{"spec.target.canaryReplicas.path", t.CanaryReplicas}, {"spec.target.stableReplicas.path", t.StableReplicas}}
	if f := t.Field; f != nil {
		for _, p := range []struct{ field, path string }{{"stablePath", f.StablePath}, {"mirrorPath", f.MirrorPath}} {
			if p.path != "" {
				counts = append(counts, count{"spec.target.field." + p.field, &policy.ReplicasRef{File: f.File, Path: p.path}})
			}
		}
	}
	for _, c := range counts {
		if c.ref == nil {
			continue
		}
		if _, err := readCount(read, c.ref); err != nil {
			errs = append(errs, r.FieldError(c.field, err))
		}
	}
	return errs
}

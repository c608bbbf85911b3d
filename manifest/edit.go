package manifest

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/ramp-dev/ramp/policy"
)

// Edits returns the new content of each file decision d changes, from
// the files as they are (files reads one by its path).
func Edits(files func(path string) ([]byte, error), r *policy.Rollout, d policy.Decision) (map[string][]byte, error) {
	edits := map[string][]byte{}
	read := func(path string) ([]byte, error) {
		if b, ok := edits[path]; ok {
			return b, nil
		}
		return files(path)
	}
	set := func(f policy.FieldRef, value string) error {
		data, err := read(f.File)
		if err != nil {
			return err
		}
		p, err := policy.ParseFieldPath(f.Path)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", f.File, f.Path, err)
		}
		out, err := setField(data, p, value)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", f.File, f.Path, err)
		}
		if !bytes.Equal(out, data) {
			edits[f.File] = out
		}
		return nil
	}
	if d.SetStable != "" {
		if err := set(r.Spec.Stable, d.SetStable); err != nil {
			return nil, err
		}
	}
	if d.SetRelease != "" {
		if err := set(r.Spec.Release, d.SetRelease); err != nil {
			return nil, err
		}
	}
	data, err := read(r.TargetFile())
	if err != nil {
		return nil, err
	}
	out, err := writeTarget(data, r, d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.TargetFile(), err)
	}
	if !bytes.Equal(out, data) {
		edits[r.TargetFile()] = out
	}
	if err := releaseJobs(d, read, set); err != nil {
		return nil, err
	}
	if c := r.Spec.Target.CanaryReplicas; c != nil {
		n, err := canaryReplicas(read, r, d)
		if err != nil {
			return nil, err
		}
		if err := set(policy.FieldRef{File: c.File, Path: c.Path}, strconv.Itoa(n)); err != nil {
			return nil, fmt.Errorf("spec.target.canaryReplicas: %w", err)
		}
	}
	return edits, nil
}

// Weight reads the canary weight from the content of the target file.
func Weight(data []byte, r *policy.Rollout) (int, error) {
	t := r.Spec.Target
	if t.HTTPRoute != nil {
		w, err := routeWeights(data, *t.HTTPRoute)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", t.HTTPRoute.File, err)
		}
		return w, nil
	}
	p, err := policy.ParseFieldPath(t.Field.Path)
	if err != nil {
		return 0, err
	}
	s, err := GetField(data, p)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", t.Field.File, t.Field.Path, err)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: weight %q is not an integer", t.Field.File, t.Field.Path, s)
	}
	return t.Field.WeightOf(n), nil
}

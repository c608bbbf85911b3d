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
	cur, err := Weight(data, r)
	if err != nil {
		return nil, err
	}
	if cur != d.Weight {
		var out []byte
		if t := r.Spec.Target; t.HTTPRoute != nil {
			out, err = setRouteWeights(data, *t.HTTPRoute, d.Weight)
		} else {
			var p policy.FieldPath
			if p, err = policy.ParseFieldPath(t.Field.Path); err == nil {
				out, err = setField(data, p, fmt.Sprint(d.Weight))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.TargetFile(), err)
		}
		edits[r.TargetFile()] = out
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
	return n, nil
}

package manifest

import (
	"fmt"
	"strconv"

	"github.com/ramp-dev/ramp/policy"
)

// writeTarget returns the traffic target file data with decision d's
// weight and exposure written in.
func writeTarget(data []byte, r *policy.Rollout, d policy.Decision) ([]byte, error) {
	cur, err := Weight(data, r)
	if err != nil {
		return nil, err
	}
	out := data
	if t := r.Spec.Target.HTTPRoute; t != nil {
		if cur != d.Weight {
			if out, err = setRouteWeights(out, *t, d.Weight); err != nil {
				return nil, err
			}
		}
		return setRouteExposure(out, *t, d.Exposure)
	}
	t := r.Spec.Target.Field
	canary, stable := t.TargetValues(d.Weight)
	if out, err = setPath(out, t.Path, strconv.Itoa(canary)); err != nil {
		return nil, err
	}
	if t.StablePath != "" {
		if out, err = setPath(out, t.StablePath, strconv.Itoa(stable)); err != nil {
			return nil, err
		}
	}
	if t.MirrorPath != "" {
		percent := 0
		if d.Exposure.Mirror != nil {
			percent = d.Exposure.Mirror.Percent
		}
		if out, err = setPath(out, t.MirrorPath, strconv.Itoa(percent)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// setPath sets the scalar at the field path written as path.
func setPath(data []byte, path, value string) ([]byte, error) {
	p, err := policy.ParseFieldPath(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return setField(data, p, value)
}

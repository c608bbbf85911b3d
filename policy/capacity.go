package policy

import "fmt"

// Capacity: enough canary replicas for the share of traffic the canary
// takes. With every commit ramp sets target.canaryReplicas (a Deployment's
// spec.replicas, an HPA's spec.minReplicas) from the weight and the stable
// replica count it reads, in the same commit, from target.stableReplicas.

// ReplicasRef names a replica count: a field holding a whole number.
type ReplicasRef struct {
	File string `yaml:"file" json:"file"`
	Path string `yaml:"path" json:"path"`
	// MinReplicas is the canary's floor (canaryReplicas only).
	MinReplicas *int `yaml:"minReplicas" json:"minReplicas,omitempty"`
}

// CanaryReplicas is how many replicas the canary runs at weight (percent)
// next to stable replicas: max(min, ceil(weight% × stable)), and at least
// one while exposed (a cohort or a mirror sends it requests at any
// weight).
func CanaryReplicas(weight, stable, min int, exposed bool) int {
	n := (weight*stable + 99) / 100
	if exposed {
		n = max(n, 1)
	}
	return max(n, min)
}

// capacity checks target.canaryReplicas and target.stableReplicas.
func (v *validator) capacity(t *Target) {
	const cf, sf = "spec.target.canaryReplicas", "spec.target.stableReplicas"
	c, s := t.CanaryReplicas, t.StableReplicas
	switch {
	case c == nil && s == nil:
		return
	case c == nil:
		v.fail(sf, "is read only to size the canary: needs spec.target.canaryReplicas")
	case s == nil:
		v.fail(cf, "needs spec.target.stableReplicas: the canary's replicas are a share of stable's")
	}
	if c != nil {
		v.replicasRef(cf, c)
		if c.MinReplicas != nil && *c.MinReplicas < 0 {
			v.fail(cf+".minReplicas", "%d is negative", *c.MinReplicas)
		}
	}
	if s != nil {
		v.replicasRef(sf, s)
		if s.MinReplicas != nil {
			v.fail(sf+".minReplicas", "applies to canaryReplicas only; stable's count is read, never written")
		}
	}
	if c != nil && s != nil && c.File == s.File && c.Path == s.Path && c.File != "" {
		v.fail(cf+".path", "%q in %s is also the stableReplicas field", c.Path, c.File)
	}
}

func (v *validator) replicasRef(f string, r *ReplicasRef) {
	v.fieldRef(f, &FieldRef{File: r.File, Path: r.Path})
}

// FieldError is a problem of the file a field of the spec points at,
// reported at that field's line: "releases/demo/rollout.yaml:14:
// spec.target.canaryReplicas.path: apps/demo/canary/deployment.yaml:
// spec.replicas: no key …".
func (r *Rollout) FieldError(field string, err error) *SpecError {
	return &SpecError{File: r.Path, Line: r.Line(field), Field: field, Msg: err.Error()}
}

// Errorf is FieldError with a formatted message.
func (r *Rollout) Errorf(field, format string, args ...any) *SpecError {
	return r.FieldError(field, fmt.Errorf(format, args...))
}

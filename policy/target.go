package policy

// The generic field target: weights as one number, two numbers summing to
// 100 (Istio, SMI, Traefik, a flagd fractional split), strings (nginx
// annotations keep their quotes) or counts (Scale: how many of N workers,
// partitions or consumers the canary takes).

// Scale turns a weight into a count: weight% of Count, rounded half up,
// at least 1 while the weight is above 0.
type Scale struct {
	Count int `yaml:"count" json:"count"`
}

// TargetValues are the values a field target holds at weight: the
// canary's and, for StablePath, the stable side's.
func (t *FieldTarget) TargetValues(weight int) (canary, stable int) {
	if t.Scale == nil {
		return weight, 100 - weight
	}
	n := (weight*t.Scale.Count + 50) / 100
	if weight > 0 {
		n = max(n, 1)
	}
	return n, t.Scale.Count - n
}

// WeightOf is the weight a field target's canary value stands for: the
// value itself, or with Scale its share of Count in percent, rounded.
func (t *FieldTarget) WeightOf(canary int) int {
	if t.Scale == nil || t.Scale.Count == 0 {
		return canary
	}
	return (canary*100 + t.Scale.Count/2) / t.Scale.Count
}

// fieldTarget checks a generic field target: its file, the field paths it
// writes, which must differ, and its scale.
func (v *validator) fieldTarget(f string, t *FieldTarget) {
	v.file(f+".file", t.File)
	seen := map[string]string{}
	for _, p := range []struct {
		name, path string
		required   bool
	}{{"path", t.Path, true}, {"stablePath", t.StablePath, false}, {"mirrorPath", t.MirrorPath, false}} {
		if p.path == "" && !p.required {
			continue
		}
		if _, err := ParseFieldPath(p.path); err != nil {
			v.fail(f+"."+p.name, "%v", err)
			continue
		}
		if other, dup := seen[p.path]; dup {
			v.fail(f+"."+p.name, "%q is also the %s; each value needs a field of its own", p.path, other)
		}
		seen[p.path] = p.name
	}
	if t.Scale != nil && t.Scale.Count < 1 {
		v.fail(f+".scale.count", "%d is not a count (1 or more): how many workers, partitions or consumers there are", t.Scale.Count)
	}
}

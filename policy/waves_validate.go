package policy

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// singleTarget checks that a rollout without spec.targets uses none of the
// fields that only a rollout with targets has.
func (v *validator) singleTarget() {
	s := &v.r.Spec
	if s.OnFailure.StopWaves != nil {
		v.fail("spec.onFailure.stopWaves", "only for a rollout with spec.targets and spec.waves")
	}
	if s.OnFailure.RollbackCompletedWaves {
		v.fail("spec.onFailure.rollbackCompletedWaves", "only for a rollout with spec.targets and spec.waves")
	}
	for i, k := range s.Kustomizations {
		if k.Cluster != "" {
			v.fail(fmt.Sprintf("spec.kustomizations[%d].cluster", i), "only for the kustomizations of a target (spec.targets[].kustomizations); a single-target rollout is applied in ramp's own cluster")
		}
	}
}

// fleet checks a rollout with targets and waves: spec.release, the
// targets (each as the rollout ForTarget makes of it, its problems named
// at the target's fields), the waves, and that no two targets share a
// file.
func (v *validator) fleet() {
	s := &v.r.Spec
	if len(s.Targets) == 0 {
		v.fail("spec.waves", "needs spec.targets: the targets the waves name")
		return
	}
	v.fieldRef("spec.release", &s.Release)
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"stable", s.Stable != (FieldRef{})},
		{"target", s.Target.HTTPRoute != nil || s.Target.Field != nil || s.Target.CanaryReplicas != nil || s.Target.StableReplicas != nil},
		{"kustomizations", len(s.Kustomizations) > 0},
	} {
		if f.set {
			v.fail("spec."+f.name, "with spec.targets, each target has its own %s (spec.targets[].%s)", f.name, f.name)
		}
	}
	names := v.targetNames()
	// Each target is validated as its own rollout; problems of the fields
	// the targets share (owner, gates, strategy) are reported once.
	seen := map[string]bool{}
	for i, t := range s.Targets {
		if t.Name == "" || strings.Contains(t.Name, TargetSeparator) {
			continue // reported by targetNames
		}
		if names[t.Name] != i {
			continue // a duplicate: reported by targetNames
		}
		sub := v.r.forTargetAt(i)
		sv := &validator{r: sub, g: v.g, gates: map[string]bool{}, queries: v.queries}
		sv.spec()
		prefix := "spec.targets[" + strconv.Itoa(i) + "]"
		for _, e := range sv.errs {
			e.Field = targetField(e.Field, prefix, t.Strategy != nil)
			key := fmt.Sprintf("%d\x00%s\x00%s", e.Line, e.Field, e.Msg)
			if !seen[key] {
				seen[key] = true
				v.errs = append(v.errs, e)
			}
		}
		v.targetExtras(prefix, &t)
	}
	v.sharedFiles()
	v.waves(names)
}

// targetField names a problem of a target's own rollout at the target's
// field: spec.release is spec.targets[i].release, and so on.
func targetField(field, prefix string, ownStrategy bool) string {
	own := []string{"spec.release", "spec.stable", "spec.target", "spec.kustomizations"}
	if ownStrategy {
		own = append(own, "spec.strategy")
	}
	for _, f := range own {
		if field == f || strings.HasPrefix(field, f+".") || strings.HasPrefix(field, f+"[") {
			return prefix + "." + strings.TrimPrefix(field, "spec.")
		}
	}
	return field
}

// targetNames checks the targets' names and returns the index of the
// first target of each name.
func (v *validator) targetNames() map[string]int {
	first := map[string]int{}
	for i, t := range v.r.Spec.Targets {
		f := fmt.Sprintf("spec.targets[%d].name", i)
		switch j, dup := first[t.Name]; {
		case t.Name == "":
			v.fail(f, "required: the region, cluster or tenant this target is")
		case !dnsLabel.MatchString(t.Name):
			v.fail(f, "%q is not a DNS label (lowercase letters, digits and '-', at most 63)", t.Name)
		case dup:
			v.fail(f, "%q is already the name of spec.targets[%d]", t.Name, j)
		default:
			first[t.Name] = i
		}
	}
	return first
}

// targetExtras checks what a target has that a single-target rollout
// does not: its cluster and its Prometheus.
func (v *validator) targetExtras(f string, t *TargetSpec) {
	if t.Cluster != "" && !dnsLabel.MatchString(t.Cluster) {
		v.fail(f+".cluster", "%q is not a cluster name (a DNS label)", t.Cluster)
	}
	for i, k := range t.Kustomizations {
		if k.Cluster != "" && !dnsLabel.MatchString(k.Cluster) {
			v.fail(fmt.Sprintf("%s.kustomizations[%d].cluster", f, i), "%q is not a cluster name (a DNS label)", k.Cluster)
		}
	}
	if t.Prometheus != "" {
		u, err := url.Parse(t.Prometheus)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail(f+".prometheus", "%q is not an http(s) URL of a Prometheus", t.Prometheus)
		}
	}
}

// sharedFiles fails a file that two targets (or a target and spec.release)
// both manage: a commit for one target would change the other's.
func (v *validator) sharedFiles() {
	owner := map[string]string{}
	claim := func(field, file string) {
		if file == "" {
			return
		}
		if first, dup := owner[file]; dup && !sameTarget(first, field) {
			v.fail(field, "%s is also %s; targets must not share files (a commit for one would change the other)", file, first)
			return
		}
		if _, dup := owner[file]; !dup {
			owner[file] = field
		}
	}
	claim("spec.release.file", v.r.Spec.Release.File)
	for i, t := range v.r.Spec.Targets {
		f := "spec.targets[" + strconv.Itoa(i) + "]"
		claim(f+".release.file", t.Release.File)
		claim(f+".stable.file", t.Stable.File)
		if h := t.Target.HTTPRoute; h != nil {
			claim(f+".target.httpRoute.file", h.File)
		}
		if fl := t.Target.Field; fl != nil {
			claim(f+".target.field.file", fl.File)
		}
	}
}

// sameTarget reports whether two fields are of the same target.
func sameTarget(a, b string) bool {
	ta, _, _ := strings.Cut(a, "]")
	tb, _, _ := strings.Cut(b, "]")
	return strings.HasPrefix(a, "spec.targets[") && ta == tb
}

// waves checks the waves: names, that each names known targets, that
// every target is in exactly one wave, soaks, gates and approvals.
func (v *validator) waves(targets map[string]int) {
	ws := v.r.Spec.Waves
	if len(ws) == 0 {
		v.fail("spec.waves", "required with spec.targets: the order in which the targets take a release, e.g. [{name: first, targets: [%s]}]", v.r.Spec.Targets[0].Name)
		return
	}
	for _, g := range v.r.Spec.Gates {
		v.gates[g.Name] = true
	}
	known := make([]string, 0, len(v.r.Spec.Targets))
	for _, t := range v.r.Spec.Targets {
		known = append(known, t.Name)
	}
	waveNames := map[string]int{}
	inWave := map[string]string{}
	for i, w := range ws {
		f := "spec.waves[" + strconv.Itoa(i) + "]"
		switch j, dup := waveNames[w.Name]; {
		case w.Name == "":
			v.fail(f+".name", "required, e.g. first-region")
		case !dnsLabel.MatchString(w.Name):
			v.fail(f+".name", "%q is not a DNS label (lowercase letters, digits and '-', at most 63)", w.Name)
		case dup:
			v.fail(f+".name", "%q is already the name of spec.waves[%d]", w.Name, j)
		default:
			waveNames[w.Name] = i
		}
		if len(w.Targets) == 0 {
			v.fail(f+".targets", "needs at least one target")
		}
		for k, t := range w.Targets {
			tf := fmt.Sprintf("%s.targets[%d]", f, k)
			if _, ok := targets[t]; !ok {
				v.fail(tf, "unknown target %q (targets: %s)", t, strings.Join(known, ", "))
				continue
			}
			if other, dup := inWave[t]; dup {
				v.fail(tf, "target %q is already in %s; a target is in one wave", t, other)
				continue
			}
			inWave[t] = fmt.Sprintf("wave %q (%s)", w.Name, f)
		}
		if w.Soak.Duration < 0 {
			v.fail(f+".soak", "%s is negative", w.Soak)
		}
		if len(w.Gates) > 0 {
			v.gateNames(f+".gates", w.Gates)
		}
		if len(w.Gates) > 0 && w.Soak.Duration <= 0 {
			v.fail(f+".gates", "are judged over the soak: set a soak of the wave, e.g. soak: 30m")
		}
		if w.Approval != nil {
			v.approval(f+".approval", w.Approval)
		}
	}
	for i, t := range v.r.Spec.Targets {
		if _, ok := inWave[t.Name]; !ok && targets[t.Name] == i {
			v.fail(fmt.Sprintf("spec.targets[%d].name", i), "target %q is in no wave; add it to one of spec.waves", t.Name)
		}
	}
}

package policy

import (
	"strings"
)

// A rollout with spec.targets promotes one release target by target —
// region, cluster or tenant — in waves: spec.release is the one field a
// pull request changes; ramp writes its value into the release field of
// the first wave's targets, runs the strategy on each of them, and hands
// the release to the next wave once every target of the wave is promoted
// and the wave's soak (and gates over it) passed. A rollout without
// spec.targets is the single-target rollout it always was.
//
// Each target is run as a rollout of its own, named rollout/target
// (TargetRollout): its state is folded and its steps planned exactly as a
// single-target rollout's, and its commits name the rollout and the target
// (Ramp-Rollout, Ramp-Target). What is particular to waves — the hand-over,
// the soak, wave gates and approvals, a failure that stops the waves — is
// FleetState (waves_fold.go) and PlanFleet (waves_plan.go).

// TargetSpec is one target of a rollout with waves: its own release,
// stable and traffic fields, the Flux Kustomizations that apply it, and
// optionally its own strategy and Prometheus.
type TargetSpec struct {
	Name    string   `yaml:"name"`
	Release FieldRef `yaml:"release"`
	Stable  FieldRef `yaml:"stable"`
	Target  Target   `yaml:"target"`
	// Kustomizations apply the target; each may name the cluster it
	// lives in (a cluster of the ReleaseRepository's spec.clusters).
	Kustomizations []ObjectRef `yaml:"kustomizations"`
	// Cluster is the cluster of Kustomizations that name none, and the
	// .Cluster of gate queries.
	Cluster string `yaml:"cluster"`
	// Strategy replaces spec.strategy for this target.
	Strategy *Strategy `yaml:"strategy"`
	// Prometheus is the address of the Prometheus that judges this
	// target's gates, instead of the ReleaseRepository's.
	Prometheus string `yaml:"prometheus"`
}

// Wave is a set of targets that take a release together (in parallel),
// after every earlier wave is promoted and has soaked.
type Wave struct {
	Name    string   `yaml:"name"`
	Targets []string `yaml:"targets"`
	// Soak is how long the wave's targets run the promoted release before
	// the next wave starts.
	Soak Duration `yaml:"soak"`
	// Gates are judged over the soak (from the last promotion of the wave
	// to its end): the next wave starts only when they all pass.
	Gates []string `yaml:"gates"`
	// Approval is needed before the wave starts (the first wave's too).
	Approval *ApprovalReq `yaml:"approval"`
}

// HasTargets reports whether the rollout has spec.targets (and waves).
func (r *Rollout) HasTargets() bool { return len(r.Spec.Targets) > 0 }

// TargetSeparator joins a rollout's name and a target's in the name of the
// target's own rollout; neither may contain it.
const TargetSeparator = "/"

// TargetRollout names target's own rollout of rollout.
func TargetRollout(rollout, target string) string { return rollout + TargetSeparator + target }

// SplitTarget splits the name of a target's rollout into the rollout and
// the target; target is "" for a rollout without targets.
func SplitTarget(name string) (rollout, target string) {
	rollout, target, _ = strings.Cut(name, TargetSeparator)
	return rollout, target
}

// TargetSpecOf returns the target named name, or nil.
func (r *Rollout) TargetSpecOf(name string) *TargetSpec {
	for i := range r.Spec.Targets {
		if r.Spec.Targets[i].Name == name {
			return &r.Spec.Targets[i]
		}
	}
	return nil
}

// WaveOf returns the index of the wave that holds target, or -1.
func (r *Rollout) WaveOf(target string) int {
	for i, w := range r.Spec.Waves {
		for _, t := range w.Targets {
			if t == target {
				return i
			}
		}
	}
	return -1
}

// ForTarget returns target's own rollout: a single-target rollout named
// rollout/target with the target's fields, the rollout's strategy (or the
// target's), gates and everything else; nil when there is no such target.
// Line numbers of its fields are those of the target in the spec file.
func (r *Rollout) ForTarget(target string) *Rollout {
	i := -1
	for j := range r.Spec.Targets {
		if r.Spec.Targets[j].Name == target {
			i = j
		}
	}
	if i < 0 {
		return nil
	}
	return r.forTargetAt(i)
}

// forTargetAt is ForTarget of spec.targets[i].
func (r *Rollout) forTargetAt(i int) *Rollout {
	t := r.Spec.Targets[i]
	sub := *r
	sub.Metadata.Name = TargetRollout(r.Name(), t.Name)
	sub.Spec.Targets, sub.Spec.Waves = nil, nil
	sub.Spec.Release, sub.Spec.Stable, sub.Spec.Target = t.Release, t.Stable, t.Target
	sub.Spec.Kustomizations = make([]ObjectRef, len(t.Kustomizations))
	for k, o := range t.Kustomizations {
		if o.Cluster == "" {
			o.Cluster = t.Cluster
		}
		sub.Spec.Kustomizations[k] = o
	}
	if t.Strategy != nil {
		sub.Spec.Strategy = *t.Strategy
	}
	sub.Spec.OnFailure = OnFailure{RevertRelease: r.Spec.OnFailure.RevertRelease}
	sub.parent, sub.target, sub.cluster, sub.prometheus = r.Name(), t.Name, t.Cluster, t.Prometheus
	sub.linePrefix = "spec.targets[" + itoa(i) + "]."
	return &sub
}

// TargetRollouts returns the rollouts of every target, in spec order; for
// a rollout without targets, the rollout itself.
func (r *Rollout) TargetRollouts() []*Rollout {
	if !r.HasTargets() {
		return []*Rollout{r}
	}
	out := make([]*Rollout, 0, len(r.Spec.Targets))
	for i := range r.Spec.Targets {
		out = append(out, r.forTargetAt(i))
	}
	return out
}

// TargetInfo returns, for a target's own rollout, the rollout with waves it
// belongs to, the target's name, its cluster and its Prometheus address
// (each "" when not set); all "" for any other rollout.
func (r *Rollout) TargetInfo() (rollout, target, cluster, prometheus string) {
	return r.parent, r.target, r.cluster, r.prometheus
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

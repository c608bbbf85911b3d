package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Drift beyond the canary weight: every field a rollout's spec names
// (the stable field, the route rules and mirror that send requests to the
// canary, a field target's stable side and mirror percent, the canary's
// replica count) changed by a commit ramp did not make. While no release
// is in flight such a change is drift: it holds the rollout and the next
// release until the resume quorum accepts it, or ramp writes its own value
// back (spec.onDrift: restore). The shell reads the values (Change.Fields);
// only this file decides.

// The managed fields besides the release field and the canary weight.
const (
	// FieldStable is the stable field (spec.stable): the version serving
	// stable traffic.
	FieldStable = "stable"
	// FieldRouteRules are the HTTPRoute rules, other than the weighted
	// ones, that send requests to the canary (cohorts).
	FieldRouteRules = "route rules"
	// FieldMirror is the mirror to the canary: an HTTPRoute RequestMirror
	// filter, or a field target's mirrorPath.
	FieldMirror = "mirror"
	// FieldStableWeight is a field target's stablePath.
	FieldStableWeight = "stable weight"
	// FieldCanaryReplicas is spec.target.canaryReplicas.
	FieldCanaryReplicas = "canary replicas"
)

// FieldChange is one managed field a commit changed: its value in the
// commit's first parent (Old) and in the commit (New). Values are as the
// shell renders them: a version, a count, "none", the route rules'
// names and matches.
type FieldChange struct {
	Field string `json:"field"`
	File  string `json:"file"`
	Path  string `json:"path"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// FieldChanges are the managed fields one commit changed. Change holds
// them by pointer, so that a Change stays comparable.
type FieldChanges []FieldChange

// FieldDrift is a managed field changed outside ramp's decisions while no
// release was in flight: Old is ramp's value (what a restore writes
// back), New the value the file holds now, Commit the last commit that
// changed it.
type FieldDrift struct {
	FieldChange
	Commit string `json:"commit"`
	// Unrestored is set when ramp's restore commit did not put Old back
	// (a route rule ramp did not write, which it never removes): only
	// people can then resolve it.
	Unrestored bool `json:"unrestored,omitempty"`
}

// Drifted reports whether a field ramp manages holds a value ramp did not
// write while no release was in flight: the canary weight or another one.
func (s *State) Drifted() bool {
	return s.DriftWeight != nil || len(s.Drift) > 0
}

// ManagedFiles are the files whose changes a rollout's state depends on:
// the release, stable and traffic target files, the canary's replica
// count and the spec itself.
func (r *Rollout) ManagedFiles() []string {
	files := []string{r.Spec.Release.File, r.Spec.Stable.File, r.TargetFile(), r.Path}
	if c := r.Spec.Target.CanaryReplicas; c != nil && c.File != "" {
		files = append(files, c.File)
	}
	return files
}

// driftFields folds the managed fields (other than the release field and
// the weight, which Fold handles) that rec, a commit ramp did not make,
// changed. before is the state before rec, s the state Fold has made of
// it so far. While no release was in flight each change is drift: it is
// recorded with ramp's value and holds; one that puts ramp's value back
// ends that drift. While a release was in flight a change of the canary's
// replica count holds the release (the stable field and the traffic target
// already do).
func driftFields(before, s State, r *Rollout, rec *Record, ch Change) State {
	if ch.Fields == nil || rec.Signer.In(RampGroup) {
		return s
	}
	if before.InProgress() {
		for _, fc := range *ch.Fields {
			if fc.Field == FieldCanaryReplicas && !(ch.Target && fc.File == r.TargetFile()) {
				s = hold(s, rec, fmt.Sprintf("%s while release %s is in flight", changed(rec, fc), before.Release))
			}
		}
		return s
	}
	ended := false
	for _, fc := range *ch.Fields {
		i := slices.IndexFunc(s.Drift, func(d FieldDrift) bool {
			return d.Field == fc.Field && d.File == fc.File && d.Path == fc.Path
		})
		switch {
		case i >= 0 && fc.New == s.Drift[i].Old:
			// ramp's value is back.
			s.Drift = slices.Delete(s.Drift, i, i+1)
			ended = true
			continue
		case i >= 0:
			s.Drift[i].New, s.Drift[i].Commit, s.Drift[i].Unrestored = fc.New, rec.Commit, false
		case fc.Old == fc.New:
			continue
		default:
			s.Drift = append(s.Drift, FieldDrift{FieldChange: fc, Commit: rec.Commit})
		}
		s = hold(s, rec, changed(rec, fc)+" without a ramp decision")
	}
	if ended && !s.Drifted() {
		s.Holds, s.Resumes = nil, nil
	}
	return s
}

// changed says which commit changed field fc, signed by whom, from what
// to what: "commit 1a2b3c4d5e (unsigned, author bob@example.com) changed
// the stable field apps/demo/stable/kustomization.yaml
// images[name=demo].newTag from 1.0.0 to 1.1.0".
func changed(rec *Record, fc FieldChange) string {
	return fmt.Sprintf("%s changed the %s field %s %s from %s to %s",
		committedBy(rec), fc.Field, fc.File, fc.Path, orNone(fc.Old), orNone(fc.New))
}

// committedBy names rec's commit, its verified signer (or why there is
// none) and its author: "commit 1a2b3c4d5e (unsigned, author
// bob@example.com)".
func committedBy(rec *Record) string {
	signer := "unsigned"
	switch {
	case rec.Signer != nil:
		signer = "signed by " + rec.Signer.Principal
	case rec.SignatureError != "" && rec.SignatureError != "unsigned":
		signer = "not signed by a trusted key: " + rec.SignatureError
	}
	return fmt.Sprintf("commit %s (%s, author %s)", short(rec.Commit), signer, rec.Author)
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}

// acceptDrift is what the resume quorum accepting a drift does: the values
// the files hold become ramp's.
func acceptDrift(s State) State {
	if s.DriftWeight != nil {
		s.Weight = *s.DriftWeight
	}
	s.DriftWeight, s.Drift = nil, nil
	return s
}

// keepDrift carries the drift of prev, and the holds it caused, into s,
// the state of a release that starts on top of it: a release does not
// start on top of a drift nobody accepted.
func keepDrift(s, prev State) State {
	if prev.Drifted() {
		s.DriftWeight, s.Drift, s.Holds, s.Resumes = prev.DriftWeight, prev.Drift, prev.Holds, prev.Resumes
	}
	return s
}

// restored is the state after ramp's restore commit rec: the drift it
// wrote back is gone; a field it did not put back stays drifted, marked
// Unrestored, and keeps the holds. A restore that put the stable field
// back under a release field a person changed with it (a full deployment
// that skipped every step) leaves that release to be exposed step by step
// from its start.
func restored(s State, rec *Record) State {
	var left []FieldDrift
	ch := rec.Changes[s.Rollout]
	for _, d := range s.Drift {
		back := ch.Fields != nil && slices.ContainsFunc(*ch.Fields, func(fc FieldChange) bool {
			return fc.Field == d.Field && fc.File == d.File && fc.Path == d.Path && fc.New == d.Old
		})
		if !back {
			d.Unrestored = true
			left = append(left, d)
		}
	}
	s.DriftWeight, s.Drift = nil, left
	if len(left) == 0 {
		s.Holds, s.Resumes = nil, nil
	}
	if s.Phase == PhaseStable && s.Release != s.Stable {
		s.Phase = PhaseProgressing
	}
	return s
}

// restoreDecision is ramp's answer to drift under spec.onDrift: restore:
// one commit that writes ramp's canary weight, no route rules or mirror
// to the canary and the replica count for that weight, and the stable
// field back to the version before the first edit of it.
func (p *planner) restoreDecision(why string) Decision {
	var what []string
	if p.s.DriftWeight != nil {
		what = append(what, fmt.Sprintf("canary weight back to %d%%", p.s.Weight))
	}
	var stable string
	for _, d := range p.s.Drift {
		if d.Unrestored {
			return p.hold("a signed Ramp-Resume accepting the change, or a commit that puts it back",
				fmt.Sprintf("ramp's restore did not put the %s field %s %s back to %s (ramp removes only what it wrote): %s",
					d.Field, d.File, d.Path, orNone(d.Old), why))
		}
	}
	for _, d := range p.s.Drift {
		if d.Field == FieldStable {
			stable = d.Old
			what = append(what, "stable field back to "+orNone(d.Old))
		} else {
			what = append(what, d.Field+" back to "+orNone(d.Old))
		}
	}
	d := p.act(ActionRestore, 0, p.s.Weight, fmt.Sprintf("onDrift: restore: %s: %s", strings.Join(what, ", "), why))
	d.SetStable = stable
	return d
}

// AtRest reports whether the managed field values of r at a commit (each
// in New: the traffic target's, manifest.TargetFields, and the canary's
// replica count) are what ramp leaves when no release is in flight and
// the canary has weight 0: no route rule or mirror to the canary, a field
// target's stable side at its whole, and the canary's replicas for no
// traffic (stableReplicas is the stable count, when the spec names one).
// A derive needs no history for a rollout at rest whose release equals
// its stable version: nothing drifted.
func (r *Rollout) AtRest(values []FieldChange, stableReplicas int) bool {
	for _, v := range values {
		want := ""
		switch v.Field {
		case FieldMirror:
			if r.Spec.Target.Field != nil {
				want = "0"
			}
		case FieldStableWeight:
			_, stable := r.Spec.Target.Field.TargetValues(0)
			want = fmt.Sprint(stable)
		case FieldCanaryReplicas:
			min := 0
			if c := r.Spec.Target.CanaryReplicas; c.MinReplicas != nil {
				min = *c.MinReplicas
			}
			want = fmt.Sprint(CanaryReplicas(0, stableReplicas, min, false))
		}
		if v.New != want {
			return false
		}
	}
	return true
}

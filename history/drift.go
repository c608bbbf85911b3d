package history

import (
	"slices"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/manifest"
	"github.com/ramp-dev/ramp/policy"
)

// fieldChanges sets ch.Fields: the managed fields besides the release
// field and the canary weight (the stable field, what the traffic target
// sends to the canary besides the weight, the canary's replica count)
// whose values differ between a commit's tree and its first parent's,
// with both values. policy decides what a change means (drift.go). A
// rollout whose spec is not in the parent manages nothing yet: a commit
// that adds the spec changes no managed field. A value that cannot be
// read on either side is left out: the weight's and the spec's checks
// hold on an unreadable file.
func (w *walker) fieldChanges(tree, parent *object.Tree, r *policy.Rollout, ch *policy.Change) {
	if parent == nil || w.blobHash(parent, r.Path).IsZero() {
		return
	}
	var fcs policy.FieldChanges
	if ch.Stable != nil {
		if old, err := w.fieldAt(parent, r.Spec.Stable); err == nil && old != *ch.Stable {
			fcs = append(fcs, policy.FieldChange{Field: policy.FieldStable, File: r.Spec.Stable.File, Path: r.Spec.Stable.Path, Old: old, New: *ch.Stable})
		}
	}
	if ch.Target {
		old, errOld := w.targetFields(parent, r)
		now, errNew := w.targetFields(tree, r)
		if errOld == nil && errNew == nil && len(old) == len(now) {
			for i := range now {
				if old[i].New != now[i].New {
					fc := now[i]
					fc.Old = old[i].New
					fcs = append(fcs, fc)
				}
			}
		}
	}
	if c := r.Spec.Target.CanaryReplicas; c != nil && !w.sameEntry(tree, parent, c.File) {
		ref := policy.FieldRef{File: c.File, Path: c.Path}
		old, errOld := w.fieldAt(parent, ref)
		now, errNew := w.fieldAt(tree, ref)
		if errOld == nil && errNew == nil && old != now {
			fcs = append(fcs, policy.FieldChange{Field: policy.FieldCanaryReplicas, File: c.File, Path: c.Path, Old: old, New: now})
		}
	}
	if len(fcs) > 0 {
		ch.Fields = &fcs
	}
}

// targetFields reads manifest.TargetFields of r's traffic target at tree.
func (w *walker) targetFields(tree *object.Tree, r *policy.Rollout) ([]policy.FieldChange, error) {
	data, err := w.readFile(tree, r.TargetFile())
	if err != nil {
		return nil, err
	}
	return manifest.TargetFields(data, r)
}

// atRest reports whether r's managed fields at tree are what ramp leaves
// with no release in flight (policy.Rollout.AtRest), for a rollout whose
// release equals its stable version and whose canary has weight 0: then a
// derive needs no history for it. A value that cannot be read is not at
// rest: the derive reads the history, whose fold says what happened.
func (w *walker) atRest(tree *object.Tree, r *policy.Rollout) bool {
	values, err := w.targetFields(tree, r)
	if err != nil {
		return false
	}
	stable := 0
	if c := r.Spec.Target.CanaryReplicas; c != nil {
		n, err := w.fieldAt(tree, policy.FieldRef{File: c.File, Path: c.Path})
		if err != nil {
			return false
		}
		values = append(values, policy.FieldChange{Field: policy.FieldCanaryReplicas, File: c.File, Path: c.Path, New: n})
		if s := r.Spec.Target.StableReplicas; s != nil {
			v, err := w.fieldAt(tree, policy.FieldRef{File: s.File, Path: s.Path})
			if stable, err = strconv.Atoi(v); err != nil {
				return false
			}
		}
	}
	return r.AtRest(values, stable)
}

// replicasTouched reports whether the file of r's canary replica count
// differs between tree and parent: a change walker.change does not see.
func (w *walker) replicasTouched(tree, parent *object.Tree, r *policy.Rollout) bool {
	c := r.Spec.Target.CanaryReplicas
	return c != nil && !w.sameEntry(tree, parent, c.File)
}

// addFieldChanges sets the Fields of each of rec's changes (fieldChanges),
// tree and parent being its commit's tree and its first parent's. ramp's
// own commits need them only when they restore (policy's fold checks
// what a restore put back); reading them for every step would parse each
// traffic target twice more per commit.
func (w *walker) addFieldChanges(tree, parent *object.Tree, rollouts map[string]*policy.Rollout, rec *policy.Record) {
	if rec.Signer.In(policy.RampGroup) && !slices.ContainsFunc(rec.Entries, func(e policy.Entry) bool { return e.Action == policy.ActionRestore }) {
		return
	}
	for name, ch := range rec.Changes {
		r := rollouts[name]
		if r == nil {
			continue
		}
		w.fieldChanges(tree, parent, r, &ch)
		if ch == (policy.Change{}) {
			delete(rec.Changes, name)
			continue
		}
		rec.Changes[name] = ch
	}
}

package history

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
)

// A rollout with targets (spec.targets and spec.waves) is derived as a
// whole: policy.FoldFleet folds its spec.release and every target's own
// rollout over the same records. Its state is in Snapshot.Fleets; each
// target's own state is also in Snapshot.States under the target's
// rollout name (rollout/target), for status and audit.

// fleetRollouts are the rollouts a record of r (with targets) is read
// for: r itself (its spec.release) and each target's own rollout.
func fleetRollouts(r *policy.Rollout) map[string]*policy.Rollout {
	m := map[string]*policy.Rollout{r.Name(): r}
	for _, sub := range r.TargetRollouts() {
		m[sub.Name()] = sub
	}
	return m
}

// fleetAt reads the fields of r and its targets at tree: FleetBase of
// them, and whether any target is in flight (its release not its stable
// version, or traffic on its canary). A file that cannot be read counts
// as empty.
func (w *walker) fleetAt(tree *object.Tree, r *policy.Rollout) (base policy.FleetState, inFlight bool) {
	release := ""
	if tree != nil {
		release, _ = w.fieldAt(tree, r.Spec.Release)
	}
	targets := map[string]policy.State{}
	for _, sub := range r.TargetRollouts() {
		v, err := w.readValues(tree, sub)
		if err != nil {
			v = values{}
		}
		_, t := policy.SplitTarget(sub.Name())
		targets[t] = policy.Base(sub.Name(), v.release, v.stable, v.weight)
		if v.release != v.stable || v.weight != 0 {
			inFlight = true
		}
	}
	return policy.FleetBase(r, release, targets), inFlight
}

// atRest reports whether every target of fs runs its release as its
// stable version with no traffic split: nothing is in flight and a
// derive needs no history.
func atRest(fs policy.FleetState) bool {
	for _, s := range fs.Targets {
		if s.Release != fs.Release || s.Stable != fs.Release || s.Weight != 0 || s.Phase != policy.PhaseStable || s.Drifted() {
			return false
		}
	}
	return true
}

// deriveFleet derives the state of r (with targets) at tip from scratch.
// At rest it reads no history. Otherwise it walks back to the last change
// of spec.release before which no target was in flight (a release that
// superseded one still in flight walks back to that one's start too),
// and folds from there. It returns the number of commits walked.
func (d *Deriver) deriveFleet(w *walker, tip plumbing.Hash, headTree *object.Tree, r *policy.Rollout) (policy.FleetState, int, error) {
	if head, _ := w.fleetAt(headTree, r); atRest(head) {
		return head, 0, nil
	}
	rolls := fleetRollouts(r)
	var recs []*policy.Record
	walked := 0
	var base *policy.FleetState
	for l, err := range w.firstParents(tip) {
		if err != nil {
			return policy.FleetState{}, walked, err
		}
		walked++
		parentTree, err := w.rootTree(l.parent)
		if err != nil {
			return policy.FleetState{}, walked, err
		}
		rec, err := d.record(w, l, parentTree, rolls)
		if err != nil {
			return policy.FleetState{}, walked, err
		}
		if rec == nil {
			continue
		}
		recs = append(recs, rec)
		if rec.Changes[r.Name()].Release == nil {
			continue
		}
		if b, inFlight := w.fleetAt(parentTree, r); !inFlight {
			base = &b
			break
		}
	}
	if base == nil {
		// The first commit: nothing before it.
		b, _ := w.fleetAt(nil, r)
		base = &b
	}
	fs := *base
	for i := len(recs) - 1; i >= 0; i-- {
		var err error
		if fs, err = d.foldFleetRecord(fs, r, recs[i]); err != nil {
			return policy.FleetState{}, walked, err
		}
	}
	return fs, walked, nil
}

// foldFleet folds new records into the fleet state of r, and settles a
// fleet at rest as a derive from scratch has it.
func (d *Deriver) foldFleet(fs policy.FleetState, r *policy.Rollout, recs []*policy.Record) (policy.FleetState, error) {
	for _, rec := range recs {
		var err error
		if fs, err = d.foldFleetRecord(fs, r, rec); err != nil {
			return fs, err
		}
	}
	if atRest(fs) {
		targets := map[string]policy.State{}
		for t, s := range fs.Targets {
			targets[t] = policy.Base(s.Rollout, s.Release, s.Stable, s.Weight)
		}
		fs = policy.FleetBase(r, fs.Release, targets)
	}
	return fs, nil
}

// putFleet records the fleet state of name in snap: in Fleets, and each
// target's own state in States.
func (snap *Snapshot) putFleet(name string, fs policy.FleetState) {
	if snap.Fleets == nil {
		snap.Fleets = map[string]policy.FleetState{}
	}
	snap.Fleets[name] = fs
	for t, s := range fs.Targets {
		snap.States[policy.TargetRollout(name, t)] = s
	}
}

// checkFleetTargets checks the fields each target's own rollout names,
// as load does for a rollout without targets.
func checkFleetTargets(r *policy.Rollout, check func(*policy.Rollout) error) error {
	for _, sub := range r.TargetRollouts() {
		if err := check(sub); err != nil {
			_, t := policy.SplitTarget(sub.Name())
			return fmt.Errorf("target %s: %w", t, err)
		}
	}
	return nil
}

// recordRollouts are the rollouts the records of snap are read for: each
// rollout without targets, and a rollout with targets with its targets'.
func (snap *Snapshot) recordRollouts() map[string]*policy.Rollout {
	m := make(map[string]*policy.Rollout, len(snap.Rollouts))
	for name, r := range snap.Rollouts {
		if !r.HasTargets() {
			m[name] = r
			continue
		}
		for n, sub := range fleetRollouts(r) {
			m[n] = sub
		}
	}
	return m
}

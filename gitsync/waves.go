package gitsync

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/manifest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/trailer"
)

// WaveEvidenceFunc gathers the results of the gates of wave of rollout r,
// which runs release, over its soak, from from to to, by gate name
// (evidence.Gatherer.Soak).
type WaveEvidenceFunc func(ctx context.Context, r *policy.Rollout, wave policy.Wave, release string, from, to time.Time) map[string]policy.GateResult

// fleetEvidence gathers the evidence of rollout name, which has targets:
// each target's (its own rollout's, as for a rollout without targets) and
// the gates of the wave whose soak the next hand-over waits on. A pass
// gathers it concurrently with the other rollouts' (gather).
func (l *Loop) fleetEvidence(ctx context.Context, snap *history.Snapshot, name string) policy.FleetEvidence {
	ev := policy.FleetEvidence{Targets: map[string]policy.Evidence{}, Waves: map[string]map[string]policy.GateResult{}}
	r := snap.Rollouts[name]
	fs, known := snap.Fleets[name]
	if !known || snap.Invalid[name] != nil {
		return ev
	}
	for _, t := range r.Spec.Targets {
		ev.Targets[t.Name] = l.evidence(ctx, r.ForTarget(t.Name), fs.Targets[t.Name])
	}
	if i, from, to, ok := policy.WaveSoak(r, fs); ok && l.cfg.WaveEvidence != nil {
		w := r.Spec.Waves[i]
		ev.Waves[w.Name] = l.cfg.WaveEvidence(ctx, r, w, fs.Release, from, minTime(to, l.cfg.Now()))
	}
	return ev
}

// planFleet plans rollout name, which has targets, on the evidence
// gathered for it: PlanFleet decides. The pass commits the decision
// (passPush.commit, commitFleet).
func (l *Loop) planFleet(snap *history.Snapshot, name string, ev policy.FleetEvidence, untrusted string,
	calendar *policy.FreezeCalendar, calendarErr error) Outcome {
	r := snap.Rollouts[name]
	fs, known := snap.Fleets[name]
	ev.SpecError, ev.UntrustedTip = snap.Invalid[name], untrusted
	ev.Freeze, ev.FreezeError = calendar, calendarErr
	if !known && ev.SpecError == nil {
		ev.SpecError = fmt.Errorf("no state derived for rollout %s", name)
	}
	for t, e := range ev.Targets {
		e.UntrustedTip, e.Freeze, e.FreezeError = untrusted, calendar, calendarErr
		ev.Targets[t] = e
	}
	d := policy.PlanFleet(r, fs, ev, l.cfg.Now(), l.cfg.Guardrails)
	o := Outcome{Rollout: name, Decision: d, Invalid: snap.Invalid[name], Fleet: &fs}
	if known && ev.SpecError == nil {
		o.Waves = policy.Waves(r, fs)
	}
	if len(d.Targets) == 1 {
		o.Rollout = policy.TargetRollout(name, d.Targets[0])
		o.State = fs.Targets[d.Targets[0]]
	}
	return o
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// commitFleet writes decision d of rollout r (with targets) as a commit on
// parent: a target's step as that target's own rollout's commit, a
// hand-over as one commit writing the release into the release field of
// every target of the wave.
func (c *committer) commitFleet(parent plumbing.Hash, r *policy.Rollout, d policy.Decision) (plumbing.Hash, error) {
	if d.Action != policy.ActionStartWave {
		if len(d.Targets) != 1 {
			return plumbing.ZeroHash, fmt.Errorf("%s: a %s decision names %d targets, want 1", r.Name(), d.Action, len(d.Targets))
		}
		sub := r.ForTarget(d.Targets[0])
		if sub == nil {
			return plumbing.ZeroHash, fmt.Errorf("%s: no target %s", r.Name(), d.Targets[0])
		}
		return c.commit(parent, sub, d)
	}
	pc, err := object.GetCommit(c.store, parent)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read commit %s: %w", parent, err)
	}
	tree, err := pc.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", parent, err)
	}
	edits := map[string][]byte{}
	for _, t := range d.Targets {
		sub := r.ForTarget(t)
		if sub == nil {
			return plumbing.ZeroHash, fmt.Errorf("%s: no target %s", r.Name(), t)
		}
		// The hand-over PlanFleet decides sets the release field and a
		// canary weight of 0 (it retreats a target's traffic first).
		e, err := manifest.Edits(func(path string) ([]byte, error) { return history.ReadFile(tree, path) }, sub, d)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%s: target %s: %w", r.Name(), t, err)
		}
		maps.Copy(edits, e)
	}
	root := tree.Hash
	if len(edits) > 0 {
		if root, err = EditTree(c.store, tree, edits); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%s: write tree: %w", r.Name(), err)
		}
	}
	sig := object.Signature{Name: c.identity.Name, Email: c.identity.Email, When: c.now()}
	subject := fmt.Sprintf("ramp: %s %s start-wave %s (%s)", r.Name(), d.Release, d.Wave, strings.Join(d.Targets, ", "))
	e := policy.Entry{Rollout: r.Name(), Release: d.Release, Action: d.Action, Wave: d.Wave, Targets: d.Targets,
		Gates: d.Gates, Approved: d.Approved, ChangeID: r.Spec.ChangeID}
	msg := trailer.Append(subject+"\n\n"+strings.ReplaceAll(d.Reason, "\n", " ")+"\n", trailer.ForEntry(e))
	commit := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: root, ParentHashes: []plumbing.Hash{parent}}
	h, err := storeCommit(c.store, commit, c.signer)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: %w", r.Name(), err)
	}
	return h, nil
}

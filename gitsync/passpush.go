package gitsync

import (
	"context"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-logr/logr"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// defaultConcurrency is how many rollouts' evidence a pass gathers at
// once unless Config.Concurrency says otherwise.
const defaultConcurrency = 8

// gathered is the evidence of the rollout at index in a pass's names.
type gathered struct {
	index    int
	evidence policy.Evidence
	// fleet is the evidence of a rollout with targets (waves.go).
	fleet *policy.FleetEvidence
}

// gather gathers the evidence of every rollout in names, at most
// cfg.Concurrency at once, and sends each as soon as it is complete; the
// channel is closed after the last. Its buffer holds every rollout, so a
// gatherer never waits for the pass to read. wait returns once every
// gatherer has returned; cancelling ctx stops the ones not started.
func (l *Loop) gather(ctx context.Context, snap *history.Snapshot, states map[string]policy.State, names []string) (<-chan gathered, func()) {
	out := make(chan gathered, len(names))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		var workers sync.WaitGroup
		defer workers.Wait()
		slots := make(chan struct{}, l.cfg.Concurrency)
		for i, name := range names {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			workers.Add(1)
			go func() {
				defer workers.Done()
				defer func() { <-slots }()
				if r := snap.Rollouts[name]; r != nil && r.HasTargets() {
					ev := l.fleetEvidence(ctx, snap, name)
					out <- gathered{index: i, fleet: &ev}
					return
				}
				out <- gathered{index: i, evidence: l.evidence(ctx, snap.Rollouts[name], states[name])}
			}()
		}
	}()
	return out, wg.Wait
}

// evidence is the configured evidence of a rollout with a valid spec.
func (l *Loop) evidence(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence {
	if r == nil || l.cfg.Evidence == nil {
		return policy.Evidence{AppliedUnknown: true}
	}
	return l.cfg.Evidence(ctx, r, s)
}

// passPush is a pass's commits on the branch: built one on the other in
// memory (passStore), and pushed, each push sending one pack of the
// commits made since the last.
type passPush struct {
	loop      *Loop
	store     *passStore
	committer committer
	// head is the newest commit; pushed is the newest on the remote (the
	// pass's fetched tip before its first push).
	head, pushed plumbing.Hash
	// outcomes are the pass's, by index; pending are those committed
	// since the last push.
	outcomes []Outcome
	pending  []int
}

func (l *Loop) newPassPush(tip plumbing.Hash, outcomes []Outcome) *passPush {
	p := &passPush{loop: l, store: newPassStore(l.repo.Git().Storer), committer: *l.committer,
		head: tip, pushed: tip, outcomes: outcomes}
	p.committer.store = p.store
	return p
}

// commit writes outcome i's decision for rollout r on head.
func (p *passPush) commit(i int, r *policy.Rollout) error {
	commit := p.committer.commit
	if r != nil && r.HasTargets() {
		commit = p.committer.commitFleet
	}
	h, err := commit(p.head, r, p.outcomes[i].Decision)
	if err != nil {
		return err
	}
	p.head, p.outcomes[i].Commit = h, h
	p.pending = append(p.pending, i)
	return nil
}

// push sends the commits made since the last push, if any, with the
// compare-and-swap on the last pushed tip, and logs one line per commit
// to the logger in ctx.
func (p *passPush) push(ctx context.Context) error {
	if p.head == p.pushed {
		return nil
	}
	pack, err := p.store.pack()
	if err != nil {
		return err
	}
	start := time.Now()
	err = p.loop.repo.push(ctx, p.pushed, p.head, pack)
	p.loop.observe("push", start, err)
	if err != nil {
		return err
	}
	log := logr.FromContextOrDiscard(ctx)
	for _, i := range p.pending {
		o := p.outcomes[i]
		d := o.Decision
		log.Info("pushed commit", "rollout", o.Rollout, "release", d.Release, "step", d.Step,
			"action", string(d.Action), "weight", d.Weight, "commit", o.Commit.String())
	}
	p.pushed, p.pending = p.head, nil
	return nil
}

// unpushed clears the commit of every outcome whose commit did not land:
// only what is on the remote counts.
func (p *passPush) unpushed() {
	for _, i := range p.pending {
		p.outcomes[i].Commit = plumbing.ZeroHash
	}
	p.pending = nil
}

// update derives the state at the last pushed tip from snap, the state
// the pass started from, reading the directories the pass wrote from
// memory: a pass over N rollouts sharing a directory wrote N trees of N
// entries, which the update would otherwise read and decode again.
func (p *passPush) update(snap *history.Snapshot) (*history.Snapshot, error) {
	d := p.loop.deriver
	d.Trees = p.store.known
	defer func() { d.Trees = nil }()
	return d.Update(snap, p.pushed)
}

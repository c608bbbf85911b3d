package history

import (
	"fmt"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
)

// maxCommandCommits bounds how many commits of a commands ref one read
// visits.
const maxCommandCommits = 2000

// Commands reads a commands ref (where people without push rights to the
// release branch push their signed commands) at tip: the commits
// reachable from it but not from the release branch's tip main, merges
// included, committed no earlier than since (at most maxCommandCommits),
// and returns the records of those that give commands, oldest first,
// with their verified signers. Nothing else in them counts: not their
// files, not ramp's trailers.
func (d *Deriver) Commands(tip, main plumbing.Hash, since time.Time) ([]*policy.Record, error) {
	return deepening(d, func() ([]*policy.Record, error) { return d.commands(tip, main, since) })
}

// commands is Commands on the commits the clone has.
func (d *Deriver) commands(tip, main plumbing.Hash, since time.Time) ([]*policy.Record, error) {
	stop := map[plumbing.Hash]bool{main: true}
	if tip.IsZero() || tip == main {
		return nil, nil
	}
	tc, err := object.GetCommit(d.objects(), tip)
	if err != nil {
		return nil, fmt.Errorf("read commands ref tip %s: %w", tip, err)
	}
	if mc, err := object.GetCommit(d.objects(), main); err == nil {
		bases, err := tc.MergeBase(mc)
		if err != nil {
			return nil, fmt.Errorf("merge base of the commands ref and %s: %w", short(main), err)
		}
		for _, b := range bases {
			stop[b.Hash] = true
		}
	}
	w := d.walker()
	seen := map[plumbing.Hash]bool{tip: true}
	queue := []*object.Commit{tc}
	var commits []*object.Commit
	for len(queue) > 0 && len(commits) < maxCommandCommits {
		c := queue[0]
		queue = queue[1:]
		if stop[c.Hash] || c.Committer.When.Before(since) {
			continue
		}
		commits = append(commits, c)
		for _, h := range c.ParentHashes {
			if seen[h] {
				continue
			}
			seen[h] = true
			p, err := object.GetCommit(d.objects(), h)
			if err != nil {
				return nil, fmt.Errorf("read parent %s of %s: %w", h, short(c.Hash), err)
			}
			queue = append(queue, p)
		}
	}
	// Newest first, as commandRecords takes them; ties by hash, so the
	// same ref always gives the same order.
	sort.SliceStable(commits, func(i, j int) bool {
		a, b := commits[i].Committer.When, commits[j].Committer.When
		if !a.Equal(b) {
			return a.After(b)
		}
		return commits[i].Hash.String() > commits[j].Hash.String()
	})
	return d.commandRecords(w, commits)
}

// WithCommands returns the states of snap after the commands of recs
// (from Commands): they count after everything on the release branch.
// The snapshot itself is not changed.
func (d *Deriver) WithCommands(snap *Snapshot, recs []*policy.Record) map[string]policy.State {
	out := make(map[string]policy.State, len(snap.States))
	for name, s := range snap.States {
		if r := snap.Rollouts[name]; r != nil {
			for _, rec := range recs {
				s = policy.Fold(s, r, rec, d.Guardrails)
			}
		}
		out[name] = s
	}
	return out
}

// CommandsSince is how far back a commands ref is read for snap: to the
// start of the oldest release in flight; zero (everything, within the
// bound) when a rollout holds on drift, which has no start.
func CommandsSince(snap *Snapshot) (since time.Time, needed bool) {
	for _, s := range snap.States {
		switch {
		case s.DriftWeight != nil:
			return time.Time{}, true
		case s.InProgress() && (!needed || s.StartedAt.Before(since)):
			since, needed = s.StartedAt, true
		}
	}
	return since, needed
}

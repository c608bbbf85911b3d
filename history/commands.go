package history

import (
	"container/heap"
	"errors"
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
	if tip.IsZero() || tip == main {
		return nil, nil
	}
	commits, _, err := d.unmerged(tip, main, since)
	if err != nil {
		return nil, err
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
	return d.commandRecords(d.walker(), commits)
}

// Marks of the commits unmerged visits: reachable from the commands
// ref's tip, from the release branch's tip.
const (
	fromTip uint8 = 1 << iota
	fromMain
)

// unmerged returns the commits reachable from tip but not from main
// (git rev-list tip ^main) committed no earlier than since, at most
// maxCommandCommits, and how many commits it read. It walks both sides
// at once, newest first, and marks what main reaches; it stops once
// every commit still to visit is main's or older than since, so it reads
// the commits since the two sides parted, never the whole history (a
// merge base would read every ancestor of one side first).
func (d *Deriver) unmerged(tip, main plumbing.Hash, since time.Time) ([]*object.Commit, int, error) {
	marks := map[plumbing.Hash]uint8{}
	queued := map[plumbing.Hash]bool{}
	q := &commitQueue{}
	read := 0
	push := func(h plumbing.Hash, m uint8) error {
		old := marks[h]
		if old|m == old {
			return nil
		}
		marks[h] = old | m
		if queued[h] {
			return nil // its mark is read when it is visited
		}
		c, err := object.GetCommit(d.objects(), h)
		if err != nil {
			return fmt.Errorf("read commit %s: %w", short(h), err)
		}
		read++
		queued[h] = true
		heap.Push(q, c) // again, if visited before: its parents take the new mark
		return nil
	}
	if err := push(tip, fromTip); err != nil {
		return nil, read, fmt.Errorf("commands ref tip: %w", err)
	}
	if !main.IsZero() {
		if err := push(main, fromMain); err != nil && !errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, read, err
		}
	}
	var out []*object.Commit
	for q.Len() > 0 && len(out) < maxCommandCommits && q.pending(marks, since) {
		c := heap.Pop(q).(*object.Commit)
		delete(queued, c.Hash)
		m := marks[c.Hash]
		if m == fromTip {
			if c.Committer.When.Before(since) {
				continue // older than what is read: nor are its parents
			}
			out = append(out, c)
		}
		for _, p := range c.ParentHashes {
			if err := push(p, m); err != nil {
				return nil, read, fmt.Errorf("%w (a parent of %s)", err, short(c.Hash))
			}
		}
	}
	// A commit taken before main's mark reached it (clocks out of order)
	// is main's after all.
	kept := out[:0]
	for _, c := range out {
		if marks[c.Hash] == fromTip {
			kept = append(kept, c)
		}
	}
	return kept, read, nil
}

// commitQueue holds the commits unmerged has still to visit, newest
// (by committer time) first.
type commitQueue []*object.Commit

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	a, b := q[i].Committer.When, q[j].Committer.When
	if !a.Equal(b) {
		return a.After(b)
	}
	return q[i].Hash.String() < q[j].Hash.String()
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(*object.Commit)) }
func (q *commitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// pending reports whether a commit still to visit is reachable from the
// commands ref only and not older than since: until none is, the walk
// may still find commands, or find that main reaches one it took.
func (q commitQueue) pending(marks map[plumbing.Hash]uint8, since time.Time) bool {
	for _, c := range q {
		if marks[c.Hash] == fromTip && !c.Committer.When.Before(since) {
			return true
		}
	}
	return false
}

// WithCommands returns the states of snap after the commands of recs
// (from Commands): they count after everything on the release branch.
// The snapshot itself is not changed.
//
// A command counts only where its commit descends from the release's
// start (and a step approval from ramp's commit that entered the step):
// one whose ancestry cannot be established, even after deepening a
// shallow clone, is rejected saying why.
func (d *Deriver) WithCommands(snap *Snapshot, recs []*policy.Record) map[string]policy.State {
	out := make(map[string]policy.State, len(snap.States))
	for name, s := range snap.States {
		if r := snap.Rollouts[name]; r != nil {
			for _, rec := range recs {
				concerns := func(n string) bool { return n == name }
				bases := policy.CommandBases(s)
				if _, err := deepening(d, func() (struct{}, error) { return struct{}{}, d.vouch(rec, concerns, bases) }); err != nil {
					unknownAncestry(rec, err)
				}
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
		case s.Drifted():
			return time.Time{}, true
		case s.InProgress() && (!needed || s.StartedAt.Before(since)):
			since, needed = s.StartedAt, true
		}
	}
	return since, needed
}

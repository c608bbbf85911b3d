package history

import (
	"container/heap"
	"errors"
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
)

// A command counts only in this repository's history (policy.Ancestry):
// the commit of a command that is not on the release branch's
// first-parent history (merged in by a pull request, or on the commands
// ref) must descend from the commits policy.CommandBases names: the
// release's start, ramp's commit that entered the step. Before each fold
// the walks ask, for the off-line records of the commit folded, whether
// they descend from the bases of the state they are folded into, and
// write the answers on the records: policy stays pure and judges them.

// maxDescent bounds how many commits one ancestry question reads: past
// it the answer is unknown, and the command is rejected.
const maxDescent = 200000

// maxDescentCache bounds how many answers a Deriver keeps: commits do not
// change, so an answer holds forever, and the loop asks the same
// questions of the commands ref on every pass.
const maxDescentCache = 4096

// errDescentBound is the answer past maxDescent.
var errDescentBound = fmt.Errorf("more than %d commits between them", maxDescent)

// descentKey is one question: does commit descend from base?
type descentKey struct{ commit, base plumbing.Hash }

// descentCache holds the answers a Deriver found: yes or no, or
// errDescentBound (a walk that gave up once gives up again: it is not
// walked again on every pass).
type descentCache struct {
	mu  sync.Mutex
	ans map[descentKey]error
}

// errNoDescent is the cached "no".
var errNoDescent = errors.New("does not descend")

// descends reports whether commit descends from (or is) base. It reads
// commit's ancestors newest first (by committer time) and stops at base,
// or once every commit still to read is older than base by more than
// ancestrySlack: a descendant of base dated that far before it would need
// a clock that far behind, and missing it only rejects a command. It is
// errDescentBound past maxDescent commits, and an error wrapping
// plumbing.ErrObjectNotFound when a commit it needs is missing (a shallow
// clone: deepening fetches more and asks again).
func (d *Deriver) descends(commit, base plumbing.Hash) (bool, error) {
	if commit == base {
		return true, nil
	}
	key := descentKey{commit, base}
	d.descent.mu.Lock()
	cached, ok := d.descent.ans[key]
	d.descent.mu.Unlock()
	if ok {
		if cached == errNoDescent {
			return false, nil
		}
		return cached == nil, cached
	}
	ans, err := d.walkDescent(commit, base)
	switch {
	case err == nil && !ans:
		cached = errNoDescent
	case err == nil, errors.Is(err, errDescentBound):
		cached = err
	default:
		return false, err // a missing commit: deepening may fetch it
	}
	d.descent.mu.Lock()
	if d.descent.ans == nil || len(d.descent.ans) >= maxDescentCache {
		d.descent.ans = map[descentKey]error{}
	}
	d.descent.ans[key] = cached
	d.descent.mu.Unlock()
	return ans, err
}

// walkDescent is descends without the cache.
func (d *Deriver) walkDescent(commit, base plumbing.Hash) (bool, error) {
	b, err := object.GetCommit(d.objects(), base)
	if err != nil {
		return false, fmt.Errorf("read commit %s: %w", short(base), err)
	}
	c, err := object.GetCommit(d.objects(), commit)
	if err != nil {
		return false, fmt.Errorf("read commit %s: %w", short(commit), err)
	}
	floor := b.Committer.When.Add(-ancestrySlack)
	seen := map[plumbing.Hash]bool{c.Hash: true}
	q := &commitQueue{c}
	var missing error
	for q.Len() > 0 {
		c := heap.Pop(q).(*object.Commit)
		if c.Hash == base {
			return true, nil
		}
		if c.Committer.When.Before(floor) {
			break // so is every commit still queued
		}
		for _, h := range c.ParentHashes {
			if seen[h] {
				continue
			}
			if len(seen) >= maxDescent {
				return false, errDescentBound
			}
			seen[h] = true
			p, err := object.GetCommit(d.objects(), h)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				// Another path may still reach base; if none does, the
				// answer needs this commit.
				missing = fmt.Errorf("read commit %s (a parent of %s): %w", short(h), short(c.Hash), err)
				continue
			}
			if err != nil {
				return false, fmt.Errorf("read commit %s: %w", short(h), err)
			}
			heap.Push(q, p)
		}
	}
	if missing != nil {
		return false, missing
	}
	return false, nil
}

// vouch writes on each off-line record among rec and the records it
// merged whose commands concern a rollout that concerns says yes whether
// it descends from each of bases (policy.CommandBases of the state it is
// folded into). An answer past the walk's bound leaves the question
// unknown (the command is rejected); a missing commit is an error, so a
// deepening walk fetches more and asks again.
func (d *Deriver) vouch(rec *policy.Record, concerns func(rollout string) bool, bases []string) error {
	for _, m := range append([]*policy.Record{rec}, rec.Merged...) {
		if !m.OffLine() || !commandsConcern(m, concerns) {
			continue
		}
		if m.Ancestry.Descends == nil {
			m.Ancestry.Descends = map[string]bool{}
		}
		for _, b := range bases {
			if _, ok := m.Ancestry.Descends[b]; ok {
				continue
			}
			yes, err := d.descends(plumbing.NewHash(m.Commit), plumbing.NewHash(b))
			if errors.Is(err, errDescentBound) {
				m.Ancestry.Unknown = fmt.Sprintf("from %s to %s: %v", short(plumbing.NewHash(m.Commit)), short(plumbing.NewHash(b)), err)
				continue
			}
			if err != nil {
				return fmt.Errorf("ancestry of command commit %s: %w", short(plumbing.NewHash(m.Commit)), err)
			}
			m.Ancestry.Descends[b] = yes
		}
	}
	return nil
}

// commandsConcern reports whether a command of rec is for a rollout
// concerns says yes to.
func commandsConcern(rec *policy.Record, concerns func(string) bool) bool {
	for _, c := range rec.Commands {
		if concerns(c.Rollout) {
			return true
		}
	}
	return false
}

// fold is policy.Fold of rec into s for r, once the ancestry of the
// off-line commands it carries for r is established.
func (d *Deriver) fold(s policy.State, r *policy.Rollout, rec *policy.Record) (policy.State, error) {
	if offLine(rec) {
		if err := d.vouch(rec, func(n string) bool { return n == r.Name() }, policy.CommandBases(s)); err != nil {
			return s, err
		}
	}
	return policy.Fold(s, r, rec, d.Guardrails), nil
}

// offLine reports whether rec is, or merged, a record off the release
// branch's first-parent history: only then is there an ancestry to
// establish (most records, ramp's own, have none).
func offLine(rec *policy.Record) bool { return rec.OffLine() || len(rec.Merged) > 0 }

// foldFleetRecord is policy.FoldFleet of rec into fs for r (with
// targets), once the ancestry of the off-line commands it carries for r
// and its targets is established.
func (d *Deriver) foldFleetRecord(fs policy.FleetState, r *policy.Rollout, rec *policy.Record) (policy.FleetState, error) {
	concerns := func(n string) bool {
		parent, _ := policy.SplitTarget(n)
		return parent == r.Name()
	}
	if offLine(rec) {
		if err := d.vouch(rec, concerns, policy.FleetCommandBases(fs)); err != nil {
			return fs, err
		}
	}
	return policy.FoldFleet(fs, r, rec, d.Guardrails), nil
}

// unknownAncestry marks the off-line records among rec and the records
// it merged whose ancestry err kept from being established: their
// commands are rejected, saying why.
func unknownAncestry(rec *policy.Record, err error) {
	for _, m := range append([]*policy.Record{rec}, rec.Merged...) {
		if m.OffLine() {
			m.Ancestry.Unknown = err.Error()
		}
	}
}

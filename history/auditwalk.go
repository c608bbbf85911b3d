package history

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/policy"
)

// auditWalk calls visit with each commit of the first-parent history from
// tip back to the root, newest first, and its first parent, both read in
// full, but for the commits skip (when not nil) proves of no interest
// from their raw bytes: visit would find no record there. It stops at
// the first error.
func (d *Deriver) auditWalk(w *walker, tip plumbing.Hash, skip func(c, parent rawCommit) bool, visit func(link) error) error {
	sc := w.scan()
	read := sc.read
	if p, ok := w.s.(*packObjects); ok {
		ra := newReadAhead(p, tip)
		defer ra.stop()
		read = func(h plumbing.Hash) (rawCommit, error) {
			if c, ok := ra.next(h); ok {
				return c, nil
			}
			return sc.read(h)
		}
	}
	c, err := read(tip)
	if err != nil {
		return fmt.Errorf("read commit %s: %w", tip, err)
	}
	for {
		var parent *rawCommit
		if len(c.parents) > 0 {
			p, err := read(c.parents[0])
			if err != nil {
				return fmt.Errorf("read parent %s of %s: %w", c.parents[0], short(c.hash), err)
			}
			parent = &p
		}
		if skip == nil || parent == nil || !skip(c, *parent) {
			l := link{}
			if l.commit, err = w.commit(c.hash); err != nil {
				return fmt.Errorf("read commit %s: %w", c.hash, err)
			}
			if parent != nil {
				if l.parent, err = w.commit(parent.hash); err != nil {
					return fmt.Errorf("read parent %s of %s: %w", parent.hash, short(c.hash), err)
				}
			}
			if err := visit(l); err != nil {
				return err
			}
		}
		if parent == nil {
			return nil
		}
		c = *parent
	}
}

// read is commit, or for a commit the scan cannot parse, what go-git
// reads of it, marked as mentioning ramp so that it is read in full.
func (sc *scan) read(h plumbing.Hash) (rawCommit, error) {
	c, err := sc.commit(h)
	if !errors.Is(err, errBadCommit) {
		return c, err
	}
	gc, err := sc.w.commit(h)
	if err != nil {
		return rawCommit{}, err
	}
	return rawCommit{hash: h, tree: gc.TreeHash, parents: gc.ParentHashes, ramp: true}, nil
}

// skips reports whether commit c, whose first parent is parent, is proven
// to concern nothing the audit of the rollout specs reads: it is no merge,
// its message has no "ramp-" (so no trailers, no commands), the spec in
// its tree is one already read, and the files that spec manages (release,
// stable, target) and the spec itself name the same objects as in the
// parent's tree. Such a commit gives no record (Deriver.record returns
// nil: no trailers, no merged commands, an empty change).
//
// Every spec version is still read where it appears: the oldest commit
// of a run with one version differs from its parent there, or is the
// root, and is never skipped.
func (sc *scan) skips(specs *specReader, c, parent rawCommit) bool {
	if c.ramp || len(c.parents) != 1 {
		return false
	}
	h, ok := sc.blob(c.tree, specs.tip.Path)
	if !ok {
		return false
	}
	spec := specs.absent
	if !h.IsZero() {
		spec = specs.seen[h]
	}
	if spec == nil {
		return false
	}
	return sc.sameAll(c.tree, parent.tree, sc.managed(spec), false)
}

// managed returns the paths of the files spec's rollout manages and of
// the spec itself (walker.change reads them), sorted.
func (sc *scan) managed(spec *specAt) []string {
	if paths, ok := sc.files[spec]; ok {
		return paths
	}
	r := spec.fold
	paths := r.ManagedFiles()
	slices.Sort(paths)
	if sc.files == nil {
		sc.files = map[*specAt][]string{}
	}
	sc.files[spec] = paths
	return paths
}

// skipsFleet reports whether commit c, whose first parent is parent, is
// proven to concern none of rolls (a rollout with targets and its
// targets' rollouts), as skips for one rollout: no merge, no "ramp-" in
// its message, and every file they manage and the spec the same as in
// the parent's tree. paths are those files, sorted (fleetFiles).
func (sc *scan) skipsFleet(paths []string, c, parent rawCommit) bool {
	return !c.ramp && len(c.parents) == 1 && sc.sameAll(c.tree, parent.tree, paths, false)
}

// fleetFiles returns the files rolls manage and their specs, sorted.
func fleetFiles(rolls map[string]*policy.Rollout) []string {
	var paths []string
	for _, r := range rolls {
		paths = append(paths, r.ManagedFiles()...)
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

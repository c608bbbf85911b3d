package history

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
	"github.com/ramp-dev/ramp/trailer"
)

// Snapshot is every rollout's state derived from the release branch at Tip.
type Snapshot struct {
	Tip plumbing.Hash
	// Rollouts are the specs that parsed and validated at Tip, by name.
	Rollouts map[string]*policy.Rollout
	// Invalid are the rollouts at Tip that cannot be used, by name, each
	// with what is wrong: those rollouts hold. A spec that did not parse
	// or validate is only here; one that did, but names a file that
	// cannot be read, is in Rollouts too (its history can be audited).
	Invalid map[string]error
	States  map[string]policy.State
	// Fleets are the states of the rollouts with targets, by name (their
	// targets' own states are in States too, as rollout/target).
	Fleets map[string]policy.FleetState
	// Walked counts the commits the derive read.
	Walked int
	// Depths are, for each rollout (without targets) that needs history,
	// how many first-parent commits lie above the commit a derive from
	// scratch starts its fold at: its release's start, or its newest
	// anchor (policy.Anchors: ramp's abort, or a checkpoint). A cold
	// derive knows it from its walk; Update adds the commits it folds and
	// resets it at a new start or anchor. A rollout that needs no history
	// has none; so has one that an update saw leave that case without a
	// new start or anchor (Update cannot tell without a walk).
	Depths map[string]int
	// specs is the hash of the releases/ tree at Tip.
	specs plumbing.Hash
	// targets are the blob hashes at Tip of the files the specs' targets
	// were checked against: a change to one checks the specs again.
	targets map[string]plumbing.Hash
}

// Deriver folds the history of a release branch into rollout states.
type Deriver struct {
	Repo       *git.Repository
	Keys       *signing.Keyring
	Guardrails policy.Guardrails
	// Deepen, when set, fetches more of a shallow clone's history and
	// reports whether there was more: a walk that reaches a commit the
	// clone lacks calls it and starts again (gitsync.Repo.Deepen). Without
	// it, or with nothing more to fetch, the walk fails: a missing commit
	// is never taken for the start of history.
	Deepen func() (bool, error)
	// Trees, when set, returns the decoded tree of a hash when the caller
	// already holds it, else nil. It is asked for directories below a
	// commit's root only, and the walks look their entries up one name at
	// a time, so the tree needs no storer. A pass hands over the
	// directories it built: the update after its push decodes none again.
	Trees func(plumbing.Hash) *object.Tree

	once sync.Once
	objs storer.EncodedObjectStorer
	// descent holds the ancestry answers of off-line commands (descent.go).
	descent descentCache
}

// objects returns what the walks read objects through: Repo's packs,
// mapped (packObjects), and Repo's storage for the rest.
func (d *Deriver) objects() storer.EncodedObjectStorer {
	d.once.Do(func() { d.objs = newPackObjects(d.Repo.Storer) })
	return d.objs
}

// deepening runs walk, and again after each Deepen that fetched more
// while walk fails on an object the clone lacks.
func deepening[T any](d *Deriver, walk func() (T, error)) (T, error) {
	for {
		v, err := walk()
		if err == nil || d.Deepen == nil || !errors.Is(err, plumbing.ErrObjectNotFound) {
			return v, err
		}
		more, derr := d.Deepen()
		if derr != nil {
			return v, fmt.Errorf("%w (and fetching more history failed: %v)", err, derr)
		}
		if !more {
			return v, err
		}
	}
}

// walker returns a new walker over Repo.
func (d *Deriver) walker() *walker {
	w := newWalker(d.objects())
	w.known = d.Trees
	return w
}

// Derive reads the state of every rollout at tip from scratch. It walks
// the first-parent history back only as far as the start of each release
// still in flight, or the newest commit where ramp ended it (an abort,
// policy.Anchors): a rollout whose release equals its stable version and
// whose canary has no traffic needs no history at all.
func (d *Deriver) Derive(tip plumbing.Hash) (*Snapshot, error) {
	return deepening(d, func() (*Snapshot, error) { return d.derive(tip) })
}

// derive is Derive on the commits the clone has.
func (d *Deriver) derive(tip plumbing.Hash) (*Snapshot, error) {
	snap, err := d.load(tip)
	if err != nil {
		return nil, err
	}
	head, err := object.GetCommit(d.objects(), tip)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", tip, err)
	}
	w := d.walker()
	headTree, err := w.rootTree(head)
	if err != nil {
		return nil, err
	}
	active := map[string]*policy.Rollout{}
	snap.Depths = map[string]int{}
	for name, r := range snap.Rollouts {
		if r.HasTargets() {
			if snap.Invalid[name] != nil {
				continue
			}
			fs, walked, err := d.deriveFleet(w, tip, headTree, r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			snap.Walked += walked
			snap.putFleet(name, fs)
			continue
		}
		v, err := w.readValues(headTree, r)
		if err != nil {
			// The error names the file that cannot be used. The spec
			// stays in Rollouts: its history can still be audited.
			snap.Invalid[name] = fmt.Errorf("%w (at %s; %s names it)", err, short(tip), r.Path)
			continue
		}
		if v.release == v.stable && v.weight == 0 && w.atRest(headTree, r) {
			snap.States[name] = policy.Base(name, v.release, v.stable, 0)
			continue
		}
		active[name] = r
	}
	if len(active) == 0 {
		return snap, nil
	}

	// Walk back until every active rollout's current release has started:
	// the commit where its release field last changed. What its fields
	// held just before is the base the fold starts from.
	type start struct {
		index int // in recs
		base  policy.State
	}
	var recs []*policy.Record
	starts := map[string]start{}
	pending := maps.Clone(active)
	index := -1 // of the commit read, 0 the tip
	for l, err := range w.firstParents(tip) {
		if err != nil {
			return nil, err
		}
		if len(pending) == 0 {
			break
		}
		snap.Walked++
		index++
		parentTree, err := w.rootTree(l.parent)
		if err != nil {
			return nil, err
		}
		rec, err := d.record(w, l, parentTree, pending)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		for name, r := range pending {
			if rec.Changes[name].Release == nil {
				if !ends(rec, name) {
					continue
				}
				// ramp ended the release here (an abort): the state
				// from this commit on depends on nothing older.
				tree, err := w.rootTree(l.commit)
				if err != nil {
					return nil, err
				}
				v, err := w.readValues(tree, r)
				if err != nil || !policy.Anchors(rec, name, v.release, v.stable, v.weight) {
					continue
				}
				pv, err := w.readValues(parentTree, r)
				if err != nil || pv.release != v.release {
					continue
				}
				starts[name] = start{index: len(recs), base: policy.Base(name, pv.release, pv.stable, pv.weight)}
				snap.Depths[name] = index
				delete(pending, name)
				continue
			}
			pv, err := w.readValues(parentTree, r)
			if err != nil {
				pv = values{} // the file did not exist before: nothing in flight
			}
			starts[name] = start{index: len(recs), base: policy.Base(name, pv.release, pv.stable, pv.weight)}
			snap.Depths[name] = index
			delete(pending, name)
		}
		recs = append(recs, rec)
	}
	for name, r := range active {
		st, ok := starts[name]
		if !ok {
			// The release value has not changed since the first commit.
			st = start{index: len(recs) - 1, base: policy.Base(name, "", "", 0)}
			snap.Depths[name] = index
		}
		s := st.base
		for i := st.index; i >= 0; i-- {
			if s, err = d.fold(s, r, recs[i]); err != nil {
				return nil, err
			}
		}
		snap.States[name] = s
	}
	return snap, nil
}

// Update derives the state at tip from an earlier snapshot by folding only
// the commits since prev.Tip. When prev.Tip is not on tip's first-parent
// history (it never is after a correct push), it derives from scratch.
func (d *Deriver) Update(prev *Snapshot, tip plumbing.Hash) (*Snapshot, error) {
	return deepening(d, func() (*Snapshot, error) { return d.update(prev, tip) })
}

// update is Update on the commits the clone has.
func (d *Deriver) update(prev *Snapshot, tip plumbing.Hash) (*Snapshot, error) {
	if prev == nil {
		return d.Derive(tip)
	}
	if prev.Tip == tip {
		return prev, nil
	}
	snap, err := d.reload(prev, tip)
	if err != nil {
		return nil, err
	}
	for name, r := range snap.Rollouts {
		if r.HasTargets() {
			if _, known := prev.Fleets[name]; !known || prev.Invalid[name] != nil || snap.Invalid[name] != nil {
				return d.Derive(tip)
			}
			continue
		}
		if _, known := prev.States[name]; !known || prev.Invalid[name] != nil {
			// A new (or newly valid) rollout: derive it from scratch.
			return d.Derive(tip)
		}
		snap.States[name] = prev.States[name]
	}
	// Read the new commits newest first, back to prev.Tip, then fold
	// their records oldest first.
	w := d.walker()
	rollouts := snap.recordRollouts()
	w.indexRollouts(rollouts)
	var recs []*policy.Record
	var at []int // of each record: its index in the walk, 0 the tip
	found := false
	for l, err := range w.firstParents(tip) {
		if err != nil {
			return nil, err
		}
		if l.commit.Hash == prev.Tip {
			found = true
			break
		}
		if snap.Walked++; snap.Walked > maxIncremental {
			break
		}
		parentTree, err := w.rootTree(l.parent)
		if err != nil {
			return nil, err
		}
		rec, err := d.record(w, l, parentTree, rollouts)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			recs = append(recs, rec)
			at = append(at, snap.Walked-1)
		}
	}
	if !found {
		// prev.Tip is not on the first-parent history of tip.
		return d.Derive(tip)
	}
	snap.Depths = map[string]int{}
	for name, depth := range prev.Depths {
		if _, ok := snap.States[name]; ok {
			snap.Depths[name] = depth + snap.Walked
		}
	}
	for i := len(recs) - 1; i >= 0; i-- {
		// Only the rollouts a record concerns: for any other Fold is the
		// identity, and a pass's N commits each concern one rollout.
		for _, name := range recs[i].Rollouts() {
			if r, ok := snap.Rollouts[name]; ok && !r.HasTargets() {
				s, err := d.fold(snap.States[name], r, recs[i])
				if err != nil {
					return nil, err
				}
				snap.States[name] = s
				if recs[i].Changes[name].Release != nil || ends(recs[i], name) && policy.Anchors(recs[i], name, s.Release, s.Stable, s.LiveWeight()) {
					// Where a derive from scratch would start it.
					snap.Depths[name] = at[i]
				}
			}
		}
	}
	for name := range snap.Depths {
		if s := snap.States[name]; s.Release == s.Stable && s.LiveWeight() == 0 {
			delete(snap.Depths, name) // no history needed, as a cold derive has it
		}
	}
	for name, r := range snap.Rollouts {
		if r.HasTargets() {
			oldest := slices.Clone(recs)
			slices.Reverse(oldest)
			fs, err := d.foldFleet(prev.Fleets[name], r, oldest)
			if err != nil {
				return nil, err
			}
			snap.putFleet(name, fs)
		}
	}
	for name, s := range snap.States {
		if _, target := policy.SplitTarget(name); target == "" && s.Phase == policy.PhaseStable {
			// As a derive from scratch, which reads no history for a
			// rollout with no release in flight, would have it.
			s.Rejected, s.Malformed = nil, nil
			snap.States[name] = s
		}
	}
	return snap, nil
}

// maxIncremental bounds an incremental update; past it a cold derive is
// as cheap.
const maxIncremental = 10000

// reload returns a snapshot at tip with the specs of prev when neither the
// releases/ tree nor a file their targets were checked against changed,
// or freshly loaded ones.
func (d *Deriver) reload(prev *Snapshot, tip plumbing.Hash) (*Snapshot, error) {
	tree, err := d.treeAt(tip)
	if err != nil {
		return nil, err
	}
	var specs plumbing.Hash
	if e, ok := FindEntry(tree, policy.SpecDir); ok {
		specs = e.Hash
	}
	if specs != prev.specs {
		return d.load(tip)
	}
	w := d.walker()
	for path, h := range prev.targets {
		if w.blobHash(tree, path) != h {
			return d.load(tip)
		}
	}
	return &Snapshot{Tip: tip, Rollouts: prev.Rollouts, Invalid: prev.Invalid, States: map[string]policy.State{}, specs: specs,
		targets: prev.targets}, nil
}

// treeAt reads the root tree of commit tip.
func (d *Deriver) treeAt(tip plumbing.Hash) (*object.Tree, error) {
	c, err := object.GetCommit(d.objects(), tip)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", tip, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", tip, err)
	}
	return tree, nil
}

// record reads commit c, whose first parent's tree is parentTree (nil for
// a root commit), for the given rollouts: its trailers and what it
// changed in each rollout's files. It returns nil when the commit concerns
// none of them; otherwise the record also has the author, the time and
// the verified signer.
func (d *Deriver) record(w *walker, l link, parentTree *object.Tree, rollouts map[string]*policy.Rollout) (*policy.Record, error) {
	c := l.commit
	tree, err := w.rootTree(c)
	if err != nil {
		return nil, err
	}
	rec := &policy.Record{Commit: c.Hash.String(), Changes: map[string]policy.Change{}}
	relevant := d.readTrailers(c, rec)
	var merged []*object.Commit
	if len(c.ParentHashes) > 1 {
		if merged, err = w.mergedIn(c); err != nil {
			return nil, err
		}
		if rec.Merged, err = d.commandRecords(w, merged); err != nil {
			return nil, err
		}
		relevant = relevant || len(rec.Merged) > 0
	}
	for name, r := range w.touched(tree, parentTree, rollouts) {
		ch, err := w.change(tree, parentTree, r)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %s: %w", short(c.Hash), name, err)
		}
		if ch != (policy.Change{}) || w.replicasTouched(tree, parentTree, r) {
			rec.Changes[name] = ch
			relevant = true
		}
	}
	if w.jobFacts(tree, parentTree, rollouts, rec) {
		relevant = true
	}
	if !relevant {
		return nil, nil
	}
	if err := d.finish(w, l, rec); err != nil {
		return nil, err
	}
	w.addFieldChanges(tree, parentTree, rollouts, rec)
	if startsRelease(rec) {
		if err := d.mergedSigners(w, merged, rec); err != nil {
			return nil, err
		}
		rec.Migration = trailer.Migration(trailer.Parse(c.Message))
		for _, p := range d.Guardrails.Migrations.Paths {
			// A link there counts as changed: what changes behind it
			// cannot be seen.
			if mp := policy.MigrationPath(p); !w.sameEntry(tree, parentTree, mp) || w.linkOn(tree, mp) != nil {
				rec.MigrationPaths = append(rec.MigrationPaths, p)
			}
		}
	}
	return rec, nil
}

// commandRecords returns the records of the commits cs (newest first)
// that give commands, oldest first: their commands and verified signers
// only. Ramp's own trailers never count outside the release branch's
// first-parent history.
func (d *Deriver) commandRecords(w *walker, cs []*object.Commit) ([]*policy.Record, error) {
	var out []*policy.Record
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		// Off the first-parent history: its commands count only where it
		// descends from the commits they must (descent.go).
		rec := &policy.Record{Commit: c.Hash.String(), Ancestry: &policy.Ancestry{}}
		if !d.readTrailers(c, rec) || len(rec.Commands) == 0 {
			continue
		}
		rec.Entries, rec.Malformed = nil, nil
		if err := d.finish(w, link{commit: c}, rec); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// mergedSigners records who signed the commits merged (newest first)
// that change files, for a merge that starts a release: they wrote it.
func (d *Deriver) mergedSigners(w *walker, merged []*object.Commit, rec *policy.Record) error {
	if d.Keys == nil {
		return nil
	}
	for _, m := range merged {
		if len(m.ParentHashes) > 0 {
			if p, err := w.commit(m.ParentHashes[0]); err == nil && p.TreeHash == m.TreeHash {
				continue // changes nothing: a command, not authorship
			}
		}
		mt, err := w.parentsTime(link{commit: m})
		if err != nil {
			return err
		}
		signer, err := d.Keys.VerifyAt(m, mt)
		if err != nil {
			rec.MergedUnverified = append(rec.MergedUnverified, fmt.Sprintf("%s by %s (%v)", short(m.Hash), m.Author.Email, err))
			continue
		}
		if !slices.Contains(rec.MergedSigners, signer.Principal) {
			rec.MergedSigners = append(rec.MergedSigners, signer.Principal)
		}
	}
	return nil
}

// readTrailers fills the record's entries and commands from the commit
// message, and reports whether it has any.
func (d *Deriver) readTrailers(c *object.Commit, rec *policy.Record) bool {
	if !mentionsRamp(c.Message) {
		return false
	}
	rec.Entries, rec.Commands, rec.Malformed = trailer.ParseRecord(trailer.Parse(c.Message))
	return len(rec.Entries)+len(rec.Commands)+len(rec.Malformed) > 0
}

// mentionsRamp reports whether msg has "ramp-" in any case: trailer keys
// match without regard to case, as in git, so RAMP-ABORT is Ramp-Abort.
func mentionsRamp(msg string) bool {
	const key = "ramp-"
	for i := 0; i+len(key) <= len(msg); i++ {
		if msg[i]|0x20 == 'r' && strings.EqualFold(msg[i:i+len(key)], key) {
			return true
		}
	}
	return false
}

// finish adds the author, time and verified signer of a relevant commit.
// Key validity is judged no earlier than the newest of its parents: a
// commit cannot be older than what it builds on, whatever date it claims.
func (d *Deriver) finish(w *walker, l link, rec *policy.Record) error {
	c := l.commit
	rec.Author = c.Author.Email
	rec.Time = c.Committer.When
	if d.Keys == nil {
		rec.SignatureError = "no trusted keys configured"
		return nil
	}
	notBefore, err := w.parentsTime(l)
	if err != nil {
		return err
	}
	if signer, err := d.Keys.VerifyAt(c, notBefore); err != nil {
		rec.SignatureError = err.Error()
	} else {
		rec.Signer = signer
	}
	return nil
}

// ends reports whether rec has one of ramp's entries for rollout name
// that may end its release (abort or rollback) or restate its end
// (checkpoint): policy.Anchors decides.
func ends(rec *policy.Record, name string) bool {
	for _, e := range rec.Entries {
		if e.Rollout == name && (e.Action == policy.ActionAbort || e.Action == policy.ActionRollback || e.Action == policy.ActionCheckpoint) {
			return true
		}
	}
	return false
}

// startsRelease reports whether rec changes any rollout's release field.
func startsRelease(rec *policy.Record) bool {
	for _, ch := range rec.Changes {
		if ch.Release != nil {
			return true
		}
	}
	return false
}

func short(h plumbing.Hash) string { return h.String()[:10] }

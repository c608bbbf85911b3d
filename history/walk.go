package history

import (
	"errors"
	"fmt"
	"io"
	"iter"
	pathpkg "path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/ramp-dev/ramp/manifest"
	"github.com/ramp-dev/ramp/policy"
)

// walker reads first-parent history and the few files a rollout manages,
// by blob hash: never a tree diff. It keeps the trees it decoded, so a
// directory that did not change between a commit and its parent is
// decoded once, and a lookup in it is a map access.
//
// The tree cache is bounded and never dropped at once: it has two
// generations of at most maxTrees/2 trees each. A full young generation
// becomes the old one (the older trees go); a tree found in the old
// generation moves back to the young one. A long walk keeps the trees it
// still uses (the specs' directories, a rollout's unchanged subtree).
type walker struct {
	// s reads objects: the packs mapped (packObjects), else the
	// repository's storage.
	s     storer.EncodedObjectStorer
	trees map[plumbing.Hash]*object.Tree
	old   map[plumbing.Hash]*object.Tree
	// top holds the names of the root entries that differ between the
	// pair of root trees topOf: every rollout asks about the same pair.
	topOf [2]plumbing.Hash
	top   map[string]bool
	// paths, when set, indexes the rollouts touched is asked about
	// (touched_index.go).
	paths *rolloutPaths
	// known, when set, returns a tree the caller decoded, or nil. Such a
	// tree has no storer: it is for entry lookups of one name, as the
	// walker does, not for tree.File or tree.Tree.
	known func(plumbing.Hash) *object.Tree
	// sc reads raw trees by hash (scan), made when first needed.
	sc *scan
}

// scan returns the walker's scan.
func (w *walker) scan() *scan {
	if w.sc == nil {
		w.sc = newScan(w)
	}
	return w.sc
}

// maxTrees bounds the walker's tree cache.
const maxTrees = 20000

func newWalker(s storer.EncodedObjectStorer) *walker {
	return &walker{s: s, trees: map[plumbing.Hash]*object.Tree{}}
}

// commit returns commit h.
func (w *walker) commit(h plumbing.Hash) (*object.Commit, error) {
	return object.GetCommit(w.s, h)
}

// tree returns the decoded tree h, a directory below a commit's root.
func (w *walker) tree(h plumbing.Hash) (*object.Tree, error) { return w.lookup(h, true) }

// lookup returns the decoded tree h, from the cache, else from known
// when the tree is a subdirectory (a root tree is read as a whole, by
// tree.Tree, and needs its storer), else decoded.
func (w *walker) lookup(h plumbing.Hash, subdir bool) (*object.Tree, error) {
	if t, ok := w.trees[h]; ok {
		return t, nil
	}
	t, ok := w.old[h]
	if !ok && subdir && w.known != nil {
		t = w.known(h)
		ok = t != nil
	}
	if !ok {
		var err error
		if t, err = object.GetTree(w.s, h); err != nil {
			return nil, fmt.Errorf("read tree %s: %w", h, err)
		}
	}
	if len(w.trees) >= maxTrees/2 {
		w.old, w.trees = w.trees, make(map[plumbing.Hash]*object.Tree, maxTrees/2)
	}
	w.trees[h] = t
	return t, nil
}

// rootTree returns the tree of commit c.
func (w *walker) rootTree(c *object.Commit) (*object.Tree, error) {
	if c == nil {
		return nil, nil
	}
	return w.lookup(c.TreeHash, false)
}

// link is one commit of a first-parent walk and its first parent (nil
// for the root commit).
type link struct {
	commit, parent *object.Commit
}

// firstParents walks the first-parent history from tip back to the root,
// newest first, yielding each commit with its first parent. It stops after
// yielding an error.
func (w *walker) firstParents(tip plumbing.Hash) iter.Seq2[link, error] {
	return func(yield func(link, error) bool) {
		c, err := w.commit(tip)
		if err != nil {
			yield(link{}, fmt.Errorf("read commit %s: %w", tip, err))
			return
		}
		for c != nil {
			var parent *object.Commit
			if len(c.ParentHashes) > 0 {
				if parent, err = w.commit(c.ParentHashes[0]); err != nil {
					yield(link{}, fmt.Errorf("read parent %s of %s: %w", c.ParentHashes[0], short(c.Hash), err))
					return
				}
			}
			if !yield(link{c, parent}, nil) {
				return
			}
			c = parent
		}
	}
}

// parentsTime is the newest committer time of l.commit's parents (zero
// for a root commit). l.parent, when set, is its first parent.
func (w *walker) parentsTime(l link) (time.Time, error) {
	var newest time.Time
	for i, h := range l.commit.ParentHashes {
		p := l.parent
		if i > 0 || p == nil {
			var err error
			if p, err = w.commit(h); err != nil {
				return newest, fmt.Errorf("read parent %s of %s: %w", h, short(l.commit.Hash), err)
			}
		}
		if p.Committer.When.After(newest) {
			newest = p.Committer.When
		}
	}
	return newest, nil
}

// maxMerged bounds how many commits mergedIn reads for one merge.
const maxMerged = 1000

// mergedIn returns the commits merge c brings into its first parent's
// history: those reachable from its other parents but not from the merge
// base(s) with the first parent, newest first, at most maxMerged.
func (w *walker) mergedIn(c *object.Commit) ([]*object.Commit, error) {
	first, err := w.commit(c.ParentHashes[0])
	if err != nil {
		return nil, fmt.Errorf("read parent of %s: %w", short(c.Hash), err)
	}
	stop := map[plumbing.Hash]bool{first.Hash: true}
	var queue []*object.Commit
	for _, h := range c.ParentHashes[1:] {
		p, err := w.commit(h)
		if err != nil {
			return nil, fmt.Errorf("read parent %s of %s: %w", h, short(c.Hash), err)
		}
		bases, err := first.MergeBase(p)
		if err != nil {
			return nil, fmt.Errorf("merge base of %s: %w", short(c.Hash), err)
		}
		for _, b := range bases {
			stop[b.Hash] = true
		}
		queue = append(queue, p)
	}
	var out []*object.Commit
	for len(queue) > 0 && len(out) < maxMerged {
		m := queue[0]
		queue = queue[1:]
		if stop[m.Hash] {
			continue
		}
		stop[m.Hash] = true
		out = append(out, m)
		for _, h := range m.ParentHashes {
			p, err := w.commit(h)
			if err != nil {
				return nil, fmt.Errorf("read parent %s of %s: %w", h, short(m.Hash), err)
			}
			queue = append(queue, p)
		}
	}
	return out, nil
}

// sameEntry reports whether path names the same object (or nothing) in
// trees a and b. It descends both trees together and stops at the first
// directory they share, so an unchanged part of the tree costs one lookup.
func (w *walker) sameEntry(a, b *object.Tree, path string) bool {
	if a != nil && b != nil && a.Hash != b.Hash && w.scan().same(a.Hash, b.Hash, path) {
		// Proven from the raw trees, without decoding them.
		return true
	}
	if a != nil && b != nil && a.Hash != b.Hash {
		name, _, _ := strings.Cut(path, "/")
		if !w.changedAtTop(a, b)[name] {
			return true
		}
	}
	for {
		if a == nil || b == nil {
			return a == b
		}
		if a.Hash == b.Hash {
			return true
		}
		name, rest, nested := strings.Cut(path, "/")
		ea, oka := FindEntry(a, name)
		eb, okb := FindEntry(b, name)
		switch {
		case !oka || !okb:
			return !oka && !okb
		case ea.Hash == eb.Hash:
			return true
		case !nested:
			return false
		}
		var err error
		if a, err = w.tree(ea.Hash); err != nil {
			return false
		}
		if b, err = w.tree(eb.Hash); err != nil {
			return false
		}
		path = rest
	}
}

// changedAtTop returns the names of the entries that differ between the
// root trees a and b.
func (w *walker) changedAtTop(a, b *object.Tree) map[string]bool {
	if w.top != nil && w.topOf == [2]plumbing.Hash{a.Hash, b.Hash} {
		return w.top
	}
	top := map[string]bool{}
	seen := map[string]plumbing.Hash{}
	for _, e := range a.Entries {
		seen[e.Name] = e.Hash
	}
	for _, e := range b.Entries {
		if h, ok := seen[e.Name]; !ok || h != e.Hash {
			top[e.Name] = true
		}
		delete(seen, e.Name)
	}
	for name := range seen {
		top[name] = true
	}
	w.topOf, w.top = [2]plumbing.Hash{a.Hash, b.Hash}, top
	return top
}

// touched returns the rollouts whose files (policy.Rollout.ManagedFiles)
// may differ between a commit's tree and its parent's: those with a
// file at or below a path where the two trees differ (diffPaths). It
// reads each changed directory once for all rollouts, where change
// compares each rollout's files on its own: a pass's commits each change
// one rollout's file in a directory shared by all. Without a parent every
// rollout is returned.
func (w *walker) touched(tree, parent *object.Tree, rollouts map[string]*policy.Rollout) map[string]*policy.Rollout {
	if parent == nil || len(rollouts) < 2 {
		return rollouts
	}
	changed := map[string]bool{}
	w.diffPaths(tree, parent, "", changed)
	if idx := w.pathIndex(rollouts); idx != nil {
		return idx.touched(changed)
	}
	out := map[string]*policy.Rollout{}
	for name, r := range rollouts {
		for _, f := range r.ManagedFiles() {
			if atOrBelow(f, changed) {
				out[name] = r
				break
			}
		}
	}
	return out
}

// atOrBelow reports whether path, or a directory above it, is in changed.
func atOrBelow(path string, changed map[string]bool) bool {
	for i := 0; i < len(path); i++ {
		if path[i] == '/' && changed[path[:i]] {
			return true
		}
	}
	return changed[path]
}

// diffPaths adds to changed the path (below prefix) of every entry that
// differs between trees a and b: present in one only, or with another
// hash. It descends into an entry that is a directory on both sides and
// lists it no further: a path below a listed one differs too, as
// sameEntry would find. Entries are matched in one merge of the two
// sorted lists (git's order); were a tree not sorted, an entry would only
// be listed needlessly, never missed.
func (w *walker) diffPaths(a, b *object.Tree, prefix string, changed map[string]bool) {
	if a.Hash == b.Hash {
		return
	}
	if w.diffAligned(a, b, prefix, changed) {
		return
	}
	i, j := 0, 0
	for i < len(a.Entries) || j < len(b.Entries) {
		var c int
		switch {
		case i == len(a.Entries):
			c = 1
		case j == len(b.Entries):
			c = -1
		default:
			c = CompareEntries(a.Entries[i], b.Entries[j])
		}
		switch {
		case c < 0:
			changed[prefix+a.Entries[i].Name] = true
			i++
		case c > 0:
			changed[prefix+b.Entries[j].Name] = true
			j++
		default:
			w.diffPair(&a.Entries[i], &b.Entries[j], prefix, changed)
			i, j = i+1, j+1
		}
	}
}

// diffPair is diffPaths for entries ea and eb, of the same name.
func (w *walker) diffPair(ea, eb *object.TreeEntry, prefix string, changed map[string]bool) {
	if ea.Hash == eb.Hash {
		return
	}
	path := prefix + ea.Name
	if ea.Mode != filemode.Dir || eb.Mode != filemode.Dir {
		changed[path] = true
		return
	}
	ta, erra := w.tree(ea.Hash)
	tb, errb := w.tree(eb.Hash)
	if erra != nil || errb != nil {
		changed[path] = true // as sameEntry: what cannot be read differs
		return
	}
	w.diffPaths(ta, tb, path+"/", changed)
}

// diffAligned is diffPaths for trees whose entries have the same names in
// the same places, as two versions of a directory that only edits made
// (a pass's N commits each change one entry of an N-entry directory): it
// compares them place by place, without ordering names, and reports false,
// leaving the merge to diffPaths, at the first place where the names
// differ. What it added to changed by then diffPaths adds again.
func (w *walker) diffAligned(a, b *object.Tree, prefix string, changed map[string]bool) bool {
	if len(a.Entries) != len(b.Entries) {
		return false
	}
	for i := range a.Entries {
		if a.Entries[i].Name != b.Entries[i].Name {
			return false
		}
		w.diffPair(&a.Entries[i], &b.Entries[i], prefix, changed)
	}
	return true
}

// change compares the files rollout r manages in a commit's tree with its
// parent's (nil for a root commit) and reads the new field values where
// they changed.
func (w *walker) change(tree, parent *object.Tree, r *policy.Rollout) (policy.Change, error) {
	var ch policy.Change
	if parent != nil && parent.Hash == tree.Hash {
		return ch, nil
	}
	read := func(f policy.FieldRef) (*string, error) {
		if w.sameEntry(tree, parent, f.File) {
			return nil, nil
		}
		v, err := w.fieldAt(tree, f)
		if err != nil && !errors.Is(err, object.ErrFileNotFound) {
			return nil, err
		}
		return &v, nil
	}
	var err error
	if ch.Release, err = read(r.Spec.Release); err != nil {
		return ch, err
	}
	if ch.Stable, err = read(r.Spec.Stable); err != nil {
		return ch, err
	}
	ch.Target = !w.sameEntry(tree, parent, r.TargetFile())
	if ch.Target {
		if data, err := w.readFile(tree, r.TargetFile()); err == nil {
			if weight, err := manifest.Weight(data, r); err == nil {
				ch.Weight = &weight
			}
		}
	}
	ch.Spec = !w.sameEntry(tree, parent, r.Path)
	return ch, nil
}

// values are a rollout's field values at one commit.
type values struct {
	release, stable string
	weight          int
}

// readValues reads the release, stable and canary weight at tree.
func (w *walker) readValues(tree *object.Tree, r *policy.Rollout) (values, error) {
	var v values
	var err error
	if tree == nil {
		return v, object.ErrFileNotFound
	}
	if v.release, err = w.fieldAt(tree, r.Spec.Release); err != nil {
		return v, err
	}
	if v.stable, err = w.fieldAt(tree, r.Spec.Stable); err != nil {
		return v, err
	}
	data, err := w.readFile(tree, r.TargetFile())
	if err != nil {
		return v, err
	}
	v.weight, err = manifest.Weight(data, r)
	return v, err
}

// fieldAt reads one field of one file at tree.
func (w *walker) fieldAt(tree *object.Tree, f policy.FieldRef) (string, error) {
	data, err := w.readFile(tree, f.File)
	if err != nil {
		return "", err
	}
	p, err := policy.ParseFieldPath(f.Path)
	if err != nil {
		return "", err
	}
	v, err := manifest.GetField(data, p)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", f.File, f.Path, err)
	}
	return v, nil
}

// readFile returns a file's content at tree, through the tree cache. A
// symbolic link on the way is a *SymlinkError.
func (w *walker) readFile(tree *object.Tree, path string) ([]byte, error) {
	e, err := w.entry(tree, path)
	if err != nil {
		return nil, err
	}
	b, err := object.GetBlob(w.s, e.Hash)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if e.Mode == filemode.Symlink {
		return nil, symlinkError(path, path, b)
	}
	return readBlob(b, path)
}

// ReadFile returns the content of the file at path in tree. A symbolic
// link on the way is a *SymlinkError.
func ReadFile(tree *object.Tree, path string) ([]byte, error) {
	f, err := tree.File(path)
	if err != nil {
		if l := linkAbove(tree, path); l != nil {
			return nil, l
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Mode == filemode.Symlink {
		return nil, symlinkError(path, path, &f.Blob)
	}
	return readBlob(&f.Blob, path)
}

// readBlob returns the content of blob b, the file at path.
func readBlob(b *object.Blob, path string) ([]byte, error) {
	rd, err := b.Reader()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// SymlinkError reports a file ramp reads that is, or lies below, a
// symbolic link. git stores the link, not what it points at, so ramp
// never follows one: it would read the link's text from the repository,
// and a link out of the repository would let a file nobody reviews decide.
type SymlinkError struct {
	// Path is the file ramp reads; Link is Path or a directory above it,
	// the link; Target is where the link points.
	Path, Link, Target string
}

// Unwrap makes a link read as a missing file (object.ErrFileNotFound):
// there is no regular file at Path.
func (e *SymlinkError) Unwrap() error { return object.ErrFileNotFound }

// Error says which file, which link, and what to do.
func (e *SymlinkError) Error() string {
	if e.Link == e.Path {
		return fmt.Sprintf("%s is a symbolic link (to %s): ramp reads files as git stores them and does not follow links; commit the file itself",
			e.Path, e.Target)
	}
	return fmt.Sprintf("%s: %s is a symbolic link (to %s): ramp reads files as git stores them and does not follow links; commit the directory itself",
		e.Path, e.Link, e.Target)
}

// symlinkError is the *SymlinkError of path, whose part link is a link
// stored as blob b.
func symlinkError(path, link string, b *object.Blob) error {
	target, err := readBlob(b, link)
	if err != nil {
		return err
	}
	return &SymlinkError{Path: path, Link: link, Target: string(target)}
}

// linkAbove returns the *SymlinkError of a link among the directories
// above path in tree, or nil.
func linkAbove(tree *object.Tree, path string) error {
	for dir := pathpkg.Dir(path); dir != "."; dir = pathpkg.Dir(dir) {
		if f, err := tree.File(dir); err == nil && f.Mode == filemode.Symlink {
			return symlinkError(path, dir, &f.Blob)
		}
	}
	return nil
}

// blobHash returns the hash of the entry at path in root, or zero when
// there is none (or a link is on the way).
func (w *walker) blobHash(root *object.Tree, path string) plumbing.Hash {
	e, err := w.entry(root, path)
	if err != nil {
		return plumbing.ZeroHash
	}
	return e.Hash
}

// entry returns the entry at path in root, decoding only the trees on the
// way. A link among the directories above path is a *SymlinkError.
func (w *walker) entry(root *object.Tree, path string) (*object.TreeEntry, error) {
	t, rest := root, path
	for {
		name, after, nested := strings.Cut(rest, "/")
		e, ok := FindEntry(t, name) // one level: no subtree is decoded
		if !ok {
			return nil, fmt.Errorf("%s: %w", path, object.ErrFileNotFound)
		}
		if !nested {
			return e, nil
		}
		if e.Mode == filemode.Symlink {
			link := strings.TrimSuffix(path, "/"+after)
			b, err := object.GetBlob(w.s, e.Hash)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", link, err)
			}
			return nil, symlinkError(path, link, b)
		}
		var err error
		if t, err = w.tree(e.Hash); err != nil {
			return nil, fmt.Errorf("%s: %w", path, object.ErrFileNotFound)
		}
		rest = after
	}
}

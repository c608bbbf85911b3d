package history

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// A scan reads commits and trees as raw bytes, for a walk over a long
// history that only needs to know which commits can concern a rollout:
// most commits of a release repository carry no trailers and change none
// of the rollout's files. It never decides what a commit means; it only
// proves that a commit is of no interest (see skips), and every other
// commit is read in full by the walker as before.
//
// What it proves it proves from hashes: a path names the same object in
// two trees when the trees, or a directory on the way, have the same hash.
// Whatever it cannot read or is not sure of (a tree it cannot parse, an
// entry on one side only, a name twice in one tree) is "not proven".
type scan struct {
	w *walker
	// entries caches a tree's entry for one name, in two bounded
	// generations (as walker.tree): a walk looks up the same few names
	// in each tree.
	entries, oldEntries map[entryKey]entryAt
	// files are the sorted paths each spec version manages (managed).
	files map[*specAt][]string
	// wide and small are the trees used last, parsed, most recent first,
	// those of wideTree entries or more apart: a commit's lookups read the
	// same few trees (its root and its parent's, a directory and its
	// parent's) for several names, and a commit that starts a release of
	// N rollouts sharing a directory looks N names up in two trees of N
	// entries, between them the small trees of each rollout.
	wide, small [4]*rawTree
}

// wideTree is how many entries make a tree wide (scan.wide).
const wideTree = 64

// rawTree is a tree's raw content and where each of its entries starts.
type rawTree struct {
	hash plumbing.Hash
	data []byte
	// at is where each entry starts in data; sorted is whether the names
	// are in git's order (each after the one before, or the same name),
	// so a name is found by a binary search.
	at     []int32
	sorted bool
}

// rawCommit is what a scan reads of a commit.
type rawCommit struct {
	hash    plumbing.Hash
	tree    plumbing.Hash
	parents []plumbing.Hash
	// ramp is whether the message mentions "ramp-" in any case
	// (mentionsRamp): a commit without it carries no trailers of ramp's.
	ramp bool
}

// entryKey is a name looked up in a tree.
type entryKey struct {
	tree plumbing.Hash
	name string
}

// entryAt is a lookup's result: the entry's hash, or found false; ok
// false when the tree could not be read or holds the name twice.
type entryAt struct {
	hash      plumbing.Hash
	found, ok bool
}

// maxEntries bounds each generation of the scan's lookup cache.
const maxEntries = 1 << 12

func newScan(w *walker) *scan {
	return &scan{w: w, entries: map[entryKey]entryAt{}}
}

// raw returns the content of object h, which must be of type t.
func (sc *scan) raw(t plumbing.ObjectType, h plumbing.Hash) ([]byte, error) {
	if p, ok := sc.w.s.(*packObjects); ok {
		o, err := p.find(h)
		if err == nil && o != nil {
			if o.typ != t {
				return nil, plumbing.ErrObjectNotFound
			}
			return o.data, nil
		}
	}
	o, err := sc.w.s.EncodedObject(t, h)
	if err != nil {
		return nil, err
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

var errBadCommit = errors.New("malformed commit")

// commit reads commit h's tree, parents and whether its message
// mentions ramp.
func (sc *scan) commit(h plumbing.Hash) (rawCommit, error) {
	data, err := sc.raw(plumbing.CommitObject, h)
	if err != nil {
		return rawCommit{}, err
	}
	return parseCommit(h, data)
}

// parseCommit reads commit h's tree, parents and whether its message
// mentions ramp from its content, data, as go-git decodes a commit: the
// tree on the first line, the parents on the lines right after it (a
// parent line anywhere else is not a parent).
func parseCommit(h plumbing.Hash, data []byte) (rawCommit, error) {
	c := rawCommit{hash: h}
	header, message, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		// No message: nothing to prefilter; the whole object is read.
		header, message = data, data
	}
	line, header, _ := bytes.Cut(header, []byte("\n"))
	hash, ok := bytes.CutPrefix(line, []byte("tree "))
	if !ok {
		return c, fmt.Errorf("%w %s: no tree first", errBadCommit, short(h))
	}
	var err error
	if c.tree, err = hexHash(hash); err != nil {
		return c, err
	}
	for len(header) > 0 {
		line, header, _ = bytes.Cut(header, []byte("\n"))
		hash, ok := bytes.CutPrefix(line, []byte("parent "))
		if !ok {
			break
		}
		p, err := hexHash(hash)
		if err != nil {
			return c, err
		}
		c.parents = append(c.parents, p)
	}
	c.ramp = mentionsRampBytes(message)
	return c, nil
}

// hexHash parses a 40-digit hex hash.
func hexHash(b []byte) (plumbing.Hash, error) {
	var h plumbing.Hash
	if len(b) != 2*len(h) {
		return h, errBadCommit
	}
	if _, err := hex.Decode(h[:], b); err != nil {
		return h, errBadCommit
	}
	return h, nil
}

// mentionsRampBytes is mentionsRamp on raw bytes.
func mentionsRampBytes(msg []byte) bool {
	const key = "ramp-"
	for i := 0; i+len(key) <= len(msg); i++ {
		if msg[i]|0x20 == 'r' && bytes.EqualFold(msg[i:i+len(key)], []byte(key)) {
			return true
		}
	}
	return false
}

// tree returns tree h parsed: where its entries start, and whether they
// are in git's order. A tree that is not an entry list (a mode without a
// name, a hash cut short) is an error.
func (sc *scan) tree(h plumbing.Hash) (*rawTree, error) {
	for _, c := range []*[4]*rawTree{&sc.wide, &sc.small} {
		for i, t := range c {
			if t != nil && t.hash == h {
				copy(c[1:i+1], c[:i])
				c[0] = t
				return t, nil
			}
		}
	}
	data, err := sc.raw(plumbing.TreeObject, h)
	if err != nil {
		return nil, err
	}
	t := &rawTree{hash: h, data: data, sorted: true}
	var prev rawEntry
	for off := 0; off < len(data); {
		sp := bytes.IndexByte(data[off:], ' ')
		if sp < 0 {
			return nil, errBadTree
		}
		nul := bytes.IndexByte(data[off+sp+1:], 0)
		end := off + sp + 1 + nul + 1 + 20
		if nul < 0 || end > len(data) {
			return nil, errBadTree
		}
		e := rawEntry{name: data[off+sp+1 : off+sp+1+nul], dir: string(data[off:off+sp]) == "40000"}
		if len(t.at) > 0 && compareRaw(prev, e) > 0 {
			t.sorted = false
		}
		t.at, prev, off = append(t.at, int32(off)), e, end
	}
	c := &sc.small
	if len(t.at) >= wideTree {
		c = &sc.wide
	}
	copy(c[1:], c[:len(c)-1])
	c[0] = t
	return t, nil
}

var errBadTree = errors.New("malformed tree")

// findDecoded is find in a tree the caller decoded, whose entries are in
// git's order (as encodeTree, which wrote it, requires): the update after
// a pass looks names up in the N-entry directories the pass wrote, and
// reads none of them again.
func findDecoded(entries []object.TreeEntry, name string) entryAt {
	return findSorted(len(entries), name,
		func(i int, dir bool) bool { return keyBefore(entries[i], name, dir) },
		func(i int) (bool, plumbing.Hash) { return entries[i].Name == name, entries[i].Hash })
}

// findSorted looks name up among n entries in git's order: before(i,
// dir) is whether entry i sorts before name (read as a directory's when
// dir is set), at(i) whether entry i is called name, and its hash. The
// first entry not before name as a file's, and as a directory's, are
// looked at with the entry after each: a name held twice as one kind
// sorts together, as a file and a directory each search finds one. A
// name held twice is "not sure".
func findSorted(n int, name string, before func(i int, dir bool) bool, at func(i int) (bool, plumbing.Hash)) entryAt {
	var e entryAt
	seen := -1
	for _, dir := range []bool{false, true} {
		i := sort.Search(n, func(i int) bool { return !before(i, dir) })
		for _, j := range []int{i, i + 1} {
			if j == seen || j >= n {
				continue
			}
			is, h := at(j)
			if !is {
				continue
			}
			if e.found {
				return entryAt{}
			}
			e.found, e.hash, seen = true, h, j
		}
	}
	e.ok = true
	return e
}

// rawEntry is one entry of a raw tree.
type rawEntry struct {
	name []byte
	dir  bool
	hash []byte
}

// entry returns entry i.
func (t *rawTree) entry(i int) rawEntry {
	e := t.data[t.at[i]:]
	sp := bytes.IndexByte(e, ' ')
	nul := sp + 1 + bytes.IndexByte(e[sp+1:], 0)
	return rawEntry{name: e[sp+1 : nul], dir: string(e[:sp]) == "40000", hash: e[nul+1 : nul+21]}
}

// compareRaw orders raw entries as CompareEntries orders decoded ones.
func compareRaw(a, b rawEntry) int {
	if bytes.Equal(a.name, b.name) {
		return 0
	}
	return compareKeys(a.name, a.dir, b.name, b.dir)
}

// entry looks name up in tree h, a directory below a commit's root when
// sub is set.
func (sc *scan) entry(h plumbing.Hash, name string, sub bool) entryAt {
	key := entryKey{h, name}
	if e, ok := sc.entries[key]; ok {
		return e
	}
	e, ok := sc.oldEntries[key]
	if !ok {
		e = sc.find(h, name, sub)
	}
	if len(sc.entries) >= maxEntries {
		sc.oldEntries, sc.entries = sc.entries, make(map[entryKey]entryAt, maxEntries)
	}
	sc.entries[key] = e
	return e
}

// find looks name up in tree h. A name held twice (a malformed tree) is
// "not sure", never one of the two. A tree in git's order is searched
// (name as a file's, then as a directory's, each with its neighbours for
// the same name again); any other is read whole.
func (sc *scan) find(h plumbing.Hash, name string, sub bool) entryAt {
	if sub && sc.w.known != nil {
		if t := sc.w.known(h); t != nil {
			return findDecoded(t.Entries, name)
		}
	}
	t, err := sc.tree(h)
	if err != nil {
		return entryAt{}
	}
	if t.sorted {
		return findSorted(len(t.at), name,
			func(i int, dir bool) bool {
				x := t.entry(i)
				return compareKeys(x.name, x.dir, name, dir) < 0
			},
			func(i int) (bool, plumbing.Hash) {
				x := t.entry(i)
				return string(x.name) == name, plumbing.Hash(x.hash)
			})
	}
	var e entryAt
	for i := range t.at {
		x := t.entry(i)
		if string(x.name) != name {
			continue
		}
		if e.found {
			return entryAt{}
		}
		e.found, e.hash = true, plumbing.Hash(x.hash)
	}
	e.ok = true
	return e
}

// same reports whether path is proven to name the same entry, or none,
// in the root trees a and b (as walker.sameEntry would find): it
// descends both together and stops at the first directory they share.
func (sc *scan) same(a, b plumbing.Hash, path string) bool {
	for sub := false; ; sub = true {
		if a == b {
			return true
		}
		name, rest, nested := cutPath(path)
		ea, eb := sc.entry(a, name, sub), sc.entry(b, name, sub)
		switch {
		case !ea.ok || !eb.ok:
			return false
		case !ea.found && !eb.found:
			return true
		case ea.found != eb.found:
			return false
		case ea.hash == eb.hash:
			return true
		case !nested:
			return false
		}
		a, b, path = ea.hash, eb.hash, rest
	}
}

// sameAll reports whether every one of paths, sorted, is proven the
// same in trees a and b, as same would find for each: the paths that
// start with one name share its lookups.
func (sc *scan) sameAll(a, b plumbing.Hash, paths []string, sub bool) bool {
	if a == b {
		return true
	}
	for i := 0; i < len(paths); {
		name, _, _ := cutPath(paths[i])
		j := i
		var below [8]string
		rest, whole := below[:0], false
		for ; j < len(paths); j++ {
			n, r, nested := cutPath(paths[j])
			if n != name {
				break
			}
			if nested {
				rest = append(rest, r)
			} else {
				whole = true
			}
		}
		i = j
		ea, eb := sc.entry(a, name, sub), sc.entry(b, name, sub)
		switch {
		case !ea.ok || !eb.ok:
			return false
		case !ea.found && !eb.found:
			continue
		case ea.found != eb.found:
			return false
		case ea.hash == eb.hash:
			continue
		case whole:
			return false
		}
		if !sc.sameAll(ea.hash, eb.hash, rest, true) {
			return false
		}
	}
	return true
}

// blob returns the hash of the entry at path in root tree h (zero when
// there is none), and whether it is sure: a path through something that
// is not a tree is left to walker.blobHash.
func (sc *scan) blob(h plumbing.Hash, path string) (plumbing.Hash, bool) {
	for sub := false; ; sub = true {
		name, rest, nested := cutPath(path)
		e := sc.entry(h, name, sub)
		switch {
		case !e.ok:
			return plumbing.ZeroHash, false
		case !e.found:
			return plumbing.ZeroHash, true
		case !nested:
			return e.hash, true
		}
		h, path = e.hash, rest
	}
}

// cutPath splits path at its first slash.
func cutPath(path string) (name, rest string, nested bool) {
	for i := 0; i < len(path); i++ {
		if path[i] == '/' {
			return path[:i], path[i+1:], true
		}
	}
	return path, "", false
}

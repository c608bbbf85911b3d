package history

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
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
	// last is the raw tree read last: a commit's lookups read the same
	// root tree for several names.
	last struct {
		hash plumbing.Hash
		data []byte
	}
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

// tree returns the raw content of tree h.
func (sc *scan) tree(h plumbing.Hash) ([]byte, error) {
	if sc.last.hash == h && sc.last.data != nil {
		return sc.last.data, nil
	}
	data, err := sc.raw(plumbing.TreeObject, h)
	if err != nil {
		return nil, err
	}
	sc.last.hash, sc.last.data = h, data
	return data, nil
}

// entry looks name up in tree h.
func (sc *scan) entry(h plumbing.Hash, name string) entryAt {
	key := entryKey{h, name}
	if e, ok := sc.entries[key]; ok {
		return e
	}
	e, ok := sc.oldEntries[key]
	if !ok {
		e = sc.find(h, name)
	}
	if len(sc.entries) >= maxEntries {
		sc.oldEntries, sc.entries = sc.entries, make(map[entryKey]entryAt, maxEntries)
	}
	sc.entries[key] = e
	return e
}

// find looks name up in the raw tree h: every entry is "mode name\0"
// and 20 bytes of hash. It reads the whole tree, so that a name held
// twice (a malformed tree) is "not sure", never one of the two.
func (sc *scan) find(h plumbing.Hash, name string) entryAt {
	data, err := sc.tree(h)
	if err != nil {
		return entryAt{}
	}
	var e entryAt
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp < 0 {
			return entryAt{}
		}
		nul := bytes.IndexByte(data[sp+1:], 0)
		if nul < 0 || sp+1+nul+1+20 > len(data) {
			return entryAt{}
		}
		n := data[sp+1 : sp+1+nul]
		if string(n) == name {
			if e.found {
				return entryAt{}
			}
			e.found = true
			copy(e.hash[:], data[sp+1+nul+1:])
		}
		data = data[sp+1+nul+1+20:]
	}
	e.ok = true
	return e
}

// same reports whether path is proven to name the same entry, or none,
// in the root trees a and b (as walker.sameEntry would find): it
// descends both together and stops at the first directory they share.
func (sc *scan) same(a, b plumbing.Hash, path string) bool {
	for {
		if a == b {
			return true
		}
		name, rest, nested := cutPath(path)
		ea, eb := sc.entry(a, name), sc.entry(b, name)
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
func (sc *scan) sameAll(a, b plumbing.Hash, paths []string) bool {
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
		ea, eb := sc.entry(a, name), sc.entry(b, name)
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
		if !sc.sameAll(ea.hash, eb.hash, rest) {
			return false
		}
	}
	return true
}

// blob returns the hash of the entry at path in root tree h (zero when
// there is none), and whether it is sure: a path through something that
// is not a tree is left to walker.blobHash.
func (sc *scan) blob(h plumbing.Hash, path string) (plumbing.Hash, bool) {
	for {
		name, rest, nested := cutPath(path)
		e := sc.entry(h, name)
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

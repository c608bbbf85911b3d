package gitsync

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/ramp-dev/ramp/history"
)

// passStore is where a pass builds its commits: the objects the committer
// writes (commits, and the trees and blobs along the edited paths) stay in
// memory, and reads of anything else go to the clone. Each step rewrites
// the directory trees above the file it edits, so a pass over N rollouts
// whose files share a directory writes N trees of N entries: written as
// loose objects that was N² bytes through N separate files, each
// compressed, and a pack of them, delta-compressed by search, as costly.
// A pass instead packs what it wrote, once per push (pack), into one pack
// file in the clone and the same bytes to the remote, each edited tree as
// a delta of the tree it edited (packenc.go): linear in rollouts.
type passStore struct {
	storer.EncodedObjectStorer // the clone's
	objects                    map[plumbing.Hash]plumbing.EncodedObject
	// order is the objects written since the last pack, oldest first.
	order []plumbing.Hash
	// bases are, for a tree EditTree wrote, the tree it edited: the tree
	// is packed as a delta of it (see encode).
	bases map[plumbing.Hash]plumbing.Hash
	// edits are, for a tree EditTree wrote by editing the encoding of its
	// base (editedEncoding), how: the delta copies all but [lo, hi).
	edits map[plumbing.Hash]treeEdit
	// layouts are, for a tree encoding this pass holds, where each
	// entry's hash lies in it (treeLayout); a directory's versions share
	// one.
	layouts map[plumbing.Hash][]int32
	// trees are decoded trees, those EditTree wrote included, so that the
	// next step reads its parent's N-entry directory without decoding it
	// again; cleared past maxPassTrees (a step reads its parent's only).
	trees map[plumbing.Hash]*object.Tree
	// dirs are the directories below a root that EditTree wrote in this
	// pass, kept for the update after the push (known).
	dirs map[plumbing.Hash]*object.Tree
}

const maxPassTrees = 256

func newPassStore(s storer.EncodedObjectStorer) *passStore {
	return &passStore{EncodedObjectStorer: s, objects: map[plumbing.Hash]plumbing.EncodedObject{},
		bases: map[plumbing.Hash]plumbing.Hash{}, edits: map[plumbing.Hash]treeEdit{}, layouts: map[plumbing.Hash][]int32{}, trees: map[plumbing.Hash]*object.Tree{}, dirs: map[plumbing.Hash]*object.Tree{}}
}

// wroteTree keeps tree t, which EditTree wrote, for the next step; and,
// unless it is a root tree, for the update after the push.
func (s *passStore) wroteTree(t *object.Tree, root bool) {
	s.keepTree(t)
	if !root {
		s.dirs[t.Hash] = t
	}
}

// known returns a directory this pass wrote, decoded, or nil: what
// history.Deriver.Trees asks for.
func (s *passStore) known(h plumbing.Hash) *object.Tree { return s.dirs[h] }

// put stores an object of type t with content, which it keeps as it is
// (no copy): the caller does not change it after.
func (s *passStore) put(t plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	return s.SetEncodedObject(&rawObject{t: t, h: objectHash(t, content), data: content})
}

// tree returns tree h's entries, decoded once. The tree is for reading
// its entries only: it has no storer to read further through.
func (s *passStore) tree(h plumbing.Hash) (*object.Tree, error) {
	if t, ok := s.trees[h]; ok {
		return t, nil
	}
	t, err := object.GetTree(s, h)
	if err != nil {
		return nil, err
	}
	s.keepTree(t)
	return t, nil
}

func (s *passStore) keepTree(t *object.Tree) {
	if len(s.trees) >= maxPassTrees {
		clear(s.trees)
	}
	s.trees[t.Hash] = t
}

// readFile reads the regular file at path in root tree through the tree
// cache. Anything else (a missing file, a symbolic link on the way) is
// read by history.ReadFile, which says what is wrong as everywhere else.
func (s *passStore) readFile(root plumbing.Hash, path string) ([]byte, error) {
	h, rest := root, path
	for {
		t, err := s.tree(h)
		if err != nil {
			break
		}
		name, after, nested := strings.Cut(rest, "/")
		i := history.EntryIndex(t.Entries, name)
		if i < 0 {
			break
		}
		e := t.Entries[i]
		if nested {
			if e.Mode != filemode.Dir {
				break
			}
			h, rest = e.Hash, after
			continue
		}
		if e.Mode != filemode.Regular && e.Mode != filemode.Executable {
			break
		}
		o, err := s.EncodedObject(plumbing.BlobObject, e.Hash)
		if err != nil {
			break
		}
		data, err := objectBytes(o)
		return bytes.Clone(data), err // the caller's to change
	}
	tree, err := object.GetTree(s, root)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", root, err)
	}
	return history.ReadFile(tree, path)
}

// editedFrom records that tree was made by editing base, as edit says.
func (s *passStore) editedFrom(tree, base plumbing.Hash, edit treeEdit) {
	if tree == base {
		return
	}
	s.bases[tree] = base
	if edit.layout == nil || edit.lo >= edit.hi {
		// Made anew, or again from another base (a weight set back):
		// an edit recorded against an earlier base no longer holds.
		delete(s.edits, tree)
		return
	}
	s.edits[tree] = edit
	s.layouts[tree] = edit.layout
}

// layout returns where each entry's hash lies in the encoding data of
// tree h, whose entries are entries: found once, and kept for h and the
// trees edited from it; nil when data is not their encoding.
func (s *passStore) layout(h plumbing.Hash, data []byte, entries []object.TreeEntry) []int32 {
	if at, ok := s.layouts[h]; ok && len(at) == len(entries) {
		return at
	}
	at := treeLayout(data, entries)
	if at != nil {
		s.layouts[h] = at
	}
	return at
}

// NewEncodedObject returns an object held in memory.
func (s *passStore) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

// SetEncodedObject keeps o in memory until the next pack. An object the
// clone already has is kept all the same: the clone may hold it only as
// the leftover of a push that lost a race, which the remote never got.
func (s *passStore) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	h := o.Hash()
	if _, ok := s.objects[h]; !ok {
		s.objects[h] = o
		s.order = append(s.order, h)
	}
	return h, nil
}

// EncodedObject reads an object written in this pass, or the clone's.
func (s *passStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if o, ok := s.objects[h]; ok {
		if t != plumbing.AnyObject && o.Type() != t {
			return nil, plumbing.ErrObjectNotFound
		}
		return o, nil
	}
	return s.EncodedObjectStorer.EncodedObject(t, h)
}

// HasEncodedObject reports whether the pass wrote h or the clone has it.
func (s *passStore) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := s.objects[h]; ok {
		return nil
	}
	return s.EncodedObjectStorer.HasEncodedObject(h)
}

// EncodedObjectSize is the size of an object of the pass or the clone.
func (s *passStore) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if o, ok := s.objects[h]; ok {
		return o.Size(), nil
	}
	return s.EncodedObjectStorer.EncodedObjectSize(h)
}

// pack encodes the objects written since the last pack into one pack,
// stores it in the clone (one pack file and its index, objects readable
// at once through the clone's storer) and returns its bytes, to be sent
// as they are; nil when nothing was written.
//
// A clone on disk takes the pack with the index the encoding wrote
// (storePack): go-git's PackfileWriter would parse the whole pack again,
// inflating every object, applying every delta and hashing every result,
// which for a pass over N rollouts sharing a directory is N trees of N
// entries. Another storage gets the pack through its PackfileWriter, or
// else the objects one by one.
func (s *passStore) pack() ([]byte, error) {
	if len(s.order) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	entries, sum, err := s.encode(&buf)
	if err != nil {
		return nil, fmt.Errorf("encode the pass's pack: %w", err)
	}
	if ds, ok := s.EncodedObjectStorer.(packDirStorer); ok {
		if err := storePack(ds, buf.Bytes(), packIndex(entries, sum, maxOffset32)); err != nil {
			return nil, err
		}
	} else if pw, ok := s.EncodedObjectStorer.(storer.PackfileWriter); ok {
		w, err := pw.PackfileWriter()
		if err != nil {
			return nil, fmt.Errorf("write the pass's pack: %w", err)
		}
		_, err = w.Write(buf.Bytes())
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write the pass's pack: %w", err)
		}
	} else {
		for _, h := range s.order {
			if _, err := s.EncodedObjectStorer.SetEncodedObject(s.objects[h]); err != nil {
				return nil, fmt.Errorf("store object %s: %w", h, err)
			}
		}
	}
	s.order = s.order[:0]
	return buf.Bytes(), nil
}

// rawObject is an object a pass built, held as its content: unlike a
// plumbing.MemoryObject, written by copying, it takes the encoding the
// committer made as it is, and the pack reads it without a copy.
type rawObject struct {
	t    plumbing.ObjectType
	h    plumbing.Hash
	data []byte
}

func (o *rawObject) Hash() plumbing.Hash           { return o.h }
func (o *rawObject) Type() plumbing.ObjectType     { return o.t }
func (o *rawObject) SetType(t plumbing.ObjectType) { o.t = t }
func (o *rawObject) Size() int64                   { return int64(len(o.data)) }
func (o *rawObject) SetSize(int64)                 {}
func (o *rawObject) Reader() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

// Writer refuses: a raw object is made whole, by put.
func (o *rawObject) Writer() (io.WriteCloser, error) {
	return nil, fmt.Errorf("object %s is read-only", o.h)
}

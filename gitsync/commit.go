package gitsync

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/manifest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
	"github.com/ramp-dev/ramp/trailer"
)

// Identity is the author and committer of ramp's commits.
type Identity struct {
	Name  string
	Email string
}

// committer turns planner decisions into signed commits on a branch. It
// edits the managed files in place (only the edited scalars change),
// writes trailers, signs, and stores the commit; pushing is the loop's.
type committer struct {
	store    storer.EncodedObjectStorer
	signer   signing.CommitSigner
	identity Identity
	now      func() time.Time // the commit time
}

// commit writes decision d for rollout r as a commit whose parent is
// parent, and returns its hash. A decision that edits no file makes an
// empty commit: the step's start is recorded all the same.
func (c *committer) commit(parent plumbing.Hash, r *policy.Rollout, d policy.Decision) (plumbing.Hash, error) {
	pc, err := object.GetCommit(c.store, parent)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read commit %s: %w", parent, err)
	}
	var tree *object.Tree
	read := func(path string) ([]byte, error) { return history.ReadFile(tree, path) }
	if ps, ok := c.store.(*passStore); ok {
		tree, err = ps.tree(pc.TreeHash)
		read = func(path string) ([]byte, error) { return ps.readFile(pc.TreeHash, path) }
	} else {
		tree, err = pc.Tree()
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", parent, err)
	}
	edits, err := manifest.Edits(read, r, d)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: %w", r.Name(), err)
	}
	root := tree.Hash
	if len(edits) > 0 {
		if root, err = EditTree(c.store, tree, edits); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%s: write tree: %w", r.Name(), err)
		}
	}
	sig := object.Signature{Name: c.identity.Name, Email: c.identity.Email, When: c.now()}
	commit := &object.Commit{
		Author: sig, Committer: sig,
		Message:      message(r, d),
		TreeHash:     root,
		ParentHashes: []plumbing.Hash{parent},
	}
	h, err := storeCommit(c.store, commit, c.signer)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: %w", r.Name(), err)
	}
	return h, nil
}

// storeCommit signs commit with signer (unsigned when nil), stores it and
// returns its hash.
func storeCommit(s storer.EncodedObjectStorer, commit *object.Commit, signer signing.CommitSigner) (plumbing.Hash, error) {
	if signer != nil {
		unsigned := s.NewEncodedObject()
		if err := commit.EncodeWithoutSignature(unsigned); err != nil {
			return plumbing.ZeroHash, err
		}
		rd, err := unsigned.Reader()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		signature, err := signer.Sign(rd)
		rd.Close()
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("sign commit: %w", err)
		}
		commit.PGPSignature = string(signature)
	}
	obj := s.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// message is the commit message of decision d: a subject a person reads
// in `git log --oneline`, the reason, and the trailers.
func message(r *policy.Rollout, d policy.Decision) string {
	subject := fmt.Sprintf("ramp: %s %s %s", r.Name(), d.Release, d.Action)
	if d.Step > 0 {
		subject = fmt.Sprintf("ramp: %s %s step %d/%d %s", r.Name(), d.Release, d.Step, d.Steps, d.Action)
	}
	subject += fmt.Sprintf(" (weight %d%%)", d.Weight)
	e := policy.Entry{
		Rollout: r.Name(), Release: d.Release, Step: d.Step, Steps: d.Steps,
		Action: d.Action, Weight: d.Weight, Gates: d.Gates, Approved: d.Approved,
		ChangeID: r.Spec.ChangeID, Shadow: d.Shadow, Wave: d.Wave, Migrate: d.Migrate,
	}
	if d.Action == policy.ActionAbort || d.Action == policy.ActionRollback || d.Action == policy.ActionRestore {
		e.Reason = d.Reason
	}
	body := strings.ReplaceAll(d.Reason, "\n", " ")
	return trailer.Append(subject+"\n\n"+body+"\n", trailer.ForEntry(e))
}

// EditTree writes new blobs for the edited files and the trees above
// them, and returns the new root tree's hash. Only existing files are
// edited: no entry is added or removed, so entry order is kept.
func EditTree(s storer.EncodedObjectStorer, tree *object.Tree, edits map[string][]byte) (plumbing.Hash, error) {
	return editTree(s, tree, edits, true)
}

// editTree is EditTree of a root tree (root) or of a directory below it.
func editTree(s storer.EncodedObjectStorer, tree *object.Tree, edits map[string][]byte, root bool) (plumbing.Hash, error) {
	sub := map[string]map[string][]byte{}
	entries := make([]object.TreeEntry, len(tree.Entries))
	copy(entries, tree.Entries)
	for path, content := range edits {
		dir, rest, nested := strings.Cut(path, "/")
		if nested {
			if sub[dir] == nil {
				sub[dir] = map[string][]byte{}
			}
			sub[dir][rest] = content
			continue
		}
		i := history.EntryIndex(entries, dir)
		if i < 0 || !entries[i].Mode.IsFile() {
			return plumbing.ZeroHash, fmt.Errorf("%s: no such file", path)
		}
		h, err := writeBlob(s, content)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries[i].Hash = h
	}
	for dir, files := range sub {
		i := history.EntryIndex(entries, dir)
		if i < 0 || entries[i].Mode != filemode.Dir {
			return plumbing.ZeroHash, fmt.Errorf("%s: no such directory", dir)
		}
		t, err := getTree(s, entries[i].Hash)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if entries[i].Hash, err = editTree(s, t, files, false); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	data, edit, err := editedEncoding(s, tree, entries)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := writeObject(s, plumbing.TreeObject, data)
	if p, ok := s.(*passStore); ok && err == nil {
		p.editedFrom(h, tree.Hash, edit)
		p.wroteTree(&object.Tree{Hash: h, Entries: entries}, root)
	}
	return h, err
}

// treeEdit is how editedEncoding made a tree from the tree it edited:
// where each entry's hash lies in both encodings (nil when the tree was
// encoded anew), and the bytes [lo, hi) that differ.
type treeEdit struct {
	layout []int32
	lo, hi int
}

// editedEncoding returns the encoding of tree with its entries changed
// to entries: the same names and modes, some hashes changed (EditTree
// only replaces what is there). When the pass itself encoded tree, the
// encoding is that one with the changed hashes written over, a copy: a
// pass over N rollouts sharing a directory edits N trees of N entries,
// and encoding each anew was most of a step's cost there. Where each hash
// lies is found once per directory (layout) and shared by its versions,
// which differ in hashes only. Anything else is encoded (encodeTree),
// which refuses a tree that is not in git's order, as go-git's encoder
// does.
func editedEncoding(s storer.EncodedObjectStorer, tree *object.Tree, entries []object.TreeEntry) ([]byte, treeEdit, error) {
	p, ok := s.(*passStore)
	if !ok {
		data, err := encodeTree(entries)
		return data, treeEdit{}, err
	}
	base, ok := p.objects[tree.Hash].(*rawObject)
	var at []int32
	if ok && base.t == plumbing.TreeObject && len(tree.Entries) == len(entries) {
		at = p.layout(tree.Hash, base.data, tree.Entries)
	}
	if at == nil {
		data, err := encodeTree(entries)
		return data, treeEdit{}, err
	}
	data := bytes.Clone(base.data)
	edit := treeEdit{layout: at, lo: len(data)}
	for i := range entries {
		if h := entries[i].Hash; h != tree.Entries[i].Hash {
			off := int(at[i])
			copy(data[off:], h[:])
			edit.lo, edit.hi = min(edit.lo, off), max(edit.hi, off+len(h))
		}
	}
	return data, edit, nil
}

// treeLayout returns where the hash of each of entries lies in data, or
// nil when data is not the encoding of entries (names, modes, their
// number).
func treeLayout(data []byte, entries []object.TreeEntry) []int32 {
	if len(data) > math.MaxInt32 {
		return nil
	}
	at := make([]int32, len(entries))
	off := 0
	for i := range entries {
		e := &entries[i]
		off += modeLen(e.Mode) + 1 + len(e.Name) + 1
		if off+len(e.Hash) > len(data) || data[off-1] != 0 || string(data[off-1-len(e.Name):off-1]) != e.Name {
			return nil
		}
		at[i] = int32(off)
		off += len(e.Hash)
	}
	if off != len(data) {
		return nil
	}
	return at
}

// modeLen is the length of mode written in octal, as a tree entry has it.
func modeLen(mode filemode.FileMode) int {
	switch mode {
	case filemode.Dir:
		return 5 // 40000
	case filemode.Regular, filemode.Executable, filemode.Symlink, filemode.Submodule:
		return 6 // 100644, 100755, 120000, 160000
	}
	n := 1
	for m := uint32(mode) >> 3; m > 0; m >>= 3 {
		n++
	}
	return n
}

// getTree reads tree h, through a pass's tree cache when s is a pass's.
func getTree(s storer.EncodedObjectStorer, h plumbing.Hash) (*object.Tree, error) {
	if p, ok := s.(*passStore); ok {
		return p.tree(h)
	}
	return object.GetTree(s, h)
}

func writeBlob(s storer.EncodedObjectStorer, content []byte) (plumbing.Hash, error) {
	return writeObject(s, plumbing.BlobObject, content)
}

// objectHash is the hash of an object of type t with content, as git
// names it. A tree the committer encoded is hashed with crypto/sha1 (a
// pass over N rollouts sharing a directory hashes N trees of N entries,
// and go-git's hasher, which detects the SHA-1 collision attack, is
// several times slower); anything else, whose bytes come from elsewhere,
// is hashed as go-git hashes it. The server, and git reading the clone,
// hash every object again with their own checks.
func objectHash(t plumbing.ObjectType, content []byte) plumbing.Hash {
	if t != plumbing.TreeObject {
		return plumbing.ComputeHash(t, content)
	}
	h := sha1.New()
	h.Write(t.Bytes())
	h.Write([]byte{' '})
	h.Write(strconv.AppendInt(nil, int64(len(content)), 10))
	h.Write([]byte{0})
	h.Write(content)
	var sum plumbing.Hash
	h.Sum(sum[:0])
	return sum
}

// writeObject stores an object of type t with content.
func writeObject(s storer.EncodedObjectStorer, t plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	if p, ok := s.(*passStore); ok {
		return p.put(t, content)
	}
	obj := s.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

package gitsync

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// plainOpen opens the repository at path (a working copy's top or a bare
// repository) keeping its packfiles open between reads: a history walk
// reads thousands of objects, and reopening the pack for each one costs
// more than reading it. Reference updates are atomic (see refStore) and
// symbolic links in the working tree are read as git stores them (see
// linkFS).
func plainOpen(path string) (*git.Repository, error) {
	gitDir, worktree := filepath.Join(path, ".git"), billy.Filesystem(linkFS{osfs.New(path), path})
	if fi, err := os.Stat(gitDir); err != nil || !fi.IsDir() {
		gitDir, worktree = path, nil
		if _, err := os.Stat(filepath.Join(path, "objects")); err != nil {
			return nil, git.ErrRepositoryNotExists
		}
	}
	fs := filesystem.NewStorageWithOptions(osfs.New(gitDir), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	st := &refStore{Storage: fs, gitDir: gitDir}
	if worktree == nil {
		return git.Open(st, nil)
	}
	return git.Open(st, worktree)
}

// refStore is go-git's storage of a repository on disk whose reference
// updates a kill cannot cut in half. go-git rewrites a ref file in place
// (truncate, then write): a process killed in between leaves an empty file
// that every later read refuses ("ref file is empty"). refStore writes the
// new content to a temporary file in the git directory and renames it over
// the ref, so a reader sees the old value or the new one, never neither.
// Everything else is go-git's filesystem storage.
//
// Objects are read and written under one lock: a pass gathers evidence
// concurrently and an evidence function may read the clone (the
// controller checks that an applied revision contains a step's commit),
// while go-git's storage keeps its open packfiles and pack indexes in maps
// that are not safe for concurrent use.
//
// The packs passes stored since go-git's storage last indexed its packs
// are read first, through the indexes the passes wrote (passPacks).
type refStore struct {
	*filesystem.Storage
	gitDir    string
	objects   sync.Mutex
	passPacks passPacks
}

// EncodedObject reads an object under the lock.
func (s *refStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	s.objects.Lock()
	defer s.objects.Unlock()
	if o, err := s.passPacks.object(t, h); o != nil || err != nil {
		return o, err
	}
	return s.Storage.EncodedObject(t, h)
}

// DeltaObject reads an object, as a delta when it is stored as one, under
// the lock (a pass's object whole).
func (s *refStore) DeltaObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	s.objects.Lock()
	defer s.objects.Unlock()
	if o, err := s.passPacks.object(t, h); o != nil || err != nil {
		return o, err
	}
	return s.Storage.DeltaObject(t, h)
}

// HasEncodedObject looks an object up under the lock.
func (s *refStore) HasEncodedObject(h plumbing.Hash) error {
	s.objects.Lock()
	defer s.objects.Unlock()
	if _, _, ok := s.passPacks.find(h); ok {
		return nil
	}
	return s.Storage.HasEncodedObject(h)
}

// EncodedObjectSize reads an object's size under the lock.
func (s *refStore) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	s.objects.Lock()
	defer s.objects.Unlock()
	if n, ok, err := s.passPacks.size(h); ok {
		return n, err
	}
	return s.Storage.EncodedObjectSize(h)
}

// SetEncodedObject writes a loose object under the lock.
func (s *refStore) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	s.objects.Lock()
	defer s.objects.Unlock()
	return s.Storage.SetEncodedObject(o)
}

// PackfileWriter returns a writer of a new pack whose Close, which indexes
// the pack and makes its objects readable, runs under the lock.
func (s *refStore) PackfileWriter() (io.WriteCloser, error) {
	s.objects.Lock()
	w, err := s.Storage.PackfileWriter()
	s.objects.Unlock()
	if err != nil {
		return nil, err
	}
	return lockedCloser{WriteCloser: w, mu: &s.objects}, nil
}

// lockedCloser closes its writer under mu.
type lockedCloser struct {
	io.WriteCloser
	mu *sync.Mutex
}

func (c lockedCloser) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.WriteCloser.Close()
}

// SetShallow stores the list of a shallow clone's boundary commits (those
// whose parents the clone lacks) atomically: go-git truncates the shallow
// file and then writes it, and a kill in between would leave an empty file
// that reads as a complete history. An empty list removes the file, as
// the system git does once a clone is complete, so an empty shallow file
// is never ramp's and checkClone takes it for damage.
func (s *refStore) SetShallow(commits []plumbing.Hash) error {
	path := filepath.Join(s.gitDir, shallowFile)
	if len(commits) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		return nil
	}
	var b strings.Builder
	for _, h := range commits {
		b.WriteString(h.String())
		b.WriteByte('\n')
	}
	return writeFileAtomic(s.gitDir, path, b.String())
}

// shallowFile is the list of a shallow clone's boundary commits, one
// hash a line, in its git directory.
const shallowFile = "shallow"

// SetReference stores ref atomically.
func (s *refStore) SetReference(ref *plumbing.Reference) error {
	return s.CheckAndSetReference(ref, nil)
}

// CheckAndSetReference stores ref atomically if the stored reference
// still has old's hash (any value when old is nil), else it returns
// storage.ErrReferenceHasChanged. Processes that update references through
// refStore exclude each other with a lock on <git dir>/ramp-refs.lock,
// which the kernel releases when its holder dies; the system git locks
// with <ref>.lock files and is not excluded.
func (s *refStore) CheckAndSetReference(ref, old *plumbing.Reference) error {
	name := ref.Name()
	if !name.IsSafe() {
		return fmt.Errorf("reference %q: %w", name, plumbing.ErrInvalidReferenceName)
	}
	var content string
	switch ref.Type() {
	case plumbing.SymbolicReference:
		content = "ref: " + ref.Target().String() + "\n"
	case plumbing.HashReference:
		content = ref.Hash().String() + "\n"
	default:
		return fmt.Errorf("reference %q has no value", name)
	}
	if old != nil {
		unlock, err := lockFile(filepath.Join(s.gitDir, "ramp-refs.lock"))
		if err != nil {
			return err
		}
		defer unlock()
		cur, err := s.Storage.Reference(name)
		switch {
		case errors.Is(err, plumbing.ErrReferenceNotFound):
			return storage.ErrReferenceHasChanged
		case err != nil:
			return err
		case cur.Hash() != old.Hash():
			return storage.ErrReferenceHasChanged
		}
	}
	return writeFileAtomic(s.gitDir, filepath.Join(s.gitDir, filepath.FromSlash(name.String())), content)
}

// writeFileAtomic writes content to path through a temporary file in
// tmpDir (on the same filesystem, outside refs/ so that no reader of the
// refs ever sees it) and a rename.
func writeFileAtomic(tmpDir, path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(tmpDir, "ramp-ref-*.tmp")
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// lockFile takes an exclusive lock on path (created if missing) and
// returns its release. The kernel releases it when the process dies, so a
// kill never leaves a lock behind that needs a person.
func lockFile(path string) (unlock func(), err error) {
	f, err := osfs.Default.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := f.Lock(); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Unlock(); f.Close() }, nil
}

// linkFS is a working tree's filesystem that reads a symbolic link's
// target as it is on disk, which is what git stores. go-billy's chroot
// rewrites an absolute target relative to the tree's root, so go-git's
// status, whenever it hashed a link again (its timestamp is not older than
// the index's), saw a link to a path outside the repository as modified:
// `ramp run --repo DIR` then refused "local changes" that `git status` did
// not show, depending on timing.
type linkFS struct {
	billy.Filesystem
	root string
}

// Readlink returns the target of the link at name.
func (l linkFS) Readlink(name string) (string, error) {
	return os.Readlink(filepath.Join(l.root, filepath.FromSlash(name)))
}

package gitsync

import (
	"bytes"
	"errors"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// passPacks are the packs passes stored in the clone (storePack) that
// go-git's storage has not indexed, each read through the index its pass
// wrote. go-git's storage sees a new pack only after Reindex, and its next
// read then decodes the index of every pack in the clone again: at 100k
// commits (a pack of 504k objects, a 14 MB index) 18-31 ms and 14 MiB,
// for every push. A pass's pack needs its own index only, decoded from
// the bytes the pass wrote, and is read with go-git's pack reader, as
// go-git's storage reads any pack. Past maxPassPacks they are handed to
// go-git's storage (one Reindex), so a lookup tries few packs and few
// files stay open. refStore holds them under its objects lock.
type passPacks struct {
	packs []*packfile.Packfile // oldest first
	cache cache.Object         // the packs' delta bases
}

// maxPassPacks is how many packs passPacks reads before go-git's storage
// indexes them: one Reindex every maxPassPacks pushes.
const maxPassPacks = 16

// full reports whether another pack would be one too many.
func (pp *passPacks) full() bool { return len(pp.packs) >= maxPassPacks }

// add reads the pack at path in fs, whose index is idx, from now on.
func (pp *passPacks) add(fs billy.Filesystem, path string, idx []byte) error {
	mi := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bytes.NewReader(idx)).Decode(mi); err != nil {
		return err
	}
	f, err := fs.Open(path)
	if err != nil {
		return err
	}
	if pp.cache == nil {
		pp.cache = cache.NewObjectLRU(16 * cache.MiByte)
	}
	pp.packs = append(pp.packs, packfile.NewPackfileWithCache(mi, fs, f, pp.cache, 0))
	return nil
}

// find returns the pack holding h, newest first, and h's offset in it.
func (pp *passPacks) find(h plumbing.Hash) (*packfile.Packfile, int64, bool) {
	for i := len(pp.packs) - 1; i >= 0; i-- {
		if off, err := pp.packs[i].FindOffset(h); err == nil {
			return pp.packs[i], off, true
		}
	}
	return nil, 0, false
}

// object returns h, of type t (or any), from the packs; nil and no error
// when they do not hold it.
func (pp *passPacks) object(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	p, off, ok := pp.find(h)
	if !ok {
		return nil, nil
	}
	o, err := p.GetByOffset(off)
	if err != nil {
		return nil, err
	}
	if t != plumbing.AnyObject && o.Type() != t {
		return nil, plumbing.ErrObjectNotFound
	}
	return o, nil
}

// size returns h's size and true when the packs hold h.
func (pp *passPacks) size(h plumbing.Hash) (int64, bool, error) {
	p, off, ok := pp.find(h)
	if !ok {
		return 0, false, nil
	}
	n, err := p.GetSizeByOffset(off)
	return n, true, err
}

// clear closes the packs and forgets them.
func (pp *passPacks) clear() error {
	var errs []error
	for _, p := range pp.packs {
		errs = append(errs, p.Close())
	}
	pp.packs = nil
	return errors.Join(errs...)
}

// passPackStored makes the pack a pass stored at path (in the clone's
// file system), whose index is idx, readable: through passPacks, or, when
// they are full, by go-git's storage, which Reindex makes list and index
// every pack again (these and this one).
func (s *refStore) passPackStored(path string, idx []byte) error {
	s.objects.Lock()
	defer s.objects.Unlock()
	if s.passPacks.full() {
		err := s.passPacks.clear()
		s.Storage.Reindex()
		return err
	}
	return s.passPacks.add(s.Filesystem(), path, idx)
}

// Reindex makes the clone's storage list and index its packs again, on
// its next read, under the lock its reads take; the passes' packs are
// then read as any other.
func (s *refStore) Reindex() {
	s.objects.Lock()
	defer s.objects.Unlock()
	s.passPacks.clear()
	s.Storage.Reindex()
}

// Close releases the packs the clone's storage keeps open, the passes'
// ones included.
func (s *refStore) Close() error {
	s.objects.Lock()
	defer s.objects.Unlock()
	return errors.Join(s.passPacks.clear(), s.Storage.Close())
}

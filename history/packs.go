package history

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// packObjects reads objects straight from a repository's pack files,
// mapped into memory, for the history walks, and hands every other read
// (loose objects, writes, iteration) to the repository's own storage.
//
// go-git's storage reads each packed object through a seek and a read of
// the pack file, and to resolve a delta against an earlier offset it
// first builds a map from every offset in the pack to its hash (the first
// such read after an open costs ~80 ms and ~40 MiB at 100k commits): a
// cold derive or an audit spent most of its time there. Here a delta's
// base is found by its offset, its content cached by offset.
type packObjects struct {
	storer.EncodedObjectStorer
	dir string // objects/pack

	// mu guards the fields below it. Objects are inflated outside it, so
	// two goroutines read at once (a walk's commits and its trees); the
	// repository's storage is called under storeMu only.
	storeMu sync.Mutex
	mu      sync.Mutex
	packs   []*mappedPack
	known   map[string]bool // pack names mapped, or that failed to
	dirTime time.Time       // of dir when it was last listed
	// bases caches inflated objects by pack and offset, in two bounded
	// generations (see walker.tree).
	bases, oldBases map[baseKey]*packed
	baseBytes       int
	// inflated counts the objects inflated since the packs' pages were
	// last dropped (dropEvery).
	inflated atomic.Int64
}

// dropEvery is how many objects are inflated between two drops of the
// packs' mapped pages: a walk's resident memory does not grow with the
// part of the pack it has read (~40 MiB at 100k commits).
const dropEvery = 16384

// mappedPack is one pack file and its index (version 2), both mapped:
// the index is read where it lies, never decoded into memory.
type mappedPack struct {
	data []byte
	idx  []byte
	// n counts the objects; names, offsets and offsets64 are where the
	// index's tables start.
	n, names, offsets, offsets64 int
}

// The layout of a version 2 pack index: a header, 256 cumulative counts
// (fanout), then n names, n CRCs, n 32-bit offsets, the 64-bit offsets,
// and the pack's and the index's checksums.
const (
	idxHeader = 8
	idxFanout = 256 * 4
)

// parseIndex checks the index data of version 2 and returns mp with its
// tables located.
func parseIndex(idx []byte) (*mappedPack, error) {
	if len(idx) < idxHeader+idxFanout+40 || !bytes.Equal(idx[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
		return nil, errors.New("not a version 2 pack index")
	}
	prev := uint32(0)
	for k := 0; k < 256; k++ {
		c := binary.BigEndian.Uint32(idx[idxHeader+4*k:])
		if c < prev {
			return nil, errors.New("pack index: fanout out of order")
		}
		prev = c
	}
	n := int(prev)
	mp := &mappedPack{idx: idx, n: n, names: idxHeader + idxFanout}
	mp.offsets = mp.names + 24*n // names, then CRCs
	mp.offsets64 = mp.offsets + 4*n
	if n > len(idx)/28 || mp.offsets64+40 > len(idx) || (len(idx)-40-mp.offsets64)%8 != 0 {
		return nil, errors.New("pack index: truncated")
	}
	return mp, nil
}

// packChecksum is the pack's checksum as its index records it.
func (mp *mappedPack) packChecksum() []byte {
	return mp.idx[len(mp.idx)-40 : len(mp.idx)-20]
}

// offset returns where object h is in the pack: a search of the names
// in h's fanout bucket (findName).
func (mp *mappedPack) offset(h plumbing.Hash) (int64, bool) {
	lo := 0
	if h[0] > 0 {
		lo = int(binary.BigEndian.Uint32(mp.idx[idxHeader+4*(int(h[0])-1):]))
	}
	hi := int(binary.BigEndian.Uint32(mp.idx[idxHeader+4*int(h[0]):]))
	if lo > hi || hi > mp.n {
		return 0, false
	}
	i, found := findName(mp.idx[mp.names+20*lo:mp.names+20*hi], hi-lo, h)
	if !found {
		return 0, false
	}
	ofs := binary.BigEndian.Uint32(mp.idx[mp.offsets+4*(lo+i):])
	if ofs&0x80000000 == 0 {
		return int64(ofs), true
	}
	at := mp.offsets64 + 8*int(ofs&0x7fffffff)
	if at+8 > len(mp.idx)-40 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(mp.idx[at:])), true
}

// findName returns the index of h among the n sorted 20-byte names of
// one fanout bucket. Hashes are uniform, so h's place is guessed from its
// bytes after the first, then bracketed by steps that double, then found
// by a binary search: the few names read lie close together.
func findName(names []byte, n int, h plumbing.Hash) (int, bool) {
	if n == 0 {
		return 0, false
	}
	key := binary.BigEndian.Uint64(h[1:9])
	less := func(i int) bool { // names[i] < h
		v := binary.BigEndian.Uint64(names[i*20+1:])
		return v < key || v == key && bytes.Compare(names[i*20:i*20+20], h[:]) < 0
	}
	g := int((uint64(n) * (key >> 32)) >> 32)
	g = min(g, n-1)
	// The answer (the first name not less than h) is in [lo, hi].
	lo, hi := 0, n
	if less(g) {
		lo = g + 1
		for step := 1; lo < n; step *= 2 {
			next := min(g+step, n-1)
			if !less(next) {
				hi = next
				break
			}
			lo = next + 1
			if next == n-1 {
				break
			}
		}
	} else {
		hi = g
		for step := 1; hi > 0; step *= 2 {
			next := max(g-step, 0)
			if less(next) {
				lo = next + 1
				break
			}
			hi = next
			if next == 0 {
				break
			}
		}
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if less(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && bytes.Equal(names[lo*20:lo*20+20], h[:])
}

type baseKey struct {
	pack   *mappedPack
	offset int64
}

// packed is an object's type and content.
type packed struct {
	typ  plumbing.ObjectType
	data []byte
}

// maxBaseBytes bounds each generation of the base cache.
const maxBaseBytes = 16 << 20

// newPackObjects returns a reader over the packs of the repository s
// stores, or s itself when s is not a repository on disk.
func newPackObjects(s storer.EncodedObjectStorer) storer.EncodedObjectStorer {
	root := storageRoot(s)
	if root == "" {
		return s
	}
	return &packObjects{EncodedObjectStorer: s, dir: filepath.Join(root, "objects", "pack"), known: map[string]bool{},
		bases: map[baseKey]*packed{}}
}

// storageRoot returns the git directory of go-git's filesystem storage s
// (or of a storage embedding it), or "".
func storageRoot(s storer.EncodedObjectStorer) string {
	if fs, ok := s.(interface{ Filesystem() billy.Filesystem }); ok {
		return fs.Filesystem().Root()
	}
	return ""
}

// EncodedObject returns object h of type t (or any type) from the packs,
// else from the repository's storage.
func (p *packObjects) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, err := p.find(h)
	if err != nil || o == nil {
		// Not in a pack we could read: a loose object, or a pack this
		// reader does not handle.
		p.storeMu.Lock()
		defer p.storeMu.Unlock()
		return p.EncodedObjectStorer.EncodedObject(t, h)
	}
	if t != plumbing.AnyObject && o.typ != t {
		return nil, plumbing.ErrObjectNotFound
	}
	return &readObject{hash: h, typ: o.typ, data: o.data}, nil
}

// find returns h from a pack, or nil.
func (p *packObjects) find(h plumbing.Hash) (*packed, error) {
	p.mu.Lock()
	packs := p.packs
	p.mu.Unlock()
	for pass := 0; pass < 2; pass++ {
		for _, mp := range packs {
			if off, ok := mp.offset(h); ok {
				return p.at(mp, off, 0)
			}
		}
		if pass == 1 {
			break
		}
		p.mu.Lock()
		added := p.rescan()
		packs = p.packs
		p.mu.Unlock()
		if !added {
			break
		}
	}
	return nil, nil
}

// packList returns the packs mapped so far.
func (p *packObjects) packList() []*mappedPack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.packs
}

// rescan maps the packs added since the last listing, and reports
// whether there were any. The caller holds p.mu.
func (p *packObjects) rescan() bool {
	fi, err := os.Stat(p.dir)
	if err != nil || fi.ModTime().Equal(p.dirTime) {
		return false
	}
	p.dirTime = fi.ModTime()
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return false
	}
	added := false
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".idx")
		if !ok || p.known[name] {
			continue
		}
		mp, err := mapPack(filepath.Join(p.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			// An index whose pack is not there (yet: a pack is
			// stored after its index): listed again when the
			// directory changes.
			continue
		}
		p.known[name] = true
		if err == nil {
			p.packs = append(p.packs, mp)
			added = true
		}
	}
	return added
}

// mapPack maps pack base+".pack" and its index. The mappings go when the
// pack is no longer reachable (nothing read keeps a slice of them: every
// object is inflated into its own memory).
func mapPack(base string) (*mappedPack, error) {
	idx, err := mapWhole(base + ".idx")
	if err != nil {
		return nil, err
	}
	mp, err := parseIndex(idx)
	if err != nil {
		unmapFile(idx)
		return nil, fmt.Errorf("%s.idx: %w", base, err)
	}
	data, err := mapWhole(base + ".pack")
	if err != nil {
		unmapFile(idx)
		return nil, err
	}
	if len(data) < 32 || !bytes.Equal(data[:4], []byte("PACK")) || !bytes.Equal(data[len(data)-20:], mp.packChecksum()) {
		unmapFile(idx)
		unmapFile(data)
		return nil, fmt.Errorf("%s.pack does not match its index", base)
	}
	mp.data = data
	runtime.AddCleanup(mp, func(m [2][]byte) { unmapFile(m[0]); unmapFile(m[1]) }, [2][]byte{data, idx})
	return mp, nil
}

// mapWhole maps the file at path read-only.
func mapWhole(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return mapFile(f, fi.Size())
}

// maxDeltaChain bounds the delta chain at will follow (git's default
// depth is 50; a corrupt pack could loop).
const maxDeltaChain = 10000

var errBadPack = errors.New("malformed pack entry")

// at returns the object at offset off of pack mp, resolving deltas.
func (p *packObjects) at(mp *mappedPack, off int64, depth int) (*packed, error) {
	key := baseKey{mp, off}
	p.mu.Lock()
	if o, ok := p.bases[key]; ok {
		p.mu.Unlock()
		return o, nil
	}
	if o, ok := p.oldBases[key]; ok {
		p.keep(key, o)
		p.mu.Unlock()
		return o, nil
	}
	p.mu.Unlock()
	if depth > maxDeltaChain || off < 12 || off >= int64(len(mp.data)-20) {
		return nil, errBadPack
	}
	data := mp.data[off : len(mp.data)-20]
	// Type and size: 3 bits of type, then the size in 7-bit groups.
	c := data[0]
	typ := plumbing.ObjectType((c >> 4) & 7)
	size := uint64(c & 15)
	i, shift := 1, uint(4)
	for c&0x80 != 0 {
		if i >= len(data) || shift > 60 {
			return nil, errBadPack
		}
		c = data[i]
		size |= uint64(c&0x7f) << shift
		shift += 7
		i++
	}
	var base *packed
	switch typ {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	case plumbing.OFSDeltaObject:
		if i >= len(data) {
			return nil, errBadPack
		}
		c = data[i]
		i++
		rel := int64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= len(data) || rel > 1<<48 {
				return nil, errBadPack
			}
			c = data[i]
			i++
			rel = (rel+1)<<7 | int64(c&0x7f)
		}
		var err error
		if base, err = p.at(mp, off-rel, depth+1); err != nil {
			return nil, err
		}
	case plumbing.REFDeltaObject:
		if i+20 > len(data) {
			return nil, errBadPack
		}
		var bh plumbing.Hash
		copy(bh[:], data[i:i+20])
		i += 20
		var err error
		if base, err = p.byHash(bh, depth+1); err != nil {
			return nil, err
		}
	default:
		return nil, errBadPack
	}
	content, err := inflate(data[i:], size)
	if err != nil {
		return nil, err
	}
	if p.inflated.Add(1)%dropEvery == 0 {
		for _, mp := range p.packList() {
			dropPages(mp.data)
		}
	}
	o := &packed{typ: typ, data: content}
	if base != nil {
		patched, err := packfile.PatchDelta(base.data, content)
		if err != nil {
			return nil, err
		}
		o = &packed{typ: base.typ, data: patched}
	}
	if o.typ != plumbing.CommitObject || depth > 0 {
		// A walk reads each commit once; a tree or a delta's base is
		// read again (the next commit's tree is often a delta of it).
		p.mu.Lock()
		p.keep(key, o)
		p.mu.Unlock()
	}
	return o, nil
}

// byHash returns the base of a REF_DELTA: from a pack, else from the
// repository's storage.
func (p *packObjects) byHash(h plumbing.Hash, depth int) (*packed, error) {
	for _, mp := range p.packList() {
		if off, ok := mp.offset(h); ok {
			return p.at(mp, off, depth)
		}
	}
	p.storeMu.Lock()
	defer p.storeMu.Unlock()
	o, err := p.EncodedObjectStorer.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return nil, err
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	return &packed{typ: o.Type(), data: data}, nil
}

// keep caches o under key. The caller holds p.mu.
func (p *packObjects) keep(key baseKey, o *packed) {
	cost := len(o.data) + baseOverhead
	if p.baseBytes+cost > maxBaseBytes {
		p.oldBases, p.bases, p.baseBytes = p.bases, map[baseKey]*packed{}, 0
	}
	p.bases[key] = o
	p.baseBytes += cost
}

// baseOverhead is what one cached object costs besides its content (its
// map entry, key and header): a walk caches ~100k small root trees.
const baseOverhead = 128

var zlibReaders sync.Pool

// inflate returns the size bytes the zlib stream at the start of data
// holds.
func inflate(data []byte, size uint64) ([]byte, error) {
	if size > 1<<32 {
		return nil, errBadPack
	}
	src := bytes.NewReader(data)
	var zr io.ReadCloser
	if r, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := r.(zlib.Resetter).Reset(src, nil); err != nil {
			return nil, err
		}
		zr = r
	} else {
		var err error
		if zr, err = zlib.NewReader(src); err != nil {
			return nil, err
		}
	}
	defer zlibReaders.Put(zr)
	out := make([]byte, size)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadPack, err)
	}
	return out, nil
}

// readObject is an object read from a pack: its content is never written.
type readObject struct {
	hash plumbing.Hash
	typ  plumbing.ObjectType
	data []byte
}

func (o *readObject) Hash() plumbing.Hash           { return o.hash }
func (o *readObject) Type() plumbing.ObjectType     { return o.typ }
func (o *readObject) SetType(t plumbing.ObjectType) { o.typ = t }
func (o *readObject) Size() int64                   { return int64(len(o.data)) }
func (o *readObject) SetSize(int64)                 {}
func (o *readObject) Reader() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(o.data)), nil
}
func (o *readObject) Writer() (io.WriteCloser, error) {
	return nil, errors.New("an object read from a pack cannot be written")
}

package gitsync

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path"
	"slices"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// packEntry is where one object lies in a pack the pass wrote: its name,
// its offset, and the CRC-32 of its packed bytes (the entry's header, an
// OFS_DELTA's base offset and the compressed data), as git records them
// in the pack's index.
type packEntry struct {
	hash   plumbing.Hash
	offset int64
	crc    uint32
}

// packIndex returns the version-2 index of a pack holding entries, whose
// trailing checksum is packSum: what `git index-pack` writes for the same
// pack, byte for byte. Its layout: the magic and version, 256 cumulative
// counts of names by first byte (fanout), the names in order, their CRCs,
// their offsets in 31 bits (an offset of 2^31 or more is written as the
// high bit and its place in the table of 64-bit offsets that follows, in
// the order of the names), the pack's checksum, and the SHA-1 of all
// that. An offset above off32Limit goes to the 64-bit table too, as with
// git's --index-version=2,<limit>: ramp's is maxOffset32, git's default.
// packIndex sorts entries.
func packIndex(entries []packEntry, packSum []byte, off32Limit int64) []byte {
	slices.SortFunc(entries, func(a, b packEntry) int { return bytes.Compare(a.hash[:], b.hash[:]) })
	isLarge := func(e packEntry) bool { return e.offset >= 1<<31 || e.offset > off32Limit }
	n := len(entries)
	large := 0
	for _, e := range entries {
		if isLarge(e) {
			large++
		}
	}
	idx := make([]byte, 0, 8+256*4+n*(20+4+4)+large*8+40)
	idx = append(idx, 0xff, 't', 'O', 'c', 0, 0, 0, 2)
	var fanout [256]uint32
	for _, e := range entries {
		fanout[e.hash[0]]++
	}
	count := uint32(0)
	for _, c := range fanout {
		count += c
		idx = binary.BigEndian.AppendUint32(idx, count)
	}
	for _, e := range entries {
		idx = append(idx, e.hash[:]...)
	}
	for _, e := range entries {
		idx = binary.BigEndian.AppendUint32(idx, e.crc)
	}
	next := uint32(0)
	for _, e := range entries {
		if !isLarge(e) {
			idx = binary.BigEndian.AppendUint32(idx, uint32(e.offset))
			continue
		}
		idx = binary.BigEndian.AppendUint32(idx, 1<<31|next)
		next++
	}
	for _, e := range entries {
		if isLarge(e) {
			idx = binary.BigEndian.AppendUint64(idx, uint64(e.offset))
		}
	}
	idx = append(idx, packSum...)
	sum := sha1.Sum(idx)
	return append(idx, sum[:]...)
}

// maxOffset32 is the largest offset a pack index writes in its table of
// 32-bit offsets: 2^31-1, the high bit marking a 64-bit one.
const maxOffset32 = 1<<31 - 1

// packDirStorer is a storage on disk whose packs live in objects/pack of
// its file system, and which, told to, lists and indexes them again:
// go-git's filesystem storage, and refStore over it.
type packDirStorer interface {
	Filesystem() billy.Filesystem
	Reindex()
}

// storePack stores a pack whose index the pass wrote (packIndex) in the
// repository s keeps on disk, as git stores the packs it receives: the
// pack, then its index, each written to a temporary file in objects/pack
// and renamed to pack-<checksum>.pack and .idx (read-only, as git makes
// them), so that no reader sees a part of either, nor an index before its
// pack. A pack or index already there (the same bytes, named by their
// checksum) is kept. Nothing parses the pack again: ramp's clone reads it
// through idx (passPacks); another storage lists and indexes its packs
// anew (Reindex). history's mapped-pack reader sees the new one by the
// directory's modification time, which the renames change. Neither file
// is synced to the disk, as nothing else gitsync writes is: the pack is
// on the remote once pushed, and a clone damaged by a crash is rebuilt
// (checkClone).
func storePack(s packDirStorer, pack, idx []byte) error {
	if len(pack) < 32 {
		return fmt.Errorf("store a pack of %d bytes: too short to be one", len(pack))
	}
	fs := s.Filesystem()
	dir := path.Join("objects", "pack")
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store the pass's pack: %w", err)
	}
	base := path.Join(dir, "pack-"+hex.EncodeToString(pack[len(pack)-20:]))
	for _, f := range []struct {
		ext  string
		data []byte
	}{{".pack", pack}, {".idx", idx}} {
		if err := writeReadOnly(fs, dir, base+f.ext, f.data); err != nil {
			return fmt.Errorf("store the pass's pack: %w", err)
		}
	}
	if ps, ok := s.(passPackStorer); ok {
		return ps.passPackStored(base+".pack", idx)
	}
	s.Reindex()
	return nil
}

// passPackStorer is a storage that reads a pass's pack through the index
// the pass wrote, without indexing every pack again: refStore (passPacks).
type passPackStorer interface {
	passPackStored(path string, idx []byte) error
}

// writeReadOnly writes data to name in fs, read-only, through a temporary
// file in dir and a rename, unless name is a regular file already.
func writeReadOnly(fs billy.Filesystem, dir, name string, data []byte) error {
	if fi, err := fs.Lstat(name); err == nil {
		if fi.Mode().IsRegular() {
			return nil
		}
		return fmt.Errorf("%s: not a regular file (%s)", name, fi.Mode().Type())
	}
	f, err := fs.TempFile(dir, "tmp_pack_")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if ch, ok := fs.(billy.Chmod); ok && err == nil {
		err = ch.Chmod(f.Name(), 0o444)
	}
	if err == nil {
		err = fs.Rename(f.Name(), name)
	}
	if err != nil {
		fs.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// The clone's storage takes a pass's pack as it is.
var (
	_ packDirStorer  = (*refStore)(nil)
	_ passPackStorer = (*refStore)(nil)
)

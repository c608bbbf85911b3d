package gitsync

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
)

// maxDeltaDepth bounds a chain of deltas in a pass's pack, as git's own
// pack.depth (50) does: a reader rebuilds an object by applying its chain.
const maxDeltaDepth = 50

// encode writes the objects written since the last pack as one pack
// (version 2). A tree EditTree made from a tree packed earlier in the same
// pack is an OFS_DELTA of it: the two differ in one entry, so the delta
// copies what is before and after the common ends and inserts the rest,
// found by comparing the ends of the two encodings, without a search.
// Everything else is a whole object. Objects are compressed with zlib's
// fastest level: trees are mostly hashes, which do not compress. It
// returns where each object lies and the pack's checksum, from which
// packIndex writes the pack's index without reading the pack again.
func (s *passStore) encode(w io.Writer) ([]packEntry, []byte, error) {
	pw := &packWriter{w: w, sum: sha1.New(), entries: make([]packEntry, 0, len(s.order))}
	var head [12]byte
	copy(head[:], "PACK")
	binary.BigEndian.PutUint32(head[4:], 2)
	binary.BigEndian.PutUint32(head[8:], uint32(len(s.order)))
	pw.write(head[:])
	type packed struct {
		offset  int64
		depth   int
		content []byte
	}
	done := map[plumbing.Hash]packed{}
	for _, h := range s.order {
		o := s.objects[h]
		content, err := objectBytes(o)
		if err != nil {
			return nil, nil, fmt.Errorf("read object %s: %w", h, err)
		}
		offset := pw.n
		pw.begin(h)
		depth := 0
		if base, ok := done[s.bases[h]]; ok && o.Type() == plumbing.TreeObject && base.depth < maxDeltaDepth {
			delta := s.edits[h].delta(base.content, content)
			if delta == nil {
				delta = editDelta(base.content, content)
			}
			if len(delta) < len(content)/2 {
				pw.header(plumbing.OFSDeltaObject, len(delta))
				pw.write(ofsOffset(offset - base.offset))
				pw.compressed(delta)
				depth = base.depth + 1
				done[h] = packed{offset, depth, content}
				continue
			}
		}
		pw.header(o.Type(), len(content))
		pw.compressed(content)
		done[h] = packed{offset, depth, content}
	}
	if pw.err != nil {
		return nil, nil, pw.err
	}
	sum := pw.sum.Sum(nil)
	if _, err := w.Write(sum); err != nil {
		return nil, nil, err
	}
	return pw.entries, sum, nil
}

func objectBytes(o plumbing.EncodedObject) ([]byte, error) {
	if r, ok := o.(*rawObject); ok {
		return r.data, nil
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	b := make([]byte, o.Size())
	if _, err := io.ReadFull(rd, b); err != nil {
		return nil, err
	}
	return b, nil
}

// packWriter writes a pack, counting its bytes and hashing them for the
// trailer, and records each object's offset and the CRC-32 of the bytes
// written for it (entries) for the pack's index; the first error sticks.
type packWriter struct {
	w       io.Writer
	sum     hash.Hash
	n       int64
	err     error
	zw      *zlib.Writer
	entries []packEntry
}

// begin starts object h's entry at the current offset: the bytes written
// until the next begin are its.
func (p *packWriter) begin(h plumbing.Hash) {
	p.entries = append(p.entries, packEntry{hash: h, offset: p.n})
}

func (p *packWriter) write(b []byte) {
	if p.err != nil {
		return
	}
	if _, p.err = p.w.Write(b); p.err == nil {
		p.sum.Write(b)
		p.n += int64(len(b))
		if len(p.entries) > 0 {
			e := &p.entries[len(p.entries)-1]
			e.crc = crc32.Update(e.crc, crc32.IEEETable, b)
		}
	}
}

// header writes an entry's type and (inflated) size.
func (p *packWriter) header(t plumbing.ObjectType, size int) {
	b := []byte{byte(t)<<4 | byte(size&0x0f)}
	for size >>= 4; size > 0; size >>= 7 {
		b[len(b)-1] |= 0x80
		b = append(b, byte(size&0x7f))
	}
	p.write(b)
}

// compressed writes data as one zlib stream.
func (p *packWriter) compressed(data []byte) {
	var buf bytes.Buffer
	if p.zw == nil {
		p.zw, _ = zlib.NewWriterLevel(&buf, zlib.BestSpeed)
	} else {
		p.zw.Reset(&buf)
	}
	p.zw.Write(data)
	if err := p.zw.Close(); err != nil && p.err == nil {
		p.err = err
	}
	p.write(buf.Bytes())
}

// ofsOffset encodes how far back an OFS_DELTA's base starts, as git does:
// big-endian groups of 7 bits, each but the last with the high bit set
// and one less than its value.
func ofsOffset(n int64) []byte {
	b := []byte{byte(n & 0x7f)}
	for n >>= 7; n > 0; n >>= 7 {
		n--
		b = append([]byte{0x80 | byte(n&0x7f)}, b...)
	}
	return b
}

// editDelta returns a git delta that makes target from base: a copy of
// their common prefix, the middle of target inserted, a copy of their
// common suffix.
func editDelta(base, target []byte) []byte {
	prefix := commonPrefix(base, target)
	suffix := commonSuffix(base[prefix:], target[prefix:])
	return deltaAround(base, target, prefix, suffix)
}

// delta returns the delta of a tree editedEncoding made from base, whose
// encodings differ in [lo, hi) only, without comparing them; nil when
// the edit is not known or does not fit them.
func (e treeEdit) delta(base, target []byte) []byte {
	if e.layout == nil || e.lo >= e.hi || len(base) != len(target) || e.hi > len(target) {
		return nil
	}
	return deltaAround(base, target, e.lo, len(target)-e.hi)
}

// deltaAround returns a git delta that makes target from base, the two
// sharing their first prefix and last suffix bytes: a copy of the
// prefix, the middle of target inserted, a copy of the suffix.
func deltaAround(base, target []byte, prefix, suffix int) []byte {
	d := deltaSize(nil, len(base))
	d = deltaSize(d, len(target))
	d = deltaCopy(d, 0, prefix)
	for middle := target[prefix : len(target)-suffix]; len(middle) > 0; {
		n := min(len(middle), 127)
		d = append(d, byte(n))
		d = append(d, middle[:n]...)
		middle = middle[n:]
	}
	return deltaCopy(d, len(base)-suffix, suffix)
}

// commonPrefix is the length of the longest common prefix of a and b,
// compared eight bytes at a time: a pass's delta compares N trees of N
// entries with the tree each edits.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if binary.LittleEndian.Uint64(a[i:]) != binary.LittleEndian.Uint64(b[i:]) {
			break
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix is the length of the longest common suffix of a and b.
func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if binary.LittleEndian.Uint64(a[len(a)-i-8:]) != binary.LittleEndian.Uint64(b[len(b)-i-8:]) {
			break
		}
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}

// deltaSize appends a delta header's size: little-endian groups of 7 bits.
func deltaSize(d []byte, n int) []byte {
	for n >= 0x80 {
		d = append(d, byte(n&0x7f)|0x80)
		n >>= 7
	}
	return append(d, byte(n))
}

// deltaCopy appends copy instructions for size bytes of the base from
// offset: each copies at most 0xffffff bytes, its offset and size written
// as their non-zero bytes only, flagged in the opcode.
func deltaCopy(d []byte, offset, size int) []byte {
	for size > 0 {
		n := min(size, 0xffffff)
		op := byte(0x80)
		var args []byte
		for i := 0; i < 4; i++ {
			if b := byte(offset >> (8 * i)); b != 0 {
				op |= 1 << i
				args = append(args, b)
			}
		}
		for i := 0; i < 3; i++ {
			if b := byte(n >> (8 * i)); b != 0 {
				op |= 1 << (4 + i)
				args = append(args, b)
			}
		}
		d = append(append(d, op), args...)
		offset += n
		size -= n
	}
	return d
}

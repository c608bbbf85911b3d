package gitsync

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// editedPass returns a clone of a repository with rollouts route files
// under apps/, packed, opened as ramp opens it, and a pass's store over it in
// which edits trees were written, each editing one route of the tree
// before, and those trees.
func editedPass(t *testing.T, rollouts, edits int) (string, *git.Repository, *passStore, []plumbing.Hash) {
	t.Helper()
	dir, repo, ps, tree := routesPass(t, rollouts, true)
	return dir, repo, ps, editTrees(t, ps, tree, "a", rollouts, edits)
}

// routesPass returns a clone of a repository with rollouts route files
// under apps/ (packed by git when packed is set, else loose), opened as
// ramp opens it, a pass's store over it, and the tree of its tip.
func routesPass(t *testing.T, rollouts int, packed bool) (string, *git.Repository, *passStore, *object.Tree) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for i := 0; i < rollouts; i++ {
		files[fmt.Sprintf("apps/r%03d/route.yaml", i)] = gittest.Route(fmt.Sprintf("r%03d", i), 0)
	}
	head := gittest.InitRepo(t, dir, files)
	if packed {
		gittest.Git(t, dir, gittest.GitEnv(t.TempDir()), "repack", "-adq") // as a clone is
	}
	repo, err := plainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ps := newPassStore(repo.Storer)
	c, err := object.GetCommit(ps, plumbing.NewHash(head))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	return dir, repo, ps, tree
}

// editTrees writes edits trees in ps, from tree, each editing one route
// to a route of backend name.
func editTrees(t *testing.T, ps *passStore, tree *object.Tree, name string, rollouts, edits int) []plumbing.Hash {
	t.Helper()
	var trees []plumbing.Hash
	for i := 0; i < edits; i++ {
		path := fmt.Sprintf("apps/r%03d/route.yaml", i%rollouts)
		h, err := EditTree(ps, tree, map[string][]byte{path: []byte(gittest.Route(name, i%100))})
		if err != nil {
			t.Fatal(err)
		}
		if tree, err = object.GetTree(ps, h); err != nil {
			t.Fatal(err)
		}
		trees = append(trees, h)
	}
	return trees
}

// TestPassPackIndexIsGitIndexPacksByteForByte: the index a pass writes
// for its pack (blobs, whole trees, trees as OFS_DELTAs) is the one
// `git index-pack` writes for the same pack bytes, byte for byte, with
// git's default 31-bit offsets and with a limit of 4096 (git's
// --index-version=2,4096), above which offsets go to the 64-bit table:
// the same code path as offsets past 2 GiB, which a small pack cannot
// reach.
func TestPassPackIndexIsGitIndexPacksByteForByte(t *testing.T) {
	_, _, ps, _ := editedPass(t, 200, 80)
	var buf bytes.Buffer
	entries, sum, err := ps.encode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	packPath := filepath.Join(work, "pass.pack")
	if err := os.WriteFile(packPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// git checks the pack against the index ours (verify-pack reads
	// pass.idx beside pass.pack).
	if err := os.WriteFile(filepath.Join(work, "pass.idx"), packIndex(append([]packEntry(nil), entries...), sum, maxOffset32), 0o644); err != nil {
		t.Fatal(err)
	}
	env := gittest.GitEnv(t.TempDir())
	verify := gittest.Git(t, work, env, "verify-pack", "-v", packPath)
	if n := len(regexp.MustCompile(`(?m)^[0-9a-f]{40} tree .* [0-9a-f]{40}$`).FindAllString(verify, -1)); n < 70 {
		t.Fatalf("%d trees stored as deltas in the pass's pack, want the edited ones (~80):\n%.2000s", n, verify)
	}
	for _, limit := range []int64{maxOffset32, 4096} {
		t.Run(strconv.FormatInt(limit, 10), func(t *testing.T) {
			large := 0
			for _, e := range entries {
				if e.offset > limit {
					large++
				}
			}
			if limit < maxOffset32 && (large == 0 || large == len(entries)) {
				t.Fatalf("%d of %d offsets above %d: the limit does not split the pack", large, len(entries), limit)
			}
			wantPath := filepath.Join(work, fmt.Sprintf("git-%d.idx", limit))
			gittest.Git(t, work, env, "index-pack", fmt.Sprintf("--index-version=2,%d", limit), "-o", wantPath, packPath)
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatal(err)
			}
			got := packIndex(append([]packEntry(nil), entries...), sum, limit)
			if !bytes.Equal(got, want) {
				at := 0
				for at < len(got) && at < len(want) && got[at] == want[at] {
					at++
				}
				t.Fatalf("index of %d bytes, git index-pack's %d bytes (%d objects, %d past the limit); first difference at byte %d:\nours % x\ngit's % x",
					len(got), len(want), len(entries), large, at, got[at:min(at+32, len(got))], want[at:min(at+32, len(want))])
			}
		})
	}
}

// TestPackIndexWritesOffsetsPast2GiBInTheLargeTable: objects at offsets
// past 2^31 (a pack of more than 2 GiB, too costly to make in a test) are
// written as the high bit and their place in the 64-bit table, in the
// order of their names: checked against the layout by hand, and read
// back by go-git's index decoder.
func TestPackIndexWritesOffsetsPast2GiBInTheLargeTable(t *testing.T) {
	offsets := []int64{12, 4000, 1<<31 - 1, 1 << 31, 5 << 30, 1 << 40}
	var entries []packEntry
	for i, off := range offsets {
		h := plumbing.Hash(sha1.Sum([]byte{byte(i)}))
		entries = append(entries, packEntry{hash: h, offset: off, crc: uint32(0xc0de0000 + i)})
	}
	want := map[plumbing.Hash]packEntry{}
	for _, e := range entries {
		want[e.hash] = e
	}
	packSum := bytes.Repeat([]byte{0xab}, 20)
	idx := packIndex(entries, packSum, maxOffset32) // sorts entries by name
	n := len(entries)
	if wantLen := 8 + 256*4 + n*28 + 3*8 + 40; len(idx) != wantLen {
		t.Fatalf("index of %d bytes, want %d (3 offsets in the 64-bit table)", len(idx), wantLen)
	}
	offs32 := 8 + 256*4 + n*24
	large := 0
	for i, e := range entries {
		got := binary.BigEndian.Uint32(idx[offs32+4*i:])
		if e.offset <= maxOffset32 {
			if got != uint32(e.offset) {
				t.Errorf("name %d (%s): 32-bit offset %#x, want %#x", i, e.hash, got, e.offset)
			}
			continue
		}
		if got != 1<<31|uint32(large) {
			t.Errorf("name %d (%s): 32-bit entry %#x, want the high bit and %d", i, e.hash, got, large)
		}
		if got64 := binary.BigEndian.Uint64(idx[offs32+4*n+8*large:]); got64 != uint64(e.offset) {
			t.Errorf("name %d (%s): 64-bit offset %#x, want %#x", i, e.hash, got64, e.offset)
		}
		large++
	}
	if !bytes.Equal(idx[len(idx)-40:len(idx)-20], packSum) {
		t.Errorf("pack checksum % x, want % x", idx[len(idx)-40:len(idx)-20], packSum)
	}
	if sum := sha1.Sum(idx[:len(idx)-20]); !bytes.Equal(idx[len(idx)-20:], sum[:]) {
		t.Errorf("index checksum % x, want the SHA-1 of what precedes it, % x", idx[len(idx)-20:], sum)
	}
	mi := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bytes.NewReader(idx)).Decode(mi); err != nil {
		t.Fatalf("go-git decodes the index: %v", err)
	}
	if c, _ := mi.Count(); c != int64(n) {
		t.Errorf("go-git counts %d objects, want %d", c, n)
	}
	for h, e := range want {
		off, err := mi.FindOffset(h)
		if err != nil || off != e.offset {
			t.Errorf("go-git finds %s at %#x (%v), want %#x", h, off, err, e.offset)
		}
		crc, err := mi.FindCRC32(h)
		if err != nil || crc != e.crc {
			t.Errorf("go-git reads %s's CRC %#x (%v), want %#x", h, crc, err, e.crc)
		}
	}
}

// TestPassPacksAreStoredAsGitStoresThemAndReadByTheSameStorage: two
// passes' packs, stored with the indexes the passes wrote (no parse), in
// a clone whose storage had already indexed its packs. The same storage
// (the Repo a loop keeps between passes) reads every tree each pass
// wrote, the second pass building on the first's; the system git finds
// the clone sound (fsck --strict) and accepts each pack (verify-pack);
// each pack and index is read-only, and no temporary file is left; the
// pack directory's modification time, by which history's mapped-pack
// reader finds new packs, changes.
func TestPassPacksAreStoredAsGitStoresThemAndReadByTheSameStorage(t *testing.T) {
	// 700 rollouts: apps/ is over 16 KiB, which go-git's pack reader
	// returns as an object read from the pack file when it is read.
	dir, repo, ps, first := editedPass(t, 700, 40)
	// history's mapped-pack reader lists objects/pack again when its
	// modification time changes.
	packDir := filepath.Join(dir, ".git", "objects", "pack")
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(packDir, hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.pack(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(packDir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().After(hourAgo) {
		t.Fatalf("objects/pack modified at %v after the pass stored its pack, want later than %v", fi.ModTime(), hourAgo)
	}
	for _, h := range first {
		if _, err := object.GetTree(repo.Storer, h); err != nil {
			t.Fatalf("the storage that indexed the clone before the pass reads the pass's tree %s: %v", h, err)
		}
	}
	next := newPassStore(repo.Storer)
	last, err := object.GetTree(next, first[len(first)-1])
	if err != nil {
		t.Fatalf("the next pass reads the last tree of the one before: %v", err)
	}
	second := editTrees(t, next, last, "b", 700, 30)
	if _, err := next.pack(); err != nil {
		t.Fatal(err)
	}
	for _, h := range append(first, second...) {
		tr, err := object.GetTree(repo.Storer, h)
		if err != nil {
			t.Fatalf("the same storage reads tree %s after both passes: %v", h, err)
		}
		if _, err := tr.File("apps/r007/route.yaml"); err != nil {
			t.Fatalf("tree %s: read apps/r007/route.yaml: %v", h, err)
		}
		apps, err := tr.Tree("apps")
		if err != nil || len(apps.Entries) != 700 {
			t.Fatalf("tree %s: apps/ read with %d entries (%v), want 700", h, len(apps.Entries), err)
		}
	}
	env := gittest.GitEnv(t.TempDir())
	gittest.Git(t, dir, env, "fsck", "--strict", "--full", "--no-dangling")
	idxs, _ := filepath.Glob(filepath.Join(packDir, "pack-*.idx"))
	if len(idxs) != 3 {
		t.Fatalf("%d packs in the clone, want the clone's and the two passes'", len(idxs))
	}
	for _, idx := range idxs {
		pack := idx[:len(idx)-len(".idx")] + ".pack"
		gittest.Git(t, dir, env, "verify-pack", "-v", idx)
		for _, f := range []string{idx, pack} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o444 {
				t.Errorf("%s: mode %v, want read-only (0444) as git makes packs", filepath.Base(f), fi.Mode().Perm())
			}
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(packDir, "tmp_*")); len(tmp) != 0 {
		t.Errorf("temporary files left in objects/pack: %v", tmp)
	}
}

// TestPassPacksAreReadThroughTheirIndexesUntilGoGitIndexesThem: a pass's
// pack is read through the index the pass wrote (passPacks), go-git's
// storage not indexing every pack again for it; 2×maxPassPacks+3 passes
// later, each building on the one before, the same storage reads every
// tree of every pass, never through more than maxPassPacks packs of its
// own, go-git's storage having indexed the older ones; git finds the
// clone sound.
func TestPassPacksAreReadThroughTheirIndexesUntilGoGitIndexesThem(t *testing.T) {
	dir, repo, ps, trees := editedPass(t, 60, 3)
	if _, err := ps.pack(); err != nil {
		t.Fatal(err)
	}
	s := repo.Storer.(*refStore)
	first := trees[0]
	if err := s.Storage.HasEncodedObject(first); err != plumbing.ErrObjectNotFound {
		t.Fatalf("go-git's own index has the pass's tree (%v): it indexed every pack again", err)
	}
	if err := s.HasEncodedObject(first); err != nil {
		t.Fatalf("the clone's storage has the pass's tree: %v", err)
	}
	if n, err := s.EncodedObjectSize(first); err != nil || n != ps.objects[first].Size() {
		t.Fatalf("the pass's tree: size %d (%v), want %d", n, err, ps.objects[first].Size())
	}
	if _, err := s.EncodedObject(plumbing.BlobObject, first); err != plumbing.ErrObjectNotFound {
		t.Fatalf("the pass's tree read as a blob: %v, want not found", err)
	}
	for pass := 1; pass <= 2*maxPassPacks+3; pass++ {
		next := newPassStore(repo.Storer)
		last, err := object.GetTree(next, trees[len(trees)-1])
		if err != nil {
			t.Fatalf("pass %d reads the last tree of the one before: %v", pass, err)
		}
		trees = append(trees, editTrees(t, next, last, fmt.Sprintf("p%d", pass), 60, 3)...)
		if _, err := next.pack(); err != nil {
			t.Fatal(err)
		}
		if len(s.passPacks.packs) > maxPassPacks {
			t.Fatalf("after pass %d, %d packs read through their own indexes, want at most %d", pass, len(s.passPacks.packs), maxPassPacks)
		}
	}
	for _, h := range trees {
		tr, err := object.GetTree(repo.Storer, h)
		if err != nil {
			t.Fatalf("the same storage reads tree %s: %v", h, err)
		}
		if _, err := tr.File("apps/r002/route.yaml"); err != nil {
			t.Fatalf("tree %s: read apps/r002/route.yaml: %v", h, err)
		}
	}
	if _, err := s.Storage.EncodedObject(plumbing.TreeObject, first); err != nil {
		t.Fatalf("go-git's storage, having indexed the older passes' packs, reads the first pass's tree: %v", err)
	}
	gittest.Git(t, dir, gittest.GitEnv(t.TempDir()), "fsck", "--strict", "--full", "--no-dangling")
	if idxs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.idx")); len(idxs) != 2*maxPassPacks+5 {
		t.Errorf("%d packs in the clone, want the clone's and the %d passes'", len(idxs), 2*maxPassPacks+4)
	}
}

// TestAKillBetweenStoringTheIndexAndThePackLeavesAClonePassesRead: a pass
// stores its pack's index before the pack, so a kill between the two
// renames leaves an index without its pack. go-git opens the clone and
// reads it, ramp's check of its packs accepts it (no rebuild), and git
// finds the clone sound.
func TestAKillBetweenStoringTheIndexAndThePackLeavesAClonePassesRead(t *testing.T) {
	dir, repo, ps, trees := editedPass(t, 50, 5)
	var buf bytes.Buffer
	entries, sum, err := ps.encode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	gitDir := filepath.Join(dir, ".git")
	packDir := filepath.Join(gitDir, "objects", "pack")
	// storePack killed at its second rename.
	killed := &killedAtSecondRename{Filesystem: osfs.New(gitDir)}
	if err := storePack(dirStorer{killed}, buf.Bytes(), packIndex(entries, sum, maxOffset32)); err == nil {
		t.Fatal("storePack went on past the kill")
	}
	if _, err := os.Stat(filepath.Join(packDir, "pack-"+hex.EncodeToString(sum)+".idx")); err != nil {
		t.Fatalf("what the kill left: %v; want the index stored first", err)
	}
	closeRepo(repo)
	if err := checkPacks(gitDir); err != nil {
		t.Fatalf("ramp's check of the clone's packs: %v; want an index without its pack passed over", err)
	}
	again, err := plainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRepo(again)
	head, err := again.Head()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.CommitObject(head.Hash()); err != nil {
		t.Fatalf("go-git reads the tip of a clone holding an index without its pack: %v", err)
	}
	if _, err := object.GetTree(again.Storer, trees[0]); err == nil {
		t.Fatal("go-git reads a tree of the pack that was never stored")
	}
	gittest.Git(t, dir, gittest.GitEnv(t.TempDir()), "fsck", "--strict", "--full", "--no-dangling")
}

// killedAtSecondRename is a filesystem whose second rename, and every
// call after it, fails: a process killed there.
type killedAtSecondRename struct {
	billy.Filesystem
	renames int
}

func (fs *killedAtSecondRename) Rename(from, to string) error {
	if fs.renames++; fs.renames > 1 {
		return errors.New("killed")
	}
	return fs.Filesystem.Rename(from, to)
}

// dirStorer is a packDirStorer over a filesystem.
type dirStorer struct{ fs billy.Filesystem }

func (s dirStorer) Filesystem() billy.Filesystem { return s.fs }
func (s dirStorer) Reindex()                     {}

package history

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestPackObjectsReadEveryObjectAsGoGitDoes: every object of a generated
// repository, packed by the system git with deep delta chains (offset
// deltas) and again with reference deltas, and one object written loose
// afterwards, reads the same (type and content) through packObjects as
// through go-git's storage.
func TestPackObjectsReadEveryObjectAsGoGitDoes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		repack []string
	}{
		{"offset deltas", []string{"repack", "-adfq", "--depth=50", "--window=50"}},
		{"reference deltas", []string{"-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq", "--depth=20"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo.git")
			if _, err := gittest.Generate(dir, gittest.History{Commits: 600, Rollouts: 5, Releases: 2, Seed: 3}); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("git", append([]string{"--git-dir", dir}, tc.repack...)...).CombinedOutput(); err != nil {
				t.Fatalf("git repack: %v: %s", err, out)
			}
			packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.idx"))
			if len(packs) != 1 {
				t.Fatalf("packs %v, want one", packs)
			}
			if out, err := exec.Command("git", "verify-pack", "-v", packs[0]).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("chain length = 10")) {
				t.Fatalf("git verify-pack: %v; want delta chains of length 10 and more:\n%.2000s", err, out)
			}
			repo, err := git.PlainOpen(dir)
			if err != nil {
				t.Fatal(err)
			}
			// One loose object besides the pack.
			fast := newPackObjects(repo.Storer)
			if _, ok := fast.(*packObjects); !ok {
				t.Fatalf("newPackObjects over a repository on disk is %T, want *packObjects", fast)
			}
			blob := repo.Storer.NewEncodedObject()
			blob.SetType(plumbing.BlobObject)
			w, _ := blob.Writer()
			w.Write([]byte("loose\n"))
			w.Close()
			loose, err := repo.Storer.SetEncodedObject(blob)
			if err != nil {
				t.Fatal(err)
			}

			iter, err := repo.Storer.IterEncodedObjects(plumbing.AnyObject)
			if err != nil {
				t.Fatal(err)
			}
			counts := map[plumbing.ObjectType]int{}
			sawLoose := false
			err = iter.ForEach(func(want plumbing.EncodedObject) error {
				got, err := fast.EncodedObject(plumbing.AnyObject, want.Hash())
				if err != nil {
					t.Fatalf("%s: %v", want.Hash(), err)
				}
				if got.Type() != want.Type() || got.Hash() != want.Hash() || !bytes.Equal(content(t, got), content(t, want)) {
					t.Fatalf("%s: read %s (%d bytes), want %s (%d bytes)", want.Hash(), got.Type(), got.Size(), want.Type(), want.Size())
				}
				if _, err := fast.EncodedObject(otherType(want.Type()), want.Hash()); err != plumbing.ErrObjectNotFound {
					t.Fatalf("%s asked as a %s: %v, want not found", want.Hash(), otherType(want.Type()), err)
				}
				counts[want.Type()]++
				sawLoose = sawLoose || want.Hash() == loose
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if counts[plumbing.CommitObject] != 600 || counts[plumbing.TreeObject] == 0 || !sawLoose {
				t.Fatalf("compared %v (loose object seen: %v), want 600 commits, trees, blobs and the loose blob", counts, sawLoose)
			}
			// A commit decodes through it, and a missing object is missing.
			head, _ := repo.Head()
			if _, err := object.GetCommit(fast, head.Hash()); err != nil {
				t.Fatal(err)
			}
			if _, err := fast.EncodedObject(plumbing.AnyObject, plumbing.NewHash("1111111111111111111111111111111111111111")); err != plumbing.ErrObjectNotFound {
				t.Fatalf("a missing object: %v, want not found", err)
			}
		})
	}
}

func content(t *testing.T, o plumbing.EncodedObject) []byte {
	t.Helper()
	rd, err := o.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func otherType(t plumbing.ObjectType) plumbing.ObjectType {
	if t == plumbing.BlobObject {
		return plumbing.TreeObject
	}
	return plumbing.BlobObject
}

// TestFindNameFindsEveryNameAndNoOther: over sorted random names of many
// bucket sizes, findName finds each name at its index and reports names
// that are not there, wherever they would sort (first, last, between).
func TestFindNameFindsEveryNameAndNoOther(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1000, 5000} {
		hashes := make([]plumbing.Hash, n+200)
		for i := range hashes {
			for j := range hashes[i] {
				hashes[i][j] = byte(rnd.Uint32())
			}
			hashes[i][0] = 7
		}
		if n > 2 { // a run of names sharing their first 9 bytes
			copy(hashes[1][:12], hashes[0][:12])
			copy(hashes[2][:12], hashes[0][:12])
		}
		in, out := hashes[:n], hashes[n:]
		slices.SortFunc(in, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
		var names []byte
		for _, h := range in {
			names = append(names, h[:]...)
		}
		for i, h := range in {
			if got, ok := findName(names, n, h); !ok || got != i {
				t.Fatalf("n=%d: name %d found at %d, %v", n, i, got, ok)
			}
		}
		for _, h := range out {
			if _, ok := findName(names, n, h); ok {
				t.Fatalf("n=%d: %s found, it is not there", n, h)
			}
			if n > 0 { // next to a name that is there
				near := in[rnd.IntN(n)]
				near[19] ^= 1
				if _, ok := findName(names, n, near); ok {
					t.Fatalf("n=%d: %s found, it is not there", n, near)
				}
			}
		}
	}
}

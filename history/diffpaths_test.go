package history

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TestDiffPathsListsWhatDiffers: over random pairs of trees, edited in
// place (the same names in the same places, as a pass's commits make
// them) or not (entries added, removed, a file turned into a directory),
// diffPaths lists the paths a plain comparison by name finds: present on
// one side only, or different and not a directory on both sides; and
// below a directory on both sides, what differs within.
func TestDiffPathsListsWhatDiffers(t *testing.T) {
	rnd := rand.New(rand.NewPCG(14, 3))
	for round := range 1500 {
		trees := map[plumbing.Hash]*object.Tree{}
		a := randomTree(rnd, trees, 2)
		b := editedTree(rnd, trees, a, round%3 == 0)
		w := newWalker(nil)
		w.known = func(h plumbing.Hash) *object.Tree { return trees[h] }
		got := map[string]bool{}
		w.diffPaths(a, b, "", got)
		want := map[string]bool{}
		diffByName(trees, a, b, "", want)
		if !maps.Equal(got, want) {
			t.Fatalf("round %d: diffPaths lists %v, want %v", round, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
	}
}

var treeSeq int

// storeTree gives t a hash of its own and keeps it in trees.
func storeTree(trees map[plumbing.Hash]*object.Tree, t *object.Tree) *object.Tree {
	treeSeq++
	t.Hash = plumbing.ComputeHash(plumbing.TreeObject, []byte(fmt.Sprint(treeSeq)))
	trees[t.Hash] = t
	return t
}

func randomHash(rnd *rand.Rand) plumbing.Hash {
	var h plumbing.Hash
	for i := range h {
		h[i] = byte(rnd.IntN(256))
	}
	return h
}

// randomTree returns a tree of up to 12 entries in git's order, some of
// them directories (down to depth more levels).
func randomTree(rnd *rand.Rand, trees map[plumbing.Hash]*object.Tree, depth int) *object.Tree {
	names := map[string]bool{}
	var entries []object.TreeEntry
	for range rnd.IntN(12) {
		name := fmt.Sprintf("%c%d", 'a'+rnd.IntN(4), rnd.IntN(3))
		if names[name] {
			continue
		}
		names[name] = true
		e := object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: randomHash(rnd)}
		if depth > 0 && rnd.IntN(3) == 0 {
			e.Mode, e.Hash = filemode.Dir, randomTree(rnd, trees, depth-1).Hash
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, CompareEntries)
	return storeTree(trees, &object.Tree{Entries: entries})
}

// editedTree returns a copy of t with some entries changed: in place
// (another hash, a directory edited the same way) when aligned, else
// also entries removed, added, or turned from file into directory.
func editedTree(rnd *rand.Rand, trees map[plumbing.Hash]*object.Tree, t *object.Tree, aligned bool) *object.Tree {
	entries := slices.Clone(t.Entries)
	for i := range entries {
		if rnd.IntN(3) != 0 {
			continue
		}
		if entries[i].Mode == filemode.Dir {
			entries[i].Hash = editedTree(rnd, trees, trees[entries[i].Hash], aligned).Hash
		} else {
			entries[i].Hash = randomHash(rnd)
		}
	}
	if !aligned {
		if len(entries) > 0 && rnd.IntN(2) == 0 {
			i := rnd.IntN(len(entries))
			entries = slices.Delete(entries, i, i+1)
		}
		if len(entries) > 0 && rnd.IntN(2) == 0 {
			i := rnd.IntN(len(entries))
			if entries[i].Mode != filemode.Dir {
				entries[i].Mode, entries[i].Hash = filemode.Dir, randomTree(rnd, trees, 0).Hash
			}
		}
		extra := randomTree(rnd, trees, 1)
		for _, e := range extra.Entries {
			if !slices.ContainsFunc(entries, func(x object.TreeEntry) bool { return x.Name == e.Name }) {
				entries = append(entries, e)
			}
		}
		slices.SortFunc(entries, CompareEntries)
	}
	return storeTree(trees, &object.Tree{Entries: entries})
}

// diffByName is what diffPaths finds, by looking each name up on both sides.
func diffByName(trees map[plumbing.Hash]*object.Tree, a, b *object.Tree, prefix string, changed map[string]bool) {
	byName := func(t *object.Tree) map[string]object.TreeEntry {
		m := map[string]object.TreeEntry{}
		for _, e := range t.Entries {
			m[e.Name] = e
		}
		return m
	}
	ea, eb := byName(a), byName(b)
	for name := range ea {
		if _, ok := eb[name]; !ok {
			changed[prefix+name] = true
		}
	}
	for name, y := range eb {
		x, ok := ea[name]
		switch {
		case !ok:
			changed[prefix+name] = true
		case x.Hash == y.Hash:
		case x.Mode == filemode.Dir && y.Mode == filemode.Dir:
			diffByName(trees, trees[x.Hash], trees[y.Hash], prefix+name+"/", changed)
		default:
			changed[prefix+name] = true
		}
	}
}

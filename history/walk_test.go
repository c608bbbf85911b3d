package history

import (
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestWalkerTreeCacheIsBoundedAndKeepsWhatItUses: a walk over more root
// trees than the cache holds keeps at most maxTrees decoded trees, and a
// tree it asks for at every commit (here the releases/ directory) stays
// cached throughout: the cache is never dropped at once.
func TestWalkerTreeCacheIsBoundedAndKeepsWhatItUses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo.git")
	tip, err := gittest.Generate(dir, gittest.History{Commits: maxTrees + 2000, Rollouts: 3, Releases: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := newWalker(newPackObjects(repo.Storer))
	var specs plumbing.Hash
	roots := 0
	for l, err := range w.firstParents(plumbing.NewHash(tip)) {
		if err != nil {
			t.Fatal(err)
		}
		root, err := w.rootTree(l.commit)
		if err != nil {
			t.Fatal(err)
		}
		roots++
		e, err := root.FindEntry("releases")
		if err != nil {
			t.Fatal(err)
		}
		if specs.IsZero() {
			specs = e.Hash
		} else if _, young := w.trees[specs]; !young && e.Hash == specs {
			if _, old := w.old[specs]; !old {
				t.Fatalf("after %d commits the releases/ tree, asked for at every commit, left the cache", roots)
			}
		}
		if _, err := w.tree(e.Hash); err != nil {
			t.Fatal(err)
		}
		if len(w.trees) > maxTrees/2 || len(w.old) > maxTrees/2 {
			t.Fatalf("after %d commits the cache holds %d + %d trees, want at most %d each", roots, len(w.trees), len(w.old), maxTrees/2)
		}
	}
	if roots <= maxTrees || len(w.old) == 0 {
		t.Fatalf("walked %d root trees, old generation %d: want more than %d, so that the cache filled", roots, len(w.old), maxTrees)
	}
}

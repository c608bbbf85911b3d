package history

import (
	"maps"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/ramp-dev/ramp/policy"
)

// TestTouchedByPathIndexFindsTheSameRolloutsAsLookingAtEach: over the
// cases of TestTouchedFindsEveryRolloutWhoseFilesChanged, touched finds
// the same rollouts with the index of their paths (what Update uses) as by
// looking at every rollout's files, and a map other than the one indexed
// is not read through the index.
func TestTouchedByPathIndexFindsTheSameRolloutsAsLookingAtEach(t *testing.T) {
	repo, err := git.PlainOpen(touchedCases(t))
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	d := &Deriver{Repo: repo, Guardrails: policy.DefaultGuardrails()}
	plain, indexed := newWalker(repo.Storer), newWalker(repo.Storer)
	var rollouts map[string]*policy.Rollout
	commits, found := 0, 0
	for l, err := range plain.firstParents(head.Hash()) {
		if err != nil {
			t.Fatal(err)
		}
		if l.parent == nil {
			snap, err := d.load(l.commit.Hash)
			if err != nil || len(snap.Rollouts) != 4 {
				t.Fatalf("load: %d rollouts, %v", len(snap.Rollouts), err)
			}
			rollouts = snap.Rollouts
			break
		}
	}
	indexed.indexRollouts(rollouts)
	if indexed.pathIndex(maps.Clone(rollouts)) != nil {
		t.Fatal("a copy of the indexed map is read through the index")
	}
	for l, err := range plain.firstParents(head.Hash()) {
		if err != nil {
			t.Fatal(err)
		}
		if l.parent == nil {
			break
		}
		commits++
		tree, _ := plain.rootTree(l.commit)
		parent, _ := plain.rootTree(l.parent)
		want := slices.Sorted(maps.Keys(plain.touched(tree, parent, rollouts)))
		itree, _ := indexed.rootTree(l.commit)
		iparent, _ := indexed.rootTree(l.parent)
		got := slices.Sorted(maps.Keys(indexed.touched(itree, iparent, rollouts)))
		if !slices.Equal(got, want) {
			t.Errorf("%s: touched with the index %v, without %v", l.commit.Message, got, want)
		}
		found += len(got)
	}
	if commits != 8 || found < 8 {
		t.Fatalf("walked %d commits, %d rollouts touched; want 8 commits, each touching one or more", commits, found)
	}
}

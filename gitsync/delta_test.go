package gitsync

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// TestEditDeltaRebuildsTheTarget: the delta of a tree edited from a base
// (one part replaced, grown or shrunk, at the start, the middle or the
// end, or nothing changed), applied to the base by go-git's patcher, is
// the target; the common ends it copies are the longest there are.
func TestEditDeltaRebuildsTheTarget(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for round := range 2000 {
		base := make([]byte, 1+rnd.IntN(300)) // a tree edited has an entry
		for i := range base {
			base[i] = byte(rnd.IntN(3)) // few values: long equal runs
		}
		at := rnd.IntN(len(base) + 1)
		cut := rnd.IntN(len(base) - at + 1)
		insert := make([]byte, rnd.IntN(40))
		for i := range insert {
			insert[i] = byte(rnd.IntN(3))
		}
		target := append(append(bytes.Clone(base[:at]), insert...), base[at+cut:]...)
		got, err := packfile.PatchDelta(base, editDelta(base, target))
		if err != nil {
			t.Fatalf("round %d: go-git cannot apply the delta: %v", round, err)
		}
		if !bytes.Equal(got, target) {
			t.Fatalf("round %d: the delta rebuilds %v, want %v", round, got, target)
		}
		p := 0
		for p < len(base) && p < len(target) && base[p] == target[p] {
			p++
		}
		s := 0
		for s < len(base)-p && s < len(target)-p && base[len(base)-1-s] == target[len(target)-1-s] {
			s++
		}
		if gp, gs := commonPrefix(base, target), commonSuffix(base[p:], target[p:]); gp != p || gs != s {
			t.Fatalf("round %d: common prefix %d and suffix %d, want %d and %d", round, gp, gs, p, s)
		}
	}
}

// TestAnEditRecordedAgainstOneBaseIsNotUsedAgainstAnother: when a pass
// makes the same tree again from another base, encoded anew, the edit it
// recorded against the first base is dropped, so the pack does not build
// the tree's delta from the second base with the first edit's bytes.
func TestAnEditRecordedAgainstOneBaseIsNotUsedAgainstAnother(t *testing.T) {
	s := newPassStore(nil)
	tree, first, second := plumbing.NewHash("01"), plumbing.NewHash("02"), plumbing.NewHash("03")
	s.editedFrom(tree, first, treeEdit{layout: []int32{20}, lo: 20, hi: 40})
	if _, ok := s.edits[tree]; !ok {
		t.Fatal("the edit against the first base was not recorded")
	}
	s.editedFrom(tree, second, treeEdit{})
	if e, ok := s.edits[tree]; ok {
		t.Fatalf("edit %+v, recorded against %s, kept for base %s", e, first, s.bases[tree])
	}
	if s.bases[tree] != second {
		t.Fatalf("base %s, want %s", s.bases[tree], second)
	}
}

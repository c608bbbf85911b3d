package history

import (
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// TestUpdateReadsTheDirectoriesTheCallerHoldsAndDerivesTheSame: an update
// over commits that start two releases and edit their routes by hand
// derives the same states when Deriver.Trees hands it the directories
// (decoded, without a storer) as when it reads them from git; Trees is
// asked for directories and never for a commit's root tree. Handing it
// stale directories changes the states: what Trees returns is used.
func TestUpdateReadsTheDirectoriesTheCallerHoldsAndDerivesTheSame(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, name := range []string{"api", "demo", "web"} {
		for p, c := range gittest.RolloutFiles(name, "1.0.0") {
			files[p] = c
		}
	}
	first := gittest.InitRepo(t, dir, files)
	gittest.WriteFiles(t, dir, map[string]string{
		"apps/api/canary/kustomization.yaml":  gittest.Kustomization("api", "2.0.0"),
		"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "2.0.0"),
	})
	gittest.CommitAll(t, dir, nil, "release 2.0.0 of api and demo")
	gittest.WriteFiles(t, dir, map[string]string{"apps/api/route.yaml": gittest.Route("api", 10)})
	gittest.CommitAll(t, dir, nil, "api to 10 by hand")
	gittest.WriteFiles(t, dir, map[string]string{"apps/demo/route.yaml": gittest.Route("demo", 30)})
	gittest.CommitAll(t, dir, nil, "demo to 30 by hand")

	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	roots := map[plumbing.Hash]bool{}
	commits, err := repo.Log(&git.LogOptions{From: head.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	commits.ForEach(func(c *object.Commit) error { roots[c.TreeHash] = true; return nil })
	if len(roots) != 4 {
		t.Fatalf("%d commits, want 4", len(roots))
	}
	update := func(trees func(plumbing.Hash) *object.Tree) map[string]policy.State {
		t.Helper()
		d := &Deriver{Repo: repo, Guardrails: policy.DefaultGuardrails()}
		prev, err := d.Derive(plumbing.NewHash(first))
		if err != nil {
			t.Fatal(err)
		}
		d.Trees = trees
		snap, err := d.Update(prev, head.Hash())
		if err != nil {
			t.Fatal(err)
		}
		return snap.States
	}
	decoded := func(h plumbing.Hash) *object.Tree {
		tree, err := repo.TreeObject(h)
		if err != nil {
			t.Fatalf("tree %s: %v", h, err)
		}
		return &object.Tree{Hash: tree.Hash, Entries: tree.Entries}
	}

	want := update(nil)
	if want["api"].Phase == policy.PhaseStable || want["demo"].Phase == policy.PhaseStable {
		t.Fatalf("api %s, demo %s: want both releases in flight", want["api"].Phase, want["demo"].Phase)
	}
	asked := 0
	got := update(func(h plumbing.Hash) *object.Tree {
		asked++
		if roots[h] {
			t.Errorf("asked for root tree %s", h)
		}
		return decoded(h)
	})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("states with Trees\n%+v\nwithout\n%+v", got, want)
	}
	if asked == 0 {
		t.Error("Trees was never asked")
	}

	// The control: the apps/ directory of the first commit, whatever the
	// hash asked for.
	firstCommit, err := repo.CommitObject(plumbing.NewHash(first))
	if err != nil {
		t.Fatal(err)
	}
	firstRoot, err := firstCommit.Tree()
	if err != nil {
		t.Fatal(err)
	}
	apps, err := firstRoot.FindEntry("apps")
	if err != nil {
		t.Fatal(err)
	}
	stale := update(func(h plumbing.Hash) *object.Tree {
		tree := decoded(h)
		if old := decoded(apps.Hash); len(old.Entries) == len(tree.Entries) && old.Entries[0].Name == tree.Entries[0].Name {
			return &object.Tree{Hash: h, Entries: old.Entries}
		}
		return tree
	})
	if reflect.DeepEqual(stale, want) {
		t.Error("states from stale directories are the same: the test cannot tell whether Trees is used")
	}
}

package history

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// TestTouchedFindsEveryRolloutWhoseFilesChanged: over commits that edit a
// route, replace a rollout's directory with a file, delete a file, turn a
// directory into a link, change the spec and change something unrelated,
// the changes read for the rollouts touched returns are those read for
// every rollout.
func TestTouchedFindsEveryRolloutWhoseFilesChanged(t *testing.T) {
	dir := touchedCases(t)

	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	root, err := repo.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	for len(root.ParentHashes) > 0 {
		if root, err = repo.CommitObject(root.ParentHashes[0]); err != nil {
			t.Fatal(err)
		}
	}
	d := &Deriver{Repo: repo, Guardrails: policy.DefaultGuardrails()}
	snap, err := d.load(root.Hash)
	if err != nil || len(snap.Rollouts) != 4 {
		t.Fatalf("load: %d rollouts, %v", len(snap.Rollouts), err)
	}
	w := newWalker(repo.Storer)
	commits := 0
	for l, err := range w.firstParents(head.Hash()) {
		if err != nil {
			t.Fatal(err)
		}
		if l.parent == nil {
			break
		}
		commits++
		tree, _ := w.rootTree(l.commit)
		parent, _ := w.rootTree(l.parent)
		all, some := changes(t, w, tree, parent, snap.Rollouts), changes(t, w, tree, parent, w.touched(tree, parent, snap.Rollouts))
		if !reflect.DeepEqual(all, some) {
			t.Errorf("%s: changes of the rollouts touched %v, of every rollout %v", l.commit.Message, some, all)
		}
		if len(all) == 0 && l.commit.Message != "unrelated\n" {
			t.Errorf("%s: no rollout changed: the commit does not test anything", l.commit.Message)
		}
	}
	if commits != 8 {
		t.Fatalf("walked %d commits, want 8", commits)
	}
}

// changes returns the non-empty changes of rollouts between tree and
// parent, with the field values read.
func changes(t *testing.T, w *walker, tree, parent *object.Tree, rollouts map[string]*policy.Rollout) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, r := range rollouts {
		ch, err := w.change(tree, parent, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ch != (policy.Change{}) {
			out[name] = describe(ch)
		}
	}
	return out
}

func describe(ch policy.Change) string {
	s := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	w := "-"
	if ch.Weight != nil {
		w = string(rune('0' + *ch.Weight/10))
	}
	return "release=" + s(ch.Release) + " stable=" + s(ch.Stable) + " target=" + map[bool]string{true: "y", false: "n"}[ch.Target] +
		" weight=" + w + " spec=" + map[bool]string{true: "y", false: "n"}[ch.Spec]
}

// touchedCases returns a repository of four rollouts (api, demo, web,
// zed) and eight commits after the first, one per case touched handles.
func touchedCases(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"src/main.go": "package main\n"}
	for _, name := range []string{"api", "demo", "web", "zed"} {
		for p, c := range gittest.RolloutFiles(name, "1.0.0") {
			files[p] = c
		}
	}
	gittest.InitRepo(t, dir, files)
	commit := func(msg string, edit func()) {
		edit()
		gittest.CommitAll(t, dir, nil, msg)
	}
	write := func(path, content string) {
		gittest.WriteFiles(t, dir, map[string]string{path: content})
	}
	remove := func(path string) {
		if err := os.RemoveAll(filepath.Join(dir, path)); err != nil {
			t.Fatal(err)
		}
	}
	commit("demo weight", func() { write("apps/demo/route.yaml", gittest.Route("demo", 10)) })
	commit("demo and web release", func() {
		write("apps/demo/canary/kustomization.yaml", gittest.Kustomization("demo", "2.0.0"))
		write("apps/web/canary/kustomization.yaml", gittest.Kustomization("web", "2.0.0"))
	})
	commit("unrelated", func() { write("src/main.go", "package main // 2\n") })
	commit("api's directory becomes a file", func() { remove("apps/api"); write("apps/api", "gone\n") })
	commit("web's route deleted", func() { remove("apps/web/route.yaml") })
	commit("zed's stable a link", func() {
		remove("apps/zed/stable")
		if err := os.Symlink("../demo/stable", filepath.Join(dir, "apps/zed/stable")); err != nil {
			t.Fatal(err)
		}
	})
	commit("zed's spec", func() {
		write("releases/zed/rollout.yaml", gittest.RolloutFiles("zed", "1.0.0")["releases/zed/rollout.yaml"]+"# edited\n")
	})
	commit("every rollout's directory goes", func() { remove("apps") })
	return dir
}

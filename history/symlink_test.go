package history_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// TestReadFileRefusesSymbolicLinks: a file that is a link, or lies below
// a directory that is one, is a *history.SymlinkError naming the link and
// its target, and reads as a missing file; a regular file reads.
func TestReadFileRefusesSymbolicLinks(t *testing.T) {
	dir := t.TempDir()
	gittest.InitRepo(t, dir, map[string]string{"apps/real/route.yaml": "kind: HTTPRoute\n"})
	for link, target := range map[string]string{"apps/demo": "real", "apps/real/link.yaml": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	gittest.CommitAll(t, dir, nil, "links")
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := repo.Head()
	c, _ := repo.CommitObject(head.Hash())
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}

	if b, err := history.ReadFile(tree, "apps/real/route.yaml"); err != nil || string(b) != "kind: HTTPRoute\n" {
		t.Errorf("regular file: %q, %v", b, err)
	}
	for _, want := range []history.SymlinkError{
		{Path: "apps/real/link.yaml", Link: "apps/real/link.yaml", Target: "/etc/passwd"},
		{Path: "apps/demo/route.yaml", Link: "apps/demo", Target: "real"},
	} {
		_, err := history.ReadFile(tree, want.Path)
		var got *history.SymlinkError
		if !errors.As(err, &got) || *got != want || !errors.Is(err, object.ErrFileNotFound) {
			t.Errorf("ReadFile(%s) = %v; want %+v, a missing file", want.Path, err, want)
		}
	}
}

// TestARolloutDirectoryThatIsASymbolicLinkIsInvalid: releases/web, a link
// to another rollout's directory, is no missing rollout (ramp would stop
// governing it silently) but an invalid one, in Specs and in Spec, naming
// the link and its target; a regular file in releases/ is still no
// rollout.
func TestARolloutDirectoryThatIsASymbolicLinkIsInvalid(t *testing.T) {
	dir := t.TempDir()
	files := gittest.RolloutFiles("demo", "1.0.0")
	files["releases/README.md"] = "not a rollout\n"
	gittest.InitRepo(t, dir, files)
	if err := os.Symlink("demo", filepath.Join(dir, "releases", "web")); err != nil {
		t.Fatal(err)
	}
	tip, d := commitLinks(t, dir)
	snap, err := d.Specs(tip)
	if err != nil {
		t.Fatal(err)
	}
	want := history.SymlinkError{Path: "releases/web/rollout.yaml", Link: "releases/web", Target: "demo"}
	var got *history.SymlinkError
	if !errors.As(snap.Invalid["web"], &got) || *got != want {
		t.Errorf("Specs: web invalid %v, want %+v", snap.Invalid["web"], want)
	}
	if snap.Rollouts["demo"] == nil || snap.Invalid["README.md"] != nil || snap.Rollouts["README.md"] != nil {
		t.Errorf("Specs: rollouts %v invalid %v, want demo valid and README.md no rollout", snap.Rollouts, snap.Invalid)
	}
	if _, invalid, err := d.Spec(tip, "web"); err != nil || !errors.As(invalid, &got) || *got != want {
		t.Errorf("Spec(web) = %v, %v; want %+v", invalid, err, want)
	}
}

// TestAReleasesDirectoryThatIsASymbolicLinkIsAnError: releases/ itself a
// link is no repository without rollouts (every rollout would leave
// ramp's control silently): Specs fails naming the link and its target.
func TestAReleasesDirectoryThatIsASymbolicLinkIsAnError(t *testing.T) {
	dir := t.TempDir()
	gittest.InitRepo(t, dir, gittest.RolloutFiles("demo", "1.0.0"))
	if err := os.Rename(filepath.Join(dir, "releases"), filepath.Join(dir, "specs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("specs", filepath.Join(dir, "releases")); err != nil {
		t.Fatal(err)
	}
	tip, d := commitLinks(t, dir)
	snap, err := d.Specs(tip)
	if want := "releases is a symbolic link (to specs)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Specs = %v, %v; want an error naming %q", snap, err, want)
	}
	if _, _, err := d.Spec(tip, "demo"); err == nil || !strings.Contains(err.Error(), "releases is a symbolic link (to specs)") {
		t.Errorf("Spec(demo) = %v; want the link named", err)
	}
}

// commitLinks commits everything in the repository dir (its links
// included) and returns the new tip and a Deriver of the repository.
func commitLinks(t *testing.T, dir string) (plumbing.Hash, *history.Deriver) {
	t.Helper()
	tip := plumbing.NewHash(gittest.CommitAll(t, dir, nil, "link"))
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tip, &history.Deriver{Repo: repo, Guardrails: policy.DefaultGuardrails()}
}

package history

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestPackReaderWaitsForAPackStoredAfterItsIndex: a pass stores a pack's
// index before the pack. The mapped-pack reader, listing the directory
// between the two, passes over the index alone and reads the pack once
// it is there (the directory changed again).
func TestPackReaderWaitsForAPackStoredAfterItsIndex(t *testing.T) {
	dir := t.TempDir()
	head := gittest.InitRepo(t, dir, map[string]string{"a.txt": "a\n"})
	env := gittest.GitEnv(t.TempDir())
	gittest.Git(t, dir, env, "repack", "-adq")
	packDir := filepath.Join(dir, ".git", "objects", "pack")
	packs, _ := filepath.Glob(filepath.Join(packDir, "pack-*.pack"))
	if len(packs) != 1 {
		t.Fatalf("%d packs after repack -ad, want 1", len(packs))
	}
	aside := filepath.Join(t.TempDir(), "aside.pack")
	if err := os.Rename(packs[0], aside); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := newPackObjects(repo.Storer).(*packObjects)
	if !ok {
		t.Fatal("no mapped-pack reader for a repository on disk")
	}
	h := plumbing.NewHash(head)
	if o, err := p.find(h); err != nil || o != nil {
		t.Fatalf("the tip found (%v, %v) with its pack not there", o, err)
	}
	// The pack arrives; the directory's time moves (as a rename moves it,
	// set here so that a coarse clock cannot hide it).
	if err := os.Rename(aside, packs[0]); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(packDir, later, later); err != nil {
		t.Fatal(err)
	}
	o, err := p.find(h)
	if err != nil || o == nil {
		t.Fatalf("the tip not found (%v) once its pack is stored after its index", err)
	}
	if o.typ != plumbing.CommitObject {
		t.Fatalf("the tip read as a %s", o.typ)
	}
}

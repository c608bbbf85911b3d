package gitsync

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// serveHistory serves a generated history of n commits over smart HTTP
// and returns its URL and the served repository's directory.
func serveHistory(t *testing.T, n int) (url, bare string) {
	t.Helper()
	srv := gittest.NewServer(t)
	bare = filepath.Join(srv.Root(), "release.git")
	if _, err := gittest.Generate(bare, gittest.History{Commits: n, Rollouts: 3, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return srv.URL("release.git"), bare
}

// shallowList reads the clone's list of boundary commits ("" when the
// file is absent).
func shallowList(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, shallowFile))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// TestShallowCloneIsReopenedWithoutARebuild: a shallow clone is what
// OpenShallow asked for, not damage: reopening it logs nothing and keeps
// the clone (a file left in it survives, the boundary is the same), and a
// pass that failed checks it (heal) without rebuilding it. Open, which
// wants the whole history, rebuilds it as a full clone and says why.
func TestShallowCloneIsReopenedWithoutARebuild(t *testing.T) {
	url, _ := serveHistory(t, 40)
	dir := filepath.Join(t.TempDir(), "clone")
	r, err := OpenShallow(context.Background(), url, dir, "main", Auth{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	list := shallowList(t, dir)
	if list == "" {
		t.Fatal("a clone of 5 of 40 commits has no shallow file")
	}
	closeRepo(r.repo)
	marker := filepath.Join(dir, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, lines := logLines()
	r, err = OpenShallow(ctx, url, dir, "main", Auth{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(); len(got) != 0 {
		t.Errorf("reopening a shallow clone logged %q; want nothing", got)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the shallow clone was replaced on reopen: %v", err)
	}
	if got := shallowList(t, dir); got != list {
		t.Errorf("boundary after reopen %q, want %q", got, list)
	}
	if rebuilt, err := r.heal(ctx); err != nil || rebuilt {
		t.Errorf("heal of a sound shallow clone: rebuilt %v, %v; want neither", rebuilt, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("heal replaced the shallow clone: %v", err)
	}
	closeRepo(r.repo)

	r, err = Open(ctx, url, dir, "main", Auth{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRepo(r.repo)
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], "a full clone is wanted") {
		t.Errorf("Open on a shallow clone logged %q; want one line saying a full clone is wanted", got)
	}
	if got := shallowList(t, dir); got != "" {
		t.Errorf("Open left a shallow clone (%q)", got)
	}
}

// TestShallowFileAKillEmptiedIsRebuiltShallow: ramp writes the shallow
// file by a rename and removes it once the clone is complete, so an empty
// one is what a kill left of go-git's in-place write; a walk would take
// the clone for complete. OpenShallow says so and rebuilds the clone,
// shallow again, at the depth it had reached.
func TestShallowFileAKillEmptiedIsRebuiltShallow(t *testing.T) {
	url, _ := serveHistory(t, 40)
	dir := filepath.Join(t.TempDir(), "clone")
	r, err := OpenShallow(context.Background(), url, dir, "main", Auth{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Held open, the file's inode is not free for the new file to take:
	// SameFile tells a rename from an in-place write.
	old, err := os.Open(filepath.Join(dir, shallowFile))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	before, err := old.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if more, err := r.Deepen(context.Background()); err != nil || !more {
		t.Fatalf("Deepen from 3 commits of 40: %v, %v; want more history", more, err)
	}
	after, err := os.Stat(filepath.Join(dir, shallowFile))
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("Deepen rewrote the shallow file in place; want a new file renamed over it")
	}
	closeRepo(r.repo)
	truncate(t, filepath.Join(dir, shallowFile))

	ctx, lines := logLines()
	r, err = OpenShallow(ctx, url, dir, "main", Auth{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRepo(r.repo)
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], "shallow: the list of boundary commits is empty") {
		t.Errorf("log lines %q; want one saying the shallow file is empty", got)
	}
	if shallowList(t, dir) == "" {
		t.Error("the rebuilt clone is not shallow")
	}
	if out, err := gittest.GitResult(t, dir, gittest.GitEnv(t.TempDir()), "fsck", "--no-dangling"); err != nil {
		t.Errorf("git fsck on the rebuilt shallow clone: %v\n%s", err, out)
	}
}

// TestDeepenFetchesMoreAfterAReopenOfADeeperClone: a clone deepened to 20
// commits and reopened after a restart (the Repo asks for 5 again) still
// deepens: asking for 20 changes nothing, so Deepen asks for more until
// the boundary moves, and never says "nothing more" while the clone is
// shallow. Deepened to the start of history, the shallow file is gone.
func TestDeepenFetchesMoreAfterAReopenOfADeeperClone(t *testing.T) {
	url, bare := serveHistory(t, 60)
	dir := filepath.Join(t.TempDir(), "clone")
	ctx := context.Background()
	r, err := OpenShallow(ctx, url, dir, "main", Auth{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if more, err := r.Deepen(ctx); err != nil || !more {
		t.Fatalf("Deepen to 20: %v, %v", more, err)
	}
	deep := shallowList(t, dir)
	if deep == "" {
		t.Fatal("20 of 60 commits: not shallow")
	}
	closeRepo(r.repo)

	r, err = OpenShallow(ctx, url, dir, "main", Auth{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRepo(r.repo)
	more, err := r.Deepen(ctx)
	if err != nil || !more {
		t.Fatalf("Deepen after the reopen: %v, %v; want more history", more, err)
	}
	if got := shallowList(t, dir); got == deep {
		t.Fatalf("Deepen after the reopen left the boundary at %q", got)
	}
	if got := shallowList(t, dir); got != "" {
		t.Errorf("deepened past 60 commits, the clone still lists boundary commits %q", got)
	}
	if more, err := r.Deepen(ctx); err != nil || more {
		t.Errorf("Deepen of a complete clone: %v, %v; want nothing more", more, err)
	}
	env := gittest.GitEnv(t.TempDir())
	if n, want := gittest.Git(t, dir, env, "rev-list", "--count", "main"), gittest.Git(t, bare, env, "rev-list", "--count", "main"); n != want {
		t.Errorf("the deepened clone holds %s commits of main, want the server's %s", n, want)
	}
}

// TestALoopRewiredAfterARebuildKeepsDeepen: after a failed pass rebuilt
// the clone, the loop builds a new deriver on the new clone (wire); it
// keeps the Deepen its owner set, so the rebuilt shallow clone still
// deepens instead of failing at its boundary.
func TestALoopRewiredAfterARebuildKeepsDeepen(t *testing.T) {
	url, _ := serveHistory(t, 40)
	dir := filepath.Join(t.TempDir(), "clone")
	ctx := context.Background()
	r, err := OpenShallow(ctx, url, dir, "main", Auth{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLoop(r, Config{})
	calls := 0
	l.Deriver().Deepen = func() (bool, error) { calls++; return r.Deepen(ctx) }
	truncate(t, filepath.Join(dir, "refs/remotes/origin/main"))
	if rebuilt, err := r.heal(ctx); err != nil || !rebuilt {
		t.Fatalf("heal of a damaged clone: rebuilt %v, %v", rebuilt, err)
	}
	old := l.Deriver()
	l.wire()
	if l.Deriver() == old || l.Deriver().Repo != r.Git() {
		t.Fatal("wire did not build a deriver on the rebuilt clone")
	}
	if l.Deriver().Deepen == nil {
		t.Fatal("the rewired deriver has no Deepen")
	}
	if more, err := l.Deriver().Deepen(); err != nil || !more || calls != 1 {
		t.Errorf("the rewired Deepen: %v, %v, called %d times; want the owner's, fetching more", more, err, calls)
	}
}

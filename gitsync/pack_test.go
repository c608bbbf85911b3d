package gitsync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// looseObjects is the server's count of loose objects: receive-pack
// unpacks a small pack into loose objects, so the difference across a
// push is the number of objects the push sent.
func (s *served) looseObjects(t *testing.T) int {
	t.Helper()
	for _, line := range strings.Split(gittest.Git(t, s.bare, s.env, "count-objects", "-v"), "\n") {
		if v, ok := strings.CutPrefix(line, "count: "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("git count-objects -v printed no count")
	return 0
}

func TestPushSendsOnlyTheObjectsTheNewCommitsAddedOverHTTPAndFile(t *testing.T) {
	for _, transport := range []string{"http", "file"} {
		t.Run(transport, func(t *testing.T) {
			s := serve(t)
			// History below the push that a full object walk would read.
			for i := range 5 {
				s.otherPush(t, "old"+strconv.Itoa(i)+".txt")
			}
			url := s.url
			if transport == "file" {
				url = "file://" + s.bare
			}
			r, err := Open(context.Background(), url, filepath.Join(t.TempDir(), "clone"), "main", Auth{})
			if err != nil {
				t.Fatalf("Open(%s): %v", url, err)
			}
			expected, err := r.Fetch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			commitFile(t, r, "step.txt", "3/7\n")
			ours := commitFile(t, r, "weights.txt", "25/75\n")
			before := s.looseObjects(t)

			if err := r.Push(context.Background(), expected, ours); err != nil {
				t.Fatalf("Push: %v", err)
			}
			if got := s.serverTip(t); got != ours.String() {
				t.Fatalf("server main = %s; want %s", got, ours)
			}
			// Two commits, each with a new root tree and one new blob.
			if sent := s.looseObjects(t) - before; sent != 6 {
				t.Errorf("push sent %d objects; want 6 (2 commits, 2 trees, 2 blobs)", sent)
			}
			gittest.Git(t, s.bare, s.env, "fsck", "--strict", "--no-dangling")
			if got := gittest.Git(t, s.bare, s.env, "show", "main:weights.txt"); got != "25/75" {
				t.Errorf("server main:weights.txt = %q; want 25/75", got)
			}
		})
	}
}

func TestNewObjectsWalksOnlyTheChangedPathsOfTheNewCommits(t *testing.T) {
	work := t.TempDir()
	env := gittest.GitEnv(t.TempDir())
	gittest.InitRepo(t, work, map[string]string{
		"apps/demo/route.yaml": "weight: 0\n", "apps/other/route.yaml": "weight: 0\n", "README": "x\n",
	})
	expected := gittest.Git(t, work, env, "rev-parse", "HEAD")
	gittest.WriteFiles(t, work, map[string]string{"apps/demo/route.yaml": "weight: 25\n"})
	tip := gittest.CommitAll(t, work, nil, "step 1")
	r, err := OpenLocal(work, "main")
	if err != nil {
		t.Fatal(err)
	}
	got, err := newObjects(r.Git().Storer, plumbing.NewHash(expected), plumbing.NewHash(tip))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, rev := range []string{"HEAD", "HEAD^{tree}", "HEAD:apps", "HEAD:apps/demo", "HEAD:apps/demo/route.yaml"} {
		want = append(want, gittest.Git(t, work, env, "rev-parse", rev))
	}
	var have []string
	for _, h := range got {
		have = append(have, h.String())
	}
	if strings.Join(have, " ") != strings.Join(want, " ") {
		t.Errorf("newObjects = %v;\nwant commit, root tree, apps, apps/demo, route.yaml: %v", have, want)
	}

	// A tip whose history never reaches expected has no cheap answer.
	gittest.Git(t, work, env, "checkout", "--quiet", "--orphan", "unrelated")
	orphan := gittest.CommitAll(t, work, nil, "unrelated root")
	if _, err := newObjects(r.Git().Storer, plumbing.NewHash(expected), plumbing.NewHash(orphan)); !errors.Is(err, errNotOnExpected) {
		t.Errorf("newObjects(unrelated root) = %v; want errNotOnExpected", err)
	}
}

func TestPushOverSSHSendsTheNewCommitsAndKeepsTheCompareAndSwap(t *testing.T) {
	dir := t.TempDir()
	key, pub := gittest.SSHKey(t, dir, "deploy")
	root := t.TempDir()
	env := gittest.GitEnv(t.TempDir())
	work := filepath.Join(dir, "work")
	gittest.InitRepo(t, work, map[string]string{"apps/demo/route.yaml": "weight: 0\n"})
	bare := filepath.Join(root, "release.git")
	gittest.Git(t, dir, env, "clone", "--quiet", "--bare", work, bare)
	srv := gittest.NewSSHServer(t, root, pub)
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte(srv.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), srv.URL("release.git"), filepath.Join(dir, "clone"), "main",
		Auth{SSHKeyPath: key, KnownHostsPath: known})
	if err != nil {
		t.Fatalf("Open over SSH: %v", err)
	}
	expected, err := r.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ours := commitFile(t, r, "step.txt", "3/7\n")
	if err := r.Push(context.Background(), expected, ours); err != nil {
		t.Fatalf("Push over SSH: %v", err)
	}
	if got := gittest.Git(t, bare, env, "rev-parse", "main"); got != ours.String() {
		t.Fatalf("server main = %s; want %s", got, ours)
	}
	gittest.Git(t, bare, env, "fsck", "--strict", "--no-dangling")

	// Someone else's push lands; ramp's next push from the old tip is refused.
	gittest.Git(t, work, env, "pull", "--quiet", bare, "main")
	gittest.WriteFiles(t, work, map[string]string{"approval.txt": "by someone else\n"})
	other := gittest.CommitAll(t, work, nil, "other")
	gittest.Git(t, work, env, "push", "--quiet", bare, "main")
	late := commitFile(t, r, "step.txt", "4/7\n")
	if err := r.Push(context.Background(), ours, late); !errors.Is(err, ErrBranchMoved) {
		t.Fatalf("Push after another push = %v; want ErrBranchMoved", err)
	}
	if got := gittest.Git(t, bare, env, "rev-parse", "main"); got != other {
		t.Errorf("server main = %s; want the other push %s kept", got, other)
	}
}

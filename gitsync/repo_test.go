package gitsync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// served is a release repository on a real smart-HTTP server, seeded with
// one commit pushed by the system git.
type served struct {
	srv  *gittest.Server
	url  string // what ramp clones, without credentials
	push string // what the system git pushes to, with credentials if any
	bare string
	env  []string
}

func serve(t *testing.T, opts ...gittest.ServerOption) *served {
	return serveAs(t, "", "", opts...)
}

func serveAs(t *testing.T, user, pass string, opts ...gittest.ServerOption) *served {
	t.Helper()
	s := &served{srv: gittest.NewServer(t, opts...), env: gittest.GitEnv(t.TempDir())}
	s.bare = s.srv.InitBare(t, "release.git")
	s.url = s.srv.URL("release.git")
	s.push = s.url
	if user != "" {
		s.push = strings.Replace(s.url, "http://", "http://"+user+":"+pass+"@", 1)
	}
	work := t.TempDir()
	gittest.InitRepo(t, work, map[string]string{"apps/demo/kustomization.yaml": "images: []\n"})
	gittest.Git(t, work, s.env, "push", "--quiet", s.push, "main")
	return s
}

// otherPush commits a file in a fresh clone made by the system git and
// pushes it, as a person would; it returns the new commit.
func (s *served) otherPush(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "other")
	gittest.Git(t, t.TempDir(), s.env, "clone", "--quiet", s.push, dir)
	gittest.WriteFiles(t, dir, map[string]string{name: "by someone else\n"})
	sha := gittest.CommitAll(t, dir, nil, "other: "+name)
	gittest.Git(t, dir, s.env, "push", "--quiet", "origin", "main")
	return sha
}

// serverTip is the branch tip according to the system git on the server.
func (s *served) serverTip(t *testing.T) string {
	return gittest.Git(t, s.bare, s.env, "rev-parse", "main")
}

// commitFile commits a new top-level file on r's branch and returns the
// commit: in a working copy with go-git's worktree, as a person would; in
// ramp's bare clone by writing the objects into its store, as the
// committer does.
func commitFile(t *testing.T, r *Repo, name, content string) plumbing.Hash {
	t.Helper()
	if !r.owned {
		return commitInWorktree(t, r, name, content)
	}
	store := r.Git().Storer
	put := func(o interface {
		Encode(plumbing.EncodedObject) error
	}) plumbing.Hash {
		obj := store.NewEncodedObject()
		if err := o.Encode(obj); err != nil {
			t.Fatal(err)
		}
		h, err := store.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tip, err := r.Tip()
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.Git().CommitObject(tip)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := parent.Tree()
	if err != nil {
		t.Fatal(err)
	}
	blob := store.NewEncodedObject()
	blob.SetType(plumbing.BlobObject)
	w, _ := blob.Writer()
	w.Write([]byte(content))
	w.Close()
	bh, err := store.SetEncodedObject(blob)
	if err != nil {
		t.Fatal(err)
	}
	entries := append(slices.Clone(tree.Entries), object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: bh})
	sortKey := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(sortKey(a), sortKey(b)) })
	sig := object.Signature{Name: "ramp", Email: "ramp@example.com", When: time.Now()}
	h := put(&object.Commit{Author: sig, Committer: sig, Message: "ramp: " + name,
		TreeHash: put(&object.Tree{Entries: entries}), ParentHashes: []plumbing.Hash{tip}})
	if err := store.SetReference(plumbing.NewHashReference(r.branchRef(), h)); err != nil {
		t.Fatal(err)
	}
	return h
}

func commitInWorktree(t *testing.T, r *Repo, name, content string) plumbing.Hash {
	t.Helper()
	wt, err := r.Git().Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wt.Filesystem.Root(), name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add(name); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("ramp: "+name, &git.CommitOptions{
		Author: &object.Signature{Name: "ramp", Email: "ramp@example.com", When: time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func open(t *testing.T, s *served, auth Auth) *Repo {
	t.Helper()
	r, err := Open(context.Background(), s.url, filepath.Join(t.TempDir(), "clone"), "main", auth)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

func TestRepoOpenClonesOverHTTPAndReopensTheClone(t *testing.T) {
	s := serve(t)
	dir := filepath.Join(t.TempDir(), "clone")
	r, err := Open(context.Background(), s.url, dir, "main", Auth{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	tip, err := r.Tip()
	if err != nil || tip.String() != s.serverTip(t) {
		t.Fatalf("Tip = %s, %v; want the server's %s", tip, err, s.serverTip(t))
	}
	if _, err := os.Stat(filepath.Join(dir, "apps")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the clone has a working tree (%v); ramp keeps a bare clone", err)
	}
	again, err := Open(context.Background(), s.url+"/", dir, "main", Auth{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if again.Branch() != "main" {
		t.Errorf("Branch = %q", again.Branch())
	}
	_, err = Open(context.Background(), s.srv.URL("elsewhere.git"), dir, "main", Auth{})
	if err == nil || !strings.Contains(err.Error(), "(a clone of "+s.url+", not ") || !strings.Contains(err.Error(), "repository not found") {
		t.Errorf("Open over a clone of another URL that does not exist: %v; want it to say both", err)
	}
	if again, err = Open(context.Background(), s.url, dir, "main", Auth{}); err != nil {
		t.Fatalf("a failed rebuild did not leave the clone as it was: %v", err)
	}
}

func TestRepoOpenClonesLocalPathsWithoutCredentials(t *testing.T) {
	s := serve(t)
	// SSH settings without known_hosts would be refused for an SSH URL;
	// for a path or file URL no credentials are used at all.
	auth := Auth{SSHKeyPath: "/nonexistent/key", Username: "u", Password: "p"}
	for _, url := range []string{s.bare, "file://" + s.bare} {
		r, err := Open(context.Background(), url, filepath.Join(t.TempDir(), "clone"), "main", auth)
		if err != nil {
			t.Fatalf("Open(%s): %v", url, err)
		}
		if tip, err := r.Fetch(context.Background()); err != nil || tip.String() != s.serverTip(t) {
			t.Errorf("Fetch from %s = %s, %v; want %s", url, tip, err, s.serverTip(t))
		}
	}
}

func TestFetchBringsInCommitsPushedBySystemGit(t *testing.T) {
	s := serve(t)
	r := open(t, s, Auth{})
	old, _ := r.Tip()
	other := s.otherPush(t, "apps/demo/note.txt")

	tip, err := r.Fetch(context.Background())
	if err != nil || tip.String() != other {
		t.Fatalf("Fetch = %s, %v; want %s", tip, err, other)
	}
	if again, err := r.Fetch(context.Background()); err != nil || again != tip {
		t.Fatalf("second Fetch (already up to date) = %s, %v; want %s, nil", again, err, tip)
	}
	if local, _ := r.Tip(); local != old {
		t.Fatalf("Fetch moved the local branch to %s", local)
	}
	if err := r.ResetTo(tip); err != nil {
		t.Fatalf("ResetTo: %v", err)
	}
	if local, _ := r.Tip(); local != tip {
		t.Errorf("after ResetTo, Tip = %s; want %s", local, tip)
	}
}

func TestPushCompareAndSwapUpdatesTheServerBranch(t *testing.T) {
	s := serve(t)
	r := open(t, s, Auth{})
	expected, err := r.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ours := commitFile(t, r, "step.txt", "3/7\n")
	if err := r.Push(context.Background(), expected, ours); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if got := s.serverTip(t); got != ours.String() {
		t.Fatalf("server main = %s; want %s", got, ours)
	}
	if parent := gittest.Git(t, s.bare, s.env, "rev-parse", "main^"); parent != expected.String() {
		t.Errorf("server main^ = %s; want %s", parent, expected)
	}
	if tip, err := r.Fetch(context.Background()); err != nil || tip != ours {
		t.Errorf("Fetch after Push = %s, %v; want %s", tip, err, ours)
	}
}

func TestPushReturnsErrBranchMovedWhenAnotherPushLandedFirst(t *testing.T) {
	s := serve(t)
	r := open(t, s, Auth{})
	expected, _ := r.Fetch(context.Background())
	ours := commitFile(t, r, "step.txt", "3/7\n")
	other := s.otherPush(t, "approval.txt")

	err := r.Push(context.Background(), expected, ours)
	if !errors.Is(err, ErrBranchMoved) {
		t.Fatalf("Push = %v; want ErrBranchMoved", err)
	}
	if got := s.serverTip(t); got != other {
		t.Errorf("server main = %s; want the other push %s kept", got, other)
	}
}

func TestPushReturnsErrBranchMovedWhenAPushLandsDuringThePush(t *testing.T) {
	var s *served
	var other string
	var hookErr error
	var armed, fired atomic.Bool // armed once the seed push is done
	s = serve(t, gittest.BeforeReceive(func() {
		if !armed.CompareAndSwap(true, false) {
			return
		}
		fired.Store(true)
		var out string
		dir := filepath.Join(t.TempDir(), "racer")
		if out, hookErr = gittest.GitResult(t, t.TempDir(), s.env, "clone", "--quiet", s.push, dir); hookErr != nil {
			hookErr = errors.New(out)
			return
		}
		gittest.WriteFiles(t, dir, map[string]string{"racer.txt": "first\n"})
		env := append(s.env, "GIT_DIR="+filepath.Join(dir, ".git"), "GIT_WORK_TREE="+dir)
		for _, args := range [][]string{{"add", "racer.txt"}, {"commit", "--quiet", "-m", "racer"}, {"push", "--quiet", "origin", "main"}} {
			if out, hookErr = gittest.GitResult(t, dir, env, args...); hookErr != nil {
				hookErr = errors.New(out)
				return
			}
		}
		other, _ = gittest.GitResult(t, dir, env, "rev-parse", "HEAD")
		other = strings.TrimSpace(other)
	}))
	r := open(t, s, Auth{})
	expected, _ := r.Fetch(context.Background())
	ours := commitFile(t, r, "step.txt", "3/7\n")
	armed.Store(true)

	err := r.Push(context.Background(), expected, ours)
	if hookErr != nil || !fired.Load() {
		t.Fatalf("the concurrent push did not happen (fired %v): %v", fired.Load(), hookErr)
	}
	if !errors.Is(err, ErrBranchMoved) {
		t.Fatalf("Push = %v; want ErrBranchMoved", err)
	}
	t.Logf("Push: %v", err)
	log := gittest.Git(t, s.bare, s.env, "log", "--format=%H", "main")
	if !strings.Contains(log, other) || strings.Contains(log, ours.String()) {
		t.Errorf("server history:\n%s\nwant the racer %s and not ours %s", log, other, ours)
	}
}

func TestRepoOpenReportsWrongPasswordWithoutLeakingIt(t *testing.T) {
	s := serveAs(t, "ramp", "right-secret", gittest.BasicAuth("ramp", "right-secret"))
	dir := filepath.Join(t.TempDir(), "clone")
	_, err := Open(context.Background(), s.url, dir, "main", Auth{Username: "ramp", Password: "wrong-secret-42"})
	if err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("Open with a wrong password = %v; want an authentication error", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error reveals a password: %v", err)
	}
	if out, err := gittest.GitResult(t, t.TempDir(), s.env, "ls-remote", s.url); err == nil {
		t.Errorf("the server let the system git in without credentials: %s", out)
	}
	r, err := Open(context.Background(), s.url, dir, "main", Auth{Username: "ramp", Password: "right-secret"})
	if err != nil {
		t.Fatalf("Open with the right password: %v", err)
	}
	if _, err := r.Fetch(context.Background()); err != nil {
		t.Errorf("Fetch with the right password: %v", err)
	}
}

func TestRepoOpenRequiresKnownHostsForSSH(t *testing.T) {
	key, _ := gittest.SSHKey(t, t.TempDir(), "deploy")
	for _, tt := range []struct {
		name, url string
		auth      Auth
		wantErr   string
	}{
		{"no known_hosts option", "ssh://git@127.0.0.1:1/release.git", Auth{SSHKeyPath: key}, "set KnownHostsPath to a known_hosts file"},
		{"known_hosts file missing", "git@127.0.0.1:release.git",
			Auth{SSHKeyPath: key, KnownHostsPath: filepath.Join(t.TempDir(), "known_hosts")}, "known_hosts file (KnownHostsPath)"},
		{"no key", "ssh://git@127.0.0.1:1/release.git", Auth{InsecureIgnoreHostKey: true}, "set SSHKeyPath"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.url, filepath.Join(t.TempDir(), "c"), "main", tt.auth)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open = %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRepoSSHAuthChecksHostKeysAgainstKnownHosts(t *testing.T) {
	dir := t.TempDir()
	key, _ := gittest.SSHKey(t, dir, "deploy")
	_, hostLine := gittest.SSHKey(t, dir, "host")
	_, strangerLine := gittest.SSHKey(t, dir, "stranger")
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte("[127.0.0.1]:2222 "+hostLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	method, err := Auth{SSHKeyPath: key, KnownHostsPath: known}.transportAuth("ssh://git@127.0.0.1:2222/release.git")
	if err != nil {
		t.Fatalf("transportAuth: %v", err)
	}
	keys, ok := method.(*gitssh.PublicKeys)
	if !ok {
		t.Fatalf("transportAuth returned %T; want *ssh.PublicKeys", method)
	}
	cfg, err := keys.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	addr := &fakeAddr{"127.0.0.1:2222"}
	if err := cfg.HostKeyCallback("127.0.0.1:2222", addr, parsePub(t, hostLine)); err != nil {
		t.Errorf("the known host key was refused: %v", err)
	}
	if err := cfg.HostKeyCallback("127.0.0.1:2222", addr, parsePub(t, strangerLine)); err == nil {
		t.Error("an unknown host key was accepted")
	}
}

type fakeAddr struct{ s string }

func (a *fakeAddr) Network() string { return "tcp" }
func (a *fakeAddr) String() string  { return a.s }

func parsePub(t *testing.T, line string) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sideCommit makes a commit on top of work's main in a scratch clone, with
// files written (content "" removes the file), and fetches it into work
// without moving any branch. It returns the commit.
func sideCommit(t *testing.T, work string, files map[string]string) plumbing.Hash {
	t.Helper()
	env := gittest.GitEnv(t.TempDir())
	side := filepath.Join(t.TempDir(), "side")
	gittest.Git(t, t.TempDir(), env, "clone", "--quiet", work, side)
	for name, content := range files {
		if content == "" {
			gittest.Git(t, side, env, "rm", "--quiet", name)
			delete(files, name)
		}
	}
	gittest.WriteFiles(t, side, files)
	sha := gittest.CommitAll(t, side, nil, "side commit")
	gittest.Git(t, work, env, "fetch", "--quiet", side, "main")
	return plumbing.NewHash(sha)
}

func TestPushToALocalRepositoryMovesTheBranchAndTheWorkingTree(t *testing.T) {
	work := t.TempDir()
	gittest.InitRepo(t, work, map[string]string{"route.yaml": "weight: 0\n", "old/gone.txt": "x\n"})
	gittest.WriteFiles(t, work, map[string]string{"notes.txt": "untracked, kept\n"})
	r, err := OpenLocal(filepath.Join(work, "old"), "main")
	if err != nil {
		t.Fatalf("OpenLocal: %v", err)
	}
	expected, err := r.Fetch(context.Background())
	if err != nil {
		t.Fatalf("Fetch without origin: %v", err)
	}
	next := sideCommit(t, work, map[string]string{"route.yaml": "weight: 10\n", "old/gone.txt": ""})

	if err := r.Push(context.Background(), expected, next); err != nil {
		t.Fatalf("Push: %v", err)
	}
	env := gittest.GitEnv(t.TempDir())
	if got := gittest.Git(t, work, env, "rev-parse", "main"); got != next.String() {
		t.Errorf("main = %s; want %s", got, next)
	}
	if st := gittest.Git(t, work, env, "status", "--porcelain"); st != "?? notes.txt" {
		t.Errorf("git status after Push:\n%s\nwant only the untracked notes.txt", st)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "route.yaml")); string(b) != "weight: 10\n" {
		t.Errorf("route.yaml = %q", b)
	}
	if _, err := os.Stat(filepath.Join(work, "old")); !os.IsNotExist(err) {
		t.Errorf("removed file's directory still there: %v", err)
	}

	stale := sideCommit(t, work, map[string]string{"route.yaml": "weight: 99\n"})
	if err := r.Push(context.Background(), expected, stale); !errors.Is(err, ErrBranchMoved) {
		t.Errorf("Push with a stale expected tip = %v; want ErrBranchMoved", err)
	}
	if got := gittest.Git(t, work, env, "rev-parse", "main"); got != next.String() {
		t.Errorf("a refused Push moved main to %s", got)
	}
}

func TestPushToALocalRepositoryRefusesLocalChanges(t *testing.T) {
	for _, tt := range []struct {
		name, file, wantErr string
	}{
		{"modified tracked file", "route.yaml", "working tree " + "%s has local changes (route.yaml): commit or stash them"},
		{"untracked file in the way", "new.yaml", "untracked file new.yaml in %s would be overwritten"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			first := gittest.InitRepo(t, work, map[string]string{"route.yaml": "weight: 0\n"})
			r, err := OpenLocal(work, "main")
			if err != nil {
				t.Fatal(err)
			}
			next := sideCommit(t, work, map[string]string{"route.yaml": "weight: 10\n", "new.yaml": "a: 1\n"})
			gittest.WriteFiles(t, work, map[string]string{tt.file: "mine\n"})

			err = r.Push(context.Background(), plumbing.NewHash(first), next)
			if want := strings.Replace(tt.wantErr, "%s", work, 1); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Push = %v; want an error containing %q", err, want)
			}
			env := gittest.GitEnv(t.TempDir())
			if got := gittest.Git(t, work, env, "rev-parse", "main"); got != first {
				t.Errorf("a refused Push moved main to %s", got)
			}
			if b, _ := os.ReadFile(filepath.Join(work, tt.file)); string(b) != "mine\n" {
				t.Errorf("%s = %q; the local change was lost", tt.file, b)
			}
		})
	}
}

func TestOpenLocalPushesToItsOriginAndOnlyMovesForward(t *testing.T) {
	s := serve(t)
	work := filepath.Join(t.TempDir(), "work")
	gittest.Git(t, t.TempDir(), s.env, "clone", "--quiet", s.url, work)
	r, err := OpenLocal(work, "main")
	if err != nil {
		t.Fatal(err)
	}
	expected, err := r.Fetch(context.Background())
	if err != nil || expected.String() != s.serverTip(t) {
		t.Fatalf("Fetch = %s, %v; want %s", expected, err, s.serverTip(t))
	}
	ours := commitFile(t, r, "step.txt", "1/7\n")
	if err := r.Push(context.Background(), expected, ours); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if got := s.serverTip(t); got != ours.String() {
		t.Fatalf("server main = %s; want %s", got, ours)
	}
	if st := gittest.Git(t, work, s.env, "status", "--porcelain"); st != "" {
		t.Errorf("git status after Push:\n%s", st)
	}

	unpushed := commitFile(t, r, "mine.txt", "local only\n")
	other := s.otherPush(t, "approval.txt")
	tip, err := r.Fetch(context.Background())
	if err != nil || tip.String() != other {
		t.Fatalf("Fetch = %s, %v; want %s", tip, err, other)
	}
	if err := r.ResetTo(tip); err == nil || !strings.Contains(err.Error(), "has commits that") {
		t.Fatalf("ResetTo over an unpushed local commit = %v; want it refused", err)
	}
	if local, _ := r.Tip(); local != unpushed {
		t.Errorf("refused ResetTo moved the branch to %s", local)
	}
}

// TestPushToALocalRepositoryWithALinkOutsideItSeesNoLocalChanges: a
// tracked symbolic link to a directory outside the working copy, whose
// timestamp is not older than the index (so that the status hashes it
// again), is not a local change: the push moves the branch, as `git
// status` (clean) says it may. It used to be refused, depending on timing.
func TestPushToALocalRepositoryWithALinkOutsideItSeesNoLocalChanges(t *testing.T) {
	work, outside := t.TempDir(), t.TempDir()
	gittest.InitRepo(t, work, map[string]string{"route.yaml": "weight: 0\n"})
	for _, link := range []struct{ name, target string }{{"shared", outside}, {"docs", "../" + filepath.Base(outside)}} {
		if err := os.Symlink(link.target, filepath.Join(work, link.name)); err != nil {
			t.Fatal(err)
		}
	}
	gittest.CommitAll(t, work, nil, "links")
	env := gittest.GitEnv(t.TempDir())
	if st := gittest.Git(t, work, env, "status", "--porcelain"); st != "" {
		t.Fatalf("git status:\n%s", st)
	}
	// After git status, which rewrites the index: now the links are not
	// older than the index.
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(work, ".git/index"), past, past); err != nil {
		t.Fatal(err)
	}
	r, err := OpenLocal(work, "main")
	if err != nil {
		t.Fatal(err)
	}
	expected, _ := r.Tip()
	next := sideCommit(t, work, map[string]string{"route.yaml": "weight: 10\n"})
	if err := r.Push(context.Background(), expected, next); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "route.yaml")); string(b) != "weight: 10\n" {
		t.Errorf("route.yaml = %q after the push", b)
	}
	if st := gittest.Git(t, work, env, "status", "--porcelain"); st != "" {
		t.Errorf("git status after the push:\n%s", st)
	}
}

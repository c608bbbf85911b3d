package gitsync

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// logLines returns a context whose logger records every line, and the
// lines recorded so far.
func logLines() (context.Context, func() []string) {
	var mu sync.Mutex
	var lines []string
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, prefix+" "+args)
	}, funcr.Options{})
	return logr.NewContext(context.Background(), log), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lines...)
	}
}

// truncate empties the file at path, as a kill between go-git's truncate
// and its write leaves a ref or an index.
func truncate(t *testing.T, path string) {
	t.Helper()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	paths, _ := filepath.Glob(pattern)
	if len(paths) == 0 {
		t.Fatalf("nothing matches %s", pattern)
	}
	return paths
}

// TestOpenRebuildsADamagedClone damages ramp's clone the ways a kill at
// the wrong moment did, and checks that the next Open says what was wrong
// in one log line, rebuilds the clone and works: the branch tip is the
// server's, a fetch brings in a new commit, and the system git's fsck
// passes on the rebuilt clone.
func TestOpenRebuildsADamagedClone(t *testing.T) {
	s := serve(t)
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		// problem is what the log line must say.
		problem string
	}{
		{"empty remote-tracking ref", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, "refs/remotes/origin/main"))
		}, "refs/remotes/origin/main: ref file is empty"},
		{"empty branch ref", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, "refs/heads/main"))
		}, "refs/heads/main: ref file is empty"},
		{"empty HEAD", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, "HEAD"))
		}, "HEAD: ref file is empty"},
		{"missing objects", func(t *testing.T, dir string) {
			for _, p := range glob(t, filepath.Join(dir, "objects/pack/pack-*")) {
				os.Remove(p)
			}
		}, "object not found"},
		{"truncated pack index", func(t *testing.T, dir string) {
			idx := glob(t, filepath.Join(dir, "objects/pack/pack-*.idx"))[0]
			os.Chmod(idx, 0o644)
			if err := os.Truncate(idx, 100); err != nil {
				t.Fatal(err)
			}
		}, "index is cut short"},
		{"pack index cut just before its end", func(t *testing.T, dir string) {
			idx := glob(t, filepath.Join(dir, "objects/pack/pack-*.idx"))[0]
			fi, _ := os.Stat(idx)
			os.Chmod(idx, 0o644)
			if err := os.Truncate(idx, fi.Size()-7); err != nil {
				t.Fatal(err)
			}
		}, "index checksum mismatch"},
		{"pack index of another pack", func(t *testing.T, dir string) {
			s.otherPush(t, "apps/demo/another-pack.txt")
			gittest.Git(t, dir, s.env, "-c", "fetch.unpackLimit=1", "fetch", "--quiet", "origin", "main")
			idx := glob(t, filepath.Join(dir, "objects/pack/pack-*.idx"))
			if len(idx) != 2 {
				t.Fatalf("pack indexes %v, want two", idx)
			}
			b, _ := os.ReadFile(idx[0])
			os.Chmod(idx[1], 0o644)
			if err := os.WriteFile(idx[1], b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "its index belongs to another pack"},
		{"pack without its index", func(t *testing.T, dir string) {
			os.Remove(glob(t, filepath.Join(dir, "objects/pack/pack-*.idx"))[0])
		}, "index: open"},
		{"empty index of a clone with a working tree, as earlier versions made", func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			gittest.Git(t, t.TempDir(), s.env, "clone", "--quiet", s.url, dir)
			truncate(t, filepath.Join(dir, ".git/index"))
		}, "a clone with a working tree"},
		{"half-made first clone: no config, no HEAD", func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			os.MkdirAll(filepath.Join(dir, ".git/objects/pack"), 0o755)
			os.WriteFile(filepath.Join(dir, ".git/objects/pack/tmp_pack_123"), []byte("PACK"), 0o644)
		}, "a clone with a working tree"},
		{"half-made first clone: no origin", func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			gittest.Git(t, t.TempDir(), s.env, "init", "--quiet", "--bare", dir)
		}, "no origin remote"},
		{"a clone of another repository", func(t *testing.T, dir string) {
			gittest.Git(t, dir, s.env, "remote", "set-url", "origin", "http://127.0.0.1:1/other.git")
		}, "a clone of http://127.0.0.1:1/other.git, not " + s.url},
		{"not a git repository", func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			gittest.WriteFiles(t, dir, map[string]string{"notes.txt": "left by someone\n"})
		}, "not a git repository"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "clone")
			open(t, s, Auth{}) // another clone: the server's objects are not only in this one
			if _, err := Open(context.Background(), s.url, dir, "main", Auth{}); err != nil {
				t.Fatal(err)
			}
			c.damage(t, dir)

			ctx, lines := logLines()
			r, err := Open(ctx, s.url, dir, "main", Auth{})
			if err != nil {
				t.Fatalf("Open after the damage: %v", err)
			}
			got := lines()
			t.Logf("%q", got)
			if len(got) != 1 || !strings.Contains(got[0], `"problem"=`) || !strings.Contains(got[0], c.problem) ||
				!strings.Contains(got[0], `"took"=`) || !strings.HasPrefix(got[0], "cache ") {
				t.Errorf("log lines %q; want one line of the cache logger saying %q and how long it took", got, c.problem)
			}
			if tip, err := r.Tip(); err != nil || tip.String() != s.serverTip(t) {
				t.Errorf("Tip after the rebuild = %s, %v; want %s", tip, err, s.serverTip(t))
			}
			other := s.otherPush(t, "apps/demo/"+strings.ReplaceAll(c.name, " ", "-"))
			if tip, err := r.Fetch(context.Background()); err != nil || tip.String() != other {
				t.Errorf("Fetch after the rebuild = %s, %v; want %s", tip, err, other)
			}
			if out, err := gittest.GitResult(t, dir, s.env, "fsck", "--no-dangling"); err != nil {
				t.Errorf("git fsck on the rebuilt clone: %v\n%s", err, out)
			}
			leftovers, _ := filepath.Glob(dir + ".*-*")
			if len(leftovers) > 0 {
				t.Errorf("left beside the clone: %v", leftovers)
			}
		})
	}
}

// TestOpenClonesAfterAKilledRebuild: a rebuild killed before its rename
// leaves <dir>.tmp-* beside the clone, one killed between its two
// renames also <dir>.old-* and no dir at all. The next Open clones and
// removes both.
func TestOpenClonesAfterAKilledRebuild(t *testing.T) {
	s := serve(t)
	dir := filepath.Join(t.TempDir(), "clone")
	gittest.Git(t, t.TempDir(), s.env, "clone", "--quiet", "--bare", s.url, dir+".tmp-123/clone")
	truncate(t, dir+".tmp-123/clone/HEAD")
	gittest.Git(t, t.TempDir(), s.env, "clone", "--quiet", "--bare", s.url, dir+".old-456/clone")

	ctx, lines := logLines()
	r, err := Open(ctx, s.url, dir, "main", Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if tip, err := r.Tip(); err != nil || tip.String() != s.serverTip(t) {
		t.Errorf("Tip = %s, %v; want %s", tip, err, s.serverTip(t))
	}
	if leftovers, _ := filepath.Glob(dir + ".*-*"); len(leftovers) > 0 {
		t.Errorf("left beside the clone: %v", leftovers)
	}
	if got := lines(); len(got) != 0 {
		t.Errorf("a first clone logged %q; want nothing", got)
	}
}

// TestRefUpdatesLeaveNoEmptyFile checks what makes an empty ref
// impossible: a ref is replaced by a rename, never rewritten in place.
// A ref file's inode changes with every update, and no temporary file is
// left under refs/, where go-git would read it as a ref.
func TestRefUpdatesLeaveNoEmptyFile(t *testing.T) {
	s := serve(t)
	r := open(t, s, Auth{})
	path := filepath.Join(r.dir, "refs/remotes/origin/main")
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s.otherPush(t, "note.txt")
	if _, err := r.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Errorf("the fetch rewrote %s in place; want a new file renamed over it", path)
	}
	filepath.WalkDir(filepath.Join(r.dir, "refs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), "tmp") {
			t.Errorf("temporary file under refs/: %s", p)
		}
		return nil
	})
	if tmp, _ := filepath.Glob(filepath.Join(r.dir, "ramp-ref-*")); len(tmp) > 0 {
		t.Errorf("temporary ref files left: %v", tmp)
	}
}

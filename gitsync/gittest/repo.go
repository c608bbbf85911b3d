package gittest

import (
	"os"
	"path/filepath"
	"testing"
)

// InitRepo creates a non-bare repository in dir (created if missing) on
// branch main, writes files (path relative to dir → content) and commits
// them with the system git. It returns the commit's hash.
func InitRepo(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("gittest: create %s: %v", dir, err)
	}
	gitIn(t, dir, nil, "init", "--quiet", "--initial-branch=main")
	WriteFiles(t, dir, files)
	return CommitAll(t, dir, nil, "initial commit")
}

// WriteFiles writes files (path relative to dir → content) into dir,
// creating parent directories.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("gittest: create directory for %s: %v", name, err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatalf("gittest: write %s: %v", name, err)
		}
	}
}

// CommitAll stages every change in the working tree at dir and commits it
// with msg using the system git, and returns the new commit's hash. env is
// added to GitEnv over a fresh home (no user config, a fixed author and
// committer) and wins over it, so a caller can pass a signing setup.
func CommitAll(t testing.TB, dir string, env []string, msg string) string {
	t.Helper()
	gitIn(t, dir, env, "add", "--all")
	gitIn(t, dir, env, "commit", "--quiet", "-m", msg)
	return gitIn(t, dir, env, "rev-parse", "HEAD")
}

// gitIn runs the system git in dir with GitEnv over a fresh home, plus env,
// which wins.
func gitIn(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	return Git(t, dir, append(GitEnv(t.TempDir()), env...), args...)
}

// DamageClone leaves ramp's bare clone in dir as a kill at the wrong
// moment left clones before ramp learned to rebuild them: its
// remote-tracking ref of main empty (a ref rewritten in place) and every
// pack index cut to nothing (an index written after its pack).
func DamageClone(t testing.TB, dir string) {
	t.Helper()
	idx, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "pack-*.idx"))
	for _, path := range append(idx, filepath.Join(dir, "refs", "remotes", "origin", "main")) {
		_ = os.Chmod(path, 0o644) // pack indexes are read-only
		if err := os.Truncate(path, 0); err != nil {
			t.Fatalf("gittest: damage %s: %v", path, err)
		}
	}
}

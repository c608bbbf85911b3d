package gitsync_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// BenchmarkClone measures ramp's first clone (gitsync.Open into an empty
// directory: a bare, single-branch clone, then the checks Open makes) of
// a 100k-commit release repository against `git clone --bare
// --single-branch --no-tags` of the same repository, over file:// and
// smart HTTP (git http-backend on 127.0.0.1). Each iteration clones once
// each way, interleaved, and also makes what the controller (its default
// --clone-depth), `ramp run` and `ramp status` make of a URL: a shallow
// clone of DefaultCloneDepth (1,000) commits (gitsync.OpenShallow) and a
// cold derive at its tip, deepening as far as the derive walks. The medians and their
// ratios to git clone are reported.
func BenchmarkClone(b *testing.B) {
	src := cloneSource(b)
	server := gittest.NewServer(b)
	if err := os.Symlink(src, filepath.Join(server.Root(), "release.git")); err != nil {
		b.Fatal(err)
	}
	for _, transport := range []struct{ name, url string }{
		{"file", "file://" + src},
		{"http", server.URL("release.git")},
	} {
		b.Run("100k/"+transport.name, func(b *testing.B) {
			var ramp, shallow, plain []time.Duration
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				start := time.Now()
				repo, err := gitsync.Open(context.Background(), transport.url, filepath.Join(dir, "ramp"), "main", gitsync.Auth{})
				if err != nil {
					b.Fatal(err)
				}
				ramp = append(ramp, time.Since(start))
				tip, err := repo.Tip()
				if err != nil {
					b.Fatal(err)
				}

				// What the controller, `ramp run` and `ramp status` do first on a URL: a shallow clone,
				// and a derive at the tip that deepens it as far as it walks.
				start = time.Now()
				sh, err := gitsync.OpenShallow(context.Background(), transport.url, filepath.Join(dir, "shallow"), "main", gitsync.Auth{}, gitsync.DefaultCloneDepth)
				if err != nil {
					b.Fatal(err)
				}
				d := &history.Deriver{Repo: sh.Git(), Guardrails: policy.DefaultGuardrails(),
					Deepen: func() (bool, error) { return sh.Deepen(context.Background()) }}
				snap, err := d.Derive(tip)
				if err != nil {
					b.Fatal(err)
				}
				shallow = append(shallow, time.Since(start))
				if len(snap.States) != 200 {
					b.Fatalf("derive over the shallow clone: %d states, want 200", len(snap.States))
				}

				start = time.Now()
				cmd := exec.Command("git", "clone", "--quiet", "--bare", "--single-branch", "--no-tags", transport.url, filepath.Join(dir, "git"))
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("git clone: %v: %s", err, out)
				}
				plain = append(plain, time.Since(start))
				out, err := exec.Command("git", "--git-dir", filepath.Join(dir, "git"), "rev-parse", "main").Output()
				if err != nil || string(out[:40]) != tip.String() {
					b.Fatalf("ramp's clone has main at %s, git's at %s (%v)", tip, out, err)
				}
				os.RemoveAll(dir)
			}
			r, sh, g := cloneMedian(ramp), cloneMedian(shallow), cloneMedian(plain)
			b.ReportMetric(float64(r.Milliseconds()), "ramp-ms")
			b.ReportMetric(float64(sh.Milliseconds()), "shallow+derive-ms")
			b.ReportMetric(float64(g.Milliseconds()), "git-ms")
			b.ReportMetric(float64(r)/float64(g), "ramp/git")
			b.ReportMetric(float64(sh)/float64(g), "shallow+derive/git")
		})
	}
}

// cloneSource returns a generated 100k-commit release repository, gc'd as
// a long-lived server's is, kept under the temp dir between runs.
func cloneSource(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "ramp-bench-clone-v1", "100k.git")
	if _, err := os.Stat(filepath.Join(dir, "ramp-bench-done")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	if _, err := gittest.Generate(dir, gittest.History{Commits: 100_000, Rollouts: 200, Releases: 3, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("git", "--git-dir", dir, "gc", "--quiet").CombinedOutput(); err != nil {
		b.Fatalf("git gc: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "ramp-bench-done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

func cloneMedian(runs []time.Duration) time.Duration {
	s := slices.Clone(runs)
	slices.Sort(s)
	return s[len(s)/2]
}

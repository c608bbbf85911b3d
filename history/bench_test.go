package history_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// benchActive is how many rollouts have a release in flight at the tip of
// a benchmark repository; the other rollouts (of 200) are stable.
const benchActive = 10

// BenchmarkDerive measures, at 10k and 100k commits, each iteration:
// a cold derive (a fresh open of the repository, then the walk) against
// `git log --first-parent --format=%H%x00%B -n <walked>`, the system git
// reading the same commits' messages; and a warm derive after one new
// commit against the cold one. It reports the medians and their ratios.
// In-flight releases start in the last commits, so the walk is short by
// construction: this measures the cost of a derive, not its depth.
func BenchmarkDerive(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		dir, tip, next, keys := benchRepo(b, n)
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			var cold, gitlog, warm []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				local, err := gitsync.OpenLocal(dir, "main")
				if err != nil {
					b.Fatal(err)
				}
				d := &history.Deriver{Repo: local.Git(), Keys: keys, Guardrails: policy.DefaultGuardrails()}
				snap, err := d.Derive(tip)
				if err != nil {
					b.Fatal(err)
				}
				cold = append(cold, time.Since(start))
				if got := active(snap); got != benchActive {
					b.Fatalf("%d commits: %d rollouts in flight at the tip, want %d", n, got, benchActive)
				}

				start = time.Now()
				cmd := exec.Command("git", "--git-dir", dir, "log", "--first-parent", "--format=%H%x00%B",
					"-n", strconv.Itoa(snap.Walked), tip.String())
				cmd.Stdout = io.Discard
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
				gitlog = append(gitlog, time.Since(start))

				start = time.Now()
				s, err := d.Update(snap, next)
				if err != nil || s.Walked != 1 {
					b.Fatalf("update: %v (walked %d)", err, s.Walked)
				}
				warm = append(warm, time.Since(start))
			}
			c, g, w := median(cold), median(gitlog), median(warm)
			b.ReportMetric(float64(c.Microseconds())/1000, "cold-ms")
			b.ReportMetric(float64(g.Microseconds())/1000, "gitlog-ms")
			b.ReportMetric(float64(c)/float64(g), "cold/gitlog")
			b.ReportMetric(float64(w.Microseconds())/1000, "warm-ms")
			b.ReportMetric(float64(w)/float64(c), "warm/cold")
		})
	}
}

// median returns the median of runs.
func median(runs []time.Duration) time.Duration {
	slices.Sort(runs)
	return runs[len(runs)/2]
}

func active(s *history.Snapshot) int {
	n := 0
	for _, st := range s.States {
		if st.InProgress() {
			n++
		}
	}
	return n
}

// benchRepo returns a release repository of n commits: 200 rollouts with
// three complete releases each spread over the history, then
// benchActive releases started near the tip and taken to their second
// step by ramp's own loop (signed commits). next is one more unrelated
// commit on top of tip, for the warm derive. Repositories are kept under
// the temp dir between runs.
func benchRepo(b *testing.B, n int) (dir string, tip, next plumbing.Hash, keys *signing.Keyring) {
	b.Helper()
	base := filepath.Join(os.TempDir(), "ramp-bench-v1")
	dir = filepath.Join(base, fmt.Sprintf("repo-%d.git", n))
	keyPath := filepath.Join(base, "ramp-key")
	if _, err := os.Stat(keyPath); err != nil {
		if err := os.MkdirAll(base, 0o755); err != nil {
			b.Fatal(err)
		}
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ramp", "-f", keyPath).CombinedOutput(); err != nil {
			b.Fatalf("ssh-keygen (apt-get install openssh-client): %v: %s", err, out)
		}
	}
	signer, err := signing.LoadSigner(keyPath, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys = signing.NewKeyring()
	keys.Trust(policy.RampGroup, signer)
	done := filepath.Join(dir, "ramp-bench-tips")
	if data, err := os.ReadFile(done); err == nil {
		var t, x string
		if _, err := fmt.Sscan(string(data), &t, &x); err == nil {
			return dir, plumbing.NewHash(t), plumbing.NewHash(x), keys
		}
	}
	os.RemoveAll(dir)
	start := time.Now()
	if _, err := gittest.Generate(dir, gittest.History{Commits: n - benchActive*22 - 1, Rollouts: 200, Releases: 3, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	repo, err := gitsync.OpenLocal(dir, "main")
	if err != nil {
		b.Fatal(err)
	}
	at, _ := repo.Tip()
	// Start benchActive releases among unrelated commits, then let the
	// loop take them through two steps.
	for i := 0; i < benchActive; i++ {
		for k := 0; k < 20; k++ {
			at = benchCommit(b, repo.Git(), at, fmt.Sprintf("src/mod%02d/file.go", k%4), fmt.Sprintf("package tail // %d %d\n", i, k), "tail work")
		}
		name := gittest.RolloutName(i)
		at = benchCommit(b, repo.Git(), at, "apps/"+name+"/canary/kustomization.yaml", gittest.Kustomization(name, "9.0.0"), name+": release 9.0.0")
	}
	if err := repo.Git().Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), at)); err != nil {
		b.Fatal(err)
	}
	loop := gitsync.NewLoop(repo, gitsync.Config{Keys: keys, Guardrails: policy.DefaultGuardrails(),
		Signer: signer, Identity: gitsync.Identity{Name: "ramp", Email: "ramp@localhost"}})
	for pass := 0; pass < 2; pass++ {
		if _, err := loop.Pass(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	tip, _ = repo.Tip()
	next = benchCommit(b, repo.Git(), tip, "src/mod01/file.go", "package mod // next\n", "one more commit")
	if err := os.WriteFile(done, []byte(tip.String()+" "+next.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s in %v", dir, time.Since(start).Round(time.Millisecond))
	return dir, tip, next, keys
}

// benchCommit writes an unsigned commit on parent that sets one existing
// file's content, without touching any branch.
func benchCommit(b *testing.B, repo *git.Repository, parent plumbing.Hash, path, content, msg string) plumbing.Hash {
	b.Helper()
	pc, err := repo.CommitObject(parent)
	if err != nil {
		b.Fatal(err)
	}
	tree, err := pc.Tree()
	if err != nil {
		b.Fatal(err)
	}
	root, err := gitsync.EditTree(repo.Storer, tree, map[string][]byte{path: []byte(content)})
	if err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	sig := object.Signature{Name: "dev", Email: "dev@example.com", When: pc.Committer.When.Add(time.Minute)}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg + "\n", TreeHash: root, ParentHashes: []plumbing.Hash{parent}}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		b.Fatal(err)
	}
	h, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

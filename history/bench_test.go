package history_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
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

// BenchmarkDerive measures, in one run: a cold derive at 10k and 100k
// commits against `git log --format=%H%x00%B` over the same repository
// (the floor: reading every commit message once), and a warm derive after
// one new commit against the cold one. Ratios are reported as metrics.
func BenchmarkDerive(b *testing.B) {
	type result struct{ cold, gitlog, warm time.Duration }
	results := map[int]result{}
	for _, n := range []int{10_000, 100_000} {
		dir, tip, next, keys := benchRepo(b, n)
		local, err := gitsync.OpenLocal(dir, "main")
		if err != nil {
			b.Fatal(err)
		}
		d := &history.Deriver{Repo: local.Git(), Keys: keys, Guardrails: policy.DefaultGuardrails()}
		snap, err := d.Derive(tip)
		if err != nil {
			b.Fatal(err)
		}
		if got := active(snap); got != benchActive {
			b.Fatalf("%d commits: %d rollouts in flight at the tip, want %d", n, got, benchActive)
		}
		var r result
		r.cold = median(b, func() {
			if _, err := d.Derive(tip); err != nil {
				b.Fatal(err)
			}
		})
		r.gitlog = median(b, func() {
			cmd := exec.Command("git", "--git-dir", dir, "log", "--format=%H%x00%B", "main")
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		})
		r.warm = median(b, func() {
			s, err := d.Update(snap, next)
			if err != nil || s.Walked != 1 {
				b.Fatalf("update: %v (walked %d)", err, s.Walked)
			}
		})
		results[n] = r
		b.Logf("%6d commits: cold derive %v (walked %d commits), git log %v, warm derive %v",
			n, r.cold, snap.Walked, r.gitlog, r.warm)
	}
	small, large := results[10_000], results[100_000]
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(large.cold)/float64(small.cold), "cold100k/cold10k")
	b.ReportMetric(float64(large.gitlog)/float64(small.gitlog), "gitlog100k/gitlog10k")
	b.ReportMetric(float64(small.cold)/float64(small.gitlog), "cold/gitlog@10k")
	b.ReportMetric(float64(large.cold)/float64(large.gitlog), "cold/gitlog@100k")
	b.ReportMetric(float64(large.warm)/float64(large.cold), "warm/cold@100k")
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
}

// median runs f at least 5 times and for at least a second (at most 200
// times), and returns the median run time: robust on a noisy machine.
func median(b *testing.B, f func()) time.Duration {
	var runs []time.Duration
	var total time.Duration
	for len(runs) < 5 || (total < time.Second && len(runs) < 200) {
		start := time.Now()
		f()
		d := time.Since(start)
		runs = append(runs, d)
		total += d
	}
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

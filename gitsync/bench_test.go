package gitsync

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/signing"
)

// The step benchmark runs each of ramp's steps in a fresh process (this
// test binary, whose TestMain runs it), so that a step is cold (a
// fresh open of the clone) and its peak RSS is the step's alone, as for
// the plain git commands it is compared with.
const (
	stepEnv = "RAMP_BENCH_STEP" // clone dir, URL, key path, weight, "pack" or "all"
	stepDir = "ramp-bench-step-v1"
)

// BenchmarkStep measures one step (edit a rollout's route weights, sign a
// commit, push it) by ramp against the same step by the system git (write
// the file, `git commit -S -a`, `git push`), on a small repository and on
// one with 100k commits, over file:// and smart HTTP. Each iteration runs
// one step of each, interleaved; the medians and their ratio are reported,
// with each side's peak RSS. "before" is the same ramp step pushed by
// go-git's push (a revlist over everything reachable), the path Push took
// before it sent a pack of only the new objects.
func BenchmarkStep(b *testing.B) {
	key := benchKey(b)
	for _, size := range []struct {
		name string
		h    gittest.History
	}{
		{"small", gittest.History{Commits: 100, Rollouts: 20, Releases: 1, Seed: 1}},
		{"100k", gittest.History{Commits: 100_000, Rollouts: 200, Releases: 3, Seed: 1}},
	} {
		gen := benchHistory(b, size.name, size.h)
		for _, transport := range []string{"file", "http"} {
			ramp, git := benchServers(b, gen, transport, key)
			// One untimed step each: the first reads the new clones from disk.
			ramp.step(b, "pack")
			git.step(b)
			b.Run(size.name+"/"+transport, func(b *testing.B) {
				var rampRuns, beforeRuns, gitRuns []time.Duration
				var rampRSS, beforeRSS, gitRSS int64
				before := size.name == "small" || os.Getenv("RAMP_BENCH_BEFORE") != ""
				for i := 0; i < b.N; i++ {
					d, rss := ramp.step(b, "pack")
					rampRuns, rampRSS = append(rampRuns, d), max(rampRSS, rss)
					d, rss = git.step(b)
					gitRuns, gitRSS = append(gitRuns, d), max(gitRSS, rss)
					if before {
						d, rss = ramp.step(b, "all")
						beforeRuns, beforeRSS = append(beforeRuns, d), max(beforeRSS, rss)
					}
				}
				b.StopTimer()
				ramp.check(b)
				r, g := medianOf(rampRuns), medianOf(gitRuns)
				b.ReportMetric(float64(r.Milliseconds()), "ramp-ms")
				b.ReportMetric(float64(g.Milliseconds()), "git-ms")
				b.ReportMetric(float64(r)/float64(g), "ramp/git")
				b.ReportMetric(float64(rampRSS)/1024, "ramp-RSS-MiB")
				b.ReportMetric(float64(gitRSS)/1024, "git-RSS-MiB")
				if before {
					o := medianOf(beforeRuns)
					b.ReportMetric(float64(o.Milliseconds()), "before-ms")
					b.ReportMetric(float64(o)/float64(g), "before/git")
					b.ReportMetric(float64(beforeRSS)/1024, "before-RSS-MiB")
				}
			})
		}
	}
}

func medianOf(runs []time.Duration) time.Duration {
	runs = slices.Clone(runs)
	slices.Sort(runs)
	return runs[len(runs)/2]
}

// benchKey returns an SSH signing key kept under the temp dir.
func benchKey(b *testing.B) string {
	b.Helper()
	base := filepath.Join(os.TempDir(), stepDir)
	path := filepath.Join(base, "key")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ramp", "-f", path).CombinedOutput(); err != nil {
		b.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	return path
}

// benchHistory returns a generated repository, kept under the temp dir
// between runs (it is only read: servers are clones of it).
func benchHistory(b *testing.B, name string, h gittest.History) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), stepDir, name+".git")
	if _, err := os.Stat(filepath.Join(dir, "refs", "heads", "main")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	if _, err := gittest.Generate(dir, h); err != nil {
		b.Fatal(err)
	}
	// Packed refs and a repacked pack, as a long-lived server has.
	if out, err := exec.Command("git", "--git-dir", dir, "gc", "--quiet").CombinedOutput(); err != nil {
		b.Fatalf("git gc: %v: %s", err, out)
	}
	return dir
}

// rampSide is ramp's clone and the server repository it pushes to.
type rampSide struct {
	clone, url, key string
	server          string // the server repository's path
	env             []string
	weight          int
}

// check runs `git fsck` on the server repository ramp pushed to, and
// `git verify-commit` on its tip, ramp's last signed step.
func (s *rampSide) check(b *testing.B) {
	b.Helper()
	pub, err := os.ReadFile(s.key + ".pub")
	if err != nil {
		b.Fatal(err)
	}
	signers := filepath.Join(b.TempDir(), "allowed_signers")
	if err := os.WriteFile(signers, []byte("ramp@localhost "+string(pub)), 0o644); err != nil {
		b.Fatal(err)
	}
	gittest.Git(b, s.server, s.env, "fsck", "--no-dangling")
	gittest.Git(b, s.server, s.env, "-c", "gpg.ssh.allowedSignersFile="+signers, "verify-commit", "main")
}

// gitSide is a system git working copy and the server repository it
// pushes to.
type gitSide struct {
	work   string
	env    []string
	weight int
}

// benchServers serves two clones of gen (one for ramp, one for git) over
// transport and returns ramp's clone and git's working copy of them.
func benchServers(b *testing.B, gen, transport, key string) (*rampSide, *gitSide) {
	b.Helper()
	env := gittest.GitEnv(b.TempDir())
	var root string
	var url func(string) string
	if transport == "http" {
		srv := gittest.NewServer(b)
		root, url = srv.Root(), srv.URL
	} else {
		root = b.TempDir()
		url = func(name string) string { return "file://" + filepath.Join(root, name) }
	}
	for _, name := range []string{"ramp.git", "git.git"} {
		gittest.Git(b, root, env, "clone", "--quiet", "--bare", gen, filepath.Join(root, name))
	}
	// ramp's clone is made by the system git (go-git's first clone of 100k
	// commits is the subject of another benchmark), laid out as Open keeps it.
	clone := filepath.Join(b.TempDir(), "ramp-clone")
	gittest.Git(b, root, env, "clone", "--quiet", "--bare", url("ramp.git"), clone)
	gittest.Git(b, clone, env, "update-ref", "refs/remotes/origin/main", "main")
	work := filepath.Join(b.TempDir(), "git-work")
	gittest.Git(b, root, env, "clone", "--quiet", url("git.git"), work)
	for _, kv := range [][2]string{{"gpg.format", "ssh"}, {"user.signingkey", key}, {"user.name", "dev"}, {"user.email", "dev@localhost"}} {
		gittest.Git(b, work, env, "config", kv[0], kv[1])
	}
	return &rampSide{clone: clone, url: url("ramp.git"), key: key, server: filepath.Join(root, "ramp.git"), env: env},
		&gitSide{work: work, env: env}
}

// step runs one ramp step in a fresh process and returns its wall time and
// peak RSS in KiB. push is "pack" (Push) or "all" (go-git's push).
func (s *rampSide) step(b *testing.B, push string) (time.Duration, int64) {
	b.Helper()
	s.weight = s.weight%99 + 1
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), stepEnv+"="+strings.Join([]string{s.clone, s.url, s.key, strconv.Itoa(s.weight), push}, "\n"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("ramp step: %v: %s", err, out)
	}
	return d, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

// step runs the same step with the system git and returns its wall time
// and the larger peak RSS of its two commands, in KiB.
func (s *gitSide) step(b *testing.B) (time.Duration, int64) {
	b.Helper()
	s.weight = s.weight%99 + 1
	start := time.Now()
	gittest.WriteFiles(b, s.work, map[string]string{"apps/r000/route.yaml": gittest.Route("r000", s.weight)})
	var rss int64
	for _, args := range [][]string{{"commit", "-S", "-a", "--quiet", "-m", "r000: weight " + strconv.Itoa(s.weight)}, {"push", "--quiet", "origin", "main"}} {
		cmd := exec.Command("git", append([]string{"-C", s.work}, args...)...)
		cmd.Env = s.env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %s: %v: %s", args[0], err, out)
		}
		rss = max(rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	}
	return time.Since(start), rss
}

// TestMain runs one ramp step for BenchmarkStep when the benchmark starts
// this test binary as that step's own process (RAMP_BENCH_STEP set), and
// the tests otherwise.
func TestMain(m *testing.M) {
	if arg := os.Getenv(stepEnv); arg != "" {
		if err := benchStepProcess(arg); err != nil {
			fmt.Fprintln(os.Stderr, "bench step:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchStepProcess is one ramp step: open the clone, commit r000's route
// at the weight, push (with the new pack push, or go-git's for "all").
func benchStepProcess(arg string) error {
	f := strings.Split(arg, "\n")
	if len(f) != 5 {
		return fmt.Errorf("%s: want 5 lines, got %d", stepEnv, len(f))
	}
	clone, url, keyPath, weight, push := f[0], f[1], f[2], f[3], f[4]
	w, _ := strconv.Atoi(weight)
	ctx := context.Background()
	r, err := Open(ctx, url, clone, "main", Auth{})
	if err != nil {
		return err
	}
	expected, err := r.Fetch(ctx)
	if err != nil {
		return err
	}
	signer, err := signing.LoadSigner(keyPath, nil)
	if err != nil {
		return err
	}
	newTip, err := benchStepCommit(r, expected, w, signer)
	if err != nil {
		return err
	}
	if push == "all" {
		origin, err := r.repo.Remote(originName)
		if err == nil {
			err = r.pushAll(ctx, origin, expected, newTip)
		}
		if err == nil {
			err = r.ResetTo(newTip)
		}
		return err
	}
	return r.Push(ctx, expected, newTip)
}

// benchStepCommit writes rollout r000's route at weight on parent as a
// signed commit.
func benchStepCommit(r *Repo, parent plumbing.Hash, weight int, signer signing.CommitSigner) (plumbing.Hash, error) {
	pc, err := r.repo.CommitObject(parent)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tree, err := pc.Tree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	root, err := EditTree(r.repo.Storer, tree, map[string][]byte{"apps/r000/route.yaml": []byte(gittest.Route("r000", weight))})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	sig := object.Signature{Name: "ramp", Email: "ramp@localhost", When: time.Now()}
	return storeCommit(r.repo.Storer, &object.Commit{Author: sig, Committer: sig,
		Message: fmt.Sprintf("r000: weight %d\n", weight), TreeHash: root, ParentHashes: []plumbing.Hash{parent}}, signer)
}

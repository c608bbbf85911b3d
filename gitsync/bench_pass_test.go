package gitsync

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// passDir is where BenchmarkPass keeps its generated repositories, keyed
// by their parameters: they are only read (servers are clones of them).
const passDir = "ramp-bench-pass-v1"

// BenchmarkPass measures one pass of the loop over N rollouts whose
// releases all started in the same (signed) commit: N set-weight steps,
// each a signed commit editing one route, pushed together. The same work
// done with the system git is N times (write the route, `git commit -S
// -a`) and one `git push`. Each iteration runs both, interleaved, on
// fresh clones of the same repository; medians, steps/s and the ratio to
// git are reported, and, for 500 rollouts, the ratio to the 200-rollout
// pass at the same depth (linear is 2.5).
func BenchmarkPass(b *testing.B) {
	key := benchKey(b)
	devKey := benchDevKey(b)
	keys := benchKeyring(b, key, devKey)
	passMedian := map[string]time.Duration{}
	for _, depth := range []struct {
		name    string
		commits int
	}{{"nohistory", 2}, {"100k", 100_000}} {
		for _, n := range []int{200, 500} {
			gen := benchPassHistory(b, n, depth.commits, devKey)
			name := fmt.Sprintf("%s/%d", depth.name, n)
			b.Run(name, func(b *testing.B) {
				var rampRuns, gitRuns []time.Duration
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					ramp, git := benchServers(b, gen, "file", key)
					loop := benchPassLoop(b, ramp, key, keys)
					b.StartTimer()
					start := time.Now()
					res, err := loop.Pass(context.Background())
					d := time.Since(start)
					b.StopTimer()
					if err != nil {
						b.Fatalf("pass: %v", err)
					}
					if got := len(res.Pushed()); got != n {
						b.Fatalf("pass pushed %d steps, want %d", got, n)
					}
					for _, o := range res.Pushed() {
						if o.Decision.Action != policy.ActionSetWeight || res.Snapshot.States[o.Rollout].Weight != 10 {
							b.Fatalf("%s: %s, weight after the pass %d; want set-weight to 10", o.Rollout, o.Decision.Action, res.Snapshot.States[o.Rollout].Weight)
						}
					}
					rampRuns = append(rampRuns, d)
					gitRuns = append(gitRuns, git.pass(b, n))
					ramp.check(b)
					b.StartTimer()
				}
				r, g := medianOf(rampRuns), medianOf(gitRuns)
				passMedian[name] = r
				b.ReportMetric(float64(r.Milliseconds()), "ramp-ms")
				b.ReportMetric(float64(n)/r.Seconds(), "ramp-steps/s")
				b.ReportMetric(float64(g.Milliseconds()), "git-ms")
				b.ReportMetric(float64(n)/g.Seconds(), "git-steps/s")
				b.ReportMetric(float64(r)/float64(g), "ramp/git")
				if small, ok := passMedian[depth.name+"/200"]; ok && n == 500 {
					b.ReportMetric(float64(r)/float64(small), "500/200")
				}
			})
		}
	}
}

// benchPassLoop opens ramp's clone of the server and returns a loop over
// it signing with key, trusting keys, with no evidence source (the first
// step of the spec is a weight, which needs none).
func benchPassLoop(b *testing.B, s *rampSide, key string, keys *signing.Keyring) *Loop {
	b.Helper()
	repo, err := Open(context.Background(), s.url, s.clone, "main", Auth{})
	if err != nil {
		b.Fatal(err)
	}
	signer, err := signing.LoadSigner(key, nil)
	if err != nil {
		b.Fatal(err)
	}
	return NewLoop(repo, Config{Keys: keys, Signer: signer, Guardrails: policy.DefaultGuardrails(),
		Identity: Identity{Name: "ramp", Email: "ramp@localhost"}})
}

// pass makes git's side of a pass: rollouts r000… each get their route
// at weight 10 in a signed commit, then one push. It returns the time.
func (s *gitSide) pass(b *testing.B, n int) time.Duration {
	b.Helper()
	start := time.Now()
	for i := 0; i < n; i++ {
		name := gittest.RolloutName(i)
		if err := os.WriteFile(filepath.Join(s.work, "apps", name, "route.yaml"), []byte(gittest.Route(name, 10)), 0o644); err != nil {
			b.Fatal(err)
		}
		gittest.Git(b, s.work, s.env, "commit", "-S", "-a", "--quiet", "-m", name+": weight 10")
	}
	gittest.Git(b, s.work, s.env, "push", "--quiet", "origin", "main")
	return time.Since(start)
}

// benchDevKey returns the SSH key the engineer signs the releases' start
// with, kept under the temp dir.
func benchDevKey(b *testing.B) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), passDir, "dev-key")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dev", "-f", path).CombinedOutput(); err != nil {
		b.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	return path
}

// benchKeyring trusts ramp's key (group ramp) and the engineer's (group
// dev).
func benchKeyring(b *testing.B, rampKey, devKey string) *signing.Keyring {
	b.Helper()
	dir := b.TempDir()
	for group, kv := range map[string][2]string{"ramp": {"ramp@localhost", rampKey}, "dev": {"dev@localhost", devKey}} {
		pub, err := os.ReadFile(kv[1] + ".pub")
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, group+".allowed_signers"), []byte(kv[0]+" "+string(pub)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	keys, err := signing.LoadKeyringDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	return keys
}

// benchPassHistory returns a bare repository with n stable rollouts and
// commits commits (the first creates the rollouts), then one commit
// signed by devKey that starts release 2.0.0 of every rollout. It is kept
// under the temp dir, keyed by n and commits.
func benchPassHistory(b *testing.B, n, commits int, devKey string) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), passDir, fmt.Sprintf("r%d-c%d.git", n, commits))
	if _, err := os.Stat(filepath.Join(dir, "refs", "heads", "main")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	if _, err := gittest.Generate(dir, gittest.History{Commits: commits, Rollouts: n, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	env := gittest.GitEnv(b.TempDir(), "GIT_AUTHOR_EMAIL=dev@localhost", "GIT_COMMITTER_EMAIL=dev@localhost")
	work := filepath.Join(b.TempDir(), "work")
	gittest.Git(b, "", env, "clone", "--quiet", dir, work)
	files := map[string]string{}
	for i := 0; i < n; i++ {
		name := gittest.RolloutName(i)
		files["apps/"+name+"/canary/kustomization.yaml"] = gittest.Kustomization(name, "2.0.0")
	}
	gittest.WriteFiles(b, work, files)
	for _, kv := range [][2]string{{"gpg.format", "ssh"}, {"user.signingkey", devKey}} {
		gittest.Git(b, work, env, "config", kv[0], kv[1])
	}
	gittest.Git(b, work, env, "commit", "-S", "-a", "--quiet", "-m", "release 2.0.0 of "+strconv.Itoa(n)+" rollouts")
	gittest.Git(b, work, env, "push", "--quiet", "origin", "main")
	if out, err := exec.Command("git", "--git-dir", dir, "gc", "--quiet").CombinedOutput(); err != nil {
		b.Fatalf("git gc: %v: %s", err, out)
	}
	return dir
}

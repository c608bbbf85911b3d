package gitsync

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
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
// -a`) and one `git push`.
//
// Each iteration, at each depth, runs a pass over 200 rollouts and one
// over 500 (in turns which first), each on a fresh clone of its own
// repository, and git's side of both: the two sizes see the same machine
// at nearly the same time, so the 500/200 ratio of one iteration compares
// like with like, and the reported 500/200 is the median of the
// iterations' ratios (linear is 2.5). A pass is timed from Loop.Pass to
// its return, its own opening and the cold derive included; before it the
// heap is collected, so no pass pays for the garbage of the setup. Beside
// the wall time it reports the CPU time the pass took (this process and
// the git it ran, receive-pack on the server side), which other work on
// a shared machine delays but does not add to.
func BenchmarkPass(b *testing.B) {
	key := benchKey(b)
	devKey := benchDevKey(b)
	keys := benchKeyring(b, key, devKey)
	sizes := []int{200, 500}
	for _, depth := range []struct {
		name    string
		commits int
	}{{"nohistory", 2}, {"100k", 100_000}} {
		gens := map[int]string{}
		for _, n := range sizes {
			gens[n] = benchPassHistory(b, n, depth.commits, devKey)
		}
		b.Run(depth.name, func(b *testing.B) {
			ramp, cpu, git := map[int][]time.Duration{}, map[int][]time.Duration{}, map[int][]time.Duration{}
			var wallRatios, cpuRatios []float64
			for i := 0; i < b.N; i++ {
				order := sizes
				if i%2 == 1 {
					order = []int{sizes[1], sizes[0]}
				}
				for _, n := range order {
					wall, used, g := benchOnePass(b, gens[n], n, key, keys)
					ramp[n], cpu[n], git[n] = append(ramp[n], wall), append(cpu[n], used), append(git[n], g)
				}
				wallRatios = append(wallRatios, float64(ramp[500][i])/float64(ramp[200][i]))
				cpuRatios = append(cpuRatios, float64(cpu[500][i])/float64(cpu[200][i]))
			}
			for _, n := range sizes {
				r, c, g := medianOf(ramp[n]), medianOf(cpu[n]), medianOf(git[n])
				b.ReportMetric(float64(r.Milliseconds()), fmt.Sprintf("ramp-%d-ms", n))
				b.ReportMetric(float64(n)/r.Seconds(), fmt.Sprintf("ramp-%d-steps/s", n))
				b.ReportMetric(float64(c.Milliseconds()), fmt.Sprintf("ramp-%d-cpu-ms", n))
				b.ReportMetric(float64(g.Milliseconds()), fmt.Sprintf("git-%d-ms", n))
				b.ReportMetric(float64(r)/float64(g), fmt.Sprintf("ramp/git-%d", n))
			}
			b.ReportMetric(medianRatio(wallRatios), "500/200")
			b.ReportMetric(medianRatio(cpuRatios), "500/200-cpu")
			b.ReportMetric(float64(medianOf(git[500]))/float64(medianOf(git[200])), "git-500/200")
			b.Logf("%s: 500/200 per iteration %.2f (CPU %.2f)", depth.name, wallRatios, cpuRatios)
		})
	}
}

// benchOnePass runs one timed pass over n rollouts on fresh clones of
// gen, checks that every step landed, signed, and runs git's side of the
// same pass. It returns the pass's wall and CPU times and git's time.
func benchOnePass(b *testing.B, gen string, n int, key string, keys *signing.Keyring) (wall, cpu, git time.Duration) {
	b.Helper()
	b.StopTimer()
	ramp, gitSide := benchServers(b, gen, "file", key)
	loop := benchPassLoop(b, ramp, key, keys)
	runtime.GC()
	b.StartTimer()
	cpuStart := cpuTime(b)
	start := time.Now()
	res, err := loop.Pass(context.Background())
	wall = time.Since(start)
	cpu = cpuTime(b) - cpuStart
	b.StopTimer()
	if err != nil {
		b.Fatalf("pass over %d rollouts: %v", n, err)
	}
	if got := len(res.Pushed()); got != n {
		b.Fatalf("pass pushed %d steps, want %d", got, n)
	}
	for _, o := range res.Pushed() {
		if o.Decision.Action != policy.ActionSetWeight || res.Snapshot.States[o.Rollout].Weight != 10 {
			b.Fatalf("%s: %s, weight after the pass %d; want set-weight to 10", o.Rollout, o.Decision.Action, res.Snapshot.States[o.Rollout].Weight)
		}
	}
	ramp.check(b)
	git = gitSide.pass(b, n)
	b.StartTimer()
	return wall, cpu, git
}

// cpuTime is the CPU time (user and system) this process and its waited
// children have used.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			b.Fatalf("getrusage: %v", err)
		}
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return total
}

func medianRatio(rs []float64) float64 {
	rs = slices.Clone(rs)
	slices.Sort(rs)
	return rs[len(rs)/2]
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

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
// Each iteration, at each depth, runs passPasses passes over 200 rollouts
// and as many over 500, alternating which size goes first, each on fresh
// copies of its size's server and ramp clone; and git's side of both
// once. The two sizes see the same machine at nearly the same time, so
// the 500/200 ratio of one iteration (of the sums of its passes) compares
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
			templates := map[int]*passTemplate{}
			for _, n := range sizes {
				templates[n] = newPassTemplate(b, gens[n], key)
			}
			b.ResetTimer()
			ramp, cpu, git := map[int][]time.Duration{}, map[int][]time.Duration{}, map[int][]time.Duration{}
			var wallRatios, cpuRatios []float64
			for i := 0; i < b.N; i++ {
				sum, sumCPU := map[int]time.Duration{}, map[int]time.Duration{}
				for pass := 0; pass < passPasses; pass++ {
					order := sizes
					if (i*passPasses+pass)%2 == 1 {
						order = []int{sizes[1], sizes[0]}
					}
					for _, n := range order {
						wall, used := benchOnePass(b, templates[n], n, key, keys, pass == 0)
						ramp[n], cpu[n] = append(ramp[n], wall), append(cpu[n], used)
						sum[n], sumCPU[n] = sum[n]+wall, sumCPU[n]+used
					}
				}
				for _, n := range sizes {
					b.StopTimer()
					root := b.TempDir()
					gitSide := templates[n].gitCopy(b, root)
					b.StartTimer()
					git[n] = append(git[n], gitSide.pass(b, n))
					os.RemoveAll(root) // copies of 100k commits add up
				}
				wallRatios = append(wallRatios, float64(sum[500])/float64(sum[200]))
				cpuRatios = append(cpuRatios, float64(sumCPU[500])/float64(sumCPU[200]))
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

// passPasses is how many passes over each size an iteration of
// BenchmarkPass runs: one pass is short (a quarter to a half second) and
// varies by a fifth from one to the next on a shared machine, so the
// iteration's ratio is of sums of several.
const passPasses = 5

// passTemplate is a size's servers and clones as benchServers made them,
// never used: each pass runs on copies of them.
type passTemplate struct {
	ramp *rampSide
	git  *gitSide
}

func newPassTemplate(b *testing.B, gen, key string) *passTemplate {
	b.Helper()
	ramp, git := benchServers(b, gen, "file", key)
	return &passTemplate{ramp: ramp, git: git}
}

// rampCopy returns a copy of the template's ramp side under root: its
// server and ramp's clone of it, pointing at that copy. A copy takes a
// fraction of a second where a clone of 100k commits over file:// takes
// seconds.
func (t *passTemplate) rampCopy(b *testing.B, root string) *rampSide {
	b.Helper()
	ramp := *t.ramp
	ramp.server = filepath.Join(root, "ramp.git")
	ramp.url = "file://" + ramp.server
	ramp.clone = filepath.Join(root, "ramp-clone")
	copyDir(b, t.ramp.server, ramp.server)
	copyDir(b, t.ramp.clone, ramp.clone)
	gittest.Git(b, ramp.clone, ramp.env, "config", "remote.origin.url", ramp.url)
	return &ramp
}

// gitCopy returns a copy of the template's git side under root: its
// server and the working copy, pointing at that copy.
func (t *passTemplate) gitCopy(b *testing.B, root string) *gitSide {
	b.Helper()
	git := *t.git
	git.work = filepath.Join(root, "git-work")
	server := filepath.Join(root, "git.git")
	copyDir(b, filepath.Join(filepath.Dir(t.ramp.server), "git.git"), server)
	copyDir(b, t.git.work, git.work)
	gittest.Git(b, git.work, git.env, "config", "remote.origin.url", "file://"+server)
	return &git
}

func copyDir(b *testing.B, from, to string) {
	b.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		b.Fatalf("copy %s: %v: %s", from, err, out)
	}
}

// benchOnePass runs one timed pass over n rollouts on fresh copies of
// template t and checks that every step landed, at weight 10; with check,
// it also runs `git fsck` on the server and verifies its tip's signature.
// It returns the pass's wall and CPU times.
func benchOnePass(b *testing.B, t *passTemplate, n int, key string, keys *signing.Keyring, check bool) (wall, cpu time.Duration) {
	b.Helper()
	b.StopTimer()
	root := b.TempDir()
	ramp := t.rampCopy(b, root)
	config, err := os.Stat(filepath.Join(ramp.clone, "config"))
	if err != nil {
		b.Fatal(err)
	}
	loop := benchPassLoop(b, ramp, key, keys)
	if opened, err := os.Stat(filepath.Join(ramp.clone, "config")); err != nil || !os.SameFile(config, opened) {
		b.Fatalf("Open rebuilt the copied clone (%v): the pass would not run on the copy", err)
	}
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
	if check {
		ramp.check(b)
	}
	os.RemoveAll(root) // copies of 100k commits add up
	b.StartTimer()
	return wall, cpu
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

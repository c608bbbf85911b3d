package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/e2e/e2etest"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// crashSteps is the 10-step release the crash test kills ramp across:
// each weight is held for two seconds, so that kills land while ramp holds
// as well as while it commits and pushes.
var crashSteps = []string{
	"setWeight: 10", "pause: {duration: 2s}",
	"setWeight: 20", "pause: {duration: 2s}",
	"setWeight: 30", "pause: {duration: 2s}",
	"setWeight: 40", "pause: {duration: 2s}",
	"setWeight: 50", "pause: {duration: 2s}",
}

// crashWant is the history ramp must write for that release, each
// commit's subject once and in this order.
var crashWant = []string{
	"ramp: demo 1.1.0 step 1/10 set-weight (weight 10%)",
	"ramp: demo 1.1.0 step 2/10 pause (weight 10%)",
	"ramp: demo 1.1.0 step 3/10 set-weight (weight 20%)",
	"ramp: demo 1.1.0 step 4/10 pause (weight 20%)",
	"ramp: demo 1.1.0 step 5/10 set-weight (weight 30%)",
	"ramp: demo 1.1.0 step 6/10 pause (weight 30%)",
	"ramp: demo 1.1.0 step 7/10 set-weight (weight 40%)",
	"ramp: demo 1.1.0 step 8/10 pause (weight 40%)",
	"ramp: demo 1.1.0 step 9/10 set-weight (weight 50%)",
	"ramp: demo 1.1.0 step 10/10 pause (weight 50%)",
	"ramp: demo 1.1.0 promote (weight 50%)",
	"ramp: demo 1.1.0 complete (weight 0%)",
}

const crashKills = 40

var healLine = regexp.MustCompile(`"msg"="rebuilt the clone" .*"problem"="([^"]*)" "took"="([^"]*)"`)

// TestRunKilledAtRandomMomentsFinishesTheReleaseFromGit starts the real
// `bin/ramp run` against a release repository on a smart-HTTP server,
// over and over, and each time freezes it (SIGSTOP) at a random moment
// and kills it (SIGKILL): during the first clone, fetches, derives,
// commits, pushes and sleeps. Nothing touches its cache directory in
// between. Then one last ramp runs until the release is complete. The
// history must hold ramp's commits exactly once each, in order, each
// signed, with nothing forced, and the server's repository must pass
// git fsck.
func TestRunKilledAtRandomMomentsFinishesTheReleaseFromGit(t *testing.T) {
	bin, err := e2etest.Binary("ramp", "build")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	srv := gittest.NewServer(t)
	bare := srv.InitBare(t, "release.git")
	url := srv.URL("release.git")
	env := gittest.GitEnv(t.TempDir())
	work := filepath.Join(t.TempDir(), "work")
	gittest.InitRepo(t, work, gittest.RolloutFilesWithSpec("demo", "1.0.0", policytest.CanaryYAML("demo", crashSteps...)))
	gittest.WriteFiles(t, work, map[string]string{"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "1.1.0")})
	start := gittest.CommitAll(t, work, nil, "demo: release 1.1.0")
	gittest.Git(t, work, env, "push", "--quiet", url, "main")

	keys, approvers := t.TempDir(), t.TempDir()
	key, pub := gittest.SSHKey(t, keys, "ramp")
	writeFile(t, filepath.Join(approvers, "ramp.allowed_signers"), "ramp@localhost "+pub+"\n")
	cache := filepath.Join(t.TempDir(), "cache")
	args := []string{"run", "--repo", url, "--cache-dir", cache, "--signing-key", key, "--approvers", approvers, "--interval", "500ms"}

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	var logs []string // every process's output, in order
	kills, during := 0, 0
	deadline := time.Now().Add(2 * time.Minute)
	for kills < crashKills && time.Now().Before(deadline) {
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			t.Fatalf("ramp run exited by itself (%v):\n%s", err, out.String())
		case <-time.After(time.Duration(rng.Int64N(int64(life(kills))))):
		}
		cmd.Process.Signal(syscall.SIGSTOP)
		time.Sleep(time.Duration(rng.Int64N(int64(20 * time.Millisecond))))
		cmd.Process.Kill()
		<-exited
		kills++
		if !strings.HasPrefix(subject(t, bare, env), "ramp: demo 1.1.0 complete") {
			during++
		}
		logs = append(logs, out.String())
	}
	if kills < crashKills {
		t.Fatalf("made only %d kills in two minutes", kills)
	}

	// The last ramp, not killed, finishes the release.
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	finished := time.Now().Add(30 * time.Second)
	for !strings.HasPrefix(subject(t, bare, env), "ramp: demo 1.1.0 complete") && time.Now().Before(finished) {
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	logs = append(logs, out.String())
	all := strings.Join(logs, "")

	var heals []string
	for _, m := range healLine.FindAllStringSubmatch(all, -1) {
		heals = append(heals, m[2]+" "+m[1])
	}
	t.Logf("%d kills (%d before the release completed), %d clones rebuilt (took, problem): %q; wall time %s",
		kills, during, len(heals), heals, time.Since(began).Round(100*time.Millisecond))

	got := strings.Split(gittest.Git(t, bare, env, "log", "--first-parent", "--reverse", "--format=%s", start+"..main"), "\n")
	if !slices.Equal(got, crashWant) {
		t.Fatalf("history after %d kills:\n  %s\nwant:\n  %s\nlast ramp's output:\n%s",
			kills, strings.Join(got, "\n  "), strings.Join(crashWant, "\n  "), out.String())
	}
	if merges := gittest.Git(t, bare, env, "rev-list", "--merges", start+"..main"); merges != "" {
		t.Errorf("merges after the release: %s", merges)
	}
	verify := gittest.GitEnv(t.TempDir(), "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=gpg.ssh.allowedSignersFile",
		"GIT_CONFIG_VALUE_0="+filepath.Join(approvers, "ramp.allowed_signers"))
	for _, sha := range strings.Fields(gittest.Git(t, bare, env, "rev-list", start+"..main")) {
		if out, err := gittest.GitResult(t, bare, verify, "verify-commit", sha); err != nil {
			t.Errorf("git verify-commit %s: %v\n%s", sha, err, out)
		}
	}
	if out, err := gittest.GitResult(t, bare, env, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Errorf("git fsck on the server: %v\n%s", err, out)
	}
	if strings.Contains(all, "panic:") {
		t.Errorf("a ramp panicked:\n%s", all)
	}
	if d := time.Since(began); d > 3*time.Minute {
		t.Errorf("the crash test took %s; keep it under 3 minutes", d.Round(time.Second))
	}
}

// life bounds how long the kill-th ramp runs before it is frozen and
// killed: the first few and every fourth within 60 ms (start, make or
// open and check the clone), the others within 400 ms (a pass and the
// sleep after it).
func life(kill int) time.Duration {
	if kill < 4 || kill%4 == 0 {
		return 60 * time.Millisecond
	}
	return 400 * time.Millisecond
}

// subject is the subject of the server's main.
func subject(t *testing.T, bare string, env []string) string {
	return gittest.Git(t, bare, env, "log", "-1", "--format=%s", "main")
}

// TestStatusRebuildsADamagedCacheAndSaysSo: `ramp status --repo URL`
// over a cached clone whose remote-tracking ref a kill left empty says in
// one line on stderr what was wrong and how long the rebuild took, and
// answers as if nothing had happened.
func TestStatusRebuildsADamagedCacheAndSaysSo(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.InitBare(t, "release.git")
	url := srv.URL("release.git")
	work := filepath.Join(t.TempDir(), "work")
	gittest.InitRepo(t, work, gittest.RolloutFiles("demo", "1.0.0"))
	gittest.Git(t, work, gittest.GitEnv(t.TempDir()), "push", "--quiet", url, "main")
	cache := t.TempDir()
	status := []string{"status", "--repo", url, "--cache-dir", cache}
	if out, err := runRamp(status...); err != nil {
		t.Fatalf("ramp status: %v\n%s", err, out)
	}
	refs, _ := filepath.Glob(filepath.Join(cache, "*", "refs/remotes/origin/main"))
	if len(refs) != 1 {
		t.Fatalf("no cached clone under %s", cache)
	}
	if err := os.Truncate(refs[0], 0); err != nil {
		t.Fatal(err)
	}

	out, err := runRamp(status...)
	if err != nil {
		t.Fatalf("ramp status over the damaged cache: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !healLine.MatchString(lines[0]) || !strings.Contains(lines[0], "refs/remotes/origin/main: ref file is empty") ||
		!strings.HasPrefix(lines[2], "demo ") || !strings.Contains(lines[2], "Stable") {
		t.Fatalf("ramp status printed:\n%s\nwant one line about the rebuild, then the table", out)
	}
}

package history_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// coldDir holds the repositories of the cold benchmarks between runs.
const coldDir = "ramp-bench-cold-v1"

// BenchmarkColdStatus measures, at 100k commits, a cold derive (a fresh
// open of the repository, then the derive) and a cold `ramp status` (a
// fresh process) on a repository where rollout r000's release 9.0.0 was
// aborted by ramp, without a revert, 50k commits below the tip, against
// the same on a repository of the same size where every rollout is
// stable, and the derive against `git log --first-parent` over the
// commits it walked. Two aborted repositories:
//   - "aborted": the history above the abort was written while no ramp
//     ran, so there is no checkpoint: the abort anchors r000's state and
//     the derive stops there, but still reads the 50k commits above it;
//   - "checkpointed": the same abort, ~49k commits, then one pass of the
//     real loop (ramp's key, CheckpointEvery 1000), which writes a
//     checkpoint, then 1,000 more commits: what a running operator
//     leaves, the newest checkpoint at most ~1,000 commits down.
func BenchmarkColdStatus(b *testing.B) {
	const n = 100_000
	stable, stableTip := coldStableRepo(b, n)
	aborted, abortedTip, keys := coldAbortedRepo(b, n)
	ckpt, ckptTip, abortCommit := coldCheckpointedRepo(b, n)
	ramp := rampBinary(b)
	approvers := approversDir(b)
	b.Run("100k", func(b *testing.B) {
		var dStable, dAborted, cStable, cAborted, gitlog, dCkpt, cCkpt []time.Duration
		var walked, walkedCkpt int
		for i := 0; i < b.N; i++ {
			d, snap := coldDerive(b, stable, stableTip, keys)
			if active(snap) != 0 || snap.States["r000"].Phase != policy.PhaseStable {
				b.Fatalf("stable repository: %d rollouts in flight, r000 %s", active(snap), snap.States["r000"].Phase)
			}
			dStable = append(dStable, d)
			d, snap = coldDerive(b, aborted, abortedTip, keys)
			if st := snap.States["r000"]; st.Phase != policy.PhaseAborted || st.Release != "9.0.0" {
				b.Fatalf("aborted repository: r000 is %s %s, want 9.0.0 Aborted", st.Release, st.Phase)
			}
			dAborted, walked = append(dAborted, d), snap.Walked
			// The yardstick: the system git reading the same commits.
			d, _, _ = runChild(b, "git", "--git-dir", aborted, "log", "--first-parent", "--format=%H%x00%B",
				"-n", strconv.Itoa(walked), abortedTip.String())
			gitlog = append(gitlog, d)

			d, _, out := runChild(b, ramp, "status", "--repo", stable, "--approvers", approvers)
			if strings.Contains(out, "Aborted") {
				b.Fatalf("ramp status on the stable repository:\n%s", out)
			}
			cStable = append(cStable, d)
			d, _, out = runChild(b, ramp, "status", "--repo", aborted, "--approvers", approvers)
			if !strings.Contains(out, "Aborted") {
				b.Fatalf("ramp status on the aborted repository shows no abort:\n%s", out)
			}
			cAborted = append(cAborted, d)

			d, snap = coldDerive(b, ckpt, ckptTip, keys)
			if st := snap.States["r000"]; st.Phase != policy.PhaseAborted || st.Release != "9.0.0" || st.LastCommit != abortCommit.String() {
				b.Fatalf("checkpointed repository: r000 is %s %s (last commit %s), want 9.0.0 Aborted at %s", st.Release, st.Phase, st.LastCommit, abortCommit)
			}
			if snap.Walked > 1_100 {
				b.Fatalf("checkpointed repository: the derive read %d commits, want the ~1,001 down to the checkpoint", snap.Walked)
			}
			dCkpt, walkedCkpt = append(dCkpt, d), snap.Walked
			d, _, out = runChild(b, ramp, "status", "--repo", ckpt, "--approvers", approvers)
			if !strings.Contains(out, "Aborted") || !strings.Contains(out, "aborted at "+abortCommit.String()[:10]) {
				b.Fatalf("ramp status on the checkpointed repository does not name the abort %s:\n%s", abortCommit, out)
			}
			cCkpt = append(cCkpt, d)
		}
		report(b, "derive-aborted", dAborted, "derive-stable", dStable)
		report(b, "derive-aborted", dAborted, "gitlog", gitlog)
		report(b, "status-aborted", cAborted, "status-stable", cStable)
		report(b, "derive-checkpointed", dCkpt, "derive-stable", dStable)
		report(b, "status-checkpointed", cCkpt, "status-stable", cStable)
		b.ReportMetric(float64(walked), "aborted-walked")
		b.ReportMetric(float64(walkedCkpt), "checkpointed-walked")
	})
}

// report reports the medians of a and base and their ratio.
func report(b *testing.B, aName string, a []time.Duration, baseName string, base []time.Duration) {
	ma, mb := median(a), median(base)
	b.ReportMetric(float64(ma.Microseconds())/1000, aName+"-ms")
	b.ReportMetric(float64(mb.Microseconds())/1000, baseName+"-ms")
	b.ReportMetric(float64(ma)/float64(mb), aName+"/"+baseName)
}

// coldDerive opens dir afresh and derives the state at tip.
func coldDerive(b *testing.B, dir string, tip plumbing.Hash, keys *signing.Keyring) (time.Duration, *history.Snapshot) {
	b.Helper()
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
	return time.Since(start), snap
}

// runChild runs a command to the end and returns its wall time, peak RSS
// (KiB) and output.
func runChild(b *testing.B, name string, args ...string) (time.Duration, int64, string) {
	b.Helper()
	cmd := exec.Command(name, args...)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s %s: %v\n%.2000s", name, strings.Join(args, " "), err, out.String())
	}
	return d, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss, out.String()
}

// rampBinary builds the ramp CLI once per benchmark run.
func rampBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "ramp")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ramp")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/ramp (make build): %v\n%s", err, out)
	}
	return bin
}

// coldKey returns ramp's signing key for the cold repositories.
func coldKey(b *testing.B) (string, signing.CommitSigner, *signing.Keyring) {
	b.Helper()
	base := filepath.Join(os.TempDir(), coldDir)
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
	keys := signing.NewKeyring()
	keys.Trust(policy.RampGroup, signer)
	return keyPath, signer, keys
}

// approversDir is a --approvers directory trusting ramp's key.
func approversDir(b *testing.B) string {
	b.Helper()
	keyPath, _, _ := coldKey(b)
	pub, err := os.ReadFile(keyPath + ".pub")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ramp.allowed_signers"), []byte("ramp@localhost "+string(pub)), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// coldStableRepo returns a generated repository of n commits where every
// rollout is stable at the tip.
func coldStableRepo(b *testing.B, n int) (string, plumbing.Hash) {
	b.Helper()
	dir := filepath.Join(os.TempDir(), coldDir, fmt.Sprintf("stable-%d.git", n))
	if tip, ok := readTip(dir); ok {
		return dir, tip
	}
	os.RemoveAll(dir)
	tip, err := gittest.Generate(dir, gittest.History{Commits: n, Rollouts: 200, Releases: 3, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("git", "--git-dir", dir, "repack", "-adq").CombinedOutput(); err != nil {
		b.Fatalf("git repack: %v: %s", err, out)
	}
	writeTip(b, dir, plumbing.NewHash(tip))
	return dir, plumbing.NewHash(tip)
}

// coldAbortedRepo returns a repository of n commits: the first n/2
// generated (200 rollouts, three complete releases each), then r000's
// release 9.0.0 started, taken to weight 10 and aborted to weight 0 by
// ramp's signed commits (the release field is not reverted), then
// unrelated commits up to n. The commits the derive and audit verify
// (ramp's on r000's walked path) are signed; the generated history's are
// not (the derive never verifies them; the audit finds them unsigned).
func coldAbortedRepo(b *testing.B, n int) (string, plumbing.Hash, *signing.Keyring) {
	b.Helper()
	_, signer, keys := coldKey(b)
	dir := filepath.Join(os.TempDir(), coldDir, fmt.Sprintf("aborted-%d.git", n))
	if tip, ok := readTip(dir); ok {
		return dir, tip, keys
	}
	os.RemoveAll(dir)
	start := time.Now()
	at := generateAbort(b, dir, n, signer)
	tip := extend(b, dir, at, n-n/2-3, n/2+3)
	writeTip(b, dir, tip)
	b.Logf("generated %s in %v", dir, time.Since(start).Round(time.Millisecond))
	return dir, tip, keys
}

// generateAbort generates n/2 commits of 200 rollouts in dir, then r000's
// release 9.0.0 (signed by dev), ramp's signed set-weight of it and ramp's
// signed abort, and returns the abort.
func generateAbort(b *testing.B, dir string, n int, signer signing.CommitSigner) plumbing.Hash {
	b.Helper()
	half, err := gittest.Generate(dir, gittest.History{Commits: n / 2, Rollouts: 200, Releases: 3, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		b.Fatal(err)
	}
	at := plumbing.NewHash(half)
	name := gittest.RolloutName(0)
	at = signedCommit(b, repo, at, nil, "dev@example.com", name+": release 9.0.0",
		map[string]string{"apps/" + name + "/canary/kustomization.yaml": gittest.Kustomization(name, "9.0.0")})
	trailers := func(action string, weight int, reason string) string {
		msg := fmt.Sprintf("ramp: %s 9.0.0 step 1/4 %s\n\nRamp-Rollout: %s\nRamp-Release: 9.0.0\nRamp-Step: 1/4\nRamp-Action: %s\nRamp-Weight: %d\n",
			name, action, name, action, weight)
		if reason != "" {
			msg += "Ramp-Reason: " + reason + "\n"
		}
		return msg
	}
	route := "apps/" + name + "/route.yaml"
	at = signedCommit(b, repo, at, signer, "ramp@localhost", trailers("set-weight", 10, ""), map[string]string{route: gittest.Route(name, 10)})
	return signedCommit(b, repo, at, signer, "ramp@localhost", trailers("abort", 0, "gate error-rate fail"), map[string]string{route: gittest.Route(name, 0)})
}

// coldCheckpointedRepo returns a repository of n commits: as
// coldAbortedRepo up to ramp's abort of r000's release 9.0.0 (the spec has
// no revertRelease), then unrelated commits up to n-1,001, then one pass
// of ramp's loop with ramp's key and CheckpointEvery 1000, which must push
// a checkpoint (the abort is ~49k commits down), then 1,000 unrelated
// commits. It returns the directory, the tip and ramp's abort commit.
func coldCheckpointedRepo(b *testing.B, n int) (string, plumbing.Hash, plumbing.Hash) {
	b.Helper()
	_, signer, keys := coldKey(b)
	dir := filepath.Join(os.TempDir(), coldDir, fmt.Sprintf("aborted-checkpointed-%d.git", n))
	abortFile := filepath.Join(dir, "ramp-bench-abort")
	if tip, ok := readTip(dir); ok {
		if data, err := os.ReadFile(abortFile); err == nil {
			return dir, tip, plumbing.NewHash(strings.TrimSpace(string(data)))
		}
	}
	os.RemoveAll(dir)
	start := time.Now()
	abort := generateAbort(b, dir, n, signer)
	const after = 1000
	mid := extend(b, dir, abort, n-n/2-3-after-1, n/2+3)

	// What a running operator does: one pass over the repository.
	local, err := gitsync.OpenLocal(dir, "main")
	if err != nil {
		b.Fatal(err)
	}
	loop := gitsync.NewLoop(local, gitsync.Config{Keys: keys, Guardrails: policy.DefaultGuardrails(), Signer: signer,
		Identity: gitsync.Identity{Name: "ramp", Email: "ramp@localhost"}, CheckpointEvery: gitsync.DefaultCheckpointEvery})
	res, err := loop.Pass(context.Background())
	if err != nil {
		b.Fatalf("ramp's pass over %s: %v", dir, err)
	}
	if res.Checkpoint.IsZero() {
		b.Fatalf("ramp's pass wrote no checkpoint with r000's abort %d commits down", n-n/2-3-after-1)
	}
	if len(res.Pushed()) != 0 {
		b.Fatalf("ramp's pass committed decisions besides the checkpoint: %+v", res.Pushed())
	}
	c, err := local.Git().CommitObject(res.Checkpoint)
	if err != nil {
		b.Fatalf("read checkpoint %s: %v", res.Checkpoint, err)
	}
	if c.ParentHashes[0] != mid || !strings.Contains(c.Message, "Ramp-Action: checkpoint") || !strings.Contains(c.Message, abort.String()) {
		b.Fatalf("checkpoint %s is not ramp's checkpoint of %s on %s:\n%s", res.Checkpoint, abort, mid, c.Message)
	}
	tip := extend(b, dir, res.Checkpoint, after, n)
	writeTip(b, dir, tip)
	if err := os.WriteFile(abortFile, []byte(abort.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s in %v", dir, time.Since(start).Round(time.Millisecond))
	return dir, tip, abort
}

// signedCommit writes a commit on parent that sets files, signed by
// signer (unsigned when nil), a minute after its parent.
func signedCommit(b testing.TB, repo *git.Repository, parent plumbing.Hash, signer signing.CommitSigner, who, msg string, files map[string]string) plumbing.Hash {
	b.Helper()
	pc, err := repo.CommitObject(parent)
	if err != nil {
		b.Fatal(err)
	}
	tree, err := pc.Tree()
	if err != nil {
		b.Fatal(err)
	}
	edits := map[string][]byte{}
	for p, c := range files {
		edits[p] = []byte(c)
	}
	root, err := gitsync.EditTree(repo.Storer, tree, edits)
	if err != nil {
		b.Fatal(err)
	}
	sig := object.Signature{Name: who, Email: who, When: pc.Committer.When.Add(time.Minute)}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: root, ParentHashes: []plumbing.Hash{parent}}
	if signer != nil {
		unsigned := repo.Storer.NewEncodedObject()
		if err := c.EncodeWithoutSignature(unsigned); err != nil {
			b.Fatal(err)
		}
		rd, err := unsigned.Reader()
		if err != nil {
			b.Fatal(err)
		}
		s, err := signer.Sign(rd)
		if err != nil {
			b.Fatal(err)
		}
		c.PGPSignature = string(s)
	}
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

// extend writes n unrelated commits on from with `git fast-import` and
// points main at the last; commit k is (at+k) minutes after gittest.Epoch.
func extend(b testing.TB, dir string, from plumbing.Hash, n, at int) plumbing.Hash {
	b.Helper()
	cmd := exec.Command("git", "fast-import", "--quiet", "--done", "--force")
	cmd.Env = append(os.Environ(), "GIT_DIR="+dir)
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(in, 1<<20)
	for k := 0; k < n; k++ {
		when := gittest.Epoch.Add(time.Duration(at+k) * time.Minute).Unix()
		msg := fmt.Sprintf("later work %d\n", k)
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter dev <dev@example.com> %d +0000\ndata %d\n%s", when, len(msg), msg)
		if k == 0 {
			fmt.Fprintf(w, "from %s\n", from)
		}
		content := fmt.Sprintf("package mod // later %d\n", k)
		fmt.Fprintf(w, "M 100644 inline src/mod%02d/file.go\ndata %d\n%s\n", k%64, len(content), content)
	}
	w.WriteString("done\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("git fast-import: %v: %s", err, stderr.String())
	}
	out, err := exec.Command("git", "--git-dir", dir, "rev-parse", "refs/heads/main").Output()
	if err != nil {
		b.Fatal(err)
	}
	// Pack what go-git wrote loose, as a clone would hold it.
	if out, err := exec.Command("git", "--git-dir", dir, "repack", "-adq").CombinedOutput(); err != nil {
		b.Fatalf("git repack: %v: %s", err, out)
	}
	return plumbing.NewHash(strings.TrimSpace(string(out)))
}

// readTip returns the tip recorded for a finished repository.
func readTip(dir string) (plumbing.Hash, bool) {
	data, err := os.ReadFile(filepath.Join(dir, "ramp-bench-tip"))
	if err != nil {
		return plumbing.ZeroHash, false
	}
	return plumbing.NewHash(strings.TrimSpace(string(data))), true
}

func writeTip(b *testing.B, dir string, tip plumbing.Hash) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, "ramp-bench-tip"), []byte(tip.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

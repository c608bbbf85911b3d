package gitsync_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
	"github.com/ramp-dev/ramp/signing"
)

// world is a release repository served over smart HTTP, a person's clone
// of it, the keys of ramp and three people, and ramp's loop against it.
type world struct {
	t         *testing.T
	server    *gittest.Server
	url       string
	work      string // a person's clone, worked with the system git
	approvers string // the keyring directory
	rampKey   string
	keys      map[string]person
	loop      *gitsync.Loop
	// cfg is what newLoop builds the loop from, besides keys and identity.
	cfg  gitsync.Config
	snap *history.Snapshot // after the last pass
	now  time.Time
}

// person is someone who pushes to the release repository.
type person struct {
	email string
	env   []string // system git environment: identity and signing config
}

func newWorld(t *testing.T, opts ...gittest.ServerOption) *world {
	t.Helper()
	return newWorldWithSpec(t, policytest.SpecYAML("demo"), opts...)
}

// newWorldWithSpec is newWorld with rollout demo's spec text.
func newWorldWithSpec(t *testing.T, spec string, opts ...gittest.ServerOption) *world {
	t.Helper()
	return newWorldWithFiles(t, spec, nil, opts...)
}

// newWorldWithFiles is newWorldWithSpec whose first commit also holds
// files (path: content).
func newWorldWithFiles(t *testing.T, spec string, files map[string]string, opts ...gittest.ServerOption) *world {
	t.Helper()
	w := &world{t: t, keys: map[string]person{}, now: time.Now()}
	w.server = gittest.NewServer(t, opts...)
	w.server.InitBare(t, "release.git")
	w.url = w.server.URL("release.git")
	keys := t.TempDir()
	w.approvers = t.TempDir()

	var rampPub string
	w.rampKey, rampPub = gittest.SSHKey(t, keys, "ramp")
	aliceKey, alicePub := gittest.SSHKey(t, keys, "alice")
	danKey, danPub := gittest.SSHKey(t, keys, "dan")
	_, devPub := gittest.SSHKey(t, keys, "dev")
	bobHome, bobFpr, _, bobPub := gittest.GPGKey(t, "bob@example.com")
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(w.approvers, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ramp.allowed_signers", "ramp@localhost "+rampPub+"\n")
	write("sre.allowed_signers", "alice@example.com "+alicePub+"\ndev@example.com "+devPub+"\n")
	write("sre.asc", bobPub)
	write("dba.allowed_signers", "dan@example.com "+danPub+"\n")

	sshPerson := func(email, key string) person {
		return person{email: email, env: []string{
			"GIT_AUTHOR_EMAIL=" + email, "GIT_COMMITTER_EMAIL=" + email,
			"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh",
			"GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1=" + key}}
	}
	w.keys["alice"] = sshPerson("alice@example.com", aliceKey)
	w.keys["dan"] = sshPerson("dan@example.com", danKey)
	w.keys["dev"] = sshPerson("dev@example.com", filepath.Join(keys, "dev"))
	w.keys["bob"] = person{email: "bob@example.com", env: []string{
		"GIT_AUTHOR_EMAIL=bob@example.com", "GIT_COMMITTER_EMAIL=bob@example.com", "GNUPGHOME=" + bobHome,
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=user.signingkey", "GIT_CONFIG_VALUE_0=" + bobFpr}}
	w.keys["mallory"] = person{email: "mallory@example.com", env: []string{
		"GIT_AUTHOR_EMAIL=mallory@example.com", "GIT_COMMITTER_EMAIL=mallory@example.com"}}

	w.work = filepath.Join(t.TempDir(), "work")
	initial := gittest.RolloutFilesWithSpec("demo", "1.0.0", spec)
	maps.Copy(initial, files)
	gittest.InitRepo(t, w.work, initial)
	w.git("dev", "remote", "add", "origin", w.url)
	w.git("dev", "push", "-q", "origin", "main")
	w.loop = w.newLoop()
	return w
}

// newLoop returns a fresh ramp: a new clone, nothing remembered.
func (w *world) newLoop() *gitsync.Loop {
	t := w.t
	repo, err := gitsync.Open(context.Background(), w.url, filepath.Join(t.TempDir(), "clone"), "main", gitsync.Auth{})
	if err != nil {
		t.Fatalf("open %s: %v", w.url, err)
	}
	keys, err := signing.LoadKeyringDir(w.approvers)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.LoadSigner(w.rampKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.cfg
	cfg.Keys, cfg.Signer = keys, signer
	if cfg.Guardrails.MaxWeightStep == 0 {
		cfg.Guardrails = policy.DefaultGuardrails()
	}
	cfg.Identity = gitsync.Identity{Name: "ramp", Email: "ramp@localhost"}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return w.now }
	}
	cfg.Backoff = 10 * time.Millisecond
	return gitsync.NewLoop(repo, cfg)
}

// git runs the system git in the person's clone as who.
func (w *world) git(who string, args ...string) string {
	w.t.Helper()
	return gittest.Git(w.t, w.work, gittest.GitEnv(w.t.TempDir(), w.keys[who].env...), args...)
}

// commitFiles writes files in who's clone and pushes them as one signed
// commit.
func (w *world) commitFiles(who, msg string, files map[string]string) string {
	w.t.Helper()
	w.pull()
	gittest.WriteFiles(w.t, w.work, files)
	w.git(who, "add", "-A")
	w.git(who, "commit", "-q", "-S", "-m", msg)
	w.git(who, "push", "-q", "origin", "main")
	return w.git(who, "rev-parse", "HEAD")
}

// show returns a file as it is at the server's main, byte for byte.
func (w *world) show(path string) string {
	w.t.Helper()
	out, err := exec.Command("git", "-C", filepath.Join(w.server.Root(), "release.git"), "cat-file", "blob", "main:"+path).Output()
	if err != nil {
		w.t.Fatalf("git cat-file main:%s: %v", path, err)
	}
	return string(out)
}

// pull brings the person's clone up to the server's main.
func (w *world) pull() {
	w.t.Helper()
	w.git("dev", "pull", "-q", "--ff-only", "origin", "main")
}

// release starts a release: dev changes the canary tag and pushes.
func (w *world) release(version string) string {
	w.t.Helper()
	w.pull()
	gittest.WriteFiles(w.t, w.work, map[string]string{"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", version)})
	w.git("dev", "commit", "-q", "-S", "-am", "demo: release "+version)
	w.git("dev", "push", "-q", "origin", "main")
	return w.git("dev", "rev-parse", "HEAD")
}

// command pushes an empty commit by who with one trailer line; sign says
// whether git signs it.
func (w *world) command(who string, sign bool, msg string, trailer string) string {
	w.t.Helper()
	w.pull()
	args := []string{"commit", "-q", "--allow-empty", "-m", msg}
	if sign {
		args = append(args, "-S")
	}
	if trailer != "" {
		args = append(args, "--trailer", trailer)
	}
	w.git(who, args...)
	w.git(who, "push", "-q", "origin", "main")
	return w.git(who, "rev-parse", "HEAD")
}

func (w *world) approve(who, release string, step int) string {
	return w.command(who, true, fmt.Sprintf("approve demo %s step %d", release, step),
		fmt.Sprintf("Ramp-Approve: rollout=demo release=%s step=%d", release, step))
}

// pass runs one loop pass and returns demo's outcome.
func (w *world) pass() gitsync.Outcome {
	w.t.Helper()
	res, err := w.loop.Pass(context.Background())
	if err != nil {
		w.t.Fatalf("pass: %v", err)
	}
	w.snap = res.Snapshot
	out := res.Outcomes
	for _, o := range out {
		if o.Rollout == "demo" {
			return o
		}
	}
	w.t.Fatalf("no outcome for demo in %+v", out)
	return gitsync.Outcome{}
}

// expect runs a pass and checks its action, step and weight.
func (w *world) expect(a policy.Action, step, weight int) gitsync.Outcome {
	w.t.Helper()
	o := w.pass()
	d := o.Decision
	if d.Action != a || d.Step != step || d.Weight != weight {
		w.t.Fatalf("pass: %s step %d weight %d (%s), want %s step %d weight %d", d.Action, d.Step, d.Weight, d.Reason, a, step, weight)
	}
	return o
}

// serverLog returns the server's main history, newest first: "sha subject".
func (w *world) serverLog() []string {
	w.t.Helper()
	out := gittest.Git(w.t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(w.t.TempDir()), "log", "--format=%H %s", "main")
	return strings.Split(out, "\n")
}

// tip returns the server's main.
func (w *world) tip() plumbing.Hash {
	w.t.Helper()
	return plumbing.NewHash(gittest.Git(w.t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(w.t.TempDir()), "rev-parse", "main"))
}

func sshKey(t *testing.T, name string) (string, string) {
	return gittest.SSHKey(t, t.TempDir(), name)
}

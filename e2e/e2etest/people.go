package e2etest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// Key is an SSH signing key made by ssh-keygen.
type Key struct {
	Name string
	// Private is the private key's path; Public the public key line.
	Private, Public string
}

// NewKey makes an ed25519 key named name in dir.
func NewKey(t testing.TB, dir, name string) Key {
	t.Helper()
	priv, pub := gittest.SSHKey(t, dir, name)
	return Key{Name: name, Private: priv, Public: pub}
}

// Person is someone who pushes to the release repository from a clone of
// their own with the system git, signing with `git commit -S` and an SSH
// key (gpg.format=ssh) when asked to.
type Person struct {
	Name, Email string
	// Key is the key `git commit -S` signs with.
	Key Key
	// Dir is the person's clone.
	Dir string

	t   testing.TB
	env []string
}

// NewPerson clones url into a fresh directory for a person named name
// with e-mail email who signs with key.
func NewPerson(t testing.TB, url, name, email string, key Key) *Person {
	t.Helper()
	home := t.TempDir()
	p := &Person{Name: name, Email: email, Key: key, Dir: filepath.Join(home, "release"), t: t}
	p.env = gittest.GitEnv(home,
		"GIT_AUTHOR_NAME="+name, "GIT_AUTHOR_EMAIL="+email,
		"GIT_COMMITTER_NAME="+name, "GIT_COMMITTER_EMAIL="+email,
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh",
		"GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1="+key.Private)
	gittest.Git(t, home, p.env, "clone", "-q", url, p.Dir)
	return p
}

// Git runs the system git in the person's clone.
func (p *Person) Git(args ...string) string {
	p.t.Helper()
	return gittest.Git(p.t, p.Dir, p.env, args...)
}

// Pull brings the clone up to the remote's main.
func (p *Person) Pull() {
	p.t.Helper()
	p.Git("pull", "-q", "--ff-only", "origin", "main")
}

// Commit pulls, writes files (path → content), and commits them (or
// nothing, with --allow-empty) with message msg and trailers ("Key:
// value"), signed with the person's key when sign is set; then pushes.
// It returns the commit.
func (p *Person) Commit(sign bool, msg string, files map[string]string, trailers ...string) string {
	p.t.Helper()
	p.Pull()
	gittest.WriteFiles(p.t, p.Dir, files)
	p.Git("add", "--all")
	args := []string{"commit", "-q", "--allow-empty", "-m", msg}
	if sign {
		args = append(args, "-S")
	} else {
		args = append(args, "--no-gpg-sign")
	}
	for _, tr := range trailers {
		args = append(args, "--trailer", tr)
	}
	p.Git(args...)
	p.Git("push", "-q", "origin", "HEAD:main")
	return p.Git("rev-parse", "HEAD")
}

// Edit rewrites one file of the clone with fn and commits it as Commit does.
func (p *Person) Edit(sign bool, msg, file string, fn func(string) string) string {
	p.t.Helper()
	p.Pull()
	b, err := os.ReadFile(filepath.Join(p.Dir, file))
	if err != nil {
		p.t.Fatalf("%s edits %s: %v", p.Name, file, err)
	}
	return p.Commit(sign, msg, map[string]string{file: fn(string(b))})
}

// Commit is one commit of the release branch as the system git reads it.
type Commit struct {
	SHA, Author, Subject string
	Time                 time.Time
	// Trailers are the commit's trailers by key, in order.
	Trailers map[string][]string
}

// Trailer returns the first value of trailer key, "" when absent.
func (c Commit) Trailer(key string) string {
	if v := c.Trailers[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Log fetches and returns the commits of origin/main after since (all
// when since is ""), oldest first.
func (p *Person) Log(since string) []Commit {
	p.t.Helper()
	p.Git("fetch", "-q", "origin")
	rng := "origin/main"
	if since != "" {
		rng = since + "..origin/main"
	}
	out := p.Git("log", "--reverse", "--format=%H%x1f%ae%x1f%ct%x1f%s%x1f%(trailers:only,unfold)%x1e", rng)
	var commits []Commit
	for _, rec := range strings.Split(out, "\x1e") {
		f := strings.Split(strings.TrimLeft(rec, "\n"), "\x1f")
		if len(f) != 5 {
			continue
		}
		secs, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			p.t.Fatalf("git log: commit time %q: %v", f[2], err)
		}
		c := Commit{SHA: f[0], Author: f[1], Time: time.Unix(secs, 0), Subject: f[3], Trailers: map[string][]string{}}
		for _, line := range strings.Split(f[4], "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok {
				c.Trailers[k] = append(c.Trailers[k], v)
			}
		}
		commits = append(commits, c)
	}
	return commits
}

// VerifyCommit checks sha's signature with the system git against the
// allowed-signers file allowed, and returns git's error when it fails.
func (p *Person) VerifyCommit(allowed, sha string) error {
	p.t.Helper()
	out, err := gittest.GitResult(p.t, p.Dir, p.env, "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", sha)
	if err != nil {
		return fmt.Errorf("git verify-commit %.10s: %v: %s", sha, err, strings.TrimSpace(out))
	}
	return nil
}

// Fingerprint returns ssh-keygen's SHA256 fingerprint of key.
func Fingerprint(t testing.TB, key Key) string {
	t.Helper()
	return gittest.SSHFingerprint(t, key.Private)
}

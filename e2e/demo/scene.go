package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// scene is the release repository and the people around it: the git
// server holding it, ramp's key, dev (the engineer who starts releases)
// and alice (approver group sre), each with a clone and an SSH signing key.
type scene struct {
	o          options
	out        *console
	server     *gitServer
	bare, url  string
	work       string // dev's clone
	alice      string // alice's clone
	approvers  string // trusted keys, by group
	rampKey    string
	env        []string // the environment of every git and ramp the demo runs
	keys       map[string]string
	stopServer func()
}

// newScene makes the keys, the server and the repository: `ramp init`,
// then dev's signed commit that gates rollout demo on its error rate.
func newScene(ctx context.Context, o options, out *console) (*scene, error) {
	s := &scene{o: o, out: out, keys: map[string]string{}}
	gitconfig := filepath.Join(o.dir, "gitconfig")
	if err := os.WriteFile(gitconfig, nil, 0o644); err != nil {
		return nil, err
	}
	// The user's own git configuration stays out of the demo.
	s.env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+gitconfig, "GIT_TERMINAL_PROMPT=0")
	keys, approvers := mkdir(o.dir, "keys"), mkdir(o.dir, "approvers")
	s.approvers = approvers
	var all strings.Builder
	for _, who := range []struct{ name, email, group string }{
		{"ramp", "ramp@localhost", "ramp"}, {"dev", "dev@example.com", "dev"}, {"alice", "alice@example.com", "sre"},
	} {
		key := filepath.Join(keys, who.name)
		if _, err := s.run(ctx, "", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who.name, "-f", key); err != nil {
			return nil, err
		}
		pub, err := os.ReadFile(key + ".pub")
		if err != nil {
			return nil, err
		}
		line := who.email + " " + strings.TrimSpace(string(pub)) + "\n"
		if err := os.WriteFile(filepath.Join(approvers, who.group+".allowed_signers"), []byte(line), 0o644); err != nil {
			return nil, err
		}
		all.WriteString(line)
		s.keys[who.name] = key
	}
	s.rampKey = s.keys["ramp"]
	signers := filepath.Join(keys, "allowed_signers")
	if err := os.WriteFile(signers, []byte(all.String()), 0o644); err != nil {
		return nil, err
	}

	srvRoot := mkdir(o.dir, "server")
	logf, err := os.Create(filepath.Join(o.dir, "git-http-backend.log"))
	if err != nil {
		return nil, err
	}
	if s.server, err = startGitServer(srvRoot, logf); err != nil {
		return nil, err
	}
	s.stopServer = func() { s.server.stop(context.Background()); logf.Close() }
	s.bare, s.url = filepath.Join(srvRoot, "release.git"), s.server.url+"/release.git"
	if _, err := s.run(ctx, "", "git", "init", "-q", "--bare", "--initial-branch=main", s.bare); err != nil {
		return nil, err
	}
	s.work = filepath.Join(o.dir, "release")
	if _, err := s.run(ctx, "", o.ramp, "init", s.work); err != nil {
		return nil, err
	}
	out.say("demo", "release repository %s, served over smart HTTP (git http-backend) at %s", s.work, s.url)
	if err := s.configure(ctx, s.work, "dev", signers); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(s.work, "releases/demo/rollout.yaml"), []byte(rollout(o.window)), 0o644); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"remote", "add", "origin", s.url},
		{"commit", "-q", "-S", "-am", "demo: gate each step on the canary's error rate, approval by sre before promotion"},
		{"push", "-q", "origin", "main"},
	} {
		if _, err := s.run(ctx, s.work, "git", args...); err != nil {
			return nil, err
		}
	}
	out.say("dev", "committed (signed with dev's SSH key) and pushed releases/demo/rollout.yaml: setWeight 20, analysis %s, setWeight 50, analysis %s, approval by sre", o.window, o.window)
	s.alice = filepath.Join(o.dir, "alice")
	if _, err := s.run(ctx, "", "git", "clone", "-q", s.url, s.alice); err != nil {
		return nil, err
	}
	return s, s.configure(ctx, s.alice, "alice", signers)
}

// configure makes who the author and SSH signer of every commit in dir.
func (s *scene) configure(ctx context.Context, dir, who, signers string) error {
	for _, kv := range [][2]string{
		{"user.name", who}, {"user.email", who + "@example.com"}, {"gpg.format", "ssh"},
		{"user.signingkey", s.keys[who]}, {"commit.gpgsign", "true"}, {"gpg.ssh.allowedSignersFile", signers},
	} {
		if _, err := s.run(ctx, dir, "git", "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// repoFlags are the flags every ramp command of the demo takes.
func (s *scene) repoFlags() []string {
	return []string{"--repo", s.url, "--approvers", s.approvers, "--cache-dir", filepath.Join(s.o.dir, "cache")}
}

// release has dev change the canary's image tag from one release to the
// next with a signed commit, and push it.
func (s *scene) release(ctx context.Context, from, to string) error {
	if err := s.pull(ctx); err != nil {
		return err
	}
	path := filepath.Join(s.work, "apps/demo/canary/kustomization.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	edited := strings.Replace(string(b), `newTag: "`+from+`"`, `newTag: "`+to+`"`, 1)
	if edited == string(b) {
		return fmt.Errorf("%s does not hold release %s", path, from)
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		return err
	}
	if _, err := s.run(ctx, s.work, "git", "commit", "-q", "-S", "-am", "demo: release "+to); err != nil {
		return err
	}
	if _, err := s.run(ctx, s.work, "git", "push", "-q", "origin", "main"); err != nil {
		return err
	}
	sha, _ := s.run(ctx, s.work, "git", "rev-parse", "--short=10", "HEAD")
	s.out.say("dev", "starts release %s: changed the canary's image tag (apps/demo/canary/kustomization.yaml) in commit %s, signed, pushed", to, sha)
	return nil
}

// approve has alice approve the release's current step with `ramp
// approve --push` in her clone (her git signs the commit).
func (s *scene) approve(ctx context.Context, release string) error {
	if _, err := s.run(ctx, s.alice, "git", "pull", "-q", "--ff-only", "origin", "main"); err != nil {
		return err
	}
	out, err := s.run(ctx, "", s.o.ramp, "approve", "demo", "--push", "--repo", s.alice, "--approvers", s.approvers)
	if err != nil {
		return err
	}
	s.out.say("alice", "%s (signed with alice's SSH key, pushed)", out)
	return nil
}

// pull brings dev's clone up to main.
func (s *scene) pull(ctx context.Context) error {
	_, err := s.run(ctx, s.work, "git", "pull", "-q", "--ff-only", "origin", "main")
	return err
}

// keep brings dev's clone up to main and points its origin at the
// server's repository on disk, so that git and ramp work on it after the
// server has stopped.
func (s *scene) keep(ctx context.Context) error {
	if err := s.pull(ctx); err != nil {
		return err
	}
	_, err := s.run(ctx, s.work, "git", "remote", "set-url", "origin", s.bare)
	return err
}

// waitFor waits until a commit subject on main matches want; a subject
// matching bad, ramp exiting or the phase timeout fail it.
func (s *scene) waitFor(ctx context.Context, ramp *child, phase, want, bad string) error {
	wantRE, badRE := regexp.MustCompile(`(?m)`+want), regexp.MustCompile(`(?m)`+bad)
	deadline := time.Now().Add(s.o.phaseTimeout)
	for {
		log, err := s.run(ctx, "", "git", "--git-dir", s.bare, "log", "--format=%s", "main")
		if err != nil {
			return err
		}
		if m := badRE.FindString(log); m != "" {
			return fmt.Errorf("%w: %s: instead, main has %q", errPhase, phase, m)
		}
		if wantRE.MatchString(log) {
			s.out.say("demo", "✓ %s", phase)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s: not within %s (main is at %q; see ramp's lines above)", errPhase, phase, s.o.phaseTimeout, firstLine(log))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ramp.exited:
			return fmt.Errorf("ramp run exited (%v) before %s", ramp.err, phase)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// audit prints `ramp audit demo --release V --verify`; a finding fails.
func (s *scene) audit(ctx context.Context, release string) error {
	args := append([]string{"audit", "demo", "--release", release, "--verify"}, s.repoFlags()...)
	s.out.plain("\n$ ramp audit demo --release %s --verify\n", release)
	out, err := s.run(ctx, "", s.o.ramp, args...)
	s.out.plain("%s\n", out)
	return err
}

// report writes the HTML audit of release and returns its path.
func (s *scene) report(ctx context.Context, release string) (string, error) {
	args := append([]string{"audit", "demo", "--release", release, "--format", "html"}, s.repoFlags()...)
	page, err := s.run(ctx, "", s.o.ramp, args...)
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.o.dir, "report-"+release+".html")
	return path, os.WriteFile(path, []byte(page+"\n"), 0o644)
}

// run runs a program in dir with the demo's environment and returns its
// stdout, trimmed; an error carries its stderr.
func (s *scene) run(ctx context.Context, dir, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(bin), join(args), err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// mkdir creates dir/name and returns it; the demo directory is writable.
func mkdir(dir, name string) string {
	p := filepath.Join(dir, name)
	_ = os.MkdirAll(p, 0o755)
	return p
}

func join(args []string) string { return strings.Join(args, " ") }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

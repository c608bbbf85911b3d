// Package gittest holds helpers for tests that need real git repositories,
// signing keys and the system git, gpg and ssh-keygen.
package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// install names the packages that provide the tools these helpers run.
const install = "apt-get install git gnupg openssh-client"

// need fails the test when tool is not on PATH.
func need(t testing.TB, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found on PATH: these tests run the real tool; install it (%s)", tool, install)
	}
	return path
}

// run runs a tool and returns its stdout; it fails the test with the
// tool's output on error.
func run(t testing.TB, env []string, stdin []byte, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(need(t, name), args...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// SSHKey creates an unprotected ed25519 key pair <dir>/<name> with
// ssh-keygen and returns the private key path and the public key line
// ("ssh-ed25519 AAAA… name").
func SSHKey(t testing.TB, dir, name string) (privPath, pubLine string) {
	t.Helper()
	return SSHKeyWithPassphrase(t, dir, name, "")
}

// SSHKeyWithPassphrase is SSHKey for a key protected by passphrase.
func SSHKeyWithPassphrase(t testing.TB, dir, name, passphrase string) (privPath, pubLine string) {
	t.Helper()
	privPath = filepath.Join(dir, name)
	run(t, GitEnv(dir), nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", privPath)
	pub, err := os.ReadFile(privPath + ".pub")
	if err != nil {
		t.Fatalf("read public key written by ssh-keygen: %v", err)
	}
	return privPath, strings.TrimSpace(string(pub))
}

// SSHFingerprint returns ssh-keygen's SHA256 fingerprint of the key at path
// (private or public), e.g. "SHA256:…".
func SSHFingerprint(t testing.TB, path string) string {
	t.Helper()
	fields := strings.Fields(run(t, GitEnv(filepath.Dir(path)), nil, "ssh-keygen", "-l", "-E", "sha256", "-f", path))
	if len(fields) < 2 {
		t.Fatalf("ssh-keygen -l printed no fingerprint for %s", path)
	}
	return fields[1]
}

// GPGKey creates an unprotected ed25519 OpenPGP signing key for email in a
// fresh GNUPGHOME and returns that home, the key's fingerprint (upper-case
// hex) and the armored private and public keys. The home, and the gpg-agent
// serving it, are removed when the test ends.
func GPGKey(t testing.TB, email string) (home, fingerprint, armoredPriv, armoredPub string) {
	t.Helper()
	return GPGKeyWithPassphrase(t, email, "")
}

// GPGKeyWithPassphrase is GPGKey for a key protected by passphrase; the
// exported private key is protected by it too.
func GPGKeyWithPassphrase(t testing.TB, email, passphrase string) (home, fingerprint, armoredPriv, armoredPub string) {
	t.Helper()
	return gpgKey(t, email, passphrase, "never")
}

// GPGKeyExpiring is GPGKey for a key that expires after expire (gpg's
// form: "1d", "2w").
func GPGKeyExpiring(t testing.TB, email, expire string) (home, fingerprint, armoredPriv, armoredPub string) {
	t.Helper()
	return gpgKey(t, email, "", expire)
}

func gpgKey(t testing.TB, email, passphrase, expire string) (home, fingerprint, armoredPriv, armoredPub string) {
	t.Helper()
	home = GPGHome(t)
	env := GitEnv(home)
	gpg := func(args ...string) string {
		base := []string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", passphrase}
		return run(t, env, nil, "gpg", append(base, args...)...)
	}
	gpg("--quick-gen-key", email, "ed25519", "sign", expire)
	for _, line := range strings.Split(gpg("--with-colons", "--list-secret-keys", email), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 && fingerprint == "" {
			fingerprint = f[9]
		}
	}
	if fingerprint == "" {
		t.Fatalf("gpg listed no fingerprint for the key it made for %s", email)
	}
	armoredPriv = gpg("--armor", "--export-secret-keys", fingerprint)
	armoredPub = gpg("--armor", "--export", fingerprint)
	return home, fingerprint, armoredPriv, armoredPub
}

// GPGHome creates an empty GNUPGHOME that is removed, and its gpg-agent
// stopped, when the test ends. Its path is short: gpg-agent's socket lives
// there and socket paths are limited to about 100 bytes.
func GPGHome(t testing.TB) string {
	t.Helper()
	need(t, "gpg")
	need(t, "gpgconf")
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatalf("create GNUPGHOME: %v", err)
	}
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "all")
		cmd.Env = GitEnv(home)
		_ = cmd.Run()
		os.RemoveAll(home)
	})
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatalf("chmod GNUPGHOME: %v", err)
	}
	return home
}

// GPGImport imports armored public keys into the GNUPGHOME home.
func GPGImport(t testing.TB, home, armored string) {
	t.Helper()
	run(t, GitEnv(home), []byte(armored), "gpg", "--batch", "--no-tty", "--import")
}

// GitEnv returns a minimal environment for running the system git (and gpg,
// ssh-keygen) isolated from the user's: HOME and GNUPGHOME are home, no
// system or global config but $HOME/.gitconfig, fixed author and committer,
// no ssh-agent. extra ("KEY=value") are added last and win.
func GitEnv(home string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GNUPGHOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + filepath.Join(home, ".gitconfig"),
		"GIT_AUTHOR_NAME=Ramp Test",
		"GIT_AUTHOR_EMAIL=test@ramp.invalid",
		"GIT_COMMITTER_NAME=Ramp Test",
		"GIT_COMMITTER_EMAIL=test@ramp.invalid",
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
		"TZ=UTC",
	}
	return append(env, extra...)
}

// Git runs the system git in dir with env and returns its stdout without
// the trailing newline; it fails the test with git's output on error.
func Git(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	return strings.TrimRight(run(t, env, nil, "git", append([]string{"-C", dir}, args...)...), "\n")
}

// GitResult runs the system git like Git but returns its combined output
// and error instead of failing, for tests that expect git to refuse.
func GitResult(t testing.TB, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(need(t, "git"), append([]string{"-C", dir}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// GPG runs gpg with GNUPGHOME home and returns its stdout; it fails the
// test with gpg's output on error.
func GPG(t testing.TB, home string, args ...string) string {
	t.Helper()
	return run(t, GitEnv(home), nil, "gpg", append([]string{"--batch", "--no-tty"}, args...)...)
}

package signing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// sigTestKey is a private key made by the system tools, with the facts
// those tools report about it.
type sigTestKey struct {
	kind        string
	privPath    string
	passphrase  string
	fingerprint string // as ssh-keygen -l or gpg prints it
	pubText     string // the .pub line, or gpg's armored export
	gpgHome     string // OpenPGP only: the GNUPGHOME holding the key
	email       string // OpenPGP only: the key's user id
}

func newSSHTestKey(t *testing.T, name, passphrase string) sigTestKey {
	t.Helper()
	priv, pub := gittest.SSHKeyWithPassphrase(t, t.TempDir(), name, passphrase)
	return sigTestKey{kind: kindSSH, privPath: priv, passphrase: passphrase,
		fingerprint: gittest.SSHFingerprint(t, priv+".pub"), pubText: pub}
}

func newGPGTestKey(t *testing.T, email, passphrase string) sigTestKey {
	t.Helper()
	home, fpr, priv, pub := gittest.GPGKeyWithPassphrase(t, email, passphrase)
	path := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(path, []byte(priv), 0o600); err != nil {
		t.Fatal(err)
	}
	return sigTestKey{kind: kindOpenPGP, privPath: path, passphrase: passphrase,
		fingerprint: fpr, pubText: pub, gpgHome: home, email: email}
}

// sigTestKeys returns one key of each kind, unprotected and protected.
func sigTestKeys(t *testing.T) map[string]sigTestKey {
	return map[string]sigTestKey{
		"ssh":                 newSSHTestKey(t, "ramp-ssh", ""),
		"ssh with passphrase": newSSHTestKey(t, "ramp-ssh-pw", "correct horse"),
		"gpg":                 newGPGTestKey(t, "ramp@example.com", ""),
		"gpg with passphrase": newGPGTestKey(t, "ramp-pw@example.com", "battery staple"),
	}
}

// newSigRepo makes an empty repository with the system git.
func newSigRepo(t *testing.T) (dir string, env []string) {
	t.Helper()
	dir = t.TempDir()
	env = gittest.GitEnv(t.TempDir())
	gittest.Git(t, dir, env, "init", "-q", "-b", "main")
	return dir, env
}

// goGitCommit makes an empty commit with go-git, signed by signer, and
// returns it as go-git reads it back.
func goGitCommit(t *testing.T, dir string, signer CommitSigner, msg string) *object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	who := &object.Signature{Name: "ramp", Email: "ramp@example.com", When: time.Now()}
	opts := &git.CommitOptions{Author: who, Committer: who, AllowEmptyCommits: true}
	if signer != nil {
		opts.Signer = signer
	}
	h, err := wt.Commit(msg, opts)
	if err != nil {
		t.Fatalf("go-git commit: %v", err)
	}
	c, err := repo.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoadSignerReadsKeysMadeBySystemTools(t *testing.T) {
	for name, key := range sigTestKeys(t) {
		t.Run(name, func(t *testing.T) {
			s, err := LoadSigner(key.privPath, []byte(key.passphrase))
			if err != nil {
				t.Fatalf("LoadSigner: %v", err)
			}
			if s.Kind() != key.kind {
				t.Errorf("Kind() = %q, want %q", s.Kind(), key.kind)
			}
			if s.Fingerprint() != key.fingerprint {
				t.Errorf("Fingerprint() = %q, the tool says %q", s.Fingerprint(), key.fingerprint)
			}
		})
	}
}

func TestPublicKeyTextIsWhatTheToolsExport(t *testing.T) {
	sshKey := newSSHTestKey(t, "ramp", "")
	s, err := LoadSigner(sshKey.privPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	// ssh-keygen's .pub line is "type base64 comment"; ours has no comment.
	if want := strings.Join(strings.Fields(sshKey.pubText)[:2], " "); publicKeyText(s) != want {
		t.Errorf("publicKeyText = %q, want %q", publicKeyText(s), want)
	}

	gpgKey := newGPGTestKey(t, "ramp@example.com", "")
	s, err = LoadSigner(gpgKey.privPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	home := gittest.GPGHome(t)
	gittest.GPGImport(t, home, publicKeyText(s))
	out := gittest.GPG(t, home, "--with-colons", "--list-keys")
	if !strings.Contains(out, "fpr:::::::::"+gpgKey.fingerprint+":") || !strings.Contains(out, "::ramp@example.com::") {
		t.Errorf("gpg --list-keys after importing publicKeyText lacks key %s for ramp@example.com:\n%s", gpgKey.fingerprint, out)
	}
	if strings.Contains(publicKeyText(s), "PRIVATE") {
		t.Error("publicKeyText of an OpenPGP signer contains a private key block")
	}
}

func TestLoadSignerRejectsUnusableKeys(t *testing.T) {
	sshPW := newSSHTestKey(t, "pw", "right")
	gpgPW := newGPGTestKey(t, "pw@example.com", "right")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, path, passphrase, want string
	}{
		{"ssh without passphrase", sshPW.privPath, "", "passphrase-protected"},
		{"ssh wrong passphrase", sshPW.privPath, "wrong", "wrong passphrase"},
		{"gpg without passphrase", gpgPW.privPath, "", "passphrase-protected"},
		{"gpg wrong passphrase", gpgPW.privPath, "wrong", "wrong passphrase"},
		{"ssh public key", write("id.pub", sshPW.pubText), "", "public key"},
		{"gpg public key", write("pub.asc", gpgPW.pubText), "", "public key"},
		{"not a key", write("notes.txt", "hello\n"), "", "not an armored OpenPGP private key or an OpenSSH private key"},
		{"missing file", filepath.Join(dir, "absent"), "", "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSigner(tc.path, []byte(tc.passphrase))
			if err == nil {
				t.Fatal("LoadSigner succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, tc.path) {
				t.Errorf("error %q should contain %q and the path %s", msg, tc.want, tc.path)
			}
			assertNoKeyMaterial(t, msg, tc.path)
		})
	}
}

// assertNoKeyMaterial fails when msg holds a line of the key file at path.
func assertNoKeyMaterial(t *testing.T, msg, path string) {
	t.Helper()
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		for _, field := range strings.Fields(line) {
			if len(field) >= 16 && !strings.HasPrefix(field, "-----") && strings.Contains(msg, field) {
				t.Errorf("error %q contains key material %q", msg, field)
			}
		}
	}
}

func TestSignedCommitsPassGitVerifyCommitAndKeyring(t *testing.T) {
	for name, key := range sigTestKeys(t) {
		t.Run(name, func(t *testing.T) {
			s, err := LoadSigner(key.privPath, []byte(key.passphrase))
			if err != nil {
				t.Fatal(err)
			}
			dir, env := newSigRepo(t)
			c := goGitCommit(t, dir, s, "ramp: set weight\n\nRamp-Rollout: payment-api\n")

			keys := t.TempDir()
			want := policy.Signer{Principal: key.email, Key: key.fingerprint, Groups: []string{policy.RampGroup}}
			if key.kind == kindSSH {
				signers := filepath.Join(keys, policy.RampGroup+".allowed_signers")
				writeFile(t, signers, `ramp@example.com namespaces="git" `+publicKeyText(s)+"\n")
				out := gitVerifyCommit(t, dir, env, "-c", "gpg.ssh.allowedSignersFile="+signers)
				if wantOut := `Good "git" signature for ramp@example.com`; !strings.Contains(out, wantOut) || !strings.Contains(out, key.fingerprint) {
					t.Errorf("git verify-commit output lacks %q and %s:\n%s", wantOut, key.fingerprint, out)
				}
				want.Principal = "ramp@example.com"
			} else {
				home := gittest.GPGHome(t)
				gittest.GPGImport(t, home, publicKeyText(s))
				out := gitVerifyCommit(t, dir, gittest.GitEnv(home), "--raw")
				if wantOut := "VALIDSIG " + key.fingerprint; !strings.Contains(out, wantOut) {
					t.Errorf("git verify-commit output lacks %q:\n%s", wantOut, out)
				}
				writeFile(t, filepath.Join(keys, policy.RampGroup+".asc"), publicKeyText(s))
			}

			k, err := LoadKeyringDir(keys)
			if err != nil {
				t.Fatal(err)
			}
			assertSigner(t, k, c, want)

			// ramp run trusts its own key without any file.
			trusted, err := LoadKeyringDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			trusted.Trust(policy.RampGroup, s)
			if key.kind == kindSSH {
				want.Principal = policy.RampGroup
			}
			assertSigner(t, trusted, c, want)
		})
	}
}

// gitVerifyCommit runs git verify-commit HEAD (args go before the
// subcommand when they start with -c) and returns its combined output; it
// fails the test when git rejects the signature.
func gitVerifyCommit(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	var pre, post []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-c" && i+1 < len(args) {
			pre = append(pre, args[i], args[i+1])
			i++
			continue
		}
		post = append(post, args[i])
	}
	full := append(append(pre, "verify-commit"), append(post, "HEAD")...)
	out, err := gittest.GitResult(t, dir, env, full...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertSigner checks that k verifies c as signed by want.
func assertSigner(t *testing.T, k *Keyring, c *object.Commit, want policy.Signer) {
	t.Helper()
	got, err := k.Verify(c)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Principal != want.Principal || got.Key != want.Key || strings.Join(got.Groups, ",") != strings.Join(want.Groups, ",") {
		t.Errorf("Verify = %+v, want %+v", *got, want)
	}
}

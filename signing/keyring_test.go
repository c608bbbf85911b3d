package signing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// systemGitCommit makes an empty commit with the system git (args such as
// -S go after "commit") and returns it as go-git reads it.
func systemGitCommit(t *testing.T, dir string, env []string, msg string, args ...string) *object.Commit {
	t.Helper()
	full := append([]string{"commit", "-q", "--allow-empty", "-m", msg,
		"--trailer", "Ramp-Approve: rollout=payment-api release=2.4.0 step=4"}, args...)
	gittest.Git(t, dir, env, full...)
	sha := gittest.Git(t, dir, env, "rev-parse", "HEAD")
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sshGitRepo is a repository whose system git signs with an SSH key.
func sshGitRepo(t *testing.T, key sigTestKey, extraEnv ...string) (dir string, env []string) {
	t.Helper()
	dir = t.TempDir()
	env = gittest.GitEnv(t.TempDir(), extraEnv...)
	gittest.Git(t, dir, env, "init", "-q", "-b", "main")
	gittest.Git(t, dir, env, "config", "gpg.format", "ssh")
	gittest.Git(t, dir, env, "config", "user.signingkey", key.privPath+".pub")
	return dir, env
}

// gpgGitRepo is a repository whose system git signs with an OpenPGP key.
func gpgGitRepo(t *testing.T, key sigTestKey) (dir string, env []string) {
	t.Helper()
	dir = t.TempDir()
	env = gittest.GitEnv(key.gpgHome)
	gittest.Git(t, dir, env, "init", "-q", "-b", "main")
	gittest.Git(t, dir, env, "config", "user.signingkey", key.fingerprint)
	return dir, env
}

// keyDir writes trust files (name → content) into a new directory.
func keyDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	return dir
}

func mustLoadKeyring(t *testing.T, dir string) *Keyring {
	t.Helper()
	k, err := LoadKeyringDir(dir)
	if err != nil {
		t.Fatalf("LoadKeyring: %v", err)
	}
	return k
}

func TestVerifyAcceptsSSHCommitMadeBySystemGit(t *testing.T) {
	alice := newSSHTestKey(t, "alice", "")
	dir, env := sshGitRepo(t, alice)
	c := systemGitCommit(t, dir, env, "approve step 4", "-S")

	keys := keyDir(t, map[string]string{
		"sre.allowed_signers": "# SRE on call\n\n" +
			`alice@example.com,alice@corp namespaces="git,file" ` + alice.pubText + "\n",
		"dba.allowed_signers": `"alice@example.com" ` + alice.pubText + "\n",
		"web.allowed_signers": "",
		"README":              "not a trust file\n",
	})
	k := mustLoadKeyring(t, keys)
	if got := strings.Join(k.Groups(), ","); got != "dba,sre,web" {
		t.Errorf("Groups() = %s, want dba,sre,web", got)
	}
	assertSigner(t, k, c, policy.Signer{Principal: "alice@example.com", Key: alice.fingerprint, Groups: []string{"dba", "sre"}})
	// The system git agrees with the same allowed-signers file.
	gitVerifyCommit(t, dir, env, "-c", "gpg.ssh.allowedSignersFile="+filepath.Join(keys, "sre.allowed_signers"))
}

func TestVerifyAcceptsGPGCommitMadeBySystemGit(t *testing.T) {
	bob := newGPGTestKey(t, "bob@example.com", "")
	other := newGPGTestKey(t, "carol@example.com", "")
	dir, env := gpgGitRepo(t, bob)
	c := systemGitCommit(t, dir, env, "approve step 4", "-S")

	k := mustLoadKeyring(t, keyDir(t, map[string]string{
		// Two keys in one file, as two exports appended.
		"sre.asc":      other.pubText + "\n" + bob.pubText,
		"security.asc": bob.pubText,
	}))
	want := policy.Signer{Principal: "bob@example.com", Key: bob.fingerprint, Groups: []string{"security", "sre"}}
	assertSigner(t, k, c, want)

	// gpg stamps its signature after git stamps the commit; a committer
	// date earlier than the signature (here: before the key existed) does
	// not matter, as for gpg itself: OpenPGP validity is judged at signing.
	early := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	c = systemGitCommit(t, dir, append(env, "GIT_COMMITTER_DATE="+early), "approve step 5", "-S")
	assertSigner(t, k, c, want)
	gittest.GPGImport(t, bob.gpgHome, other.pubText)
	gitVerifyCommit(t, dir, env)
}

func TestVerifyRejectsUnsignedCommit(t *testing.T) {
	dir, env := newSigRepo(t)
	c := systemGitCommit(t, dir, env, "no signature")
	_, err := mustLoadKeyring(t, t.TempDir()).Verify(c)
	if !errors.Is(err, errUnsigned) || err.Error() != "unsigned" {
		t.Errorf("Verify = %v, want %q", err, "unsigned")
	}
}

func TestVerifyRejectsKeyInNoGroup(t *testing.T) {
	mallory := newSSHTestKey(t, "mallory", "")
	alice := newSSHTestKey(t, "alice", "")
	dir, env := sshGitRepo(t, mallory)
	sshCommit := systemGitCommit(t, dir, env, "approve", "-S")

	eve := newGPGTestKey(t, "eve@example.com", "")
	dir, env = gpgGitRepo(t, eve)
	gpgCommit := systemGitCommit(t, dir, env, "approve", "-S")

	k := mustLoadKeyring(t, keyDir(t, map[string]string{"sre.allowed_signers": "alice@example.com " + alice.pubText + "\n"}))
	for _, tc := range []struct {
		name        string
		c           *object.Commit
		fingerprint string
	}{
		{"ssh", sshCommit, mallory.fingerprint},
		{"gpg", gpgCommit, eve.fingerprint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.Verify(tc.c)
			if want := "signed by unknown key " + tc.fingerprint; !errors.Is(err, errUnknownKey) || err == nil || err.Error() != want {
				t.Errorf("Verify = %v, want %q", err, want)
			}
		})
	}
}

func TestVerifyRejectsSignatureOfOtherContent(t *testing.T) {
	alice := newSSHTestKey(t, "alice", "")
	bob := newGPGTestKey(t, "bob@example.com", "")
	k := mustLoadKeyring(t, keyDir(t, map[string]string{
		"sre.allowed_signers": "alice@example.com " + alice.pubText + "\n",
		"sre.asc":             bob.pubText,
	}))
	for name, key := range map[string]sigTestKey{"ssh": alice, "gpg": bob} {
		t.Run(name, func(t *testing.T) {
			var dir string
			var env []string
			if key.kind == kindSSH {
				dir, env = sshGitRepo(t, key)
			} else {
				dir, env = gpgGitRepo(t, key)
			}
			signed := systemGitCommit(t, dir, env, "approve step 4", "-S")
			other := systemGitCommit(t, dir, env, "approve step 5", "-S")
			if _, err := k.Verify(other); err != nil {
				t.Fatalf("the untampered commit should verify: %v", err)
			}
			forged := *other
			forged.PGPSignature = signed.PGPSignature
			_, err := k.Verify(&forged)
			if !errors.Is(err, errBadSignature) || !strings.HasPrefix(err.Error(), "signature does not verify") {
				t.Errorf("Verify(forged) = %v, want %q", err, "signature does not verify")
			}
			edited := *signed
			edited.Message = strings.Replace(edited.Message, "step=4", "step=5", 1)
			if _, err := k.Verify(&edited); !errors.Is(err, errBadSignature) {
				t.Errorf("Verify(edited message) = %v, want errBadSignature", err)
			}
		})
	}
}

// TestVerifyAppliesAllowedSignersOptions checks namespaces, valid-after and
// valid-before against the commit time, and that the system git judges the
// same file the same way.
func TestVerifyAppliesAllowedSignersOptions(t *testing.T) {
	alice := newSSHTestKey(t, "alice", "")
	dir, env := sshGitRepo(t, alice, "GIT_COMMITTER_DATE=2022-06-01T12:00:00Z")
	c := systemGitCommit(t, dir, env, "approve", "-S")

	cases := []struct {
		name    string
		options string
		refusal string // "" when accepted
	}{
		{"git namespace", `namespaces="git"`, ""},
		{"wildcard namespace", `namespaces="g*"`, ""},
		{"file namespace only", `namespaces="file"`, `namespaces="file" does not include "git"`},
		{"git negated", `namespaces="!git,*"`, `does not include "git"`},
		{"expired before the commit", `valid-before="20220101Z"`, "expired (valid-before 2022-01-01T00:00:00Z)"},
		{"valid after the commit", `valid-after="20230101"`, "not yet valid"},
		{"valid at the commit, expired now", `valid-after="20220101Z",valid-before="202207011200Z"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys := keyDir(t, map[string]string{"sre.allowed_signers": "alice@example.com " + tc.options + " " + alice.pubText + "\n"})
			_, err := mustLoadKeyring(t, keys).Verify(c)
			out, gitErr := gittest.GitResult(t, dir, env, "-c", "gpg.ssh.allowedSignersFile="+filepath.Join(keys, "sre.allowed_signers"), "verify-commit", "HEAD")
			if tc.refusal == "" {
				if err != nil {
					t.Errorf("Verify: %v", err)
				}
				if gitErr != nil {
					t.Errorf("git verify-commit refused what Verify accepts: %v\n%s", gitErr, out)
				}
				return
			}
			if !errors.Is(err, errKeyNotAllowed) || !strings.Contains(err.Error(), tc.refusal) || !strings.Contains(err.Error(), alice.fingerprint) {
				t.Errorf("Verify = %v, want errKeyNotAllowed naming %s and %q", err, alice.fingerprint, tc.refusal)
			}
			if gitErr == nil {
				t.Errorf("git verify-commit accepted what Verify refuses:\n%s", out)
			}
		})
	}
}

func TestLoadKeyringRejectsMalformedAllowedSigners(t *testing.T) {
	alice := newSSHTestKey(t, "alice", "")
	key := strings.Join(strings.Fields(alice.pubText)[:2], " ")
	cases := []struct{ name, line, want string }{
		{"no principals", key, "no principals before the key"},
		{"no key", "alice@example.com", "missing principals or key"},
		{"bad key", "alice@example.com ssh-ed25519 AAAAnotbase64!", "no valid public key"},
		{"cert-authority", "*@example.com cert-authority " + key, "cert-authority is not supported"},
		{"unknown option", `alice@example.com restrict ` + key, `unsupported option "restrict"`},
		{"bad time", `alice@example.com valid-before="2026-01-01" ` + key, `valid-before="2026-01-01" is not a time`},
		{"empty namespaces", `alice@example.com namespaces="" ` + key, "namespaces is empty"},
		{"unterminated quote", `"alice@example.com ` + key, "missing principals or key"},
		{"empty principal", "alice@example.com,,bob@example.com " + key, "empty principal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := keyDir(t, map[string]string{
				"sre.allowed_signers": "# line 1\nbob@example.com " + key + "\n" + tc.line + "\n",
			})
			_, err := LoadKeyringDir(dir)
			where := filepath.Join(dir, "sre.allowed_signers") + ":3: "
			if err == nil || !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadKeyring = %v, want an error at %s containing %q", err, where, tc.want)
			}
		})
	}
}

func TestLoadKeyringRejectsBadASC(t *testing.T) {
	bob := newGPGTestKey(t, "bob@example.com", "")
	cases := []struct{ name, content, want string }{
		{"private key", "\n" + readKeyFile(t, bob.privPath), ":2: holds a private key"},
		{"no key block", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9v bob\n", "no armored OpenPGP public key block"},
		{"corrupt block", bob.pubText + "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----\n", "read OpenPGP public key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := keyDir(t, map[string]string{"sre.asc": tc.content})
			_, err := LoadKeyringDir(dir)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "sre.asc")) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadKeyring = %v, want an error naming sre.asc and %q", err, tc.want)
			}
		})
	}
}

func readKeyFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestLoadKeyringNeedsAnExistingDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "keys")
	if _, err := LoadKeyringDir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadKeyringDir(missing) = %v, want an error naming %s", err, missing)
	}
	k := mustLoadKeyring(t, t.TempDir())
	if len(k.Groups()) != 0 {
		t.Errorf("empty directory: Groups() = %v, want none", k.Groups())
	}
}

func TestMatchPatternListFollowsOpenSSH(t *testing.T) {
	cases := []struct {
		list string
		want bool
	}{
		{"git", true}, {"file", false}, {"file,git", true}, {"*", true}, {"g?t", true},
		{"gi", false}, {"git*", true}, {"!git", false}, {"!git,*", false}, {"!file,git", true},
		{" git , file", true}, {"", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.list), func(t *testing.T) {
			if got := matchPatternList("git", tc.list); got != tc.want {
				t.Errorf("matchPatternList(git, %q) = %v, want %v", tc.list, got, tc.want)
			}
		})
	}
}

// TestVerifyAtJudgesKeyValidityNoEarlierThanNotBefore: a commit signed
// while its key was valid is refused when judged at a later time that
// history proves (the newest commit it descends from).
func TestVerifyAtJudgesKeyValidityNoEarlierThanNotBefore(t *testing.T) {
	week := time.Now().Add(8 * 24 * time.Hour)

	home, fpr, _, pub := gittest.GPGKeyExpiring(t, "bob@example.com", "1d")
	dir, env := gpgGitRepo(t, sigTestKey{gpgHome: home, fingerprint: fpr})
	c := systemGitCommit(t, dir, env, "approve", "-S")
	k := mustLoadKeyring(t, keyDir(t, map[string]string{"sre.asc": pub}))
	if s, err := k.VerifyAt(c, time.Time{}); err != nil || s.Principal != "bob@example.com" {
		t.Fatalf("OpenPGP, judged at the signature's time: %+v, %v; want bob", s, err)
	}
	if _, err := k.VerifyAt(c, week); !errors.Is(err, errKeyNotAllowed) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("OpenPGP, judged 8 days later: %v, want the expired key refused", err)
	}

	alice := newSSHTestKey(t, "alice", "")
	dir, env = sshGitRepo(t, alice)
	c = systemGitCommit(t, dir, env, "approve", "-S")
	until := time.Now().Add(24 * time.Hour).UTC().Format("20060102150405Z")
	k = mustLoadKeyring(t, keyDir(t, map[string]string{"sre.allowed_signers": `alice@example.com valid-before="` + until + `" ` + alice.pubText + "\n"}))
	if s, err := k.VerifyAt(c, time.Time{}); err != nil || s.Principal != "alice@example.com" {
		t.Fatalf("SSH, judged at the committer time: %+v, %v; want alice", s, err)
	}
	if _, err := k.VerifyAt(c, week); !errors.Is(err, errKeyNotAllowed) || !strings.Contains(err.Error(), "expired (valid-before") {
		t.Fatalf("SSH, judged 8 days later: %v, want the expired key refused", err)
	}
}

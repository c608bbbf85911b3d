package signing

// This file holds the trusted keys per group and commit signature
// verification. Keys come from the cluster (a directory of trust files),
// never from the release repository.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/ramp-dev/ramp/policy"
)

// Trust file suffixes in a keyring directory: <group>.allowed_signers and
// <group>.asc.
const (
	allowedSignersExt = ".allowed_signers"
	ascExt            = ".asc"
)

// Verification failures. Verify wraps them, so errors.Is tells them apart.
var (
	// errUnsigned: the commit has no signature.
	errUnsigned = errors.New("unsigned")
	// errBadSignature: the signature does not match the commit's content.
	errBadSignature = errors.New("signature does not verify")
	// errUnknownKey: the signature is by a key that no group trusts.
	errUnknownKey = errors.New("signed by unknown key")
	// errKeyNotAllowed: the key is trusted, but not for git commits at the
	// commit's time (namespaces, valid-after, valid-before, expiry, revocation).
	errKeyNotAllowed = errors.New("signing key not allowed")
)

// Keyring holds the public keys trusted per group: approver groups by name,
// and policy.RampGroup for ramp's own commits. One key may be in several
// groups. The zero value is not usable; use LoadKeyring.
type Keyring struct {
	groups    map[string]bool
	ssh       map[string][]sshEntry // by ssh.FingerprintSHA256
	pgp       openpgp.EntityList    // each primary key once
	pgpGroups map[string][]string   // primary fingerprint → groups
}

// sshEntry is one allowed_signers line (or one Trust call) for one key.
type sshEntry struct {
	pub         ssh.PublicKey
	group       string
	principals  []string
	namespaces  string    // OpenSSH pattern list; "" allows any namespace
	validAfter  time.Time // zero: no lower bound
	validBefore time.Time // zero: no upper bound
	source      string    // file:line, or "trusted by ramp"
}

// LoadKeyring reads the trust files at the top of fsys into a keyring, as
// ParseKeyring does. Directories and dot files (Kubernetes' "..data") are
// ignored.
func LoadKeyring(fsys fs.FS, where string) (*Keyring, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read keyring %s: %w", where, err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() || trustFile(e.Name()) == nil {
			continue
		}
		if files[e.Name()], err = fs.ReadFile(fsys, e.Name()); err != nil {
			return nil, fmt.Errorf("read keyring file %s: %w", e.Name(), err)
		}
	}
	return ParseKeyring(files, where)
}

// ParseKeyring builds a keyring from trust files by name: each
// <group>.allowed_signers (git's allowed-signers format) and <group>.asc
// (armored OpenPGP public keys); other names are ignored, and no file gives
// an empty keyring. Errors name a file as where/<name>:<line> (where may be
// "", a directory, or "Secret ns/name"). Lines with cert-authority are
// rejected: ramp verifies plain keys only.
func ParseKeyring(files map[string][]byte, where string) (*Keyring, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	k := newKeyring()
	for _, name := range names {
		load := trustFile(name)
		if load == nil {
			continue
		}
		source := name
		if where != "" {
			source = filepath.Join(where, name)
		}
		group := strings.TrimSuffix(strings.TrimSuffix(name, allowedSignersExt), ascExt)
		if err := load(k, string(files[name]), source, group); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// trustFile returns the loader of a trust file's name, or nil.
func trustFile(name string) func(k *Keyring, text, source, group string) error {
	switch {
	case strings.HasSuffix(name, allowedSignersExt) && len(name) > len(allowedSignersExt):
		return (*Keyring).loadAllowedSigners
	case strings.HasSuffix(name, ascExt) && len(name) > len(ascExt):
		return (*Keyring).loadASC
	}
	return nil
}

// LoadKeyringDir is LoadKeyring of a directory on disk. A missing
// directory is an error.
func LoadKeyringDir(dir string) (*Keyring, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("read keyring directory: %w", err)
	}
	return LoadKeyring(os.DirFS(dir), dir)
}

// NewKeyring returns an empty keyring: nothing verifies until Trust adds
// a key.
func NewKeyring() *Keyring { return newKeyring() }

func newKeyring() *Keyring {
	return &Keyring{
		groups:    map[string]bool{},
		ssh:       map[string][]sshEntry{},
		pgpGroups: map[string][]string{},
	}
}

// Groups returns the names of the groups with a trust file or a Trust call,
// sorted.
func (k *Keyring) Groups() []string {
	out := make([]string, 0, len(k.groups))
	for g := range k.groups {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// Trust adds s's public key to group, for any namespace and time. ramp run
// uses it to trust its own signing key (policy.RampGroup). An SSH key gets
// the group name as its principal, an OpenPGP key its own primary identity.
// s must come from LoadSigner or ParseSigner; other signers are ignored.
func (k *Keyring) Trust(group string, s CommitSigner) {
	switch s := s.(type) {
	case *sshSigner:
		k.groups[group] = true
		fp := ssh.FingerprintSHA256(s.signer.PublicKey())
		k.ssh[fp] = append(k.ssh[fp], sshEntry{pub: s.signer.PublicKey(), group: group, principals: []string{group}, source: "trusted by ramp"})
	case *pgpSigner:
		// Keep only the public half: the keyring never holds secrets.
		text, err := armoredPublicKey(s.entity)
		if err != nil {
			return
		}
		list, err := openpgp.ReadArmoredKeyRing(strings.NewReader(text))
		if err != nil {
			return
		}
		k.groups[group] = true
		k.addPGP(group, list)
	}
}

func (k *Keyring) addPGP(group string, list openpgp.EntityList) {
	for _, e := range list {
		fp := pgpFingerprint(e)
		if _, known := k.pgpGroups[fp]; !known {
			k.pgp = append(k.pgp, e)
		}
		if !slices.Contains(k.pgpGroups[fp], group) {
			k.pgpGroups[fp] = append(k.pgpGroups[fp], group)
		}
	}
}

// loadASC reads one or more armored OpenPGP public key blocks from the
// text of the file path.
func (k *Keyring) loadASC(text, path, group string) error {
	k.groups[group] = true
	if i := strings.Index(text, pgpPrivateHeader); i >= 0 {
		return fmt.Errorf("%s:%d: holds a private key; put only public keys in a keyring (gpg --armor --export)", path, lineAt(text, i))
	}
	// Each block is read on its own: ReadArmoredKeyRing stops after one.
	for start := 0; ; start += len(pgpPublicHeader) {
		i := strings.Index(text[start:], pgpPublicHeader)
		if i < 0 && start == 0 && strings.TrimSpace(text) != "" {
			return fmt.Errorf("%s: no armored OpenPGP public key block (gpg --armor --export)", path)
		}
		if i < 0 {
			return nil
		}
		start += i
		list, err := openpgp.ReadArmoredKeyRing(strings.NewReader(text[start:]))
		if err != nil {
			return fmt.Errorf("%s:%d: read OpenPGP public key: %w", path, lineAt(text, start), err)
		}
		k.addPGP(group, list)
	}
}

// lineAt is the 1-based line number of byte offset i in text.
func lineAt(text string, i int) int { return strings.Count(text[:i], "\n") + 1 }

// Verify checks c's signature against the trusted keys and returns who
// signed it. SSH valid-after/valid-before are judged at the committer time,
// as git does; OpenPGP expiry and revocation at the signature's time. The
// error says which: unsigned, a bad signature, an unknown key, or a key not allowed.
func (k *Keyring) Verify(c *object.Commit) (*policy.Signer, error) {
	return k.VerifyAt(c, time.Time{})
}

// VerifyAt is Verify with key validity judged no earlier than notBefore.
// The times in a commit and in its signature are the signer's to choose;
// a commit cannot have been made before the commits it descends from, so
// passing the newest of its parents' times keeps a backdated commit from
// using a key that had expired by then.
func (k *Keyring) VerifyAt(c *object.Commit, notBefore time.Time) (*policy.Signer, error) {
	sig := strings.TrimSpace(c.PGPSignature)
	if sig == "" {
		return nil, errUnsigned
	}
	payload, err := signedPayload(c)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(sig, sshSigHeader):
		return k.verifySSH(payload, sig, later(c.Committer.When, notBefore))
	case strings.HasPrefix(sig, pgpSigHeader):
		return k.verifyPGP(payload, sig, notBefore)
	default:
		return nil, fmt.Errorf("%w: unsupported signature format (want OpenPGP or SSH)", errBadSignature)
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (k *Keyring) verifySSH(payload []byte, armored string, when time.Time) (*policy.Signer, error) {
	sig, err := sshsig.Unarmor([]byte(armored))
	if err != nil {
		return nil, fmt.Errorf("%w: parse SSH signature: %v", errBadSignature, err)
	}
	if sig.Namespace != sshNamespace {
		return nil, fmt.Errorf("%w: SSH signature namespace is %q, want %q", errBadSignature, sig.Namespace, sshNamespace)
	}
	if err := sshsig.Verify(bytes.NewReader(payload), sig, sig.PublicKey, sig.HashAlgorithm, sshNamespace); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSignature, err)
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	entries := append([]sshEntry(nil), k.ssh[fp]...)
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w %s", errUnknownKey, fp)
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].group < entries[j].group })
	signer := &policy.Signer{Key: fp}
	var refused []string
	for _, e := range entries {
		if why := e.refuses(when); why != "" {
			refused = append(refused, e.source+": "+why)
			continue
		}
		if signer.Principal == "" {
			signer.Principal = e.principals[0]
		}
		if !slices.Contains(signer.Groups, e.group) {
			signer.Groups = append(signer.Groups, e.group)
		}
	}
	if len(signer.Groups) == 0 {
		return nil, fmt.Errorf("%w: key %s at %s: %s", errKeyNotAllowed, fp, when.UTC().Format(time.RFC3339), strings.Join(refused, "; "))
	}
	return signer, nil
}

// refuses says why e does not allow a git signature made at when, or "".
func (e sshEntry) refuses(when time.Time) string {
	if e.namespaces != "" && !matchPatternList(sshNamespace, e.namespaces) {
		return fmt.Sprintf("namespaces=%q does not include %q", e.namespaces, sshNamespace)
	}
	if !e.validAfter.IsZero() && when.Before(e.validAfter) {
		return "not yet valid (valid-after " + e.validAfter.UTC().Format(time.RFC3339) + ")"
	}
	if !e.validBefore.IsZero() && when.After(e.validBefore) {
		return "expired (valid-before " + e.validBefore.UTC().Format(time.RFC3339) + ")"
	}
	return ""
}

// verifyPGP judges key validity (expiry, revocation) at the signature's
// own creation time, not the committer time (gpg stamps the signature a
// moment after git stamps the commit, often in the next second), or at
// notBefore when that is later.
func (k *Keyring) verifyPGP(payload []byte, armored string, notBefore time.Time) (*policy.Signer, error) {
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("%w: parse OpenPGP signature: %v", errBadSignature, err)
	}
	body, err := io.ReadAll(block.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: parse OpenPGP signature: %v", errBadSignature, err)
	}
	p, err := packet.NewReader(bytes.NewReader(body)).Next()
	sig, ok := p.(*packet.Signature)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: no OpenPGP signature packet", errBadSignature)
	}
	when := later(sig.CreationTime, notBefore)
	config := &packet.Config{Time: func() time.Time { return when }}
	_, entity, err := openpgp.VerifyDetachedSignature(k.pgp, bytes.NewReader(payload), bytes.NewReader(body), config)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return nil, fmt.Errorf("%w %s", errUnknownKey, pgpIssuer(sig))
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrKeyRevoked), errors.Is(err, pgperrors.ErrSignatureExpired):
		return nil, fmt.Errorf("%w: key %s at %s: %v", errKeyNotAllowed, pgpIssuer(sig), when.UTC().Format(time.RFC3339), err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errBadSignature, err)
	}
	fp := pgpFingerprint(entity)
	groups := append([]string(nil), k.pgpGroups[fp]...)
	sort.Strings(groups)
	return &policy.Signer{Principal: pgpPrincipal(entity), Key: fp, Groups: groups}, nil
}

// loadAllowedSigners reads git's allowed-signers format, one key a line:
// principals [options] keytype base64 [comment]. Blank lines and lines
// starting with # are skipped.
func (k *Keyring) loadAllowedSigners(text, path, group string) error {
	k.groups[group] = true
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		source := fmt.Sprintf("%s:%d", path, n+1)
		e, pub, err := parseAllowedSigner(line)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		e.pub, e.group, e.source = pub, group, source
		fp := ssh.FingerprintSHA256(pub)
		k.ssh[fp] = append(k.ssh[fp], e)
	}
	return nil
}

const allowedSignersForm = "want: principals [options] keytype base64 [comment]"

// parseAllowedSigner parses one non-comment allowed_signers line.
func parseAllowedSigner(line string) (sshEntry, ssh.PublicKey, error) {
	var e sshEntry
	// Parsed as a key with no options, the line's first field is a key type.
	if _, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil && len(opts) == 0 {
		return e, nil, fmt.Errorf("no principals before the key: start the line with the signer's identity, e.g. alice@example.com (%s)", allowedSignersForm)
	}
	principals, rest := cutPrincipals(line)
	if principals == "" || rest == "" {
		return e, nil, fmt.Errorf("missing principals or key (%s)", allowedSignersForm)
	}
	for _, p := range strings.Split(principals, ",") {
		if p = strings.TrimSpace(p); p == "" {
			return e, nil, fmt.Errorf("empty principal in %q", principals)
		}
		e.principals = append(e.principals, p)
	}
	pub, _, options, _, err := ssh.ParseAuthorizedKey([]byte(rest))
	if err != nil {
		return e, nil, fmt.Errorf("no valid public key after the principals (%s)", allowedSignersForm)
	}
	for _, opt := range options {
		name, value, _ := strings.Cut(opt, "=")
		value = strings.Trim(value, `"`)
		switch strings.ToLower(name) {
		case "cert-authority":
			return e, nil, errors.New("cert-authority is not supported: list each signer's own key")
		case "namespaces":
			if value == "" {
				return e, nil, errors.New(`namespaces is empty: use namespaces="git" or drop the option`)
			}
			e.namespaces = value
		case "valid-after":
			e.validAfter, err = parseSSHTime(name, value)
		case "valid-before":
			e.validBefore, err = parseSSHTime(name, value)
		default:
			return e, nil, fmt.Errorf("unsupported option %q (supported: namespaces, valid-after, valid-before)", name)
		}
		if err != nil {
			return e, nil, err
		}
	}
	return e, pub, nil
}

// cutPrincipals splits the principals field, which may be double-quoted,
// from the rest of the line.
func cutPrincipals(line string) (principals, rest string) {
	if strings.HasPrefix(line, `"`) {
		end := strings.IndexByte(line[1:], '"')
		if end < 0 {
			return "", ""
		}
		return line[1 : end+1], strings.TrimSpace(line[end+2:])
	}
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return line, ""
	}
	return line[:i], strings.TrimSpace(line[i:])
}

// parseSSHTime parses OpenSSH's YYYYMMDD[HHMM[SS]][Z] timestamps: UTC with
// a trailing Z, local time without, as ssh-keygen reads them.
func parseSSHTime(option, v string) (time.Time, error) {
	loc, digits := time.Local, v
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		loc, digits = time.UTC, v[:len(v)-1]
	}
	layout := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}[len(digits)]
	t, err := time.ParseInLocation(layout, digits, loc)
	if layout == "" || err != nil {
		return time.Time{}, fmt.Errorf("%s=%q is not a time of the form YYYYMMDD[HHMM[SS]][Z]", option, v)
	}
	return t, nil
}

// matchPatternList reports whether s matches OpenSSH's comma-separated
// pattern list (wildcards * and ?, a leading ! negates and wins).
func matchPatternList(s, list string) bool {
	matched := false
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		negated := strings.HasPrefix(p, "!")
		if matchPattern(s, strings.TrimPrefix(p, "!")) {
			if negated {
				return false
			}
			matched = true
		}
	}
	return matched
}

func matchPattern(s, p string) bool {
	for p != "" {
		switch p[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], p[1:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		s, p = s[1:], p[1:]
	}
	return s == ""
}

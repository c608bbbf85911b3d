package signing

// This file holds commit signing: loading ramp's signing key (OpenPGP or
// OpenSSH), producing the detached signatures that go-git stores in a
// commit's gpgsig header, and the key and payload helpers that verification
// (keyring.go) shares.

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Signer kinds, as returned by CommitSigner.Kind.
const (
	kindOpenPGP = "openpgp"
	kindSSH     = "ssh"
)

// sshNamespace is the sshsig namespace git uses for commit signatures.
const sshNamespace = "git"

// Armor headers that tell key and signature kinds apart.
const (
	pgpPrivateHeader = "-----BEGIN PGP PRIVATE KEY BLOCK-----"
	pgpPublicHeader  = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	pgpSigHeader     = "-----BEGIN PGP SIGNATURE-----"
	sshSigHeader     = "-----BEGIN SSH SIGNATURE-----"
)

// CommitSigner signs commits. It satisfies go-git's git.CommitOptions.Signer:
// Sign receives the commit encoded without its signature and returns the
// armored detached signature git stores in the gpgsig header.
type CommitSigner interface {
	// Sign returns an armored detached signature over message.
	Sign(message io.Reader) ([]byte, error)
	// Fingerprint identifies the key: "SHA256:…" for SSH, upper-case hex
	// of the primary key fingerprint for OpenPGP.
	Fingerprint() string
	// Kind is "openpgp" or "ssh".
	Kind() string
}

// LoadSigner reads a private key file (armored OpenPGP or OpenSSH) and
// returns a signer for it. passphrase decrypts a protected key; it is
// ignored for a key that is not protected. Errors name the file and never
// contain key material.
func LoadSigner(path string, passphrase []byte) (CommitSigner, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	s, err := ParseSigner(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return s, nil
}

// ParseSigner is LoadSigner for key content already in memory. The key kind
// is detected from the content.
func ParseSigner(data, passphrase []byte) (CommitSigner, error) {
	text := string(data)
	switch {
	case strings.Contains(text, pgpPrivateHeader):
		return parsePGPSigner(data, passphrase)
	case strings.Contains(text, "PRIVATE KEY-----"):
		// OpenSSH, and the PEM formats ssh-keygen also writes (RSA, EC, PKCS#8).
		return parseSSHSigner(data, passphrase)
	case strings.Contains(text, pgpPublicHeader), isSSHPublicKey(data):
		return nil, errors.New("this is a public key; signing needs the private key")
	default:
		return nil, errors.New("not an armored OpenPGP private key or an OpenSSH private key")
	}
}

func isSSHPublicKey(data []byte) bool {
	_, _, _, _, err := ssh.ParseAuthorizedKey(data)
	return err == nil
}

// publicKeyText returns the public half of a signer as text for a trust
// file: the authorized-key form ("ssh-ed25519 AAAA…") to follow the
// principals of an allowed_signers line, or an armored OpenPGP public key
// for a .asc file. It returns "" for a CommitSigner not made by this package.
func publicKeyText(s CommitSigner) string {
	switch s := s.(type) {
	case *sshSigner:
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.signer.PublicKey())))
	case *pgpSigner:
		text, err := armoredPublicKey(s.entity)
		if err != nil {
			return ""
		}
		return text
	}
	return ""
}

// sshSigner signs with an OpenSSH key in the sshsig format git uses.
type sshSigner struct {
	signer ssh.Signer
}

func parseSSHSigner(data, passphrase []byte) (*sshSigner, error) {
	key, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if len(passphrase) == 0 {
			return nil, errors.New("the SSH private key is passphrase-protected and no passphrase was given")
		}
		key, err = ssh.ParseRawPrivateKeyWithPassphrase(data, passphrase)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, errors.New("wrong passphrase for the SSH private key")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("parse SSH private key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("use SSH private key: %w", err)
	}
	return &sshSigner{signer: signer}, nil
}

// Sign implements CommitSigner.
func (s *sshSigner) Sign(message io.Reader) ([]byte, error) {
	sig, err := sshsig.Sign(message, s.signer, sshsig.HashSHA512, sshNamespace)
	if err != nil {
		return nil, fmt.Errorf("ssh sign with %s: %w", s.Fingerprint(), err)
	}
	return sshsig.Armor(sig), nil
}

// Fingerprint implements CommitSigner.
func (s *sshSigner) Fingerprint() string { return ssh.FingerprintSHA256(s.signer.PublicKey()) }

// Kind implements CommitSigner.
func (s *sshSigner) Kind() string { return kindSSH }

// pgpSigner signs with a decrypted OpenPGP entity.
type pgpSigner struct {
	entity *openpgp.Entity
}

func parsePGPSigner(data, passphrase []byte) (*pgpSigner, error) {
	entities, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse OpenPGP private key: %w", err)
	}
	var entity *openpgp.Entity
	for _, e := range entities {
		if e.PrivateKey != nil {
			entity = e
			break
		}
	}
	if entity == nil {
		return nil, errors.New("the OpenPGP key block holds no private key")
	}
	if pgpEncrypted(entity) {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("the OpenPGP private key %s is passphrase-protected and no passphrase was given", pgpFingerprint(entity))
		}
		if err := entity.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("decrypt OpenPGP private key %s (wrong passphrase?): %w", pgpFingerprint(entity), err)
		}
	}
	key, ok := entity.SigningKey(time.Now())
	if !ok || key.PrivateKey == nil || key.PrivateKey.Dummy() {
		return nil, fmt.Errorf("the OpenPGP key %s has no usable signing key (expired, revoked, or the secret part is missing)", pgpFingerprint(entity))
	}
	return &pgpSigner{entity: entity}, nil
}

func pgpEncrypted(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, sub := range e.Subkeys {
		if sub.PrivateKey != nil && sub.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// Sign implements CommitSigner.
func (s *pgpSigner) Sign(message io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&buf, s.entity, message, nil); err != nil {
		return nil, fmt.Errorf("openpgp sign with %s: %w", s.Fingerprint(), err)
	}
	return buf.Bytes(), nil
}

// Fingerprint implements CommitSigner.
func (s *pgpSigner) Fingerprint() string { return pgpFingerprint(s.entity) }

// Kind implements CommitSigner.
func (s *pgpSigner) Kind() string { return kindOpenPGP }

// pgpFingerprint is the upper-case hex fingerprint of e's primary key, the
// form gpg prints.
func pgpFingerprint(e *openpgp.Entity) string {
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// armoredPublicKey returns the public part of e as an armored key block.
func armoredPublicKey(e *openpgp.Entity) (string, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return "", err
	}
	if err := e.Serialize(w); err != nil {
		return "", fmt.Errorf("serialize OpenPGP public key %s: %w", pgpFingerprint(e), err)
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return buf.String() + "\n", nil
}

// signedPayload is the commit as git signed it: encoded without gpgsig.
func signedPayload(c *object.Commit) ([]byte, error) {
	obj := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(obj); err != nil {
		return nil, fmt.Errorf("encode commit %s for verification: %w", c.Hash, err)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("encode commit %s for verification: %w", c.Hash, err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// pgpIssuer names the key that made an OpenPGP signature: its fingerprint
// when the signature carries one, else its key id.
func pgpIssuer(sig *packet.Signature) string {
	switch {
	case len(sig.IssuerFingerprint) > 0:
		return fmt.Sprintf("%X", sig.IssuerFingerprint)
	case sig.IssuerKeyId != nil:
		return fmt.Sprintf("%016X", *sig.IssuerKeyId)
	}
	return "(no issuer)"
}

// pgpPrincipal is the email of e's primary identity, or its name when the
// identity has no email, or the fingerprint when e has no identity.
func pgpPrincipal(e *openpgp.Entity) string {
	id := e.PrimaryIdentity()
	switch {
	case id == nil:
		return pgpFingerprint(e)
	case id.UserId != nil && id.UserId.Email != "":
		return id.UserId.Email
	}
	return id.Name
}

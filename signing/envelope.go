package signing

// This file holds DSSE envelope signatures, which sign ramp's evidence
// bundles (`ramp audit -o bundle`): ramp's key signs an envelope's
// pre-authentication encoding, the keys of one keyring group verify it.
// An ed25519 SSH key signs as DSSE expects of ed25519 (the raw 64-byte
// signature) under its SHA256 fingerprint as key id, the id
// dsse.SHA256KeyID gives its public key. Other SSH key types and OpenPGP
// keys cannot sign envelopes yet.

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"golang.org/x/crypto/ssh"

	"github.com/ramp-dev/ramp/policy"
)

// envelopeNamespace is what an allowed_signers line's namespaces option
// must allow for its key to verify envelopes.
const envelopeNamespace = "ramp-bundle"

// errNoEnvelopeKey: the key kind cannot sign or verify envelopes yet.
var errNoEnvelopeKey = errors.New("only ed25519 SSH keys sign evidence bundles yet")

// EnvelopeSigner returns a DSSE signer for s, which must be an ed25519
// SSH key from LoadSigner or ParseSigner.
func EnvelopeSigner(s CommitSigner) (dsse.SignerVerifier, error) {
	ss, ok := s.(*sshSigner)
	if !ok {
		return nil, fmt.Errorf("%w: the signing key is %s", errNoEnvelopeKey, s.Kind())
	}
	return newEnvelopeKey(ss.signer.PublicKey(), ss.signer)
}

// VerifyEnvelope checks env against the keys of group and returns who
// signed it (Key is the key id that verified) and the payload. An SSH key
// counts when its allowed_signers line is valid at when and allows the
// namespace "ramp-bundle" (or names no namespaces); OpenPGP keys do not
// count yet.
func (k *Keyring) VerifyEnvelope(ctx context.Context, env *dsse.Envelope, group string, when time.Time) (*policy.Signer, []byte, error) {
	var verifiers []dsse.Verifier
	var refused []string
	principals := map[string]string{}
	fps := make([]string, 0, len(k.ssh))
	for fp := range k.ssh {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	for _, fp := range fps {
		for _, e := range k.ssh[fp] {
			if e.group != group {
				continue
			}
			if why := e.refusesEnvelope(when); why != "" {
				refused = append(refused, e.source+": "+why)
				continue
			}
			v, err := newEnvelopeKey(e.pub, nil)
			if err != nil {
				refused = append(refused, e.source+": "+err.Error())
				continue
			}
			verifiers = append(verifiers, v)
			principals[fp] = e.principals[0]
			break
		}
	}
	if len(verifiers) == 0 {
		why := "the keyring has none"
		if len(refused) > 0 {
			why = strings.Join(refused, "; ")
		}
		return nil, nil, fmt.Errorf("no key of group %s can verify an evidence bundle: %s", group, why)
	}
	ev, err := dsse.NewEnvelopeVerifier(verifiers...)
	if err != nil {
		return nil, nil, err
	}
	accepted, payload, err := ev.VerifyAndDecode(ctx, env)
	if err != nil || len(accepted) == 0 {
		msg := fmt.Sprintf("%v: no key of group %s verifies it", errBadSignature, group)
		if err != nil {
			msg += " (" + err.Error() + ")"
		}
		if len(refused) > 0 {
			msg += "; not used: " + strings.Join(refused, "; ")
		}
		return nil, nil, errors.New(msg)
	}
	id := accepted[0].KeyID
	return &policy.Signer{Principal: principals[id], Key: id, Groups: []string{group}}, payload, nil
}

// refusesEnvelope says why e does not allow an envelope signature checked
// at when, or "".
func (e sshEntry) refusesEnvelope(when time.Time) string {
	if e.namespaces != "" && !matchPatternList(envelopeNamespace, e.namespaces) {
		return fmt.Sprintf("namespaces=%q does not include %q", e.namespaces, envelopeNamespace)
	}
	e.namespaces = ""
	return e.refuses(when)
}

// envelopeKey signs and verifies DSSE envelopes with an ed25519 SSH key.
type envelopeKey struct {
	pub    ed25519.PublicKey
	id     string
	signer ssh.Signer // nil when it only verifies
}

func newEnvelopeKey(pub ssh.PublicKey, signer ssh.Signer) (*envelopeKey, error) {
	cpk, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s", errNoEnvelopeKey, pub.Type())
	}
	ed, ok := cpk.CryptoPublicKey().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is %s", errNoEnvelopeKey, pub.Type())
	}
	return &envelopeKey{pub: ed, id: ssh.FingerprintSHA256(pub), signer: signer}, nil
}

// Sign implements dsse.Signer: the raw ed25519 signature of data.
func (k *envelopeKey) Sign(_ context.Context, data []byte) ([]byte, error) {
	if k.signer == nil {
		return nil, fmt.Errorf("key %s: no private key to sign with", k.id)
	}
	sig, err := k.signer.Sign(rand.Reader, data)
	if err != nil {
		return nil, fmt.Errorf("sign the envelope with %s: %w", k.id, err)
	}
	return sig.Blob, nil
}

// Verify implements dsse.Verifier.
func (k *envelopeKey) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(k.pub, data, sig) {
		return errBadSignature
	}
	return nil
}

// KeyID implements dsse.Verifier: the key's SHA256 fingerprint.
func (k *envelopeKey) KeyID() (string, error) { return k.id, nil }

// Public implements dsse.Verifier.
func (k *envelopeKey) Public() crypto.PublicKey { return k.pub }

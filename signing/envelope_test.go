package signing

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/ramp-dev/ramp/policy"
)

// signEnvelope signs payload with key through the dsse library.
func signEnvelope(t *testing.T, key sigTestKey, payload string) *dsse.Envelope {
	t.Helper()
	s, err := LoadSigner(key.privPath, []byte(key.passphrase))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := EnvelopeSigner(s)
	if err != nil {
		t.Fatal(err)
	}
	es, err := dsse.NewEnvelopeSigner(sv)
	if err != nil {
		t.Fatal(err)
	}
	env, err := es.SignPayload(context.Background(), "text/plain", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestEnvelopeSignedByRampsSSHKeyVerifiesAgainstGroupRamp(t *testing.T) {
	key := newSSHTestKey(t, "ramp", "correct horse")
	env := signEnvelope(t, key, "evidence")
	if env.Signatures[0].KeyID != key.fingerprint {
		t.Errorf("key id %s, want ssh-keygen's fingerprint %s", env.Signatures[0].KeyID, key.fingerprint)
	}
	now := time.Now()
	k := mustLoadKeyring(t, keyDir(t, map[string]string{
		"ramp.allowed_signers": "ramp@localhost " + key.pubText + "\n",
		"sre.allowed_signers":  "alice@example.com " + newSSHTestKey(t, "alice", "").pubText + "\n",
	}))
	signer, payload, err := k.VerifyEnvelope(context.Background(), env, policy.RampGroup, now)
	if err != nil || string(payload) != "evidence" || signer.Principal != "ramp@localhost" || signer.Key != key.fingerprint {
		t.Fatalf("VerifyEnvelope = %+v, %q, %v; want ramp@localhost's key and the payload", signer, payload, err)
	}
	if _, _, err := k.VerifyEnvelope(context.Background(), env, "sre", now); err == nil {
		t.Errorf("an envelope by ramp's key verifies against group sre")
	}
	env.Payload = strings.Replace(env.Payload, env.Payload[:4], "AAAA", 1)
	if _, _, err := k.VerifyEnvelope(context.Background(), env, policy.RampGroup, now); err == nil {
		t.Errorf("an envelope with another payload verifies")
	}
}

func TestEnvelopeVerifiesWithTheKeyRampRunTrusts(t *testing.T) {
	key := newSSHTestKey(t, "ramp", "")
	s, err := LoadSigner(key.privPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := NewKeyring()
	k.Trust(policy.RampGroup, s)
	if _, _, err := k.VerifyEnvelope(context.Background(), signEnvelope(t, key, "evidence"), policy.RampGroup, time.Now()); err != nil {
		t.Errorf("VerifyEnvelope with the trusted signing key: %v", err)
	}
}

func TestEnvelopeSignerRefusesOpenPGPKeys(t *testing.T) {
	key := newGPGTestKey(t, "ramp@example.com", "")
	s, err := LoadSigner(key.privPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnvelopeSigner(s); err == nil || !strings.Contains(err.Error(), "only ed25519 SSH keys") {
		t.Errorf("EnvelopeSigner(OpenPGP key) = %v, want an error saying only ed25519 SSH keys sign bundles", err)
	}
}

package bundle

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// testPredicate is a small record of release 2.4.0@<digest> of payment-api.
func testPredicate(release string) Predicate {
	fifty := 50
	return Predicate{Branch: "main", Tip: strings.Repeat("ab", 20), Made: t0.Add(time.Hour), Record: policy.ReleaseRecord{
		Rollout: "payment-api", Release: release, Artifact: policy.ParseArtifact(release), ChangeID: "CHG-2026-10422",
		Start:    policy.CommitRef{Commit: strings.Repeat("11", 20), Time: t0, Author: "dev@example.com"},
		Spec:     policy.SpecVersion{Path: "releases/payment-api/rollout.yaml", Commit: strings.Repeat("11", 20), Blob: strings.Repeat("22", 20)},
		Strategy: policy.StrategyRecord{Kind: "canary", Steps: []policy.PlannedStep{{Step: 1, Kind: "setWeight", Description: "set the canary weight to 50%", Weight: &fifty}}},
		Gates:    []policy.GateSpec{{Name: "error-rate", Kind: "prometheus", Severity: "critical", Threshold: "<=0.01", Query: "up", QueryHash: "q-75a288c0"}},
		Steps:    []policy.StepResult{{Step: 1, Kind: "setWeight", Result: policy.StepDone, Weight: &fifty}},
		Overrides: []policy.Override{{Command: policy.CommandAbort, CommitRef: policy.CommitRef{Commit: strings.Repeat("33", 20), Time: t0, Author: "alice@example.com"},
			Reason: "p99 regression on /v2/search", Accepted: true}},
		Outcome: policy.OutcomeRolledBack, AbortReason: "aborted by alice@example.com", RollbackReason: "release field goes back",
	}}
}

// rampKeys makes ramp's ed25519 key with ssh-keygen and returns its signer
// and a keyring trusting it in group ramp (ramp.allowed_signers).
func rampKeys(t *testing.T) (signing.CommitSigner, *signing.Keyring, string) {
	t.Helper()
	priv, pub := gittest.SSHKey(t, t.TempDir(), "ramp")
	s, err := signing.LoadSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, keyring(t, "ramp@localhost "+pub), pub
}

func keyring(t *testing.T, allowedSigners string) *signing.Keyring {
	t.Helper()
	k, err := signing.ParseKeyring(map[string][]byte{"ramp.allowed_signers": []byte(allowedSigners + "\n")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBundleVerifiesAndHoldsTheRecord(t *testing.T) {
	s, keys, pub := rampKeys(t)
	p := testPredicate("2.4.0@" + digest)
	file, err := Sign(context.Background(), p, s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(context.Background(), file, keys, t0)
	if err != nil {
		t.Fatalf("a fresh bundle does not verify: %v\n%s", err, file)
	}
	if v.Signer.Principal != "ramp@localhost" || v.Signer.Key != s.Fingerprint() {
		t.Errorf("signed by %+v, want ramp@localhost with %s", v.Signer, s.Fingerprint())
	}
	p.SubjectKind = SubjectImage
	if !reflect.DeepEqual(v.Predicate, p) {
		g, _ := json.Marshal(v.Predicate)
		w, _ := json.Marshal(p)
		t.Errorf("predicate\n %s\nwant\n %s", g, w)
	}

	// Read by hand, as any DSSE and in-toto tool would: the envelope, the
	// PAE signed with the raw ed25519 key, the statement and its subject.
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(file, &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	pae := "DSSEv1 28 application/vnd.in-toto+json " + strconv.Itoa(len(payload)) + " " + string(payload)
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}
	edKey := key.(ssh.CryptoPublicKey).CryptoPublicKey().(ed25519.PublicKey)
	if !ed25519.Verify(edKey, []byte(pae), sig) {
		t.Errorf("the signature is not ed25519 over the DSSE PAE")
	}
	if env.Signatures[0].KeyID != gittest.SSHFingerprint(t, writePub(t, pub)) {
		t.Errorf("key id %s, want ssh-keygen's fingerprint", env.Signatures[0].KeyID)
	}
	var st struct {
		Type    string `json:"_type"`
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			Record struct {
				Release  string `json:"release"`
				ChangeID string `json:"changeId"`
			} `json:"record"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType != "https://ramp.dev/attestations/release-record/v1" ||
		len(st.Subject) != 1 || st.Subject[0].Name != "2.4.0@"+digest ||
		st.Subject[0].Digest["sha256"] != "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ||
		st.Predicate.Record.Release != "2.4.0@"+digest || st.Predicate.Record.ChangeID != "CHG-2026-10422" {
		t.Errorf("statement %+v", st)
	}
}

func writePub(t *testing.T, pub string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pub")
	if err := os.WriteFile(path, []byte(pub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBundleOfABareTagNamesTheReleaseValue(t *testing.T) {
	s, keys, _ := rampKeys(t)
	file, err := Sign(context.Background(), testPredicate("2.4.0"), s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(context.Background(), file, keys, t0)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("2.4.0"))
	if v.Subject.GetName() != "release-value:2.4.0" || v.Subject.GetDigest()["sha256"] != hex.EncodeToString(sum[:]) ||
		v.Predicate.SubjectKind != "release-value" {
		t.Errorf("subject %v kind %s, want release-value:2.4.0 with the SHA-256 of 2.4.0", v.Subject, v.Predicate.SubjectKind)
	}
}

// TestBundleFailsAfterAnyByteChanges flips every byte of a bundle with
// several masks (a bit, the ASCII case bit, the top bit, all bits) and
// wants each changed file refused.
func TestBundleFailsAfterAnyByteChanges(t *testing.T) {
	s, keys, _ := rampKeys(t)
	file, err := Sign(context.Background(), testPredicate("2.4.0@"+digest), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(file) > 20000 {
		t.Fatalf("bundle of %d bytes: the test flips every byte, keep the record small", len(file))
	}
	changed := make([]byte, len(file))
	for i := range file {
		for _, mask := range []byte{0x01, 0x20, 0x80, 0xff} {
			copy(changed, file)
			changed[i] ^= mask
			if _, err := Verify(context.Background(), changed, keys, t0); err == nil {
				t.Fatalf("byte %d changed from %q to %q and the bundle still verifies", i, file[i], changed[i])
			}
		}
	}
	// The signature's last base64 digit before "==" carries 4 padding
	// bits: setting one decodes to the same signature in lenient base64.
	var env struct{ Signatures []struct{ Sig string } }
	if err := json.Unmarshal(file, &env); err != nil {
		t.Fatal(err)
	}
	sig := env.Signatures[0].Sig
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	last := len(sig) - 3
	lenient := sig[:last] + string(alphabet[strings.IndexByte(alphabet, sig[last])|1]) + "=="
	if raw, err := base64.StdEncoding.DecodeString(lenient); err != nil || base64.StdEncoding.EncodeToString(raw) != sig {
		t.Fatalf("test setup: %s should decode leniently to the signature", lenient)
	}
	if _, err := Verify(context.Background(), []byte(strings.Replace(string(file), sig, lenient, 1)), keys, t0); err == nil {
		t.Errorf("the bundle with padding bits set in its signature verifies")
	}
	for _, cut := range []int{1, len(file) / 2, len(file) - 1} {
		if _, err := Verify(context.Background(), file[:cut], keys, t0); err == nil {
			t.Errorf("the bundle cut to %d bytes verifies", cut)
		}
	}
	if _, err := Verify(context.Background(), append(append([]byte{}, file...), '\n'), keys, t0); err == nil {
		t.Errorf("the bundle with a byte appended verifies")
	}
}

func TestBundleFailsWithoutRampsKey(t *testing.T) {
	s, _, _ := rampKeys(t)
	_, otherPub := gittest.SSHKey(t, t.TempDir(), "other")
	file, err := Sign(context.Background(), testPredicate("2.4.0"), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), file, keyring(t, "ramp@localhost "+otherPub), t0); err == nil {
		t.Errorf("verifies against another key of group ramp")
	}
	if _, err := Verify(context.Background(), file, signing.NewKeyring(), t0); err == nil {
		t.Errorf("verifies against an empty keyring")
	}
}

func TestBundleHonoursTheAllowedSignersOptions(t *testing.T) {
	priv, pub := gittest.SSHKey(t, t.TempDir(), "ramp")
	s, err := signing.LoadSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	file, err := Sign(context.Background(), testPredicate("2.4.0"), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{line: `ramp@localhost valid-before="20260101Z" ` + pub, ok: false},
		{line: `ramp@localhost valid-after="20270101Z" ` + pub, ok: false},
		{line: `ramp@localhost valid-before="20270101Z" ` + pub, ok: true},
		{line: `ramp@localhost namespaces="git" ` + pub, ok: false},
		{line: `ramp@localhost namespaces="git,ramp-bundle" ` + pub, ok: true},
	} {
		_, err := Verify(context.Background(), file, keyring(t, tt.line), t0)
		if (err == nil) != tt.ok {
			t.Errorf("%s: verify error %v, want ok=%v", strings.TrimSuffix(tt.line, pub), err, tt.ok)
		}
	}
}

func TestBundleNeedsAnEd25519Key(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "rsa")
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.ParseSigner(pem.EncodeToMemory(block), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(context.Background(), testPredicate("2.4.0"), s); err == nil || !strings.Contains(err.Error(), "ed25519") {
		t.Errorf("signing with an RSA key: %v, want an error naming ed25519", err)
	}
}

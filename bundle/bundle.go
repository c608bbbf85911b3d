// Package bundle writes and checks a release's evidence bundle: one file
// an auditor or an admission policy can check offline, with only ramp's
// public key.
//
// A bundle is a DSSE envelope (payload type application/vnd.in-toto+json)
// signed by ramp's key, holding an in-toto Statement v1 whose predicate
// (type PredicateType) is the release's complete record as `ramp audit`
// derives it from git. The statement's subject is the artifact: for a
// release pinned by digest (tag@sha256:<hex> or sha256:<hex>) the image
// digest, named by the release value; for a bare tag, which pins no image,
// the SHA-256 of the release value itself, named "release-value:<value>"
// (the predicate's subjectKind says which). The file is the envelope as
// JSON, indented by two spaces and ending in a newline, and must be
// exactly that: any other encoding of the same envelope is refused, so
// that a changed byte never goes unnoticed.
package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// PayloadType is the DSSE payload type of a bundle: an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// PredicateType names the predicate of a bundle's statement.
const PredicateType = "https://ramp.dev/attestations/release-record/v1"

// Subject kinds: what a statement's subject digest is of.
const (
	// SubjectImage: the image digest the release value pins.
	SubjectImage = "image-digest"
	// SubjectReleaseValue: the SHA-256 of the release value, a bare tag.
	SubjectReleaseValue = "release-value"
)

// Predicate is what a bundle attests: the release's record and where in
// git it was read.
type Predicate struct {
	// SubjectKind says what the subject's digest is of.
	SubjectKind string `json:"subjectKind"`
	// Branch and Tip are the release branch and the commit the record
	// was derived at.
	Branch string    `json:"branch"`
	Tip    string    `json:"tip"`
	Made   time.Time `json:"made"`
	// Record is the release's complete record, as `ramp audit -o json`
	// gives it.
	Record policy.ReleaseRecord `json:"record"`
}

// Subject returns the statement subject for an artifact and its kind.
func Subject(a policy.Artifact) (*intoto.ResourceDescriptor, string) {
	if a.Digest != "" {
		return &intoto.ResourceDescriptor{Name: a.Value,
			Digest: map[string]string{"sha256": strings.TrimPrefix(a.Digest, "sha256:")}}, SubjectImage
	}
	sum := sha256.Sum256([]byte(a.Value))
	return &intoto.ResourceDescriptor{Name: "release-value:" + a.Value,
		Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}, SubjectReleaseValue
}

// Statement returns the in-toto statement of p's record; p.SubjectKind is
// set from the record's artifact.
func Statement(p Predicate) (*intoto.Statement, error) {
	subject, kind := Subject(p.Record.Artifact)
	p.SubjectKind = kind
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode the record of %s %s: %w", p.Record.Rollout, p.Record.Release, err)
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(data, pred); err != nil {
		return nil, fmt.Errorf("encode the record of %s %s: %w", p.Record.Rollout, p.Record.Release, err)
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, Subject: []*intoto.ResourceDescriptor{subject},
		PredicateType: PredicateType, Predicate: pred}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("statement for %s %s: %w", p.Record.Rollout, p.Record.Release, err)
	}
	return st, nil
}

// Sign returns the bundle of p, signed with ramp's key s.
func Sign(ctx context.Context, p Predicate, s signing.CommitSigner) ([]byte, error) {
	st, err := Statement(p)
	if err != nil {
		return nil, err
	}
	payload, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode the statement: %w", err)
	}
	sv, err := signing.EnvelopeSigner(s)
	if err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(sv)
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(ctx, PayloadType, payload)
	if err != nil {
		return nil, err
	}
	return encode(env)
}

// Verified is what a bundle that verified says.
type Verified struct {
	// Signer is ramp's key that signed it.
	Signer    *policy.Signer
	Subject   *intoto.ResourceDescriptor
	Predicate Predicate
}

// Verify checks a bundle file offline against the keys of group ramp in
// keys, judged at now: the file is the one encoding of its envelope, the
// envelope holds one signature, by a key of group ramp under its own key
// id, over an in-toto statement of PredicateType whose one subject is the
// artifact its record names.
func Verify(ctx context.Context, file []byte, keys *signing.Keyring, now time.Time) (*Verified, error) {
	env, err := decode(file)
	if err != nil {
		return nil, err
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("payload type %q: want %s", env.PayloadType, PayloadType)
	}
	if len(env.Signatures) != 1 {
		return nil, fmt.Errorf("%d signatures: a bundle has exactly one, by ramp's key", len(env.Signatures))
	}
	signer, payload, err := keys.VerifyEnvelope(ctx, env, policy.RampGroup, now)
	if err != nil {
		return nil, err
	}
	if id := env.Signatures[0].KeyID; id != signer.Key {
		return nil, fmt.Errorf("signature key id %q is not the id of the key that verified it (%s)", id, signer.Key)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("read the statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if st.GetType() != intoto.StatementTypeUri || st.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("statement %s of predicate %s: want %s of %s", st.GetType(), st.GetPredicateType(), intoto.StatementTypeUri, PredicateType)
	}
	data, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("read the predicate: %w", err)
	}
	v := &Verified{Signer: signer}
	if err := json.Unmarshal(data, &v.Predicate); err != nil {
		return nil, fmt.Errorf("read the predicate: %w", err)
	}
	want, kind := Subject(v.Predicate.Record.Artifact)
	if len(st.GetSubject()) != 1 || !sameSubject(st.GetSubject()[0], want) || v.Predicate.SubjectKind != kind {
		return nil, fmt.Errorf("the subject is not the artifact %s the record names", v.Predicate.Record.Artifact.Value)
	}
	v.Subject = st.GetSubject()[0]
	return v, nil
}

func sameSubject(a, b *intoto.ResourceDescriptor) bool {
	if a.GetName() != b.GetName() || len(a.GetDigest()) != len(b.GetDigest()) {
		return false
	}
	for alg, d := range b.GetDigest() {
		if a.GetDigest()[alg] != d {
			return false
		}
	}
	return true
}

// encode writes an envelope as a bundle file.
func encode(env *dsse.Envelope) ([]byte, error) {
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the envelope: %w", err)
	}
	return append(data, '\n'), nil
}

// decode reads a bundle file, refusing unknown fields and any encoding of
// the envelope but encode's, base64 included.
func decode(file []byte) (*dsse.Envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	var env dsse.Envelope
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	canonical := []string{env.Payload}
	for _, s := range env.Signatures {
		canonical = append(canonical, s.Sig)
	}
	for _, b64 := range canonical {
		raw, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != b64 {
			return nil, errors.New("not a bundle: a base64 field is not in standard encoding")
		}
	}
	want, err := encode(&env)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(file, want) {
		return nil, errors.New("not a bundle: the envelope is not encoded as ramp writes it (was the file changed?)")
	}
	return &env, nil
}

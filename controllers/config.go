package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// repoConfig is what a ReleaseRepository's Secrets and ConfigMaps hold,
// read for one reconcile. It never appears in a message: errors name the
// object and the key, never the value.
type repoConfig struct {
	// Push credentials: HTTP basic auth, or an SSH key with known_hosts.
	username, password          string
	sshKey, sshPass, knownHosts []byte
	// signer signs ramp's commits; keys trusts the approvers and ramp.
	signer signing.CommitSigner
	keys   *signing.Keyring
	// promToken is Prometheus' bearer token.
	promToken string
	// guardrails are the platform's (spec.guardrailsRef), or the defaults.
	guardrails policy.Guardrails
	// versions are the resourceVersions of everything read: when one
	// changes, the repository's loop is built again.
	versions []string
}

// configError is a problem with what the object references, which
// retrying does not fix: it makes the object Stalled.
type configError struct {
	reason  string
	message string
}

func (e *configError) Error() string { return e.message }

// isConfigError returns the configError in err, if any.
func isConfigError(err error) (*configError, bool) {
	var ce *configError
	ok := errors.As(err, &ce)
	return ce, ok
}

// configReader reads the Secrets and ConfigMaps of a ReleaseRepository
// with a client that does not cache them (it needs get, not list/watch).
type configReader struct {
	reader client.Reader
	// defaults are the controller's guardrails for a repository that
	// names none (nil: ramp's).
	defaults *policy.Guardrails
}

// read loads everything obj references.
func (c *configReader) read(ctx context.Context, obj *rampv1.ReleaseRepository) (*repoConfig, error) {
	cfg := &repoConfig{}
	if ref := obj.Spec.SecretRef; ref != nil {
		s, err := c.secret(ctx, obj.Namespace, ref.Name, "spec.secretRef", cfg)
		if err != nil {
			return nil, err
		}
		if err := cfg.pushCredentials(s); err != nil {
			return nil, err
		}
	}
	s, err := c.secret(ctx, obj.Namespace, obj.Spec.SigningKeySecretRef.Name, "spec.signingKeySecretRef", cfg)
	if err != nil {
		return nil, err
	}
	if cfg.signer, err = signingKey(s); err != nil {
		return nil, err
	}
	if cfg.keys, err = c.approvers(ctx, obj, cfg); err != nil {
		return nil, err
	}
	cfg.keys.Trust(policy.RampGroup, cfg.signer)
	if cfg.guardrails, err = c.guardrails(ctx, obj, cfg); err != nil {
		return nil, err
	}
	// A group the guardrails require that spec.approvers has no key of
	// could never give its command (or, for engineerGroups, excludes no
	// one): the repository stalls, naming the guardrails' line.
	if obj.Spec.Approvers != nil {
		if err := cfg.guardrails.CheckGroups(cfg.keys.Groups()).Err(); err != nil {
			return nil, &configError{ReasonInvalidGuardrails, err.Error() + " (spec.approvers has no key of that group)"}
		}
	}
	if p := obj.Spec.Prometheus; p != nil && p.SecretRef != nil {
		s, err := c.secret(ctx, obj.Namespace, p.SecretRef.Name, "spec.prometheus.secretRef", cfg)
		if err != nil {
			return nil, err
		}
		tok, ok := s.Data[rampv1.TokenKey]
		if !ok || len(tok) == 0 {
			return nil, invalidKey(s, "spec.prometheus.secretRef", "has no "+rampv1.TokenKey+" key (the bearer token)")
		}
		cfg.promToken = strings.TrimSpace(string(tok))
	}
	return cfg, nil
}

// secret gets a Secret; a missing one is a configError naming the field.
func (c *configReader) secret(ctx context.Context, ns, name, field string, cfg *repoConfig) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := c.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &configError{ReasonSecretNotFound, fmt.Sprintf("%s: Secret %s/%s not found", field, ns, name)}
		}
		if apierrors.IsForbidden(err) {
			return nil, forbidden(field, "Secret", ns, name)
		}
		return nil, fmt.Errorf("%s: get Secret %s/%s: %w", field, ns, name, err)
	}
	cfg.versions = append(cfg.versions, "secret/"+name+"@"+s.ResourceVersion)
	return s, nil
}

// pushCredentials reads spec.secretRef: username/password or token for
// HTTP(S), identity and known_hosts (and passphrase) for SSH.
func (cfg *repoConfig) pushCredentials(s *corev1.Secret) error {
	const field = "spec.secretRef"
	if key, ok := s.Data[rampv1.IdentityKey]; ok {
		hosts, ok := s.Data[rampv1.KnownHostsKey]
		if !ok || len(hosts) == 0 {
			return invalidKey(s, field, "has an identity but no "+rampv1.KnownHostsKey+" key: ramp checks the SSH server's host key")
		}
		cfg.sshKey, cfg.knownHosts, cfg.sshPass = key, hosts, s.Data[rampv1.PassphraseKey]
		return nil
	}
	user, pass := string(s.Data[rampv1.UsernameKey]), string(s.Data[rampv1.PasswordKey])
	if tok, ok := s.Data[rampv1.TokenKey]; ok && pass == "" {
		pass = strings.TrimSpace(string(tok))
	}
	if pass == "" {
		return invalidKey(s, field, "has none of the keys password, token or identity")
	}
	cfg.username, cfg.password = user, pass
	return nil
}

// signingKey parses ramp's signing key from signing.key or identity.
func signingKey(s *corev1.Secret) (signing.CommitSigner, error) {
	const field = "spec.signingKeySecretRef"
	key := rampv1.SigningKeyKey
	data, ok := s.Data[key]
	if !ok {
		key = rampv1.IdentityKey
		data, ok = s.Data[key]
	}
	if !ok || len(data) == 0 {
		return nil, invalidKey(s, field, "has no "+rampv1.SigningKeyKey+" or "+rampv1.IdentityKey+" key")
	}
	signer, err := signing.ParseSigner(data, s.Data[rampv1.PassphraseKey])
	if err != nil {
		// ParseSigner's errors describe the problem, never the key.
		return nil, invalidKey(s, field, fmt.Sprintf("key %s: %v", key, err))
	}
	return signer, nil
}

// approvers loads spec.approvers into a keyring: each <group>.allowed_signers
// and <group>.asc key is a trust file of that group.
func (c *configReader) approvers(ctx context.Context, obj *rampv1.ReleaseRepository, cfg *repoConfig) (*signing.Keyring, error) {
	a := obj.Spec.Approvers
	if a == nil {
		return signing.NewKeyring(), nil
	}
	files := map[string][]byte{}
	var what string
	switch {
	case a.SecretRef != nil:
		s, err := c.secret(ctx, obj.Namespace, a.SecretRef.Name, "spec.approvers.secretRef", cfg)
		if err != nil {
			return nil, err
		}
		files, what = s.Data, "Secret "+obj.Namespace+"/"+s.Name
	case a.ConfigMapRef != nil:
		cm := &corev1.ConfigMap{}
		key := types.NamespacedName{Namespace: obj.Namespace, Name: a.ConfigMapRef.Name}
		if err := c.reader.Get(ctx, key, cm); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &configError{ReasonSecretNotFound, fmt.Sprintf("spec.approvers.configMapRef: ConfigMap %s not found", key)}
			}
			if apierrors.IsForbidden(err) {
				return nil, forbidden("spec.approvers.configMapRef", "ConfigMap", key.Namespace, key.Name)
			}
			return nil, fmt.Errorf("spec.approvers.configMapRef: get ConfigMap %s: %w", key, err)
		}
		cfg.versions = append(cfg.versions, "configmap/"+cm.Name+"@"+cm.ResourceVersion)
		for k, v := range cm.Data {
			files[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			files[k] = v
		}
		what = "ConfigMap " + key.String()
	default:
		return signing.NewKeyring(), nil
	}
	return c.loadKeyring(files, what)
}

// loadKeyring loads the trust files among files, in memory.
func (c *configReader) loadKeyring(files map[string][]byte, what string) (*signing.Keyring, error) {
	trust := map[string][]byte{}
	for name, data := range files {
		if strings.HasSuffix(name, rampv1.AllowedSignersSuffix) || strings.HasSuffix(name, rampv1.ASCSuffix) {
			trust[name] = data
		}
	}
	if len(trust) == 0 {
		return nil, &configError{ReasonInvalidSecret, fmt.Sprintf("spec.approvers: %s has no <group>%s or <group>%s key",
			what, rampv1.AllowedSignersSuffix, rampv1.ASCSuffix)}
	}
	keys, err := signing.ParseKeyring(trust, "")
	if err != nil {
		return nil, &configError{ReasonInvalidSecret, fmt.Sprintf("spec.approvers: %s: %s", what, err)}
	}
	return keys, nil
}

// guardrails reads the repository's guardrails, parsed as `ramp
// --guardrails` does: spec.guardrails inline, or the guardrails.yaml key
// of the ConfigMap spec.guardrailsRef names; with neither, the
// controller's default.
func (c *configReader) guardrails(ctx context.Context, obj *rampv1.ReleaseRepository, cfg *repoConfig) (policy.Guardrails, error) {
	ref := obj.Spec.GuardrailsRef
	switch {
	case ref != nil && obj.Spec.Guardrails != "":
		return policy.Guardrails{}, &configError{ReasonInvalidGuardrails, "spec.guardrails and spec.guardrailsRef are both set; keep one"}
	case obj.Spec.Guardrails != "":
		g, err := policy.ParseGuardrails("spec.guardrails", []byte(obj.Spec.Guardrails))
		if err != nil {
			return policy.Guardrails{}, &configError{ReasonInvalidGuardrails, err.Error()}
		}
		return g, nil
	case ref == nil && c.defaults != nil:
		return *c.defaults, nil
	case ref == nil:
		return policy.DefaultGuardrails(), nil
	}
	cm := &corev1.ConfigMap{}
	key := types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}
	if err := c.reader.Get(ctx, key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return policy.Guardrails{}, &configError{ReasonSecretNotFound, fmt.Sprintf("spec.guardrailsRef: ConfigMap %s not found", key)}
		}
		if apierrors.IsForbidden(err) {
			return policy.Guardrails{}, forbidden("spec.guardrailsRef", "ConfigMap", key.Namespace, key.Name)
		}
		return policy.Guardrails{}, fmt.Errorf("spec.guardrailsRef: get ConfigMap %s: %w", key, err)
	}
	cfg.versions = append(cfg.versions, "configmap/"+cm.Name+"@"+cm.ResourceVersion)
	data, ok := cm.Data[rampv1.GuardrailsKey]
	if !ok {
		return policy.Guardrails{}, &configError{ReasonInvalidSecret, fmt.Sprintf("spec.guardrailsRef: ConfigMap %s has no %s key", key, rampv1.GuardrailsKey)}
	}
	g, err := policy.ParseGuardrails("ConfigMap "+key.String()+" "+rampv1.GuardrailsKey, []byte(data))
	if err != nil {
		return policy.Guardrails{}, &configError{ReasonInvalidSecret, "spec.guardrailsRef: " + err.Error()}
	}
	return g, nil
}

// forbidden is the configError of a Secret or ConfigMap the API server
// refuses to ramp's ServiceAccount: the chart grants reads by name
// (rbac.credentials), so a name missing there is a configuration to fix,
// not a failure to retry. It is looked at again each interval.
func forbidden(field, kind, ns, name string) *configError {
	return &configError{ReasonSecretForbidden, fmt.Sprintf("%s: ramp may not read %s %s/%s (forbidden): "+
		"name it in the chart's rbac.credentials for namespace %s (or set rbac.clusterWideSecretRead)", field, kind, ns, name, ns)}
}

// invalidKey is a configError about a key of Secret s.
func invalidKey(s *corev1.Secret, field, problem string) error {
	return &configError{ReasonInvalidSecret, fmt.Sprintf("%s: Secret %s/%s %s", field, s.Namespace, s.Name, problem)}
}

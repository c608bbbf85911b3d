package controllers_test

import (
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
)

func TestBadSecretsStallWithAMessageNamingThem(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.create(&corev1.Secret{ObjectMeta: w.meta("public-only"), Data: map[string][]byte{rampv1.SigningKeyKey: []byte(w.rampPub)}})
	w.create(&corev1.Secret{ObjectMeta: w.meta("user-only"), Data: map[string][]byte{rampv1.UsernameKey: []byte("ramp")}})
	w.create(&corev1.Secret{ObjectMeta: w.meta("ssh-no-hosts"), Data: map[string][]byte{rampv1.IdentityKey: w.rampKey}})
	w.create(&corev1.ConfigMap{ObjectMeta: w.meta("no-trust"), Data: map[string]string{"README": "keys go here"}})
	w.create(&corev1.ConfigMap{ObjectMeta: w.meta("bad-guardrails"), Data: map[string]string{rampv1.GuardrailsKey: "maxWeightStep: 20\ncommands:\n  resume: {count: two}\n"}})
	w.start(nil)

	cases := []struct {
		name   string
		mutate func(*rampv1.ReleaseRepository)
		reason string
		want   string
	}{
		{"missing-signing", func(rr *rampv1.ReleaseRepository) { rr.Spec.SigningKeySecretRef.Name = "absent" },
			controllers.ReasonSecretNotFound, "spec.signingKeySecretRef: Secret " + w.ns + "/absent not found"},
		{"public-signing", func(rr *rampv1.ReleaseRepository) { rr.Spec.SigningKeySecretRef.Name = "public-only" },
			controllers.ReasonInvalidSecret, "Secret " + w.ns + "/public-only key signing.key: this is a public key"},
		{"push-no-password", func(rr *rampv1.ReleaseRepository) {
			rr.Spec.SecretRef = &meta.LocalObjectReference{Name: "user-only"}
		}, controllers.ReasonInvalidSecret, "spec.secretRef: Secret " + w.ns + "/user-only has none of the keys password, token or identity"},
		{"ssh-no-known-hosts", func(rr *rampv1.ReleaseRepository) {
			rr.Spec.SecretRef = &meta.LocalObjectReference{Name: "ssh-no-hosts"}
		}, controllers.ReasonInvalidSecret, "Secret " + w.ns + "/ssh-no-hosts has an identity but no known_hosts key"},
		{"approvers-empty", func(rr *rampv1.ReleaseRepository) {
			rr.Spec.Approvers.ConfigMapRef.Name = "no-trust"
		}, controllers.ReasonInvalidSecret, "ConfigMap " + w.ns + "/no-trust has no <group>.allowed_signers"},
		{"guardrails-invalid", func(rr *rampv1.ReleaseRepository) {
			rr.Spec.GuardrailsRef = &meta.LocalObjectReference{Name: "bad-guardrails"}
		}, controllers.ReasonInvalidSecret, "spec.guardrailsRef: ConfigMap " + w.ns + "/bad-guardrails guardrails.yaml:3: commands.resume.count"},
		{"guardrails-missing", func(rr *rampv1.ReleaseRepository) {
			rr.Spec.GuardrailsRef = &meta.LocalObjectReference{Name: "no-guardrails"}
		}, controllers.ReasonSecretNotFound, "spec.guardrailsRef: ConfigMap " + w.ns + "/no-guardrails not found"},
		{"approvers-missing", func(rr *rampv1.ReleaseRepository) {
			rr.Spec.Approvers.ConfigMapRef.Name = "gone"
		}, controllers.ReasonSecretNotFound, "spec.approvers.configMapRef: ConfigMap " + w.ns + "/gone not found"},
	}
	for _, c := range cases {
		w.repository(c.name, c.mutate)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rr := w.wait(c.name, "Stalled", func(rr *rampv1.ReleaseRepository) bool {
				return condition(rr, meta.StalledCondition).Status == metav1.ConditionTrue
			})
			stalled, ready := condition(rr, meta.StalledCondition), condition(rr, meta.ReadyCondition)
			if stalled.Reason != c.reason || !strings.Contains(stalled.Message, c.want) {
				t.Errorf("Stalled: %s %q, want %s containing %q", stalled.Reason, stalled.Message, c.reason, c.want)
			}
			if ready.Status != metav1.ConditionFalse || ready.Reason != c.reason {
				t.Errorf("Ready: %s %s, want False %s", ready.Status, ready.Reason, c.reason)
			}
			if condition(rr, meta.ReconcilingCondition).Status != "" {
				t.Errorf("a stalled object is not Reconciling: %+v", rr.Status.Conditions)
			}
			if rr.Status.ObservedGeneration != rr.Generation {
				t.Errorf("observedGeneration %d, want %d", rr.Status.ObservedGeneration, rr.Generation)
			}
			if strings.Contains(stalled.Message, "AAAA") || strings.Contains(stalled.Message, "PRIVATE KEY") {
				t.Errorf("message shows key material: %q", stalled.Message)
			}
			w.eventually("one warning event naming the problem", func() bool {
				evs := w.events(c.name, c.reason)
				return len(evs) == 1 && evs[0].Type == "Warning" && strings.Contains(evs[0].Note, c.want)
			})
		})
	}

	// The missing Secret is created: the next reconcile gets Ready.
	w.create(&corev1.Secret{ObjectMeta: w.meta("absent"), Data: map[string][]byte{rampv1.IdentityKey: w.rampKey}})
	w.requestReconcile("missing-signing")
	rr := w.wait("missing-signing", "Ready after the Secret appeared", func(rr *rampv1.ReleaseRepository) bool {
		return condition(rr, meta.ReadyCondition).Status == metav1.ConditionTrue
	})
	if condition(rr, meta.StalledCondition).Status != "" {
		t.Errorf("Stalled remains after recovery: %+v", rr.Status.Conditions)
	}
}

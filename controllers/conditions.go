package controllers

import (
	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
)

// Condition reasons of a ReleaseRepository. The condition types are
// Flux's: meta.ReadyCondition, meta.ReconcilingCondition and
// meta.StalledCondition.
const (
	// ReasonSucceeded: the last pass fetched, planned and pushed what it
	// decided (Ready=True).
	ReasonSucceeded = meta.SucceededReason
	// ReasonProgressing: a reconcile of a new generation is under way
	// (Reconciling=True).
	ReasonProgressing = meta.ProgressingReason
	// ReasonRetrying: the last pass failed for a reason that may go away
	// (git unreachable, push conflicts exhausted); it is retried
	// (Reconciling=True, Ready=False).
	ReasonRetrying = meta.ProgressingWithRetryReason
	// ReasonSuspended: spec.suspend is set.
	ReasonSuspended = meta.SuspendedReason
	// ReasonSecretNotFound: a referenced Secret or ConfigMap does not
	// exist (Stalled=True, Ready=False).
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretForbidden: the API server refuses ramp's ServiceAccount
	// a referenced Secret or ConfigMap, as the chart's least-privilege RBAC
	// does for a name missing from rbac.credentials (Stalled=True,
	// Ready=False; looked at again each interval).
	ReasonSecretForbidden = "SecretForbidden"
	// ReasonInvalidSecret: a referenced Secret or ConfigMap lacks a key or
	// holds something unusable, such as a public key where the signing key
	// belongs (Stalled=True, Ready=False).
	ReasonInvalidSecret = "InvalidSecret"
	// ReasonInvalidGuardrails: spec.guardrails does not parse, or both
	// it and spec.guardrailsRef are set (Stalled=True, Ready=False).
	ReasonInvalidGuardrails = "InvalidGuardrails"
	// ReasonGitOperationFailed: clone, fetch, derive, commit or push failed
	// (Ready=False, Reconciling=True with ReasonRetrying).
	ReasonGitOperationFailed = "GitOperationFailed"
)

// markReady records a successful pass.
func markReady(obj *rampv1.ReleaseRepository, message string) {
	setCondition(obj, meta.ReadyCondition, metav1.ConditionTrue, ReasonSucceeded, message)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, meta.ReconcilingCondition)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, meta.StalledCondition)
}

// markStalled records a configuration error that retrying does not fix:
// only a change of the object or of the Secret it names does.
func markStalled(obj *rampv1.ReleaseRepository, reason, message string) {
	setCondition(obj, meta.ReadyCondition, metav1.ConditionFalse, reason, message)
	setCondition(obj, meta.StalledCondition, metav1.ConditionTrue, reason, message)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, meta.ReconcilingCondition)
}

// markRetrying records a failure that the next reconcile may not have.
func markRetrying(obj *rampv1.ReleaseRepository, reason, message string) {
	setCondition(obj, meta.ReadyCondition, metav1.ConditionFalse, reason, message)
	setCondition(obj, meta.ReconcilingCondition, metav1.ConditionTrue, ReasonRetrying, message)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, meta.StalledCondition)
}

// markSuspended records that reconciling is suspended.
func markSuspended(obj *rampv1.ReleaseRepository) {
	setCondition(obj, meta.ReadyCondition, metav1.ConditionFalse, ReasonSuspended, "reconciliation is suspended (spec.suspend)")
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, meta.ReconcilingCondition)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, meta.StalledCondition)
}

func setCondition(obj *rampv1.ReleaseRepository, typ string, status metav1.ConditionStatus, reason, message string) {
	apimeta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: obj.Generation,
	})
}

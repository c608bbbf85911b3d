package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/policy"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The kinds the tests create and read, by their API version.
var (
	GitRepositoryGVK = controllers.GitRepositoryGVK
	KustomizationGVK = controllers.KustomizationGVK
	HTTPRouteGVK     = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	DeploymentGVK    = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
)

// GitRepositorySpec is what the tests set of a Flux GitRepository.
type GitRepositorySpec struct {
	URL      string
	Branch   string
	Interval time.Duration
	// VerifySecret names the Secret of spec.verify (mode HEAD): the
	// public keys Flux trusts, as <name>.sshpub and <name>.asc keys.
	VerifySecret string
}

// CreateGitRepository creates a Flux GitRepository.
func CreateGitRepository(ctx context.Context, c client.Client, ns, name string, s GitRepositorySpec) error {
	spec := map[string]any{
		"url":      s.URL,
		"interval": s.Interval.String(),
		"timeout":  "30s",
		"ref":      map[string]any{"branch": s.Branch},
	}
	if s.VerifySecret != "" {
		spec["verify"] = map[string]any{"mode": "HEAD", "secretRef": map[string]any{"name": s.VerifySecret}}
	}
	return create(ctx, c, GitRepositoryGVK, ns, name, spec)
}

// KustomizationSpec is what the tests set of a Flux Kustomization.
type KustomizationSpec struct {
	// Source names a GitRepository of the same namespace.
	Source string
	// Path is the directory of the repository it applies.
	Path     string
	Interval time.Duration
	// TargetNamespace is where the objects go.
	TargetNamespace string
}

// CreateKustomization creates a Flux Kustomization that applies and
// prunes without waiting for health: the cluster runs no pods.
func CreateKustomization(ctx context.Context, c client.Client, ns, name string, s KustomizationSpec) error {
	return create(ctx, c, KustomizationGVK, ns, name, map[string]any{
		"interval":        s.Interval.String(),
		"retryInterval":   "5s",
		"timeout":         "1m",
		"path":            s.Path,
		"prune":           true,
		"wait":            false,
		"targetNamespace": s.TargetNamespace,
		"sourceRef":       map[string]any{"kind": "GitRepository", "name": s.Source},
	})
}

func create(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, ns, name string, spec map[string]any) error {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	if err := c.Create(ctx, u); err != nil {
		return fmt.Errorf("create %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	return nil
}

// Condition is one status condition of a Flux object.
type Condition struct {
	Type, Status, Reason, Message string
	LastTransition                time.Time
}

// FluxStatus is what the tests read of a GitRepository's or a
// Kustomization's status.
type FluxStatus struct {
	// ObservedGeneration and the conditions by type.
	ObservedGeneration int64
	Conditions         map[string]Condition
	// Artifact is a GitRepository's artifact revision.
	Artifact string
	// LastApplied and LastAttempted are a Kustomization's revisions
	// (<branch>@sha1:<sha>).
	LastApplied, LastAttempted string
	// LastHandledReconcileAt answers a reconcile request.
	LastHandledReconcileAt string
}

// AppliedSHA is the commit of LastApplied, "" when none.
func (s FluxStatus) AppliedSHA() string { return RevisionSHA(s.LastApplied) }

// Cond returns the condition of type t (Status "" when absent).
func (s FluxStatus) Cond(t string) Condition { return s.Conditions[t] }

// GetFluxStatus reads the status of a Flux object of kind gvk.
func GetFluxStatus(ctx context.Context, c client.Reader, gvk schema.GroupVersionKind, ns, name string) (FluxStatus, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, u); err != nil {
		return FluxStatus{}, fmt.Errorf("get %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	raw, _, _ := unstructured.NestedMap(u.Object, "status")
	b, err := json.Marshal(raw)
	if err != nil {
		return FluxStatus{}, err
	}
	var st struct {
		ObservedGeneration     int64  `json:"observedGeneration"`
		LastAppliedRevision    string `json:"lastAppliedRevision"`
		LastAttemptedRevision  string `json:"lastAttemptedRevision"`
		LastHandledReconcileAt string `json:"lastHandledReconcileAt"`
		Artifact               struct {
			Revision string `json:"revision"`
		} `json:"artifact"`
		Conditions []struct {
			Type, Status, Reason, Message string
			LastTransitionTime            time.Time `json:"lastTransitionTime"`
		} `json:"conditions"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return FluxStatus{}, fmt.Errorf("read status of %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	out := FluxStatus{
		ObservedGeneration: st.ObservedGeneration, Conditions: map[string]Condition{},
		Artifact: st.Artifact.Revision, LastApplied: st.LastAppliedRevision, LastAttempted: st.LastAttemptedRevision,
		LastHandledReconcileAt: st.LastHandledReconcileAt,
	}
	for _, cd := range st.Conditions {
		out.Conditions[cd.Type] = Condition{Type: cd.Type, Status: cd.Status, Reason: cd.Reason, Message: cd.Message, LastTransition: cd.LastTransitionTime}
	}
	return out, nil
}

// RequestReconcile asks Flux to reconcile an object now, as `flux
// reconcile` does: it sets the reconcile.fluxcd.io/requestedAt annotation.
func RequestReconcile(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, ns, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().UTC().Format(time.RFC3339Nano))
	if err := c.Patch(ctx, u, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("request reconcile of %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	return nil
}

// RevisionSHA returns the commit of a Flux revision such as
// main@sha1:<sha>, "" when it names none.
func RevisionSHA(rev string) string {
	if i := strings.LastIndex(rev, "sha1:"); i >= 0 {
		return rev[i+len("sha1:"):]
	}
	return ""
}

// Weights are the backend weights of an HTTPRoute's first rule, by
// backend (Service) name.
type Weights map[string]int

// RouteWeights reads the HTTPRoute ns/name from the API server and
// returns the backend weights of its first rule that is not one of
// ramp's cohort rules.
func RouteWeights(ctx context.Context, c client.Reader, ns, name string) (Weights, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(HTTPRouteGVK)
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, u); err != nil {
		return nil, fmt.Errorf("get HTTPRoute %s/%s: %w", ns, name, err)
	}
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	rules = slices.DeleteFunc(rules, func(r any) bool {
		name, _, _ := unstructured.NestedString(r.(map[string]any), "name")
		return policy.IsCohortRule(name)
	})
	if len(rules) == 0 {
		return nil, fmt.Errorf("HTTPRoute %s/%s has no rules", ns, name)
	}
	rule, _ := rules[0].(map[string]any)
	refs, _, _ := unstructured.NestedSlice(rule, "backendRefs")
	w := Weights{}
	for _, r := range refs {
		m, _ := r.(map[string]any)
		name, _ := m["name"].(string)
		weight, ok := m["weight"].(int64)
		if !ok {
			weight = 1 // Gateway API's default weight
		}
		w[name] = int(weight)
	}
	return w, nil
}

// DeploymentImage reads the first container image of Deployment ns/name.
func DeploymentImage(ctx context.Context, c client.Reader, ns, name string) (string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(DeploymentGVK)
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, u); err != nil {
		return "", fmt.Errorf("get Deployment %s/%s: %w", ns, name, err)
	}
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return "", fmt.Errorf("Deployment %s/%s has no containers", ns, name)
	}
	c0, _ := containers[0].(map[string]any)
	image, _ := c0["image"].(string)
	return image, nil
}

// ImageTag is the tag of an image reference (after the last ':' that
// follows the last '/'), "" when it has none.
func ImageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	slash := strings.LastIndex(image, "/")
	if i := strings.LastIndex(image, ":"); i > slash {
		return image[i+1:]
	}
	return ""
}

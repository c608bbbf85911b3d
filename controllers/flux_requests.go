package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// The Flux kinds ramp reads and annotates.
var (
	KustomizationGVK = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
	GitRepositoryGVK = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}
)

// requestFluxReconcile asks Flux to reconcile each Kustomization and the
// GitRepository it applies from now, rather than at its next interval:
// it sets meta.ReconcileRequestAnnotation with a merge patch, as
// `flux reconcile` does. Every object is tried; the errors are joined.
func requestFluxReconcile(ctx context.Context, c client.Client, refs []types.NamespacedName, now time.Time) error {
	stamp := now.UTC().Format(time.RFC3339Nano)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{meta.ReconcileRequestAnnotation: stamp}}})
	if err != nil {
		return err
	}
	var errs []error
	sources := map[types.NamespacedName]bool{}
	for _, ref := range refs {
		k, err := getKustomization(ctx, c, ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("get Kustomization %s: %w", ref, err))
			continue
		}
		if err := c.Patch(ctx, k.obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
			errs = append(errs, fmt.Errorf("request reconcile of Kustomization %s: %w", ref, err))
		}
		kind, _, _ := unstructured.NestedString(k.obj.Object, "spec", "sourceRef", "kind")
		name, _, _ := unstructured.NestedString(k.obj.Object, "spec", "sourceRef", "name")
		ns, _, _ := unstructured.NestedString(k.obj.Object, "spec", "sourceRef", "namespace")
		if kind != GitRepositoryGVK.Kind || name == "" {
			continue
		}
		if ns == "" {
			ns = ref.Namespace
		}
		src := types.NamespacedName{Namespace: ns, Name: name}
		if sources[src] {
			continue
		}
		sources[src] = true
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(GitRepositoryGVK)
		u.SetNamespace(src.Namespace)
		u.SetName(src.Name)
		if err := c.Patch(ctx, u, client.RawPatch(types.MergePatchType, patch)); err != nil {
			errs = append(errs, fmt.Errorf("request reconcile of GitRepository %s: %w", src, err))
		}
	}
	return errors.Join(errs...)
}

// kustomizationIndex maps each Kustomization to the ReleaseRepositories
// whose rollouts it applies, so that a change of its status (Flux applied
// a step) reconciles them at once instead of at their next interval.
type kustomizationIndex struct {
	mu    sync.Mutex
	repos map[types.NamespacedName]map[types.NamespacedName]bool
	// of is the reverse: the Kustomizations of each repository.
	of map[types.NamespacedName][]types.NamespacedName
}

// set records the Kustomizations of repository repo.
func (x *kustomizationIndex) set(repo types.NamespacedName, refs []types.NamespacedName) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.repos == nil {
		x.repos = map[types.NamespacedName]map[types.NamespacedName]bool{}
		x.of = map[types.NamespacedName][]types.NamespacedName{}
	}
	for _, k := range x.of[repo] {
		delete(x.repos[k], repo)
	}
	x.of[repo] = refs
	for _, k := range refs {
		if x.repos[k] == nil {
			x.repos[k] = map[types.NamespacedName]bool{}
		}
		x.repos[k][repo] = true
	}
}

// requests returns a reconcile request for each repository the
// Kustomization obj applies.
func (x *kustomizationIndex) requests(_ context.Context, obj client.Object) []reconcile.Request {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []reconcile.Request
	for repo := range x.repos[types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}] {
		out = append(out, reconcile.Request{NamespacedName: repo})
	}
	return out
}

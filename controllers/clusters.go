package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// Several clusters: the targets of a rollout with waves may live in other
// clusters than ramp's, each running its own Flux. A ReleaseRepository
// names them in spec.clusters with a kubeconfig Secret each (as a Flux
// Kustomization's spec.kubeConfig); a target's Kustomization that names a
// cluster is read, and asked to reconcile, through that kubeconfig. A
// cluster that cannot be reached, or that spec.clusters does not define,
// never counts a step as applied: the target holds, naming the cluster
// and why (policy.Evidence.Unreachable).

// clusterTimeout bounds each request to another cluster's API server.
const clusterTimeout = 5 * time.Second

// kubeConfigKeys are where a kubeconfig Secret holds the kubeconfig when
// secretRef.key is not set, as Flux reads it.
var kubeConfigKeys = []string{"value", "value.yaml"}

// clusterSet makes clients for the clusters of one ReleaseRepository,
// each from its kubeconfig Secret, again when the Secret changes.
type clusterSet struct {
	reader    client.Reader // ramp's own cluster, for the Secrets
	namespace string
	repo      string // namespace/name, for messages
	clusters  []rampv1.ClusterReference

	mu    sync.Mutex
	cache map[string]cachedCluster
}

type cachedCluster struct {
	version string // the Secret's resourceVersion
	c       client.Client
}

// client returns a client of the cluster name, or why there is none.
func (cs *clusterSet) client(ctx context.Context, name string) (client.Client, error) {
	if cs == nil {
		return nil, fmt.Errorf("cluster %s is not defined: the ReleaseRepository has no spec.clusters", name)
	}
	var ref *rampv1.ClusterReference
	for i := range cs.clusters {
		if cs.clusters[i].Name == name {
			ref = &cs.clusters[i]
		}
	}
	if ref == nil {
		return nil, fmt.Errorf("cluster %s is not defined in spec.clusters of ReleaseRepository %s", name, cs.repo)
	}
	sr := ref.KubeConfig.SecretRef
	if sr == nil {
		return nil, fmt.Errorf("cluster %s: spec.clusters[].kubeConfig needs a secretRef (configMapRef is not supported)", name)
	}
	var secret corev1.Secret
	if err := cs.reader.Get(ctx, types.NamespacedName{Namespace: cs.namespace, Name: sr.Name}, &secret); err != nil {
		return nil, fmt.Errorf("cluster %s: read kubeconfig Secret %s/%s: %w", name, cs.namespace, sr.Name, err)
	}
	keys := kubeConfigKeys
	if sr.Key != "" {
		keys = []string{sr.Key}
	}
	var data []byte
	for _, k := range keys {
		if v, ok := secret.Data[k]; ok {
			data = v
			break
		}
	}
	if data == nil {
		return nil, fmt.Errorf("cluster %s: Secret %s/%s has no kubeconfig under %v", name, cs.namespace, sr.Name, keys)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.cache[name]; ok && c.version == secret.ResourceVersion {
		return c.c, nil
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: kubeconfig in Secret %s/%s: %w", name, cs.namespace, sr.Name, err)
	}
	cfg.Timeout = clusterTimeout
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	if cs.cache == nil {
		cs.cache = map[string]cachedCluster{}
	}
	cs.cache[name] = cachedCluster{version: secret.ResourceVersion, c: c}
	return c, nil
}

// clusterPoll is how soon a repository is reconciled again while a step
// waits on another cluster's Flux: ramp watches only its own cluster's
// Kustomizations.
const clusterPoll = 5 * time.Second

// pollClusters shortens after to clusterPoll when the last pass waited on
// another cluster.
func pollClusters(f *fluxEvidence, after time.Duration) time.Duration {
	if f != nil && f.remoteWait.Swap(false) {
		return min(after, clusterPoll)
	}
	return after
}

// targetKustomizations are the Kustomizations in ramp's own cluster of
// the targets of r (none for a rollout without targets): ramp watches
// them as it watches a rollout's own.
func targetKustomizations(r *policy.Rollout) []policy.ObjectRef {
	var out []policy.ObjectRef
	if !r.HasTargets() {
		return nil
	}
	for _, sub := range r.TargetRollouts() {
		for _, k := range sub.Spec.Kustomizations {
			if k.Cluster == "" {
				out = append(out, k)
			}
		}
	}
	return out
}

// inClusters reports whether rollout r (a target's own rollout) has a
// Kustomization in another cluster.
func inClusters(r *policy.Rollout) bool {
	if r == nil {
		return false
	}
	for _, k := range r.Spec.Kustomizations {
		if k.Cluster != "" {
			return true
		}
	}
	return false
}

// byCluster groups the Kustomizations of r by cluster, in spec order; ""
// is ramp's own cluster, which also has the repository's own.
func (f *fluxEvidence) byCluster(r *policy.Rollout) (order []string, refs map[string][]types.NamespacedName) {
	refs = map[string][]types.NamespacedName{}
	add := func(cluster, name, ns string) {
		if ns == "" {
			ns = f.namespace
		}
		if _, seen := refs[cluster]; !seen {
			order = append(order, cluster)
		}
		key := types.NamespacedName{Namespace: ns, Name: name}
		for _, k := range refs[cluster] {
			if k == key {
				return
			}
		}
		refs[cluster] = append(refs[cluster], key)
	}
	for _, k := range r.Spec.Kustomizations {
		add(k.Cluster, k.Name, k.Namespace)
	}
	for _, k := range f.kustomizations {
		add("", k.Name, k.Namespace)
	}
	return order, refs
}

// appliedInClusters is applied for a target whose Kustomizations live in
// several clusters: the step is live when every cluster's Kustomizations
// applied it (the latest time counts); a failed apply anywhere fails it;
// a cluster that cannot be read makes it unreachable, naming the cluster.
func (f *fluxEvidence) appliedInClusters(ctx context.Context, r *policy.Rollout, s policy.State) (at time.Time, failed, unreachable string) {
	order, refs := f.byCluster(r)
	var latest time.Time
	for _, cluster := range order {
		var c client.Reader = f.client
		if cluster != "" {
			cc, err := f.clusters.client(ctx, cluster)
			if err != nil {
				return time.Time{}, "", err.Error()
			}
			c = cc
		}
		t, failed, err := f.applied(ctx, c, cluster, r.Name(), refs[cluster], s.StepCommit, s.StepAt)
		if cluster != "" && (err != nil || t.IsZero()) {
			f.remoteWait.Store(true)
		}
		if cluster != "" && err == nil && t.IsZero() && failed == "" {
			// Not applied yet: the reconcile request after the push may
			// not have reached the cluster (it was down then); ask once
			// per step now that it answers.
			f.requestOnce(ctx, c.(client.Client), cluster, refs[cluster], s.StepCommit)
		}
		switch {
		case err != nil && cluster != "":
			return time.Time{}, "", fmt.Sprintf("cluster %s: %v", cluster, err)
		case failed != "":
			if cluster != "" {
				failed = "cluster " + cluster + ": " + failed
			}
			return time.Time{}, failed, ""
		case t.IsZero():
			return time.Time{}, "", ""
		case t.After(latest):
			latest = t
		}
	}
	return latest, "", ""
}

// requestOnce asks the cluster's Flux to reconcile refs, once per step
// commit, the first time the step waits on a cluster that answers.
func (f *fluxEvidence) requestOnce(ctx context.Context, c client.Client, cluster string, refs []types.NamespacedName, step string) {
	key := cluster + "@" + step
	f.mu.Lock()
	if f.requested == nil {
		f.requested = map[string]bool{}
	}
	done := f.requested[key]
	f.requested[key] = true
	f.mu.Unlock()
	if done {
		return
	}
	if err := requestFluxReconcile(ctx, c, refs, f.now()); err != nil {
		ctrllog.FromContext(ctx).Info("could not request a Flux reconcile in a cluster; its Flux applies at its own interval", "cluster", cluster, "error", err.Error())
	}
}

// requestClusterReconciles asks Flux to reconcile, in each cluster, the
// Kustomizations of the targets that outcomes pushed a commit for (the
// reconcile request in ramp's own cluster is the controller's).
func requestClusterReconciles(ctx context.Context, f *fluxEvidence, snap *history.Snapshot, outcomes []gitsync.Outcome, now time.Time) {
	byCluster := map[string][]types.NamespacedName{}
	for _, o := range outcomes {
		if o.Fleet == nil || o.Commit.IsZero() {
			continue
		}
		rollout, _ := policy.SplitTarget(o.Rollout)
		r := snap.Rollouts[rollout]
		if r == nil {
			continue
		}
		for _, t := range o.Decision.Targets {
			sub := r.ForTarget(t)
			if sub == nil {
				continue
			}
			_, refs := f.byCluster(sub)
			for cluster, ks := range refs {
				byCluster[cluster] = append(byCluster[cluster], ks...)
			}
		}
	}
	log := ctrllog.FromContext(ctx)
	for cluster, refs := range byCluster {
		var c client.Client
		if cluster == "" {
			cc, ok := f.client.(client.Client)
			if !ok {
				continue
			}
			c = cc
		} else {
			cc, err := f.clusters.client(ctx, cluster)
			if err != nil {
				log.Info("could not request a Flux reconcile in a cluster; its Flux applies at its own interval", "cluster", cluster, "error", err.Error())
				continue
			}
			c = cc
		}
		if err := requestFluxReconcile(ctx, c, refs, now); err != nil && !errors.Is(err, context.Canceled) {
			log.Info("could not request a Flux reconcile in a cluster; its Flux applies at its own interval", "cluster", cluster, "error", err.Error())
		}
	}
}

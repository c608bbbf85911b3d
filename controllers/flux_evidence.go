package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/evidence"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// fluxEvidence is a repository's evidence: whether Flux applied a step's
// commit, read from the Kustomizations' status, and the gates' results.
type fluxEvidence struct {
	client    client.Reader
	repo      *gitsync.Repo
	namespace string
	// kustomizations are the repository's own (spec.kustomizations); a
	// rollout's spec may name more.
	kustomizations []rampv1.KustomizationReference
	gatherer       *evidence.Gatherer
	now            func() time.Time
	// clusters reads the Kustomizations of the repository's other
	// clusters (spec.clusters); nil: none. remoteWait is set when a step
	// waits on another cluster, which ramp does not watch.
	clusters   *clusterSet
	remoteWait atomic.Bool
	// requested are the reconcile requests made for a step in another
	// cluster, by "<cluster>@<step commit>".
	requested map[string]bool

	mu sync.Mutex
	// seen is when a Kustomization was first seen to have applied a step
	// commit, by "<namespace>/<name>@<step commit>".
	seen map[string]time.Time
	// contains memoises ancestry answers, by "<applied>..<step>".
	contains map[string]bool
}

// evidence is the gitsync.EvidenceFunc of the repository's loop.
//
// A step is applied when every Kustomization that applies the rollout is
// Ready=True with a lastAppliedRevision that is the step's commit or a
// descendant of it. The time it went live is the Ready condition's
// lastTransitionTime when that is later than the step's commit (Flux
// turned Ready after the commit); otherwise the first time ramp saw the
// revision applied, which is stable for as long as the process runs (a
// restart can only start a window later, never earlier). The latest of
// those times over all Kustomizations counts. Ready=False with a
// lastAttemptedRevision that contains the step's commit fails the step.
// Without any Kustomization the step counts as live at its commit time.
func (f *fluxEvidence) evidence(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence {
	var ev policy.Evidence
	refs := f.refs(r)
	switch {
	case len(refs) == 0:
		ev.AppliedUnknown = true
	case s.InProgress() && s.StepCommit != "" && inClusters(r):
		ev.Applied, ev.ApplyFailed, ev.Unreachable = f.appliedInClusters(ctx, r, s)
	case s.InProgress() && s.StepCommit != "":
		ev.Applied, ev.ApplyFailed, _ = f.applied(ctx, f.client, "", r.Name(), refs, s.StepCommit, s.StepAt)
	}
	return f.gatherer.Evidence(ctx, r, s, ev, f.now())
}

// refs are the Kustomizations that apply rollout r: those its spec names
// and the repository's, without duplicates. A reference without a
// namespace is in the repository's namespace.
func (f *fluxEvidence) refs(r *policy.Rollout) []types.NamespacedName {
	var out []types.NamespacedName
	seen := map[types.NamespacedName]bool{}
	add := func(name, ns string) {
		if ns == "" {
			ns = f.namespace
		}
		key := types.NamespacedName{Namespace: ns, Name: name}
		if name != "" && !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	if r != nil {
		for _, k := range r.Spec.Kustomizations {
			add(k.Name, k.Namespace)
		}
		for _, k := range targetKustomizations(r) {
			add(k.Name, k.Namespace)
		}
	}
	for _, k := range f.kustomizations {
		add(k.Name, k.Namespace)
	}
	return out
}

// applied reads every Kustomization and returns when the step's commit
// went live, or why applying it failed. A zero time and no failure: not
// applied yet.
// The Kustomizations are read through c, in cluster ("" for ramp's
// own); an error reading one is returned too.
func (f *fluxEvidence) applied(ctx context.Context, c client.Reader, cluster, rollout string, refs []types.NamespacedName, step string, stepAt time.Time) (time.Time, string, error) {
	log := ctrllog.FromContext(ctx).WithValues("rollout", rollout, "commit", step)
	var latest time.Time
	for _, ref := range refs {
		k, err := getKustomization(ctx, c, ref)
		if err != nil {
			log.Info("cannot read Kustomization; the step waits for it", "kustomization", ref.String(), "cluster", cluster, "error", err.Error())
			return time.Time{}, "", fmt.Errorf("read Kustomization %s: %w", ref, err)
		}
		ready := readyCondition(k)
		switch {
		case ready.status == "True" && f.includes(k.lastApplied, step):
			at := ready.transition
			if !at.After(stepAt) {
				at = f.firstSeen(cluster+"/"+ref.String()+"@"+step, stepAt)
			}
			if at.After(latest) {
				latest = at
			}
		case ready.status == "False" && f.includes(k.lastAttempted, step):
			return time.Time{}, fmt.Sprintf("Kustomization %s: %s", ref, ready.message), nil
		default:
			return time.Time{}, "", nil
		}
	}
	return latest, "", nil
}

// firstSeen returns when key was first seen applied, recording now (but
// never earlier than the step's commit) the first time.
func (f *fluxEvidence) firstSeen(key string, stepAt time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.seen[key]; ok {
		return t
	}
	t := f.now()
	if t.Before(stepAt) {
		t = stepAt
	}
	f.seen[key] = t
	return t
}

// includes reports whether revision (<branch>@sha1:<sha>, sha1:<sha> or
// the older <branch>/<sha>) is the step commit or one of its descendants.
// A revision the clone does not have yet is not: the next fetch brings it.
func (f *fluxEvidence) includes(revision, step string) bool {
	sha := revisionSHA(revision)
	if sha == "" {
		return false
	}
	if sha == step {
		return true
	}
	memo := sha + ".." + step
	f.mu.Lock()
	ok, known := f.contains[memo]
	f.mu.Unlock()
	if known {
		return ok
	}
	ok, err := history.Descends(f.repo.Git().Storer, plumbing.NewHash(sha), plumbing.NewHash(step))
	if err != nil {
		return false
	}
	f.mu.Lock()
	if f.contains == nil {
		f.contains = map[string]bool{}
	}
	f.contains[memo] = ok
	f.mu.Unlock()
	return ok
}

// revisionSHA returns the commit of a Flux source revision.
func revisionSHA(rev string) string {
	if i := strings.LastIndex(rev, "sha1:"); i >= 0 {
		return rev[i+len("sha1:"):]
	}
	if i := strings.LastIndex(rev, "/"); i >= 0 && len(rev)-i-1 == 40 {
		return rev[i+1:]
	}
	return ""
}

// kustomization is what ramp reads of a Flux Kustomization.
type kustomization struct {
	obj           *unstructured.Unstructured
	lastApplied   string
	lastAttempted string
}

// condition is one status condition of an unstructured object.
type condition struct {
	status, message string
	transition      time.Time
}

func readyCondition(k *kustomization) condition {
	conds, _, _ := unstructured.NestedSlice(k.obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Ready" {
			continue
		}
		out := condition{}
		out.status, _ = m["status"].(string)
		out.message, _ = m["message"].(string)
		if ts, ok := m["lastTransitionTime"].(string); ok {
			out.transition, _ = time.Parse(time.RFC3339, ts)
			if !out.transition.IsZero() && out.transition.Nanosecond() == 0 {
				// Whole seconds: the transition happened within the next
				// second. Take its end, so a window never opens before it.
				out.transition = out.transition.Add(time.Second)
			}
		}
		return out
	}
	return condition{status: "Unknown"}
}

func getKustomization(ctx context.Context, c client.Reader, key types.NamespacedName) (*kustomization, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(KustomizationGVK)
	if err := c.Get(ctx, key, u); err != nil {
		return nil, err
	}
	k := &kustomization{obj: u}
	k.lastApplied, _, _ = unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
	k.lastAttempted, _, _ = unstructured.NestedString(u.Object, "status", "lastAttemptedRevision")
	return k, nil
}

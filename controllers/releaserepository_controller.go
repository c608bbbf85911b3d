// Package controllers is ramp's Kubernetes side: the ReleaseRepository
// reconciler (one gitsync.Loop per repository), its Flux integration,
// status, events and metrics, and the push webhook receiver.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// Defaults of the reconciler's tunables.
const (
	DefaultPassTimeout  = 5 * time.Minute
	DefaultQueryTimeout = 10 * time.Second
	// afterPush is how soon a repository is looked at again after a push:
	// the next step may follow once Flux applied this one.
	afterPush = 5 * time.Second
	// minRequeue is the shortest wait for a decision's wake-up time.
	minRequeue = time.Second
	// DefaultConcurrency is --concurrency's default (and the chart's
	// concurrency value): how many rollouts' evidence a pass gathers at
	// once.
	DefaultConcurrency = 8
	// DefaultCloneDepth is --clone-depth's default (and the chart's
	// cloneDepth value), gitsync's.
	DefaultCloneDepth = gitsync.DefaultCloneDepth
)

// ReleaseRepositoryReconciler reconciles ReleaseRepository objects: per
// reconcile one pass of the repository's gitsync.Loop (fetch, derive,
// gather evidence, plan, commit, push), then status, events, metrics and
// a reconcile request to Flux for what was pushed.
type ReleaseRepositoryReconciler struct {
	client.Client
	// APIReader reads Secrets and ConfigMaps straight from the API server,
	// so the controller needs get on them, not list and watch.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// DataDir holds the persistent clones, one directory per repository.
	DataDir string
	// PassTimeout bounds one pass. A pass runs to its end even when the
	// manager stops, so that a push is made whole or not at all.
	PassTimeout  time.Duration
	QueryTimeout time.Duration
	// Guardrails apply to a repository that names none (nil: ramp's
	// defaults): the chart's guardrails value.
	Guardrails *policy.Guardrails
	// Shard selects the repositories this controller reconciles (nil:
	// all). The cache already holds only those; a repository relabelled
	// away from the shard arrives once more, as a delete, and is
	// forgotten here without a pass.
	Shard labels.Selector
	// Concurrency is how many rollouts' evidence a pass gathers at once
	// (gitsync.Config.Concurrency; 0: its default).
	Concurrency int
	// CloneDepth is how many commits a repository's first clone fetches
	// (0: all of them); a walk that needs older history deepens the clone.
	CloneDepth int
	// CheckpointEvery is how deep an aborted rollout's abort lies before a
	// pass writes a checkpoint commit for it (gitsync.Config.CheckpointEvery;
	// 0: gitsync.DefaultCheckpointEvery; negative: never).
	CheckpointEvery int
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	loops loopCache
	index kustomizationIndex
}

// SetupWithManager registers the reconciler. Kustomizations are watched
// when their CRD is installed, so that Flux applying a step reconciles
// the repository at once; without it ramp polls.
func (r *ReleaseRepositoryReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("releaserepository").
		// Repositories are reconciled side by side; one repository never
		// twice at once.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		For(&rampv1.ReleaseRepository{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{})))
	if _, err := mgr.GetRESTMapper().RESTMapping(KustomizationGVK.GroupKind(), KustomizationGVK.Version); err == nil {
		k := &unstructured.Unstructured{}
		k.SetGroupVersionKind(KustomizationGVK)
		b = b.Watches(k, handler.EnqueueRequestsFromMapFunc(r.index.requests))
	} else {
		mgr.GetLogger().Info("Flux Kustomization CRD not found: applied steps are noticed at each interval only", "error", err.Error())
	}
	return b.Complete(r)
}

// Reconcile runs one pass for a ReleaseRepository and patches its status
// once, on the way out.
func (r *ReleaseRepositoryReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	// Read past the cache: the status patch is computed against this copy,
	// and a copy older than the last patch would undo part of it.
	obj := &rampv1.ReleaseRepository{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if r.Shard != nil && !r.Shard.Matches(labels.Set(obj.GetLabels())) {
		// Another shard's now: its clone and loop are no longer ours, and
		// its status is written by that shard only.
		ctrllog.FromContext(ctx).Info("repository left this shard: forgotten", "shard", r.Shard.String())
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	patch := client.MergeFrom(obj.DeepCopy())
	readyBefore := apimeta.FindStatusCondition(obj.Status.Conditions, meta.ReadyCondition)
	if readyBefore != nil {
		readyBefore = readyBefore.DeepCopy()
	}
	defer func() {
		if v, ok := meta.ReconcileAnnotationValue(obj.GetAnnotations()); ok {
			obj.Status.SetLastHandledReconcileRequest(v)
		}
		obj.Status.ObservedGeneration = obj.Generation
		// The status of a pass that ran is recorded even while the
		// manager stops.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.Status().Patch(pctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
			retErr = errors.Join(retErr, fmt.Errorf("patch status of %s: %w", req, err))
		}
		r.warnOnFailure(obj, readyBefore)
		reconcileDuration.WithLabelValues(req.String()).Observe(time.Since(start).Seconds())
	}()
	if obj.Spec.Suspend {
		markSuspended(obj)
		return ctrl.Result{}, nil
	}
	return r.reconcile(ctx, obj)
}

// reconcile reads the configuration, runs a pass and mirrors it in the
// status.
func (r *ReleaseRepositoryReconciler) reconcile(ctx context.Context, obj *rampv1.ReleaseRepository) (ctrl.Result, error) {
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	cfg, err := (&configReader{reader: r.APIReader, defaults: r.Guardrails}).read(ctx, obj)
	if err != nil {
		return r.fail(ctx, obj, err)
	}
	l, err := r.loopFor(ctx, obj, cfg)
	if err != nil {
		return r.fail(ctx, obj, err)
	}
	timeout := r.PassTimeout
	if timeout <= 0 {
		timeout = DefaultPassTimeout
	}
	passCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	// A shallow clone gives a full one's answers: a walk that reaches its
	// boundary fetches more history, within this pass (a full clone has
	// nothing to deepen).
	l.loop.Deriver().Deepen = func() (bool, error) { return l.repo.Deepen(passCtx) }
	res, err := l.loop.Pass(passCtx)
	snap := res.Snapshot
	if snap != nil {
		obj.Status.LastFetchedRevision = revision(obj.GetBranch(), snap.Tip.String())
	}
	if err != nil {
		return r.fail(ctx, obj, err)
	}

	var pushed []string
	for _, o := range res.Pushed() {
		pushed = append(pushed, o.Rollout)
	}
	obj.Status.Rollouts, obj.Status.Progressing = rolloutStatuses(obj.Status.Rollouts, res.Outcomes, snap.States)
	recordOutcomes(key.String(), res.Outcomes, snap.States)
	r.emitCommitEvents(obj, res.Outcomes)
	r.index.set(key, r.allKustomizations(l, snap))
	if len(pushed) > 0 {
		if err := requestFluxReconcile(ctx, r.Client, r.kustomizationsOf(l, snap, pushed), r.now()); err != nil {
			ctrllog.FromContext(ctx).Info("could not request a Flux reconcile; Flux applies at its own interval", "error", err.Error())
		}
		requestClusterReconciles(ctx, l.flux, snap, res.Outcomes, r.now())
	}
	msg := fmt.Sprintf("%s: %d rollouts, %d in progress", obj.Status.LastFetchedRevision, len(res.Outcomes), obj.Status.Progressing)
	if len(pushed) > 0 {
		msg += fmt.Sprintf(", %d commits pushed", len(pushed))
	}
	markReady(obj, msg)
	return ctrl.Result{RequeueAfter: pollClusters(l.flux, r.requeueAfter(obj, res.Outcomes, len(pushed) > 0))}, nil
}

// fail records err in the conditions. A configuration error stalls the
// object until the interval has passed (no retry storm, no crash loop);
// anything else is returned, and so retried with backoff.
func (r *ReleaseRepositoryReconciler) fail(ctx context.Context, obj *rampv1.ReleaseRepository, err error) (ctrl.Result, error) {
	if ce, ok := isConfigError(err); ok {
		markStalled(obj, ce.reason, ce.message)
		ctrllog.FromContext(ctx).Info("stalled", "reason", ce.reason, "message", ce.message)
		return ctrl.Result{RequeueAfter: obj.GetInterval()}, nil
	}
	markRetrying(obj, ReasonGitOperationFailed, err.Error())
	return ctrl.Result{}, err
}

// warnOnFailure emits a warning event when the Ready condition turns
// False or its message changes while False.
func (r *ReleaseRepositoryReconciler) warnOnFailure(obj *rampv1.ReleaseRepository, before *metav1.Condition) {
	now := apimeta.FindStatusCondition(obj.Status.Conditions, meta.ReadyCondition)
	if now == nil || now.Status != metav1.ConditionFalse || now.Reason == ReasonSuspended {
		return
	}
	if before != nil && before.Status == now.Status && before.Message == now.Message {
		return
	}
	r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, now.Reason, "Reconcile", "%s", truncate(now.Message, 1000))
}

// requeueAfter is the interval, or sooner: after a push, and when a
// decision says when to look again (a pause's end, an analysis's next
// measurement).
func (r *ReleaseRepositoryReconciler) requeueAfter(obj *rampv1.ReleaseRepository, outcomes []gitsync.Outcome, pushed bool) time.Duration {
	after := obj.GetInterval()
	if pushed && afterPush < after {
		after = afterPush
	}
	for _, o := range outcomes {
		if w := o.Decision.Wake; !w.IsZero() {
			after = min(after, max(w.Sub(r.now()), minRequeue))
		}
	}
	return after
}

// allKustomizations are the Kustomizations of every rollout of the
// repository.
func (r *ReleaseRepositoryReconciler) allKustomizations(l *repoLoop, snap *history.Snapshot) []types.NamespacedName {
	var names []string
	for name := range snap.Rollouts {
		names = append(names, name)
	}
	return r.kustomizationsOf(l, snap, names)
}

// kustomizationsOf are the Kustomizations of the named rollouts, each once.
func (r *ReleaseRepositoryReconciler) kustomizationsOf(l *repoLoop, snap *history.Snapshot, rollouts []string) []types.NamespacedName {
	seen := map[types.NamespacedName]bool{}
	var out []types.NamespacedName
	for _, name := range rollouts {
		for _, k := range l.flux.refs(snap.Rollouts[name]) {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	if len(rollouts) == 0 {
		out = l.flux.refs(nil)
	}
	return out
}

// forget drops what ramp holds about a deleted repository: its loop, its
// clone and its metrics.
func (r *ReleaseRepositoryReconciler) forget(key types.NamespacedName) {
	r.loops.forget(key)
	r.index.set(key, nil)
	forgetRepository(key.String())
	_ = os.RemoveAll(r.repoDir(key))
}

func (r *ReleaseRepositoryReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

package controllers

import (
	"fmt"
	"hash/fnv"
	"net"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/policy"
)

// DefaultLeaderElectionID is the Lease replicas of ramp compete for. A
// shard (WatchLabelSelector) competes for its own Lease instead:
// ShardLeaderElectionID.
const DefaultLeaderElectionID = "ramp-controller.ramp.dev"

// ParseWatchSelector parses a --watch-label-selector, as Flux's
// controllers do (`sharding.fluxcd.io/key in (shard1)`,
// `!sharding.fluxcd.io/key`); "" selects everything.
func ParseWatchSelector(s string) (labels.Selector, error) {
	if s == "" {
		return labels.Everything(), nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("--watch-label-selector %q: %w", s, err)
	}
	return sel, nil
}

// ShardLeaderElectionID is the Lease of the shard that watches sel: the
// replicas of one shard compete for it, and each shard has its own, so N
// shards elect N leaders. It is derived from the selector's canonical
// form; with no selector it is DefaultLeaderElectionID.
func ShardLeaderElectionID(sel labels.Selector) string {
	if sel == nil || sel.Empty() {
		return DefaultLeaderElectionID
	}
	h := fnv.New32a()
	h.Write([]byte(sel.String()))
	return fmt.Sprintf("ramp-controller-%08x.ramp.dev", h.Sum32())
}

// Options configure the operator's manager.
type Options struct {
	// MetricsAddr, HealthAddr and WebhookAddr are listen addresses; "0"
	// (or "" for the webhook) turns a server off.
	MetricsAddr string
	HealthAddr  string
	WebhookAddr string
	// WebhookListener, when set, serves the receiver instead of WebhookAddr.
	WebhookListener net.Listener

	LeaderElect             bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election
	// (zero: controller-runtime's defaults).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration

	// Namespace limits the operator to one namespace ("" watches all).
	Namespace string
	// WatchLabelSelector makes the operator one shard: it sees and
	// reconciles only the ReleaseRepositories whose labels match (the
	// syntax of ParseWatchSelector; "" reconciles all).
	WatchLabelSelector string
	// DataDir holds the persistent clones.
	DataDir string
	// PassTimeout bounds a pass; shutdown waits for a running one.
	PassTimeout time.Duration
	// Concurrency is how many rollouts' evidence a pass gathers at once
	// (gitsync.Config.Concurrency; 0: its default, 8).
	Concurrency int
	// CloneDepth is how many of the newest commits the first clone of a
	// repository fetches (gitsync.OpenShallow); a walk that needs older
	// history deepens it. 0 clones the whole history.
	CloneDepth int
	// CheckpointEvery is how deep an aborted rollout's abort lies before a
	// pass writes a checkpoint commit for it (0: gitsync's default, 1,000;
	// negative: never).
	CheckpointEvery int
	Logger          logr.Logger
	// SkipNameValidation allows several managers in one process (tests).
	SkipNameValidation bool
	// Guardrails apply to every ReleaseRepository that names none
	// (spec.guardrails, spec.guardrailsRef); nil: ramp's defaults.
	Guardrails *policy.Guardrails
}

// Scheme returns the types the operator reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := rampv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// NewManager returns a manager running the ReleaseRepository reconciler,
// the webhook receiver, health and readiness checks and the metrics server.
func NewManager(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	if o.DataDir == "" {
		return nil, fmt.Errorf("no data directory for the clones: set --data-dir")
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	if o.PassTimeout <= 0 {
		o.PassTimeout = DefaultPassTimeout
	}
	shard, err := ParseWatchSelector(o.WatchLabelSelector)
	if err != nil {
		return nil, err
	}
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = ShardLeaderElectionID(shard)
	}
	if o.LeaderElectionNamespace == "" {
		o.LeaderElectionNamespace = o.Namespace
	}
	grace := o.PassTimeout + 15*time.Second
	mo := ctrl.Options{
		Scheme:                        scheme,
		Logger:                        o.Logger,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:        o.HealthAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &grace,
	}
	if o.LeaseDuration > 0 {
		mo.LeaseDuration, mo.RenewDeadline, mo.RetryPeriod = &o.LeaseDuration, &o.RenewDeadline, &o.RetryPeriod
	}
	if o.Namespace != "" {
		mo.Cache.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
	}
	if !shard.Empty() {
		// The cache holds, and the watch delivers, only this shard's
		// repositories. Secrets and ConfigMaps are read uncached, per
		// repository; Kustomizations are cached whole but map only to the
		// repositories this shard reconciled.
		mo.Cache.ByObject = map[client.Object]cache.ByObject{&rampv1.ReleaseRepository{}: {Label: shard}}
	}
	if o.SkipNameValidation {
		skip := true
		mo.Controller = config.Controller{SkipNameValidation: &skip}
	}
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	r := &ReleaseRepositoryReconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Recorder:    mgr.GetEventRecorder("ramp-controller"),
		DataDir:     o.DataDir,
		PassTimeout: o.PassTimeout,
		Guardrails:  o.Guardrails,
		Shard:       shard,
		Concurrency: o.Concurrency,
		CloneDepth:  o.CloneDepth,
		// An aborted rollout whose abort lies this deep gets a checkpoint.
		CheckpointEvery: o.CheckpointEvery,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up the ReleaseRepository controller: %w", err)
	}
	if o.WebhookAddr != "" || o.WebhookListener != nil {
		recv := &Receiver{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Log: o.Logger.WithName("receiver")}
		if err := mgr.Add(&ReceiverServer{Addr: o.WebhookAddr, Listener: o.WebhookListener, Receiver: recv}); err != nil {
			return nil, fmt.Errorf("add the webhook receiver: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ramp-dev/ramp/controllers"
)

// newController is `ramp controller`: the Kubernetes operator.
func newController() *cobra.Command {
	var o controllers.Options
	var logLevel, guardrails string
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the Kubernetes operator: reconcile ReleaseRepository objects next to Flux",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)}
			}
			o.Logger = logr.FromSlogHandler(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctrl.SetLogger(o.Logger)
			cfg, err := ctrl.GetConfig()
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("find the Kubernetes API server (in-cluster or $KUBECONFIG): %w", err)}
			}
			if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--data-dir: %w", err)}
			}
			if guardrails != "" {
				g, err := readGuardrails(guardrails)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				o.Guardrails = &g
			}
			mgr, err := controllers.NewManager(cfg, o)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			// SIGTERM cancels the context: the manager stops taking work,
			// waits for a pass in progress (its push lands whole or not at
			// all: objects are written before the ref moves), then exits.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Logger.Info("starting ramp controller", "namespace", orAll(o.Namespace), "dataDir", o.DataDir,
				"leaderElect", o.LeaderElect, "webhookAddr", o.WebhookAddr)
			if err := mgr.Start(ctx); err != nil {
				return fmt.Errorf("controller: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.MetricsAddr, "metrics-addr", ":8080", "address of the Prometheus /metrics endpoint (0 turns it off)")
	fl.StringVar(&o.HealthAddr, "health-addr", ":8081", "address of the /healthz and /readyz probes (0 turns them off)")
	fl.StringVar(&o.WebhookAddr, "webhook-addr", ":9292", "address of the push webhook receiver, POST /hook/<namespace>/<name> (empty turns it off)")
	fl.BoolVar(&o.LeaderElect, "leader-elect", false, "elect a leader among replicas; only the leader reconciles")
	fl.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: --namespace, or the pod's namespace in-cluster)")
	fl.StringVar(&o.DataDir, "data-dir", "/data", "directory of the persistent clones of the release repositories")
	fl.StringVar(&o.Namespace, "namespace", "", "watch only this namespace (default: all namespaces)")
	fl.DurationVar(&o.PassTimeout, "pass-timeout", 2*time.Minute, "longest time of one pass; shutdown waits this long (plus 15s) for a pass in progress")
	fl.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.StringVar(&guardrails, "guardrails", "", "guardrails of every ReleaseRepository that names none (spec.guardrails, spec.guardrailsRef); default: ramp's")
	return cmd
}

func orAll(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}

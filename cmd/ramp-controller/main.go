// Command ramp-controller is ramp's Kubernetes operator, the program
// `ramp controller` runs. It is a binary of its own, installed beside
// ramp, because it links controller-runtime and client-go: the CLI's
// other commands start without loading (and initialising) them.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// Exit codes: 0 stopped by a signal, 1 the operator started and then
// failed, 2 usage or environment error (it did not start).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	err := newCommand().Execute()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ramp controller:", err)
	}
	os.Exit(exitCode(err))
}

// runError is a failure of the operator after it started: the manager
// stopped on an error of its own (a server could not listen, the leader
// Lease was lost, a cache did not sync).
type runError struct{ err error }

func (e runError) Error() string { return e.err.Error() }
func (e runError) Unwrap() error { return e.err }

// exitCode is the exit status of the operator's outcome err.
func exitCode(err error) int {
	var run runError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &run):
		return exitFailure
	default:
		return exitUsage
	}
}

// newManager builds the operator's manager from the flags' options (a
// variable so that a test can see the options the flags make).
var newManager = controllers.NewManager

// newCommand is the operator's command line, `ramp controller [flags]`.
func newCommand() *cobra.Command {
	var o controllers.Options
	var logLevel, guardrails, kubeconfig string
	var checkpointEvery int
	cmd := &cobra.Command{
		Use:   "ramp-controller",
		Short: "Run the Kubernetes operator (`ramp controller`): reconcile ReleaseRepository objects next to Flux",
		Long: `Run the Kubernetes operator (` + "`ramp controller`" + `): reconcile ReleaseRepository objects next to Flux.

Sharding, as Flux's controllers do it: --watch-label-selector makes this
process one shard, seeing and reconciling only the ReleaseRepositories whose
labels match (e.g. 'sharding.fluxcd.io/key in (shard1)'). Each shard elects
its own leader: its Lease ID is derived from the selector unless
--leader-election-id names one.

The API server: the kubeconfig file --kubeconfig names, else $KUBECONFIG,
else the in-cluster service account, else ~/.kube/config.

Addresses: --metrics-addr, --health-addr and --webhook-addr each take
host:port (":8080" listens on every interface); the value 0 turns that
server off (as controller-runtime's --metrics-bind-address 0; an empty
value still does too).

On SIGTERM or SIGINT the operator stops taking work, waits for a pass in
progress (at most --pass-timeout plus 15s), releases its leader Lease and
exits 0.

Exit codes: 0 stopped by SIGTERM/SIGINT, 1 the operator started and then
failed (the webhook receiver could not listen, the leader Lease was lost), 2 usage or
environment error: it did not start (a bad flag, no API server,
--data-dir not writable, an invalid --guardrails file).`,
		Example: `  # Out of the cluster, against the cluster of a kubeconfig, without the metrics server:
  ramp controller --kubeconfig ~/.kube/kind --data-dir /tmp/ramp --metrics-addr 0

  # Two replicas in the cluster (the chart's arguments), one of them reconciling:
  ramp-controller --leader-elect --data-dir /data --webhook-addr :9292

  # One shard of several, no push webhook receiver:
  ramp controller --leader-elect --watch-label-selector 'sharding.fluxcd.io/key in (shard1)' --webhook-addr 0

  # Gather at most 4 rollouts' evidence at once in a pass:
  ramp controller --concurrency 4

  # Clone the whole history of each repository (no shallow first clone):
  ramp controller --clone-depth 0

  # Write no checkpoint commits (a derive from scratch walks to each abort):
  ramp controller --checkpoint-every 0`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
			}
			if o.Concurrency < 1 {
				return fmt.Errorf("--concurrency %d: want 1 or more (how many rollouts' evidence a pass gathers at once)", o.Concurrency)
			}
			if o.CloneDepth < 0 {
				return fmt.Errorf("--clone-depth %d: want 0 (the whole history) or more (how many of the newest commits the first clone fetches)", o.CloneDepth)
			}
			if checkpointEvery < 0 {
				return fmt.Errorf("--checkpoint-every %d: want 0 (never) or more (how many commits above an abort before a checkpoint commit restates it)", checkpointEvery)
			}
			if o.CheckpointEvery = checkpointEvery; checkpointEvery == 0 {
				o.CheckpointEvery = -1 // the manager's "never"; its 0 is the default
			}
			shard, err := controllers.ParseWatchSelector(o.WatchLabelSelector)
			if err != nil {
				return err
			}
			if o.LeaderElectionID == "" {
				o.LeaderElectionID = controllers.ShardLeaderElectionID(shard)
			}
			o.Logger = logr.FromSlogHandler(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctrl.SetLogger(o.Logger)
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			turnOff(&o)
			if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
				return fmt.Errorf("--data-dir: %w", err)
			}
			if guardrails != "" {
				g, err := readGuardrails(guardrails)
				if err != nil {
					return err
				}
				o.Guardrails = &g
			}
			mgr, err := newManager(cfg, o)
			if err != nil {
				return err
			}
			// SIGTERM cancels the context: the manager stops taking work,
			// waits for a pass in progress (its push lands whole or not at
			// all: objects are written before the ref moves), then exits.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Logger.Info("starting ramp controller", "namespace", orAll(o.Namespace), "dataDir", o.DataDir,
				"leaderElect", o.LeaderElect, "leaderElectionID", o.LeaderElectionID,
				"watchLabelSelector", orAll(o.WatchLabelSelector), "cloneDepth", o.CloneDepth, "checkpointEvery", checkpointEvery, "metricsAddr", orOff(o.MetricsAddr), "healthAddr", orOff(o.HealthAddr), "webhookAddr", orOff(o.WebhookAddr))
			if err := mgr.Start(ctx); err != nil {
				return runError{fmt.Errorf("manager: %w", err)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kubeconfig, "kubeconfig", "", "path of a kubeconfig file (default: $KUBECONFIG, then the in-cluster service account, then ~/.kube/config)")
	fl.StringVar(&o.MetricsAddr, "metrics-addr", ":8080", "address of the Prometheus /metrics endpoint (0 turns it off)")
	fl.StringVar(&o.HealthAddr, "health-addr", ":8081", "address of the /healthz and /readyz probes (0 turns them off)")
	fl.StringVar(&o.WebhookAddr, "webhook-addr", ":9292", "address of the push webhook receiver, POST /hook/<namespace>/<name> (0 turns it off)")
	fl.BoolVar(&o.LeaderElect, "leader-elect", false, "elect a leader among replicas; only the leader reconciles")
	fl.StringVar(&o.LeaderElectionID, "leader-election-id", "", "name of the leader election Lease (default: "+controllers.DefaultLeaderElectionID+", or one derived from --watch-label-selector, so that each shard elects its own leader)")
	fl.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: --namespace, or the pod's namespace in-cluster)")
	fl.StringVar(&o.WatchLabelSelector, "watch-label-selector", "", "reconcile only the ReleaseRepositories whose labels match, as Flux's controllers shard (e.g. 'sharding.fluxcd.io/key in (shard1)'; default: all)")
	fl.StringVar(&o.DataDir, "data-dir", "/data", "directory of the persistent clones of the release repositories")
	fl.StringVar(&o.Namespace, "namespace", "", "watch only this namespace (default: all namespaces)")
	fl.DurationVar(&o.PassTimeout, "pass-timeout", 2*time.Minute, "longest time of one pass; shutdown waits this long (plus 15s) for a pass in progress")
	fl.IntVar(&o.Concurrency, "concurrency", controllers.DefaultConcurrency, "how many rollouts' evidence (Prometheus queries, webhook gates) a pass of a repository gathers at once")
	fl.IntVar(&checkpointEvery, "checkpoint-every", gitsync.DefaultCheckpointEvery, "write a signed checkpoint commit for an aborted rollout once its abort lies this many commits below the tip, so a derive from scratch stops there; 0 writes none")
	fl.IntVar(&o.CloneDepth, "clone-depth", controllers.DefaultCloneDepth, "how many of the newest commits a repository's first clone fetches; a walk that needs older history (the start of a release in flight) deepens the clone on demand; 0 clones the whole history")
	fl.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.StringVar(&guardrails, "guardrails", "", "guardrails of every ReleaseRepository that names none (spec.guardrails, spec.guardrailsRef); default: ramp's")
	return cmd
}

// restConfig finds the API server as controller-runtime's --kubeconfig
// flag does: the file at path when one is given (and only it: $KUBECONFIG
// is then ignored), else $KUBECONFIG, the in-cluster service account, or
// ~/.kube/config.
func restConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("find the Kubernetes API server (--kubeconfig, $KUBECONFIG, in-cluster or ~/.kube/config): %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	if cfg.QPS == 0 {
		cfg.QPS = -1 // as ctrl.GetConfig: no client-side rate limit, the API server's fairness rules
	}
	return cfg, nil
}

// readGuardrails reads the guardrails file of --guardrails, as the CLI's
// --guardrails does.
func readGuardrails(path string) (policy.Guardrails, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return policy.Guardrails{}, fmt.Errorf("--guardrails: %w", err)
	}
	return policy.ParseGuardrails(path, data)
}

// off is the value of an address flag that turns its server off, for
// every one of them, as controller-runtime's --metrics-bind-address 0.
const off = "0"

// turnOff gives the address flags one convention: "0" turns a server off,
// and so does "" (the old spelling of --webhook-addr, which controller-
// runtime would take as :8080 for the metrics). It rewrites each address
// into the form its server takes: "0" for controller-runtime's metrics and
// probes, "" for ramp's webhook receiver.
func turnOff(o *controllers.Options) {
	if o.MetricsAddr == "" || o.MetricsAddr == off {
		o.MetricsAddr = off
	}
	if o.HealthAddr == "" || o.HealthAddr == off {
		o.HealthAddr = off
	}
	if o.WebhookAddr == "" || o.WebhookAddr == off {
		o.WebhookAddr = ""
	}
}

func orOff(addr string) string {
	if addr == "" || addr == off {
		return "off"
	}
	return addr
}

func orAll(s string) string {
	if s == "" {
		return "(all)"
	}
	return s
}

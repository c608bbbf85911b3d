// Command ramp is git-native progressive delivery: the operator
// (`ramp controller`), the same loop without Kubernetes (`ramp run`), and
// the tools people use on a release repository (status, plan, validate,
// approve, abort, audit).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/spf13/cobra"
)

// Exit codes: 0 ok, 1 findings (invalid spec, failed verification),
// 2 usage or environment error.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// findings returns an error that exits 1.
func findings(format string, args ...any) error {
	return &exitError{code: exitFindings, err: fmt.Errorf(format, args...)}
}

func main() {
	root := newRoot()
	err := root.Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	fmt.Fprintln(os.Stderr, "ramp:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(exitUsage)
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "ramp",
		Short: "Git-native progressive delivery for Flux-reconciled clusters",
		Long: "Git-native progressive delivery for Flux-reconciled clusters: every step, gate verdict,\n" +
			"approval and rollback is a signed commit in the release repository.\n\n" +
			"Trusted keys and Prometheus come from --approvers and --prometheus, else $RAMP_APPROVERS and\n" +
			"$RAMP_PROMETHEUS, else the per-user config file ($RAMP_CONFIG, default\n" +
			"$XDG_CONFIG_HOME/ramp/config.yaml: `approvers: DIR`, `prometheus: URL`), never the release\n" +
			"repository itself.\n\n" +
			"Exit codes: 0 ok, 1 findings (invalid spec, failed verification, a refused command), 2 usage or\n" +
			"environment error.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			cmd.SetContext(logr.NewContext(cmd.Context(), cacheLog(cmd.ErrOrStderr())))
		},
	}
	root.AddCommand(
		newInit(),
		newValidate(),
		newStatus(),
		newPlan(),
		newRun(),
		newApprove(),
		newAbort(),
		newPause(),
		newResume(),
		newAudit(),
		newController(),
		newVersion(),
	)
	root.Version = buildInfo().Version
	root.SetVersionTemplate(buildInfo().String())
	return root
}

// cacheLog prints the lines of gitsync's "cache" logger to w: that ramp
// rebuilt its clone of a URL, why, and how long it took. Everything else
// the packages log is for the controller's log.
func cacheLog(w io.Writer) logr.Logger {
	return funcr.New(func(prefix, args string) {
		if prefix == "cache" {
			fmt.Fprintf(w, "ramp: %s\n", args)
		}
	}, funcr.Options{})
}

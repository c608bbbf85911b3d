package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// controllerBinary is the operator's own binary (cmd/ramp-controller).
// ramp does not link it: controller-runtime and client-go would be
// loaded and initialised at the start of every CLI command.
const controllerBinary = "ramp-controller"

// newController is `ramp controller`: it runs ramp-controller, installed
// beside ramp (or on $PATH), in place of this process, with its arguments
// unchanged; `ramp controller --help` lists the operator's flags.
func newController() *cobra.Command {
	return &cobra.Command{
		Use:                "controller [flags]",
		Short:              "Run the Kubernetes operator: reconcile ReleaseRepository objects next to Flux",
		Long:               "Run the Kubernetes operator: reconcile ReleaseRepository objects next to Flux.\n\nThe operator is the binary " + controllerBinary + " installed beside ramp: `ramp controller ARGS` runs `" + controllerBinary + " ARGS` in its place (same process id, signals and exit code). `ramp controller --help` lists its flags.",
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := findController()
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			// Exec, not a child: SIGTERM and SIGKILL reach the operator
			// itself, and its exit code is ramp's.
			err = syscall.Exec(path, append([]string{path}, args...), os.Environ())
			return &exitError{code: exitUsage, err: fmt.Errorf("run %s: %w", path, err)}
		},
	}
}

// findController returns ramp-controller beside this executable (symlinks
// resolved), or else on $PATH.
func findController() (string, error) {
	here := "ramp's directory"
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			here = filepath.Dir(exe)
			path := filepath.Join(here, controllerBinary)
			if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
				return path, nil
			}
		}
	}
	if path, err := exec.LookPath(controllerBinary); err == nil {
		return path, nil
	}
	return "", fmt.Errorf("`ramp controller` runs %s, which is neither in %s nor on $PATH: `make build` builds bin/%s beside bin/ramp (or `go install ./cmd/%s`)",
		controllerBinary, here, controllerBinary, controllerBinary)
}

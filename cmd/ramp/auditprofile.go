package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// auditProfile starts a CPU profile of the audit into the file
// $RAMP_AUDIT_CPUPROFILE names, when set, and returns what stops it: the
// audit's own cost in a fresh process (start, open, walk, output), for
// `go tool pprof`.
func auditProfile() (stop func(), err error) {
	path := os.Getenv("RAMP_AUDIT_CPUPROFILE")
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("RAMP_AUDIT_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("RAMP_AUDIT_CPUPROFILE: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

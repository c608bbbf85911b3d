//go:build e2e

// Package e2e runs ramp's whole loop against the real components a user
// runs: a kube-apiserver and etcd, Flux's source-controller and
// kustomize-controller, a git host, Prometheus, the demo apps under load,
// Traefik as the gateway (s7) and `ramp controller`. Run it with `make
// e2e` (it needs bin/, built by `make build tools`); plain `go test ./...`
// does not build it.
package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// cluster is the API server and the Flux controllers every scenario
// shares; each scenario works in a namespace of its own.
var cluster *e2etest.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ramp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	cluster, err = e2etest.StartCluster(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	fmt.Printf("e2e: API server and Flux controllers up in %s (logs in %s)\n", time.Since(start).Round(100*time.Millisecond), dir)
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: stop the cluster: %v\n", err)
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Printf("e2e: failed; the Flux controllers' logs are kept in %s\n", dir)
	}
	fmt.Printf("e2e: total %s\n", time.Since(start).Round(100*time.Millisecond))
	return code
}

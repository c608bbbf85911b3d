package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ramp-dev/ramp/controllers"
)

// The test API server: a real kube-apiserver and etcd from bin/k8s
// (make tools), with ramp's CRD and Flux's Kustomization and
// GitRepository CRDs installed.
var (
	restCfg *rest.Config
	k8s     client.Client
)

// fluxVersion is the Flux release whose CRDs the tests install, read
// from the module cache (go mod download fetches them when missing).
const fluxVersion = "v1.9.6"

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrllog.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin := filepath.Join(root, "bin", "k8s")
	for _, tool := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			fmt.Fprintf(os.Stderr, "controllers tests need a real API server: run `make tools` (bin/k8s/%s missing)\n", tool)
			return 1
		}
	}
	crds := []string{filepath.Join(root, "config", "crd", "bases")}
	for _, mod := range []string{"kustomize-controller", "source-controller"} {
		dir, err := moduleDir("github.com/fluxcd/" + mod + "@" + fluxVersion)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Flux CRDs: %v\n", err)
			return 1
		}
		crds = append(crds, filepath.Join(dir, "config", "crd", "bases"))
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		CRDDirectoryPaths:        crds,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	restCfg, err = env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start envtest with bin/k8s: %v\n", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop envtest: %v\n", err)
		}
	}()
	scheme, err := controllers.Scheme()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if k8s, err = client.New(restCfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// moduleDir returns the module cache directory of module@version,
// downloading it when it is not there yet.
func moduleDir(modVersion string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", modVersion).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v", modVersion, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s %v", modVersion, info.Error, err)
	}
	return info.Dir, nil
}

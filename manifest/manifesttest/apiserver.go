// Package manifesttest asks a real kube-apiserver whether it accepts the
// manifests ramp writes: envtest runs kube-apiserver and etcd from bin/k8s
// (make tools) with CRDs from the module cache installed (Gateway API's
// standard channel, and any others a test names), and each document is
// applied server-side with dry run, so the CRDs' OpenAPI and CEL
// validation judge it and nothing is stored.
package manifesttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// GatewayAPIVersion is the Gateway API release whose standard-channel
// CRDs the API server installs; TraefikVersion the Traefik release whose
// CRDs tests of Traefik's resources install (and make tool-traefik builds).
const (
	GatewayAPIVersion = "v1.6.3"
	TraefikVersion    = "v3.6.12"
)

// APIServer is a kube-apiserver with the Gateway API CRDs installed.
type APIServer struct {
	client client.Client
}

// StartAPIServer starts an API server for the test with Gateway API's
// standard CRDs and the CRD files or directories in extraCRDs; it stops
// when the test ends. A missing bin/k8s fails the test naming the make
// target that builds it.
func StartAPIServer(t testing.TB, extraCRDs ...string) *APIServer {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "k8s")
	for _, tool := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			t.Fatalf("bin/k8s/%s is missing: run `make tools` (the routes ramp writes are checked by a real API server)", tool)
		}
	}
	gw, err := ModuleDir("sigs.k8s.io/gateway-api", GatewayAPIVersion)
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		CRDDirectoryPaths:        append([]string{filepath.Join(gw, "config", "crd", "standard")}, extraCRDs...),
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest with bin/k8s: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &APIServer{client: c}
}

// DryRunApply applies every document of a YAML file server-side with dry
// run in namespace default. It returns the API server's verdict on the
// first document it refuses, naming the document.
func (s *APIServer) DryRunApply(ctx context.Context, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 1; ; i++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
		if doc == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: jsonValues(doc).(map[string]any)}
		if u.GetNamespace() == "" {
			u.SetNamespace("default")
		}
		err = s.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
			client.DryRunAll, client.FieldOwner("ramp-test"), client.ForceOwnership)
		if err != nil {
			return fmt.Errorf("document %d (%s %s): %w", i, u.GetKind(), u.GetName(), err)
		}
	}
}

// jsonValues turns what yaml.v3 decodes into what JSON would: ints as
// int64, nested maps as map[string]any.
func jsonValues(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonValues(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = jsonValues(x)
		}
		return v
	case int:
		return int64(v)
	}
	return v
}

// RepoRoot returns the directory of ramp's go.mod above the working
// directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(string(b)) == "github.com/ramp-dev/ramp" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/ramp-dev/ramp above the working directory")
		}
		dir = parent
	}
}

func modulePath(gomod string) string {
	for _, line := range strings.Split(gomod, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// ModuleDir returns the module cache directory of module@version, which
// `go mod download` fetches when it is not there yet. It runs outside the
// main module so that go.mod and go.sum stay as they are.
func ModuleDir(module, version string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil || info.Dir == "" {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s@%s (for its CRDs): %s %v", module, version, info.Error, err)
	}
	return info.Dir, nil
}

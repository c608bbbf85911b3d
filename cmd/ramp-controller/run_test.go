package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ramp-dev/ramp/controllers"
)

// runMainEnv makes this test binary run the operator's main (see
// TestMain), so a test can see its real exit status.
const runMainEnv = "RAMP_CONTROLLER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{"ramp-controller"}, os.Args[1:]...)
		main()
	}
	os.Exit(m.Run())
}

// fluxVersion is the Flux release whose CRDs the API server installs (the
// reconciler watches Kustomizations), as in the controllers tests.
const fluxVersion = "v1.9.6"

// startAPIServer starts a real kube-apiserver and etcd from bin/k8s with
// ramp's and Flux's CRDs, and returns the path of a cluster-admin
// kubeconfig; the API server stops when the test ends.
func startAPIServer(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "k8s")
	for _, tool := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			t.Fatalf("bin/k8s/%s is missing: run `make tools` (the operator is started against a real API server)", tool)
		}
	}
	crds := []string{filepath.Join(root, "config", "crd", "bases")}
	for _, mod := range []string{"kustomize-controller", "source-controller"} {
		out, err := exec.Command("go", "mod", "download", "-json", "github.com/fluxcd/"+mod+"@"+fluxVersion).Output()
		if err != nil {
			t.Fatalf("go mod download %s: %v", mod, err)
		}
		var info struct{ Dir string }
		if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
			t.Fatalf("go mod download %s: no directory (%v)", mod, err)
		}
		crds = append(crds, filepath.Join(info.Dir, "config", "crd", "bases"))
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		CRDDirectoryPaths:        crds,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	if _, err := env.Start(); err != nil {
		t.Fatalf("start envtest with bin/k8s: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	user, err := env.AddUser(envtest.User{Name: "ctl-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeAddr returns a 127.0.0.1 address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// lockedBuffer is the operator's log, written by its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOperatorRunsWithKubeconfigAndServersOff starts the operator against
// a real API server named by --kubeconfig only ($KUBECONFIG names a file
// that does not exist), with the metrics server and the webhook receiver
// off by the one convention, 0: it must serve its readiness probe on
// --health-addr, and stop with exit status 0 when its context ends.
func TestOperatorRunsWithKubeconfigAndServersOff(t *testing.T) {
	kubeconfig := startAPIServer(t)
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	health := freeAddr(t)
	cmd := newCommand()
	cmd.SetArgs([]string{"--kubeconfig", kubeconfig, "--health-addr", health,
		"--metrics-addr", "0", "--webhook-addr", "0", "--data-dir", t.TempDir(), "--log-level", "error"})
	var log lockedBuffer
	cmd.SetOut(&log)
	cmd.SetErr(&log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	deadline := time.Now().Add(90 * time.Second)
	var last string
	for {
		select {
		case err := <-done:
			t.Fatalf("the operator stopped before it was ready: %v\n%s", err, log.String())
		default:
		}
		resp, err := http.Get("http://" + health + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready probe on --health-addr %s within 90s (last: %s)\n%s", health, last, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the operator stopped with %v, want nil (exit 0)\n%s", err, log.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the operator did not stop within a minute of its context ending")
	}

	// Started, then failed: its webhook address is taken. Exit 1, not the
	// 2 of a usage error. A process of its own (this test binary running
	// main): one process registers its controller once.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithTimeout(context.Background(), 2*time.Minute)
	defer stopRun()
	run := exec.CommandContext(runCtx, self, "--kubeconfig", kubeconfig, "--health-addr", "0", "--metrics-addr", "0",
		"--webhook-addr", taken.Addr().String(), "--data-dir", t.TempDir(), "--log-level", "error")
	run.Env = append(os.Environ(), runMainEnv+"=1")
	var stderr bytes.Buffer
	run.Stderr = &stderr
	err = run.Run()
	code := run.ProcessState.ExitCode()
	if code != exitFailure || !strings.Contains(stderr.String(), "webhook receiver: listen on "+taken.Addr().String()) {
		t.Errorf("ramp-controller --webhook-addr %s (taken): exit %d (%v), want exit %d and the listen error; stderr:\n%s", taken.Addr(), code, err, exitFailure, stderr.String())
	}
}

// TestKubeconfigFlagOverridesTheEnvironment: --kubeconfig names the only
// file read, whatever $KUBECONFIG says; a missing file is an error naming
// the flag.
func TestKubeconfigFlagOverridesTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	write := func(name, server string) string {
		path := filepath.Join(dir, name)
		kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, server)
		if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Setenv("KUBECONFIG", write("env", "https://127.0.0.1:1111"))
	flag := write("flag", "https://127.0.0.1:2222")
	cfg, err := restConfig(flag)
	if err != nil || cfg.Host != "https://127.0.0.1:2222" {
		t.Fatalf("restConfig(--kubeconfig %s) = %v, %v; want the flag's server https://127.0.0.1:2222", flag, cfg, err)
	}
	if cfg.QPS != -1 {
		t.Errorf("QPS %v, want -1 as controller-runtime's GetConfig (no client-side rate limit)", cfg.QPS)
	}
	cfg, err = restConfig("")
	if err != nil || cfg.Host != "https://127.0.0.1:1111" {
		t.Fatalf("restConfig without --kubeconfig = %v, %v; want $KUBECONFIG's server https://127.0.0.1:1111", cfg, err)
	}
	absent := filepath.Join(dir, "absent")
	cmd := newCommand()
	cmd.SetArgs([]string{"--kubeconfig", absent, "--data-dir", t.TempDir()})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--kubeconfig "+absent) {
		t.Errorf("ramp-controller --kubeconfig %s: error %v, want one naming --kubeconfig and the file", absent, err)
	}
}

// TestZeroTurnsEveryAddressOff: "0" turns off each of the operator's
// servers, and the old spelling "" still does; an address is kept.
func TestZeroTurnsEveryAddressOff(t *testing.T) {
	for _, c := range []struct {
		in, want controllers.Options
	}{
		{controllers.Options{MetricsAddr: "0", HealthAddr: "0", WebhookAddr: "0"},
			controllers.Options{MetricsAddr: "0", HealthAddr: "0", WebhookAddr: ""}},
		{controllers.Options{MetricsAddr: "", HealthAddr: "", WebhookAddr: ""},
			controllers.Options{MetricsAddr: "0", HealthAddr: "0", WebhookAddr: ""}},
		{controllers.Options{MetricsAddr: ":8080", HealthAddr: "127.0.0.1:8081", WebhookAddr: ":9292"},
			controllers.Options{MetricsAddr: ":8080", HealthAddr: "127.0.0.1:8081", WebhookAddr: ":9292"}},
	} {
		got := c.in
		turnOff(&got)
		if got.MetricsAddr != c.want.MetricsAddr || got.HealthAddr != c.want.HealthAddr || got.WebhookAddr != c.want.WebhookAddr {
			t.Errorf("turnOff(metrics %q, health %q, webhook %q) = %q, %q, %q; want %q, %q, %q",
				c.in.MetricsAddr, c.in.HealthAddr, c.in.WebhookAddr, got.MetricsAddr, got.HealthAddr, got.WebhookAddr,
				c.want.MetricsAddr, c.want.HealthAddr, c.want.WebhookAddr)
		}
	}
}

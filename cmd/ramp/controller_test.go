package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// operatorOnly are the packages only the operator may link: loading them
// is what made every CLI command slow to start.
var operatorOnly = []string{
	"sigs.k8s.io/controller-runtime",
	"k8s.io/client-go",
	"k8s.io/apimachinery",
	"github.com/ramp-dev/ramp/controllers",
	"github.com/ramp-dev/ramp/api/",
}

// linked returns the packages the command at pkg links that start with
// one of prefixes.
func linked(t *testing.T, pkg string, prefixes []string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var hits []string
	for _, p := range strings.Fields(string(out)) {
		for _, prefix := range prefixes {
			if strings.HasPrefix(p, prefix) {
				hits = append(hits, p)
				break
			}
		}
	}
	return hits
}

func TestCLIDoesNotLinkTheOperator(t *testing.T) {
	if hits := linked(t, "github.com/ramp-dev/ramp/cmd/ramp", operatorOnly); len(hits) > 0 {
		t.Fatalf("cmd/ramp links %d operator packages, e.g. %v: only cmd/ramp-controller may", len(hits), hits[:min(5, len(hits))])
	}
	// The same check finds them where they are.
	hits := linked(t, "github.com/ramp-dev/ramp/cmd/ramp-controller", operatorOnly)
	for _, want := range []string{"sigs.k8s.io/controller-runtime", "k8s.io/client-go/rest", "github.com/ramp-dev/ramp/controllers"} {
		found := false
		for _, h := range hits {
			found = found || h == want
		}
		if !found {
			t.Errorf("cmd/ramp-controller does not link %s: the check cannot see what it looks for", want)
		}
	}
}

// installed returns bin/ramp and bin/ramp-controller (make build).
func installed(t testing.TB) (ramp, controller string) {
	t.Helper()
	ramp, err := e2etest.Binary("ramp", "build")
	if err != nil {
		t.Fatal(err)
	}
	controller, err = e2etest.Binary("ramp-controller", "build")
	if err != nil {
		t.Fatal(err)
	}
	return ramp, controller
}

// runBinary runs bin with args and env, and returns its exit code and
// standard error.
func runBinary(t *testing.T, env []string, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

func TestControllerRunsTheOperatorBinaryBesideRamp(t *testing.T) {
	ramp, _ := installed(t)
	env := []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"controller", "--watch-label-selector", "sharding.fluxcd.io/key in (shard1"},
			`ramp controller: --watch-label-selector "sharding.fluxcd.io/key in (shard1": unable to parse requirement`},
		{[]string{"controller", "--log-level=loud"}, `ramp controller: --log-level "loud": want debug, info, warn or error`},
		{[]string{"controller", "--no-such-flag"}, "unknown flag: --no-such-flag"},
	}
	for _, c := range cases {
		code, stderr := runBinary(t, env, ramp, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("ramp %v: exit %d, stderr %q; want exit %d and %q from ramp-controller", c.args, code, stderr, exitUsage, c.want)
		}
	}
	out, err := exec.Command(ramp, "controller", "--help").Output()
	if err != nil || !strings.Contains(string(out), "--watch-label-selector") || !strings.Contains(string(out), "--leader-election-id") {
		t.Errorf("ramp controller --help (%v) does not list the operator's flags:\n%s", err, out)
	}
}

func TestControllerWithoutTheOperatorBinarySaysHowToBuildIt(t *testing.T) {
	ramp, _ := installed(t)
	alone := filepath.Join(t.TempDir(), "ramp")
	data, err := os.ReadFile(ramp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	code, stderr := runBinary(t, []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()}, alone, "controller", "--log-level=info")
	if code != exitUsage || !strings.Contains(stderr, "ramp-controller, which is neither in "+filepath.Dir(alone)) || !strings.Contains(stderr, "make build") {
		t.Errorf("ramp controller without ramp-controller: exit %d, stderr %q; want exit %d naming the directory and `make build`", code, stderr, exitUsage)
	}
	// Other commands do not need it.
	if code, stderr := runBinary(t, []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()}, alone, "help"); code != exitOK {
		t.Errorf("ramp help without ramp-controller: exit %d, %s", code, stderr)
	}
}

// The operator replaces the ramp process (same process id), so SIGTERM
// and SIGKILL sent to `ramp controller` reach it, as the chart and the
// e2e tests rely on.
func TestControllerIsTheSameProcess(t *testing.T) {
	ramp, controller := installed(t)
	dir := t.TempDir()
	// An API server that is not there: the manager starts and keeps
	// retrying, which is time enough to look at the process.
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ramp, "controller", "--data-dir", filepath.Join(dir, "data"),
		"--metrics-addr=0", "--health-addr=0", "--webhook-addr=", "--namespace=none")
	cmd.Env = []string{"KUBECONFIG=" + kubeconfig, "PATH=" + t.TempDir(), "HOME=" + dir}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	want, err := filepath.EvalSymlinks(controller)
	if err != nil {
		t.Fatal(err)
	}
	// Once the operator logs its start it handles SIGTERM.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.Contains(stderr.String(), "starting ramp controller"); {
		time.Sleep(20 * time.Millisecond)
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
	if err != nil || exe != want {
		t.Fatalf("process %d of `ramp controller` runs %q (%v), want %s\n%s", cmd.Process.Pid, exe, err, want, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if !cmd.ProcessState.Exited() {
			t.Errorf("ramp-controller did not exit on SIGTERM: %v\n%s", cmd.ProcessState, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("ramp-controller did not stop within 30 s of SIGTERM\n%s", stderr.String())
	}
}

// lockedBuffer is a bytes.Buffer a process writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ramp-dev/ramp/controllers"
)

func TestBadFlagsFailBeforeLookingForTheCluster(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--watch-label-selector", "sharding.fluxcd.io/key in (shard1"}, `--watch-label-selector "sharding.fluxcd.io/key in (shard1": unable to parse requirement`},
		{[]string{"--watch-label-selector", "a b"}, `--watch-label-selector "a b"`},
		{[]string{"--log-level", "loud"}, `--log-level "loud": want debug, info, warn or error`},
		{[]string{"extra"}, `unknown command "extra"`},
		{[]string{"--concurrency", "0"}, `--concurrency 0: want 1 or more`},
		{[]string{"--concurrency", "-3"}, `--concurrency -3: want 1 or more`},
	} {
		// No kubeconfig: a flag error must come first, and say which flag.
		t.Setenv("KUBECONFIG", t.TempDir()+"/absent")
		cmd := newCommand()
		cmd.SetArgs(c.args)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ramp-controller %v: error %v, want one containing %q", c.args, err, c.want)
		}
		if code := exitCode(err); code != exitUsage {
			t.Errorf("ramp-controller %v: exit %d, want %d (usage error)", c.args, code, exitUsage)
		}
	}
}

// TestHelpHasExamplesExitCodesAndTheOffConvention: --help shows examples,
// the exit codes, where the API server is found, and that 0 turns off
// each address flag's server.
func TestHelpHasExamplesExitCodesAndTheOffConvention(t *testing.T) {
	cmd := newCommand()
	cmd.SetArgs([]string{"--help"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, want := range []string{
		"Examples:\n  # ",
		"ramp controller --kubeconfig ",
		"Exit codes: 0 stopped by SIGTERM/SIGINT, 1 the operator started and then\nfailed",
		"2 usage or\nenvironment error",
		"the value 0 turns that\nserver off",
		"--kubeconfig string",
		"else $KUBECONFIG",
		"--concurrency int",
		"ramp controller --concurrency 4",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("ramp-controller --help lacks %q:\n%s", want, help)
		}
	}
	for _, flag := range []string{"--metrics-addr", "--health-addr", "--webhook-addr"} {
		i := strings.Index(help, "      "+flag+" ")
		if i < 0 {
			t.Errorf("--help does not list %s", flag)
			continue
		}
		line, _, _ := strings.Cut(help[i:], "\n")
		if !strings.Contains(line, "(0 turns ") {
			t.Errorf("--help line of %s does not say 0 turns it off: %q", flag, line)
		}
	}
	if exitCode(nil) != exitOK {
		t.Errorf("exit %d after a clean stop, want %d", exitCode(nil), exitOK)
	}
}

// TestFlagsReachTheManagersOptions: the options the manager is built
// with carry --concurrency, --kubeconfig's API server and the addresses
// with 0 (and "") turned off, and the defaults when no flag is given.
func TestFlagsReachTheManagersOptions(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := writeKubeconfig(t, dir)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "absent"))
	t.Cleanup(func() { newManager = controllers.NewManager })
	stop := errors.New("stop before starting a manager")
	for _, c := range []struct {
		args                  []string
		concurrency           int
		metrics, health, hook string
	}{
		{[]string{"--concurrency", "3", "--metrics-addr", "0", "--health-addr", "", "--webhook-addr", "0"}, 3, "0", "0", ""},
		{[]string{"--webhook-addr", ""}, 8, ":8080", ":8081", ""},
		{nil, 8, ":8080", ":8081", ":9292"},
	} {
		var got controllers.Options
		var host string
		newManager = func(cfg *rest.Config, o controllers.Options) (manager.Manager, error) {
			got, host = o, cfg.Host
			return nil, stop
		}
		cmd := newCommand()
		cmd.SetArgs(append([]string{"--kubeconfig", kubeconfig, "--data-dir", filepath.Join(dir, "data")}, c.args...))
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		if err := cmd.Execute(); !errors.Is(err, stop) {
			t.Fatalf("ramp-controller %v: %v, want the manager built", c.args, err)
		}
		if host != "https://127.0.0.1:3333" || got.Concurrency != c.concurrency || got.MetricsAddr != c.metrics || got.HealthAddr != c.health || got.WebhookAddr != c.hook {
			t.Errorf("ramp-controller %v: server %s, concurrency %d, metrics %q, health %q, webhook %q; want https://127.0.0.1:3333, %d, %q, %q, %q",
				c.args, host, got.Concurrency, got.MetricsAddr, got.HealthAddr, got.WebhookAddr, c.concurrency, c.metrics, c.health, c.hook)
		}
	}
}

// TestCloneDepthFlagReachesTheManager: --clone-depth is the manager's
// CloneDepth (default DefaultCloneDepth, 1,000; 0 for a full clone) and
// --checkpoint-every its CheckpointEvery (0 given as "never", -1), and a
// negative value of either is a usage error naming the flag.
func TestCloneDepthFlagReachesTheManager(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := writeKubeconfig(t, dir)
	t.Cleanup(func() { newManager = controllers.NewManager })
	stop := errors.New("stop before starting a manager")
	for _, c := range []struct {
		args            []string
		want            int
		wantCheckpoints int // the manager's: 0 its default, negative never
	}{
		{nil, 1000, 1000},
		{[]string{"--clone-depth", "0"}, 0, 1000},
		{[]string{"--clone-depth", "250", "--checkpoint-every", "40"}, 250, 40},
		{[]string{"--checkpoint-every", "0"}, 1000, -1},
	} {
		got, gotCheckpoints := -1, 0
		newManager = func(_ *rest.Config, o controllers.Options) (manager.Manager, error) {
			got, gotCheckpoints = o.CloneDepth, o.CheckpointEvery
			return nil, stop
		}
		cmd := newCommand()
		cmd.SetArgs(append([]string{"--kubeconfig", kubeconfig, "--data-dir", filepath.Join(dir, "data")}, c.args...))
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		if err := cmd.Execute(); !errors.Is(err, stop) {
			t.Fatalf("ramp-controller %v: %v, want the manager built", c.args, err)
		}
		if got != c.want || gotCheckpoints != c.wantCheckpoints {
			t.Errorf("ramp-controller %v: CloneDepth %d, CheckpointEvery %d; want %d, %d", c.args, got, gotCheckpoints, c.want, c.wantCheckpoints)
		}
	}

	t.Setenv("KUBECONFIG", filepath.Join(dir, "absent"))
	cmd := newCommand()
	cmd.SetArgs([]string{"--clone-depth", "-1"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "--clone-depth -1: want 0") || exitCode(err) != exitUsage {
		t.Errorf("ramp-controller --clone-depth -1: error %v (exit %d), want a usage error naming --clone-depth", err, exitCode(err))
	}
	cmd = newCommand()
	cmd.SetArgs([]string{"--checkpoint-every", "-5"})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err = cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "--checkpoint-every -5: want 0") || exitCode(err) != exitUsage {
		t.Errorf("ramp-controller --checkpoint-every -5: error %v (exit %d), want a usage error naming --checkpoint-every", err, exitCode(err))
	}
}

// writeKubeconfig writes, in dir, a kubeconfig naming an API server at
// https://127.0.0.1:3333 (never contacted: the tests stop before a
// manager starts), and returns its path.
func writeKubeconfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:3333"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

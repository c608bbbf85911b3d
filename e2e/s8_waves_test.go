//go:build e2e

package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// paySpec is rollout pay with targets a (applied in the shared cluster)
// and b (applied in cluster b), in waves first [a] (soak 20s) and
// second [b]; each target: weight 50, then the error-rate gate over 6s.
const paySpec = `apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: pay
spec:
  owner: team-pay
  release: {file: releases/pay/release.yaml, path: version}
  targets:
    - name: a
      release: {file: clusters/a/pay/canary/kustomization.yaml, path: "images[name=pay].newTag"}
      stable: {file: clusters/a/pay/stable/kustomization.yaml, path: "images[name=pay].newTag"}
      target: {httpRoute: {file: clusters/a/pay/route.yaml, stableBackend: pay-stable, canaryBackend: pay-canary}}
      kustomizations: [{name: pay, namespace: NAMESPACE}]
    - name: b
      release: {file: clusters/b/pay/canary/kustomization.yaml, path: "images[name=pay].newTag"}
      stable: {file: clusters/b/pay/stable/kustomization.yaml, path: "images[name=pay].newTag"}
      target: {httpRoute: {file: clusters/b/pay/route.yaml, stableBackend: pay-stable, canaryBackend: pay-canary}}
      kustomizations: [{name: pay, namespace: NAMESPACE, cluster: b}]
  waves:
    - {name: first, targets: [a], soak: 20s}
    - {name: second, targets: [b]}
  strategy:
    canary:
      steps:
        - setWeight: 50
        - analysis: {gates: [error-rate], window: 6s}
  gates:
    - name: error-rate
      interval: 2s
      prometheus:
        query: 'sum(rate(http_requests_total{version="{{.Version}}",code="500"}[4s])) / sum(rate(http_requests_total{version="{{.Version}}"}[4s]))'
        max: 0.05
        sampleQuery: 'sum(increase(http_requests_total{version="{{.Version}}"}[4s]))'
        minSamples: 10
`

// payFiles are rollout pay's files: its spec and release file, and for
// each target the example app of ramp init (cmd/ramp/example/apps/demo)
// renamed pay, at version 1.0.0.
func payFiles(t *testing.T, ns string) map[string]string {
	t.Helper()
	root, err := e2etest.Root()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"releases/pay/rollout.yaml": strings.ReplaceAll(paySpec, "NAMESPACE", ns),
		"releases/pay/release.yaml": "version: \"1.0.0\"\n",
	}
	example := filepath.Join(root, "cmd", "ramp", "example", "apps", "demo")
	for _, f := range []string{"kustomization.yaml", "route.yaml", "canary/kustomization.yaml", "canary/deployment.yaml",
		"stable/kustomization.yaml", "stable/deployment.yaml"} {
		b, err := os.ReadFile(filepath.Join(example, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{"a", "b"} {
			files["clusters/"+target+"/pay/"+f] = strings.ReplaceAll(string(b), "demo", "pay")
		}
	}
	return files
}

// apiServerPID finds the kube-apiserver process of cluster c (by its
// --secure-port), which the test started.
func apiServerPID(t *testing.T, c *e2etest.Cluster) int {
	t.Helper()
	u, err := url.Parse(c.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	want := "--secure-port=" + u.Port()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if strings.HasSuffix(args[0], "kube-apiserver") && strings.Contains(string(b), want) {
			return pid
		}
	}
	t.Fatalf("no kube-apiserver with %s", want)
	return 0
}

// TestWavesTakeAReleaseAcrossTwoClusters: rollout pay's first wave runs
// in the shared cluster, its second in cluster b, another API server with
// its own Flux controllers, which ramp reaches through the kubeconfig
// Secret spec.clusters names. A healthy release is promoted in a, waits
// out the soak, then rolls out in b (b's objects checked in b's API
// server); b's API server stopped mid-wave holds the rollout naming
// cluster b, and it continues when b is back. Then a release whose gate
// fails in a never reaches b.
func TestWavesTakeAReleaseAcrossTwoClusters(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Spec: spec(false, "setWeight: 20")})
	start := time.Now()
	b, err := e2etest.StartCluster(t.TempDir())
	if err != nil {
		t.Fatalf("cluster b: %v", err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	t.Logf("cluster b (API server and Flux) up in %s", time.Since(start).Round(100*time.Millisecond))
	pid := apiServerPID(t, b)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })

	// Flux in b: the same repository, verified the same way, applying
	// clusters/b/pay.
	signers := &corev1.Secret{}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(w.Cluster.Client.Get(w.Ctx, types.NamespacedName{Namespace: w.NS, Name: "release-signers"}, signers))
	check(b.Client.Create(w.Ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.NS}}))
	check(b.Client.Create(w.Ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.NS, Name: "release-signers"}, Data: signers.Data}))
	check(e2etest.CreateGitRepository(w.Ctx, b.Client, w.NS, e2etest.RepoName, e2etest.GitRepositorySpec{
		URL: w.URL, Branch: "main", Interval: 10 * time.Minute, VerifySecret: "release-signers"}))
	check(e2etest.CreateKustomization(w.Ctx, b.Client, w.NS, "pay", e2etest.KustomizationSpec{
		Source: e2etest.RepoName, Path: "./clusters/b/pay", Interval: 10 * time.Minute, TargetNamespace: w.NS}))
	check(e2etest.CreateKustomization(w.Ctx, w.Cluster.Client, w.NS, "pay", e2etest.KustomizationSpec{
		Source: e2etest.RepoName, Path: "./clusters/a/pay", Interval: 10 * time.Minute, TargetNamespace: w.NS}))
	kubeconfig, err := os.ReadFile(b.Kubeconfig)
	check(err)
	check(w.Cluster.Client.Create(w.Ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.NS, Name: "cluster-b"},
		Data: map[string][]byte{"value": kubeconfig}}))
	rr := &rampv1.ReleaseRepository{}
	check(w.Cluster.Client.Get(w.Ctx, types.NamespacedName{Namespace: w.NS, Name: e2etest.RepoName}, rr))
	rr.Spec.Clusters = []rampv1.ClusterReference{{Name: "b", KubeConfig: meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "cluster-b"}}}}
	check(w.Cluster.Client.Update(w.Ctx, rr))

	base := w.Dev.Commit(true, "pay: a rollout in two clusters", payFiles(t, w.NS))
	image := func(c *e2etest.Cluster, name string) string {
		img, err := e2etest.DeploymentImage(w.Ctx, c.Client, w.NS, name)
		if err != nil {
			return err.Error()
		}
		return img
	}
	// Flux applies pay in both clusters (ramp asks it to after its pushes;
	// here nobody has pushed yet: the test asks).
	for _, c := range []*e2etest.Cluster{w.Cluster, b} {
		check(e2etest.RequestReconcile(w.Ctx, c.Client, e2etest.GitRepositoryGVK, w.NS, e2etest.RepoName))
		check(e2etest.RequestReconcile(w.Ctx, c.Client, e2etest.KustomizationGVK, w.NS, "pay"))
	}
	w.Eventually(2*time.Minute, "Flux applies pay 1.0.0 in both clusters", func() (bool, string) {
		ia, ib := image(w.Cluster, "pay-stable"), image(b, "pay-stable")
		return ia == "ghcr.io/example/pay:1.0.0" && ib == ia, "a: " + ia + ", b: " + ib
	})

	// A healthy release: the canary of 1.1.0 answers (simulated traffic
	// at each scrape) without errors.
	w.Apps[e2etest.ReleaseVersion].SetTraffic(20)
	release := w.Dev.Edit(true, "pay: release 1.1.0", "releases/pay/release.yaml", func(string) string { return "version: \"1.1.0\"\n" })
	w.WaitCommit(release, 3*time.Minute, "pay/a completes", func(c e2etest.Commit) bool {
		return strings.HasPrefix(c.Subject, "ramp: pay/a 1.1.0 complete")
	})
	promotedA := w.WaitCommit(release, time.Second, "pay/a's promotion", func(c e2etest.Commit) bool {
		return strings.HasPrefix(c.Subject, "ramp: pay/a 1.1.0 promote")
	})
	// Cluster b's API server stops (SIGSTOP) during the soak.
	check(syscall.Kill(pid, syscall.SIGSTOP))
	stepB := w.WaitCommit(release, 2*time.Minute, "pay/b's first step", func(c e2etest.Commit) bool {
		return strings.HasPrefix(c.Subject, "ramp: pay/b 1.1.0 step 1/2 set-weight")
	})
	handOver := w.WaitCommit(release, time.Second, "the hand-over", func(c e2etest.Commit) bool {
		return strings.HasPrefix(c.Subject, "ramp: pay 1.1.0 start-wave second (b)")
	})
	if soak := handOver.Time.Sub(promotedA.Time); soak < 20*time.Second {
		t.Errorf("wave second started %s after a's promotion, before the soak of 20s", soak)
	}
	w.Eventually(time.Minute, "ramp holds pay/b naming cluster b", func() (bool, string) {
		s, _, _, err := e2etest.RolloutStatus(w.Ctx, w.Cluster.Client, w.NS, e2etest.RepoName, "pay/b")
		return err == nil && strings.Contains(s.Message, "cannot be confirmed applied: cluster b:"), stringOf(s, err)
	})
	if log := w.Auditor.Log(stepB.SHA); len(log) != 0 {
		t.Fatalf("ramp moved on while cluster b was stopped: %s", log[0].Subject)
	}
	check(syscall.Kill(pid, syscall.SIGCONT))
	done := w.WaitCommit(release, 3*time.Minute, "pay/b completes once cluster b is back", func(c e2etest.Commit) bool {
		return strings.HasPrefix(c.Subject, "ramp: pay/b 1.1.0 complete")
	})
	w.Eventually(2*time.Minute, "b runs 1.1.0 as stable", func() (bool, string) {
		ib := image(b, "pay-stable")
		return ib == "ghcr.io/example/pay:1.1.0", "b: " + ib
	})
	var subjects []string
	for _, c := range w.Auditor.Log(base) {
		subjects = append(subjects, c.Subject)
	}
	t.Logf("git log of release 1.1.0:\n%s", strings.Join(subjects, "\n"))
	assertSigned(t, w, base)

	// A release whose gate fails in a: version 1.0.0 now answers half its
	// requests with 500. It never reaches b.
	w.Apps[e2etest.StableVersion].SetErrorRate(0.5)
	bad := w.Dev.Edit(true, "pay: release 1.0.0 again", "releases/pay/release.yaml", func(string) string { return "version: \"1.0.0\"\n" })
	w.WaitCommit(bad, 3*time.Minute, "pay/a rolls back", func(c e2etest.Commit) bool {
		return strings.HasPrefix(c.Subject, "ramp: pay/a 1.0.0 rollback")
	})
	w.Eventually(time.Minute, "ramp reports release 1.0.0 stopped", func() (bool, string) {
		s, _, _, err := e2etest.RolloutStatus(w.Ctx, w.Cluster.Client, w.NS, e2etest.RepoName, "pay")
		return err == nil && strings.Contains(s.Message, "release 1.0.0 stopped: wave first: target a failed"), stringOf(s, err)
	})
	for _, c := range w.Auditor.Log(done.SHA) {
		if strings.Contains(c.Subject, "pay/b") || strings.Contains(c.Subject, "start-wave second") {
			t.Errorf("the failed release reached b: %s", c.Subject)
		}
	}
	for _, d := range []string{"pay-stable", "pay-canary"} {
		if ib := image(b, d); ib != "ghcr.io/example/pay:1.1.0" {
			t.Errorf("b's %s runs %s, want 1.1.0 unchanged", d, ib)
		}
	}
}

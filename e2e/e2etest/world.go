package e2etest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"k8s.io/utils/ptr"
)

// Names every world uses in its own namespace.
const (
	// Rollout is the rollout `ramp init` creates, and its HTTPRoute.
	Rollout = "demo"
	// RepoName names the GitRepository and the ReleaseRepository.
	RepoName = "release"
	// KustomizationName applies apps/demo.
	KustomizationName = "demo"
	// StableVersion is the version `ramp init` deploys; ReleaseVersion
	// the one the tests release.
	StableVersion  = "1.0.0"
	ReleaseVersion = "1.1.0"
	// RampEmail is ramp's identity (the default of spec.identity).
	RampEmail = "ramp@localhost"
)

// Options shape a world.
type Options struct {
	// Spec is releases/demo/rollout.yaml; NAMESPACE in it is replaced by
	// the world's namespace.
	Spec string
	// Rate is the load in requests per second (default 50).
	Rate int
	// GitInterval is the GitRepository's interval (default 10m: Flux
	// fetches when ramp asks it to, or when a test does).
	GitInterval time.Duration
	// RampInterval is the ReleaseRepository's interval (default 10m:
	// ramp reconciles on webhooks, Flux status changes and its own
	// requeues).
	RampInterval time.Duration
	// Gateway puts Traefik in front of the apps instead of the load
	// generator's split (see gateway.go): GatewayHTTPRoute serves
	// apps/demo/route.yaml on a Gateway, GatewayTraefikService an
	// IngressRoute to apps/demo/traefik.yaml's TraefikServices. "" keeps
	// the stand-in.
	Gateway string
	// NoLoad sends no background load (tests that count every request).
	NoLoad bool
	// Files are more files (path → content) of the commit that gives the
	// repository the scenario's spec; NAMESPACE in them is replaced too.
	Files map[string]string
	// Guardrails are the ReleaseRepository's spec.guardrails ("" for none).
	Guardrails string
}

// What Options.Gateway may say.
const (
	GatewayHTTPRoute      = "httproute"
	GatewayTraefikService = "traefikservice"
)

// World is one scenario's world, in a namespace of its own: a git host
// with the release repository (made by `ramp init`, then given the
// scenario's spec), the people who push to it, a GitRepository that
// verifies HEAD's signature and a Kustomization applying apps/demo, the
// demo apps of both versions, Prometheus scraping them, the load that
// follows the applied HTTPRoute, and `ramp controller`.
type World struct {
	T       testing.TB
	Ctx     context.Context
	Cluster *Cluster
	NS, Dir string

	Host *GitHost
	URL  string
	// Keys: ramp's, the engineer's, the approvers' (group sre) and one
	// nobody trusts.
	RampKey, DevKey, AliceKey, BobKey, MalloryKey Key
	// Dev releases; Alice and Bob approve (sre); Auditor only reads.
	Dev, Alice, Bob, Auditor *Person
	// AllowedSigners trusts ramp, dev, alice and bob, for git verify-commit.
	AllowedSigners string

	Apps map[string]*evidencetest.App
	Prom *evidencetest.Prom
	Load *Load
	// Traefik and Pods run when Options.Gateway is set.
	Traefik *Traefik
	Pods    *Pods
	Ramp    *RampController
	Applied *AppliedLog
}

// NewWorld builds a world in a fresh namespace and waits until Flux has
// applied the repository and ramp reports the rollout Stable.
func NewWorld(t testing.TB, c *Cluster, o Options) *World {
	t.Helper()
	if o.Rate == 0 {
		o.Rate = 50
	}
	if o.GitInterval == 0 {
		o.GitInterval = 10 * time.Minute
	}
	if o.RampInterval == 0 {
		o.RampInterval = 10 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &World{T: t, Ctx: ctx, Cluster: c, NS: "e2e-" + randomHex(4), Dir: t.TempDir(), Apps: map[string]*evidencetest.App{}}
	t.Cleanup(w.dumpOnFailure)
	w.check(c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.NS}}))

	keys := t.TempDir()
	w.RampKey, w.DevKey = NewKey(t, keys, "ramp"), NewKey(t, keys, "dev")
	w.AliceKey, w.BobKey, w.MalloryKey = NewKey(t, keys, "alice"), NewKey(t, keys, "bob"), NewKey(t, keys, "mallory")
	w.AllowedSigners = filepath.Join(keys, "allowed_signers")
	w.check(os.WriteFile(w.AllowedSigners, []byte(strings.Join([]string{
		RampEmail + " " + w.RampKey.Public, "dev@example.com " + w.DevKey.Public,
		"alice@example.com " + w.AliceKey.Public, "bob@example.com " + w.BobKey.Public, ""}, "\n")), 0o644))

	w.Host = NewGitHost(t)
	w.URL = w.Host.InitBare("release.git")
	w.initRepository(o.Spec, o.Gateway, o.Files)
	w.Alice = NewPerson(t, w.URL, "Alice", "alice@example.com", w.AliceKey)
	w.Bob = NewPerson(t, w.URL, "Bob", "bob@example.com", w.BobKey)
	w.Auditor = NewPerson(t, w.URL, "Auditor", "auditor@example.com", NewKey(t, keys, "auditor"))

	w.startFlux(o.GitInterval)
	for _, v := range []string{StableVersion, ReleaseVersion} {
		app, err := evidencetest.StartApp(v)
		w.check(err)
		t.Cleanup(app.Close)
		app.SetLatency(2 * time.Millisecond)
		app.InitSeries()
		w.Apps[v] = app
	}
	var err error
	w.Prom, err = evidencetest.RunPrometheus(ctx, evidencetest.PromOptions{
		Dir: w.mkdir("prometheus"), Targets: []string{w.Apps[StableVersion].Target, w.Apps[ReleaseVersion].Target}})
	w.check(err)
	t.Cleanup(w.Prom.Stop)
	switch {
	case o.Gateway != "":
		w.startGateway(o.Gateway)
		if !o.NoLoad {
			w.Load = StartGatewayLoad(w.Traefik, o.Rate)
			t.Cleanup(w.Load.Stop)
		}
	case !o.NoLoad:
		w.Load = StartLoad(c.Client, w.NS, Rollout, o.Rate, w.Apps[StableVersion], w.Apps[ReleaseVersion])
		t.Cleanup(w.Load.Stop)
	}
	w.startRamp(o.RampInterval, o.Guardrails)
	return w
}

// initRepository pushes what `ramp init` creates, then Dev replaces the
// rollout's spec with the scenario's in a signed commit, so that HEAD is
// signed from the start; with a gateway, the same commit fits the apps to
// it (gatewayFiles). The same commit writes the extra files.
func (w *World) initRepository(spec, gateway string, extra map[string]string) {
	t := w.T
	ramp, err := Binary("ramp", "build")
	w.check(err)
	home := t.TempDir()
	env := gittest.GitEnv(home)
	dir := filepath.Join(home, "init")
	runTool(t, env, home, ramp, "init", dir)
	gittest.Git(t, dir, env, "push", "-q", w.URL, "main")
	w.Dev = NewPerson(t, w.URL, "Dev", "dev@example.com", w.DevKey)
	files := map[string]string{"releases/demo/rollout.yaml": strings.ReplaceAll(spec, "NAMESPACE", w.NS)}
	for path, content := range extra {
		files[path] = strings.ReplaceAll(content, "NAMESPACE", w.NS)
	}
	if gateway != "" {
		w.check(w.gatewayFiles(gateway, files))
	}
	w.Dev.Commit(true, "demo: the rollout spec of this scenario", files)
}

// startFlux creates the verify Secret, the GitRepository and the
// Kustomization, and waits until Flux applied HEAD.
func (w *World) startFlux(interval time.Duration) {
	c := w.Cluster.Client
	w.check(c.Create(w.Ctx, &corev1.Secret{ObjectMeta: w.meta("release-signers"), StringData: map[string]string{
		"ramp.sshpub": w.RampKey.Public, "dev.sshpub": w.DevKey.Public,
		"alice.sshpub": w.AliceKey.Public, "bob.sshpub": w.BobKey.Public,
	}}))
	w.check(CreateGitRepository(w.Ctx, c, w.NS, RepoName, GitRepositorySpec{
		URL: w.URL, Branch: "main", Interval: interval, VerifySecret: "release-signers"}))
	w.check(CreateKustomization(w.Ctx, c, w.NS, KustomizationName, KustomizationSpec{
		Source: RepoName, Path: "./apps/demo", Interval: interval, TargetNamespace: w.NS}))
	w.T.Cleanup(func() {
		// Flux forgets the objects; the envtest API server has no
		// namespace controller to delete them with the namespace.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = deleteObject(ctx, c, KustomizationGVK, w.NS, KustomizationName)
		_ = deleteObject(ctx, c, GitRepositoryGVK, w.NS, RepoName)
	})
	w.Applied = WatchApplied(w.Ctx, c, w.NS, KustomizationName, Rollout)
	head := w.Auditor.Git("rev-parse", "origin/main")
	w.WaitApplied(head, 2*time.Minute)
}

// startRamp creates ramp's Secrets, the approvers' ConfigMap and the
// ReleaseRepository, starts `ramp controller`, registers its webhook with
// the git host and waits until it reports the rollout Stable.
func (w *World) startRamp(interval time.Duration, guardrails string) {
	c := w.Cluster.Client
	key, err := os.ReadFile(w.RampKey.Private)
	w.check(err)
	token := randomHex(16)
	w.check(c.Create(w.Ctx, &corev1.Secret{ObjectMeta: w.meta("ramp-signing"), Data: map[string][]byte{rampv1.SigningKeyKey: key}}))
	w.check(c.Create(w.Ctx, &corev1.Secret{ObjectMeta: w.meta("webhook"), StringData: map[string]string{rampv1.TokenKey: token}}))
	w.check(c.Create(w.Ctx, &corev1.ConfigMap{ObjectMeta: w.meta("approvers"), Data: map[string]string{
		"sre.allowed_signers": "alice@example.com " + w.AliceKey.Public + "\nbob@example.com " + w.BobKey.Public + "\n",
		"dev.allowed_signers": "dev@example.com " + w.DevKey.Public + "\n",
	}}))
	w.check(c.Create(w.Ctx, &rampv1.ReleaseRepository{ObjectMeta: w.meta(RepoName), Spec: rampv1.ReleaseRepositorySpec{
		URL: w.URL, Branch: "main", Interval: metav1.Duration{Duration: interval}, Guardrails: guardrails,
		SigningKeySecretRef: meta.LocalObjectReference{Name: "ramp-signing"},
		Approvers:           &rampv1.Approvers{ConfigMapRef: &meta.LocalObjectReference{Name: "approvers"}},
		Prometheus:          &rampv1.Prometheus{Address: w.Prom.URL},
		Webhook:             &rampv1.Webhook{SecretRef: meta.LocalObjectReference{Name: "webhook"}},
		// Flux verifies HEAD: ramp must not sign on top of a tip nobody
		// trusted.
		RequireSignedTip: ptr.To(true),
	}}))
	w.Ramp, err = NewRampController(w.Cluster.Kubeconfig, w.NS, w.mkdir("ramp"))
	w.check(err)
	w.check(w.Ramp.Start())
	w.T.Cleanup(w.Ramp.Stop)
	w.Host.AddWebhook(w.Ramp.HookURL(RepoName), []byte(token))
	w.WaitRollout(time.Minute, "ramp reports rollout demo Stable", func(s rampv1.RolloutStatus) bool {
		return s.Phase == "Stable"
	})
}

// StartRelease is Dev's signed commit that sets the canary's image tag
// to version, as a merged pull request would; it returns the commit.
func (w *World) StartRelease(version string) string {
	w.T.Helper()
	return w.Dev.Edit(true, "demo: release "+version, "apps/demo/canary/kustomization.yaml", func(s string) string {
		return strings.Replace(s, `newTag: "`+StableVersion+`"`, `newTag: "`+version+`"`, 1)
	})
}

func (w *World) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: w.NS, Name: name}
}

func (w *World) mkdir(name string) string {
	dir := filepath.Join(w.Dir, name)
	w.check(os.MkdirAll(dir, 0o755))
	return dir
}

// check fails the test on err.
func (w *World) check(err error) {
	w.T.Helper()
	if err != nil {
		w.T.Fatal(err)
	}
}

// dumpOnFailure logs what a failed scenario's components said.
func (w *World) dumpOnFailure() {
	if !w.T.Failed() {
		return
	}
	if w.Ramp != nil {
		w.T.Logf("ramp controller log (end):\n%s", w.Ramp.Log(24<<10))
	}
	if w.Applied != nil {
		w.T.Logf("Flux applied, in order:\n%s", w.Applied)
	}
	if w.Host != nil {
		for _, d := range w.Host.Deliveries() {
			w.T.Logf("webhook: %s", d)
		}
	}
	if w.Auditor != nil {
		out, _ := gittest.GitResult(w.T, w.Auditor.Dir, nil, "log", "--format=%h %ae %s%n%(trailers:only,unfold)", "origin/main")
		w.T.Logf("git log:\n%s", out)
	}
	if w.Prom != nil {
		w.T.Logf("prometheus log (end):\n%s", w.Prom.Log())
	}
	if w.Traefik != nil {
		w.T.Logf("traefik log (end):\n%s", w.Traefik.Tail(8<<10))
		if cfg, err := w.Traefik.Config(); err == nil {
			w.T.Logf("traefik routers and services:\n%s", cfg)
		}
	}
	w.T.Logf("kustomize-controller log (end):\n%s", w.Cluster.Kustomize.Tail(6<<10))
	w.T.Logf("source-controller log (end):\n%s", w.Cluster.Source.Tail(6<<10))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

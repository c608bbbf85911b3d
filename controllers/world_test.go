package controllers_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// Names of the objects every world creates in its namespace.
const (
	repoName       = "release"
	signingSecret  = "ramp-signing"
	approversCM    = "approvers"
	kustomizeName  = "demo"
	gitRepoName    = "release"
	waitFor        = 60 * time.Second
	pollEvery      = 100 * time.Millisecond
	rampPrincipal  = "ramp@localhost"
	releaseVersion = "1.1.0"
)

// world is one test's namespace in the API server, a release repository
// served over smart HTTP with rollout demo (steps: setWeight 10, approval
// sre, setWeight 50, approval sre; applied by Kustomization demo), a
// person's clone, ramp's signing key in a Secret and the approvers' keys
// in a ConfigMap.
type world struct {
	t       *testing.T
	ns      string
	server  *gittest.Server
	url     string
	work    string
	devEnv  []string
	rampKey []byte
	rampPub string
	// allowed is an allowed-signers file trusting ramp's key, for the
	// system git's verify-commit.
	allowed string
	// pushSecret names the Secret with the server's credentials, if it
	// requires any.
	pushSecret string
}

func newWorld(t *testing.T) *world { return newWorldWith(t, "", "", "") }

// newWorldWithAuth is newWorld with a server that requires HTTP basic
// auth with user and password; the Secret git-push holds them.
func newWorldWithAuth(t *testing.T, user, password string) *world {
	return newWorldWith(t, user, password, "")
}

// newWorldWith is newWorld with basic auth when user is set, and rollout
// demo's spec when spec is set.
func newWorldWith(t *testing.T, user, password, spec string) *world {
	t.Helper()
	w := &world{t: t, ns: "t-" + randomSuffix()}
	w.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}})

	var opts []gittest.ServerOption
	if user != "" {
		opts = append(opts, gittest.BasicAuth(user, password))
	}
	w.server = gittest.NewServer(t, opts...)
	w.server.InitBare(t, "release.git")
	w.url = w.server.URL("release.git")
	devURL := w.url
	if user != "" {
		devURL = strings.Replace(w.url, "http://", "http://"+user+":"+password+"@", 1)
		w.pushSecret = "git-push"
		w.create(&corev1.Secret{ObjectMeta: w.meta(w.pushSecret), Data: map[string][]byte{
			rampv1.UsernameKey: []byte(user), rampv1.PasswordKey: []byte(password)}})
	}
	keys := t.TempDir()
	rampKey, rampPub := gittest.SSHKey(t, keys, "ramp")
	devKey, devPub := gittest.SSHKey(t, keys, "dev")
	_, alicePub := gittest.SSHKey(t, keys, "alice")
	w.rampPub = rampPub
	var err error
	if w.rampKey, err = os.ReadFile(rampKey); err != nil {
		t.Fatal(err)
	}
	w.allowed = filepath.Join(keys, "allowed_signers")
	if err := os.WriteFile(w.allowed, []byte(rampPrincipal+" "+rampPub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.devEnv = []string{"GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_EMAIL=dev@example.com",
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh",
		"GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1=" + devKey}

	if spec == "" {
		spec = policytest.SpecYAML("demo")
	}
	spec = strings.ReplaceAll(spec, "namespace: flux-system", "namespace: "+w.ns)
	w.work = filepath.Join(t.TempDir(), "work")
	gittest.InitRepo(t, w.work, gittest.RolloutFilesWithSpec("demo", "1.0.0", spec))
	w.git("remote", "add", "origin", devURL)
	w.git("push", "-q", "origin", "main")

	w.create(&corev1.Secret{ObjectMeta: w.meta(signingSecret), Data: map[string][]byte{rampv1.SigningKeyKey: w.rampKey}})
	w.create(&corev1.ConfigMap{ObjectMeta: w.meta(approversCM), Data: map[string]string{
		"sre.allowed_signers": "alice@example.com " + alicePub + "\ndev@example.com " + devPub + "\n"}})
	w.create(w.flux(controllers.GitRepositoryGVK.Kind, gitRepoName, map[string]any{"interval": "1m", "url": w.url}))
	w.create(w.flux(controllers.KustomizationGVK.Kind, kustomizeName, map[string]any{
		"interval": "10m", "prune": true, "path": "./apps/demo",
		"sourceRef": map[string]any{"kind": "GitRepository", "name": gitRepoName}}))
	return w
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (w *world) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: w.ns, Name: name}
}

func (w *world) create(obj client.Object) {
	w.t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		w.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// flux returns a Flux object of kind with spec.
func (w *world) flux(kind, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	gvk := controllers.KustomizationGVK
	if kind == controllers.GitRepositoryGVK.Kind {
		gvk = controllers.GitRepositoryGVK
	}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(w.ns)
	u.SetName(name)
	return u
}

// repository creates the ReleaseRepository, changed by mutate first. Its
// interval is an hour: the tests trigger every reconcile they expect.
func (w *world) repository(name string, mutate func(*rampv1.ReleaseRepository)) *rampv1.ReleaseRepository {
	w.t.Helper()
	rr := &rampv1.ReleaseRepository{ObjectMeta: w.meta(name), Spec: rampv1.ReleaseRepositorySpec{
		URL:                 w.url,
		Interval:            metav1.Duration{Duration: time.Hour},
		SigningKeySecretRef: meta.LocalObjectReference{Name: signingSecret},
		Approvers:           &rampv1.Approvers{ConfigMapRef: &meta.LocalObjectReference{Name: approversCM}},
	}}
	if w.pushSecret != "" {
		rr.Spec.SecretRef = &meta.LocalObjectReference{Name: w.pushSecret}
	}
	if mutate != nil {
		mutate(rr)
	}
	w.create(rr)
	return rr
}

// start runs a manager for the world's namespace until the test ends and
// returns its stop function.
func (w *world) start(mutate func(*controllers.Options)) func() {
	w.t.Helper()
	return w.startWith(restCfg, mutate)
}

// startWith is start with the manager talking to the API server as cfg.
func (w *world) startWith(cfg *rest.Config, mutate func(*controllers.Options)) func() {
	w.t.Helper()
	o := controllers.Options{MetricsAddr: "0", HealthAddr: "0", Namespace: w.ns, DataDir: w.t.TempDir(),
		SkipNameValidation: true, Logger: testLogger(), PassTimeout: 30 * time.Second}
	if mutate != nil {
		mutate(&o)
	}
	mgr, err := controllers.NewManager(cfg, o)
	if err != nil {
		w.t.Fatalf("new manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("manager stopped with: %v", err)
		}
	}
	w.t.Cleanup(stop)
	return stop
}

// testLogger logs errors to stderr; RAMP_TEST_LOG=1 logs everything.
func testLogger() logr.Logger {
	level := slog.LevelError
	if os.Getenv("RAMP_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// git runs the system git in the person's clone as dev.
func (w *world) git(args ...string) string {
	w.t.Helper()
	return gittest.Git(w.t, w.work, gittest.GitEnv(w.t.TempDir(), w.devEnv...), args...)
}

// release starts a release: dev changes the canary tag, signs and pushes.
func (w *world) release(version string) string { return w.releaseSigned(version, true) }

// releaseSigned is release, with a signed commit or not.
func (w *world) releaseSigned(version string, sign bool) string {
	w.t.Helper()
	w.git("pull", "-q", "--ff-only", "origin", "main")
	gittest.WriteFiles(w.t, w.work, map[string]string{"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", version)})
	args := []string{"commit", "-q", "-am", "demo: release " + version}
	if sign {
		args = append(args, "-S")
	}
	w.git(args...)
	w.git("push", "-q", "origin", "main")
	return w.git("rev-parse", "HEAD")
}

// serverGit runs the system git in the served bare repository.
func (w *world) serverGit(args ...string) string {
	w.t.Helper()
	return gittest.Git(w.t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(w.t.TempDir()), args...)
}

// tip is the server's main.
func (w *world) tip() string { return w.serverGit("rev-parse", "main") }

// trailer returns the values of a trailer of a commit on the server.
func (w *world) trailer(commit, key string) string {
	return strings.TrimSpace(w.serverGit("log", "-1", "--format=%(trailers:key="+key+",valueonly)", commit))
}

// verifyRampCommit checks with the system git that ramp signed commit.
func (w *world) verifyRampCommit(commit string) {
	w.t.Helper()
	out, err := gittest.GitResult(w.t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(w.t.TempDir()),
		"-c", "gpg.ssh.allowedSignersFile="+w.allowed, "verify-commit", commit)
	if err != nil {
		w.t.Fatalf("git verify-commit %s: %v\n%s", commit, err, out)
	}
}

// requestReconcile sets the reconcile request annotation, as `flux
// reconcile` would, and returns its value.
func (w *world) requestReconcile(name string) string {
	w.t.Helper()
	v := time.Now().UTC().Format(time.RFC3339Nano)
	rr := &rampv1.ReleaseRepository{ObjectMeta: w.meta(name)}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, v)
	if err := k8s.Patch(context.Background(), rr, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		w.t.Fatalf("annotate %s: %v", name, err)
	}
	return v
}

// get reads the ReleaseRepository.
func (w *world) get(name string) *rampv1.ReleaseRepository {
	w.t.Helper()
	rr := &rampv1.ReleaseRepository{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: w.ns, Name: name}, rr); err != nil {
		w.t.Fatalf("get %s: %v", name, err)
	}
	return rr
}

// wait polls the ReleaseRepository until ok holds, and fails with the
// last status otherwise.
func (w *world) wait(name, what string, ok func(*rampv1.ReleaseRepository) bool) *rampv1.ReleaseRepository {
	w.t.Helper()
	var rr *rampv1.ReleaseRepository
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if rr = w.get(name); ok(rr) {
			return rr
		}
		time.Sleep(pollEvery)
	}
	w.t.Fatalf("%s: timed out waiting for %s; status:\n%+v", name, what, rr.Status)
	return nil
}

// eventually polls cond until it holds, and fails with what otherwise.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(pollEvery)
	}
	w.t.Fatalf("timed out waiting for %s", what)
}

// rollout returns the status of rollout demo.
func rollout(rr *rampv1.ReleaseRepository) rampv1.RolloutStatus {
	for _, r := range rr.Status.Rollouts {
		if r.Name == "demo" {
			return r
		}
	}
	return rampv1.RolloutStatus{}
}

// ready returns the Ready condition, or an empty one.
func condition(rr *rampv1.ReleaseRepository, typ string) metav1.Condition {
	if c := apimeta.FindStatusCondition(rr.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// kustomization reads Kustomization demo.
func (w *world) kustomization() *unstructured.Unstructured {
	w.t.Helper()
	u := w.flux(controllers.KustomizationGVK.Kind, kustomizeName, nil)
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(u), u); err != nil {
		w.t.Fatalf("get Kustomization: %v", err)
	}
	return u
}

// setFluxStatus writes Kustomization demo's status as kustomize-controller
// would after applying (ready "True") or failing to apply ("False") a
// revision.
func (w *world) setFluxStatus(ready, reason, message, applied, attempted string) {
	w.t.Helper()
	u := w.kustomization()
	status := map[string]any{
		"observedGeneration":    u.GetGeneration(),
		"lastAttemptedRevision": attempted,
		"conditions": []any{map[string]any{
			"type": "Ready", "status": ready, "reason": reason, "message": message,
			"lastTransitionTime": time.Now().UTC().Format(time.RFC3339), "observedGeneration": u.GetGeneration(),
		}},
	}
	if applied != "" {
		status["lastAppliedRevision"] = applied
	}
	u.Object["status"] = status
	if err := k8s.Status().Update(context.Background(), u); err != nil {
		w.t.Fatalf("update Kustomization status: %v", err)
	}
}

// events returns the events about the named ReleaseRepository with reason.
func (w *world) events(name, reason string) []eventsv1.Event {
	w.t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(w.ns)); err != nil {
		w.t.Fatalf("list events: %v", err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Regarding.Kind == rampv1.ReleaseRepositoryKind && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// objectKey is the key of obj.
func objectKey(obj client.Object) client.ObjectKey { return client.ObjectKeyFromObject(obj) }

package controllers_test

import (
	"context"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// secondCluster starts another real API server (cluster "b") with Flux's
// CRDs, stopped when the test ends, and returns a client of it and a
// kubeconfig for it.
func secondCluster(t *testing.T) (client.Client, []byte) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var crds []string
	for _, mod := range []string{"kustomize-controller", "source-controller"} {
		dir, err := moduleDir("github.com/fluxcd/" + mod + "@" + fluxVersion)
		if err != nil {
			t.Fatal(err)
		}
		crds = append(crds, filepath.Join(dir, "config", "crd", "bases"))
	}
	env := &envtest.Environment{BinaryAssetsDirectory: filepath.Join(root, "bin", "k8s"), CRDDirectoryPaths: crds,
		ErrorIfCRDPathMissing: true, ControlPlaneStartTimeout: 3 * time.Minute, ControlPlaneStopTimeout: time.Minute}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start cluster b (bin/k8s from make tools): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.AddUser(envtest.User{Name: "ramp", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := controllers.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, kubeconfig
}

// TestWavesAcrossTwoClusters: rollout pay's target eu is applied by a
// Kustomization in ramp's cluster, us and ap by one in cluster b, read
// through the kubeconfig Secret spec.clusters names. Flux is played by
// the test: it reports the branch tip applied in each cluster. Cluster b
// unreachable holds wave rest naming the cluster; once it is back the
// release completes, and the reconcile requests reached cluster b.
func TestWavesAcrossTwoClusters(t *testing.T) {
	b, kubeconfig := secondCluster(t)
	w := newWorld(t)
	ctx := context.Background()

	spec := strings.NewReplacer("cluster: eu}", "}", "cluster: us}", "cluster: b}", "cluster: ap}", "cluster: b}",
		"namespace: flux-system", "namespace: "+w.ns, "soak: 30m", "soak: 2s",
		"        - analysis: {gates: [error-rate], window: 5m}\n", "").Replace(policytest.WavesYAML("pay"))
	w.git("pull", "-q", "origin", "main")
	gittest.WriteFiles(t, w.work, gittest.WavesFiles("pay", "1.0.0", spec, "eu", "us", "ap"))
	w.git("add", "-A")
	w.git("commit", "-q", "-S", "-m", "pay: rollout in waves")
	w.git("push", "-q", "origin", "main")

	kustomization := func(c client.Client) *unstructured.Unstructured {
		u := w.flux(controllers.KustomizationGVK.Kind, "pay", map[string]any{"interval": "10m", "prune": true, "path": "./clusters",
			"sourceRef": map[string]any{"kind": "GitRepository", "name": gitRepoName}})
		if err := c.Create(ctx, u); err != nil {
			t.Fatalf("create Kustomization pay: %v", err)
		}
		return u
	}
	if err := b.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}}); err != nil {
		t.Fatal(err)
	}
	kustomization(k8s)
	kustomization(b)
	secret := &corev1.Secret{ObjectMeta: w.meta("cluster-b"), Data: map[string][]byte{"value": kubeconfig}}
	w.create(secret)
	w.repository("fleet", func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Clusters = []rampv1.ClusterReference{{Name: "b", KubeConfig: meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "cluster-b"}}}}
	})
	w.start(nil)

	// Flux in each cluster: the tip is applied (again after a conflict
	// with ramp's reconcile request).
	var setApplied func(client.Client) error
	applied := func(c client.Client) {
		for try := 0; ; try++ {
			err := setApplied(c)
			if err == nil {
				return
			}
			if !apierrors.IsConflict(err) || try > 5 {
				t.Fatalf("update Kustomization status: %v", err)
			}
		}
	}
	setApplied = func(c client.Client) error {
		u := w.flux(controllers.KustomizationGVK.Kind, "pay", nil)
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
			return err
		}
		rev := "main@sha1:" + w.tip()
		u.Object["status"] = map[string]any{"observedGeneration": u.GetGeneration(), "lastAppliedRevision": rev, "lastAttemptedRevision": rev,
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "Applied revision: " + rev,
				"lastTransitionTime": time.Now().UTC().Format(time.RFC3339), "observedGeneration": u.GetGeneration()}}}
		return c.Status().Update(ctx, u)
	}
	subject := func() string { return w.serverGit("log", "-1", "--format=%s", "main") }
	until := func(want string, inB bool) {
		t.Helper()
		w.eventually("a commit "+want, func() bool {
			applied(k8s)
			if inB {
				applied(b)
			}
			w.requestReconcile("fleet")
			time.Sleep(300 * time.Millisecond)
			return strings.Contains("\n"+w.serverGit("log", "--format=%s", "main"), "\n"+want)
		})
	}

	w.git("pull", "-q", "origin", "main")
	gittest.WriteFiles(t, w.work, map[string]string{"releases/pay/release.yaml": gittest.Release("2.0.0")})
	w.git("commit", "-q", "-S", "-am", "pay: release 2.0.0")
	w.git("push", "-q", "origin", "main")

	until("ramp: pay 2.0.0 start-wave rest (us, ap)", false)
	// Cluster b cannot be reached: its kubeconfig points at a port nothing
	// listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	bad := regexp.MustCompile(`server: https://127\.0\.0\.1:[0-9]+`).ReplaceAllString(string(kubeconfig), "server: https://"+closed)
	if bad == string(kubeconfig) {
		t.Fatalf("kubeconfig has no loopback server:\n%s", kubeconfig)
	}
	secret.Data["value"] = []byte(bad)
	if err := k8s.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	until("ramp: pay/ap 2.0.0 step 1/1 set-weight", false)
	held := subject()
	rr := w.wait("fleet", "a hold naming cluster b", func(rr *rampv1.ReleaseRepository) bool {
		w.requestReconcile("fleet")
		for _, r := range rr.Status.Rollouts {
			if strings.HasPrefix(r.Name, "pay") && strings.Contains(r.Message, "cannot be confirmed applied: cluster b:") {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second)
	if got := subject(); got != held {
		t.Fatalf("ramp moved on while cluster b was unreachable: %q", got)
	}
	for _, r := range rr.Status.Rollouts {
		if strings.HasPrefix(r.Name, "pay") {
			t.Logf("status %s: %s (waiting for %s)", r.Name, r.Message, r.WaitingFor)
		}
	}
	// Back: the release completes in cluster b too.
	secret.Data["value"] = kubeconfig
	if err := k8s.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	until("ramp: pay/ap 2.0.0 complete", true)
	u := w.flux(controllers.KustomizationGVK.Kind, "pay", nil)
	if err := b.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		t.Fatal(err)
	}
	if u.GetAnnotations()[meta.ReconcileRequestAnnotation] == "" {
		t.Errorf("no reconcile request reached cluster b's Kustomization: %v", u.GetAnnotations())
	}
	if got := w.serverGit("show", "main:clusters/us/pay/stable/kustomization.yaml"); !strings.Contains(got, `newTag: "2.0.0"`) {
		t.Errorf("us's stable after the release:\n%s", got)
	}
}

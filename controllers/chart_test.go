package controllers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/policy"
)

// TestChartAppliesWithServerSideDryRun renders charts/ramp with the helm
// binary `make tools` builds, in its default form (all namespaces) and a
// namespaced, leader-elected one, and applies every object to the API
// server with server-side dry run: the server validates each against its
// schema (the CRD included), as `helm install` would send them.
func TestChartAppliesWithServerSideDryRun(t *testing.T) {
	for _, ns := range []string{"ramp-system", "apps", "flux-system"} {
		err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		set  []string
		want []string // kinds the rendering must hold
	}{
		{"all-namespaces", nil,
			[]string{"CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "ConfigMap"}},
		{"one-namespace-leader-elected", []string{"watchNamespace=apps", "rbac.fluxNamespaces={flux-system}", "replicas=2"},
			[]string{"CustomResourceDefinition", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service", "ConfigMap"}},
		{"cluster-guardrails", []string{"guardrails.maxWeightStep=25", "guardrails.riskTiers.high.minBake=30m", "guardrails.freeze.exceptionGroups={cab}"},
			[]string{"CustomResourceDefinition", "Deployment", "ConfigMap"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := renderChart(t, "ramp-system", c.set...)
			objs := decodeAll(t, out)
			kinds := map[string]bool{}
			for _, u := range objs {
				kinds[u.GetKind()] = true
				ac := client.ApplyConfigurationFromUnstructured(u)
				if err := k8s.Apply(context.Background(), ac, client.DryRunAll, client.ForceOwnership, client.FieldOwner("chart-test")); err != nil {
					t.Errorf("server-side dry-run apply of %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
				}
			}
			for _, k := range c.want {
				if !kinds[k] {
					t.Errorf("rendering has no %s (kinds: %v)", k, kinds)
				}
			}
			if kinds["ServiceMonitor"] {
				t.Errorf("ServiceMonitor rendered though serviceMonitor.enabled is false")
			}
			if c.name == "one-namespace-leader-elected" && !strings.Contains(string(out), "--leader-elect=true") {
				t.Errorf("two replicas without --leader-elect=true")
			}
			if c.name == "cluster-guardrails" {
				checkChartGuardrails(t, objs)
			} else if strings.Contains(deploymentArgs(objs), "--guardrails") {
				t.Errorf("--guardrails rendered without a guardrails value")
			}
		})
	}
}

// TestChartRBACIsEnoughToRunARelease installs the chart's ServiceAccount
// and Roles (one namespace, leader election on) for real and runs the
// controller as that ServiceAccount, by impersonation, through a release
// step, Flux's apply, a bad Secret and a webhook: the API server's RBAC
// refuses whatever the chart does not grant.
func TestChartRBACIsEnoughToRunARelease(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	out := renderChart(t, w.ns, "watchNamespace="+w.ns, "replicas=2")
	for _, u := range decodeAll(t, out) {
		switch u.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding":
			ac := client.ApplyConfigurationFromUnstructured(u)
			if err := k8s.Apply(context.Background(), ac, client.ForceOwnership, client.FieldOwner("chart-test")); err != nil {
				t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
	}
	cfg := rest.CopyConfig(restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + w.ns + ":ramp"}
	w.create(&corev1.Secret{ObjectMeta: w.meta("hook"), Data: map[string][]byte{rampv1.TokenKey: []byte(hookSecret)}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.startWith(cfg, func(o *controllers.Options) {
		o.LeaderElect, o.LeaderElectionID = true, "ramp-rbac"
		o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 4*time.Second, 3*time.Second, 500*time.Millisecond
		o.WebhookListener = l
	})
	w.repository(repoName, func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Webhook = &rampv1.Webhook{SecretRef: meta.LocalObjectReference{Name: "hook"}}
	})
	w.repository("stalled", func(rr *rampv1.ReleaseRepository) { rr.Spec.SigningKeySecretRef.Name = "absent" })
	w.wait(repoName, "Ready", func(rr *rampv1.ReleaseRepository) bool {
		return condition(rr, meta.ReadyCondition).Status == metav1.ConditionTrue
	})
	w.wait("stalled", "Stalled", func(rr *rampv1.ReleaseRepository) bool {
		return condition(rr, meta.StalledCondition).Reason == controllers.ReasonSecretNotFound
	})

	w.release(releaseVersion)
	push := []byte(`{"ref":"refs/heads/main"}`)
	url := "http://" + l.Addr().String() + controllers.HookPath + w.ns + "/" + repoName
	if code, body := post(t, url, push, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(push, hookSecret)}); code != http.StatusAccepted {
		t.Fatalf("webhook as the ServiceAccount: %d %s", code, body)
	}
	w.wait(repoName, "step 1", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 1 })
	step1 := w.tip()
	w.eventually("the SetWeight event and the Flux reconcile request", func() bool {
		g := w.flux("GitRepository", gitRepoName, nil)
		if err := k8s.Get(t.Context(), objectKey(g), g); err != nil {
			t.Fatal(err)
		}
		return len(w.events(repoName, "SetWeight")) == 1 &&
			w.kustomization().GetAnnotations()[meta.ReconcileRequestAnnotation] != "" &&
			g.GetAnnotations()[meta.ReconcileRequestAnnotation] != ""
	})
	w.setFluxStatus("True", "ReconciliationSucceeded", "applied", "main@sha1:"+step1, "main@sha1:"+step1)
	w.wait(repoName, "step 2", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 2 })
}

// renderChart runs `helm template` on charts/ramp with the helm binary
// `make tools` builds.
func renderChart(t *testing.T, namespace string, set ...string) []byte {
	t.Helper()
	helm := filepath.Join("..", "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("run `make tools` (bin/helm missing): %v", err)
	}
	args := []string{"template", "ramp", filepath.Join("..", "charts", "ramp"), "--namespace", namespace, "--include-crds"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestChartCRDIsTheGeneratedOne checks that charts/ramp/crds holds the CRD
// `make generate` writes to config/crd/bases.
func TestChartCRDIsTheGeneratedOne(t *testing.T) {
	const name = "ramp.dev_releaserepositories.yaml"
	gen, err := os.ReadFile(filepath.Join("..", "config", "crd", "bases", name))
	if err != nil {
		t.Fatal(err)
	}
	chart, err := os.ReadFile(filepath.Join("..", "charts", "ramp", "crds", name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gen, chart) {
		t.Fatalf("charts/ramp/crds/%s differs from config/crd/bases: run `make generate`", name)
	}
}

// decodeAll splits a multi-document YAML stream into objects.
func decodeAll(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decode rendered chart: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// checkChartGuardrails checks that the chart's guardrails value reaches the
// controller: a ConfigMap whose guardrails.yaml parses as the values say,
// mounted where --guardrails reads it.
func checkChartGuardrails(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var data string
	for _, u := range objs {
		if u.GetKind() == "ConfigMap" && strings.HasSuffix(u.GetName(), "-guardrails") {
			data, _, _ = unstructured.NestedString(u.Object, "data", rampv1.GuardrailsKey)
		}
	}
	args := deploymentArgs(objs)
	g, err := policy.ParseGuardrails("guardrails.yaml", []byte(data))
	if err != nil || g.MaxWeightStep != 25 || g.Tier("high") == nil || g.Tier("high").MinBake.Duration != 30*time.Minute ||
		len(g.Freeze.ExceptionGroups) != 1 {
		t.Errorf("rendered guardrails.yaml:\n%s\nparses as %+v, %v; want the values", data, g, err)
	}
	if !strings.Contains(args, "--guardrails=/etc/ramp/guardrails/guardrails.yaml") {
		t.Errorf("controller args %q, want --guardrails", args)
	}
}

// deploymentArgs are the controller container's arguments, space-separated.
func deploymentArgs(objs []*unstructured.Unstructured) string {
	for _, u := range objs {
		if u.GetKind() == "Deployment" {
			cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			a, _, _ := unstructured.NestedStringSlice(cs[0].(map[string]any), "args")
			return strings.Join(a, " ")
		}
	}
	return ""
}

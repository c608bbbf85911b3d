package controllers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/gitsync"
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
			} else if !strings.Contains(deploymentArgs(objs), "--guardrails=/etc/ramp/guardrails/guardrails.yaml") {
				t.Errorf("no --guardrails: the chart's default guardrails (requireSignedStart) do not reach the controller")
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
	return renderChartAs(t, "ramp", namespace, set...)
}

// renderChartAs renders charts/ramp as the release named release.
func renderChartAs(t *testing.T, release, namespace string, set ...string) []byte {
	t.Helper()
	helm := filepath.Join("..", "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("run `make tools` (bin/helm missing): %v", err)
	}
	args := []string{"template", release, filepath.Join("..", "charts", "ramp"), "--namespace", namespace, "--include-crds"}
	for _, s := range set {
		if strings.HasPrefix(s, "--") { // a flag of its own, e.g. --values=FILE
			args = append(args, s)
			continue
		}
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
// controller: a ConfigMap whose guardrails.yaml parses as the values say
// (the values set merged with the chart's default, requireSignedStart),
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
		len(g.Freeze.ExceptionGroups) != 1 || !g.RequireSignedStart {
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

// applyDryRun applies every object to the API server with server-side dry
// run, as `helm install` would send them.
func applyDryRun(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, u := range objs {
		ac := client.ApplyConfigurationFromUnstructured(u)
		if err := k8s.Apply(context.Background(), ac, client.DryRunAll, client.ForceOwnership, client.FieldOwner("chart-test")); err != nil {
			t.Errorf("server-side dry-run apply of %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
}

// ofKind are the objects of one kind, by name.
func ofKind(objs []*unstructured.Unstructured, kind string) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		if u.GetKind() == kind {
			out[u.GetName()] = u
		}
	}
	return out
}

// podTemplate returns a Deployment's selector, its pod template's labels
// and its controller container.
func podTemplate(t *testing.T, d *unstructured.Unstructured) (labels.Selector, labels.Set, map[string]any) {
	t.Helper()
	sel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector", "matchLabels")
	lbl, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(sel) == 0 || len(cs) != 1 {
		t.Fatalf("Deployment %s: selector %v, %d containers", d.GetName(), sel, len(cs))
	}
	return labels.SelectorFromSet(sel), labels.Set(lbl), cs[0].(map[string]any)
}

// TestChartShardsAsFluxDoes renders shards=2 with two replicas: the main
// Deployment takes the unlabelled ReleaseRepositories, each shard those
// labelled sharding.fluxcd.io/key: shard<i>, with a Lease of its own; no
// Deployment's selector takes another's pods, the Service reaches them all,
// and each has its own PodDisruptionBudget.
func TestChartShardsAsFluxDoes(t *testing.T) {
	objs := decodeAll(t, renderChart(t, "ramp-system", "shards=2", "replicas=2"))
	deps := ofKind(objs, "Deployment")
	want := map[string][]string{
		"ramp":        {"--watch-label-selector=!sharding.fluxcd.io/key", "--leader-elect=true"},
		"ramp-shard1": {"--watch-label-selector=sharding.fluxcd.io/key in (shard1)", "--leader-election-id=ramp-shard1", "--leader-elect=true"},
		"ramp-shard2": {"--watch-label-selector=sharding.fluxcd.io/key in (shard2)", "--leader-election-id=ramp-shard2", "--leader-elect=true"},
	}
	if len(deps) != len(want) {
		t.Fatalf("want Deployments %v, got %d: %v", want, len(deps), deps)
	}
	svc := ofKind(objs, "Service")["ramp"]
	svcSel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	pdbs := ofKind(objs, "PodDisruptionBudget")
	for name, args := range want {
		d := deps[name]
		if d == nil {
			t.Fatalf("no Deployment %s", name)
		}
		sel, lbl, c := podTemplate(t, d)
		got, _, _ := unstructured.NestedStringSlice(c, "args")
		for _, a := range args {
			if !contains(got, a) {
				t.Errorf("%s: args %q lack %q", name, got, a)
			}
		}
		if name == "ramp" && strings.Contains(strings.Join(got, " "), "--leader-election-id") {
			t.Errorf("the main Deployment names a Lease of its own: %q", got)
		}
		if !sel.Matches(lbl) {
			t.Errorf("%s: selector %s does not match its pods %v", name, sel, lbl)
		}
		for other, o := range deps {
			if _, olbl, _ := podTemplate(t, o); other != name && sel.Matches(olbl) {
				t.Errorf("%s's selector %s takes %s's pods %v", name, sel, other, olbl)
			}
		}
		if !labels.SelectorFromSet(svcSel).Matches(lbl) {
			t.Errorf("the Service's selector %v misses %s's pods %v", svcSel, name, lbl)
		}
		pdb := pdbs[name]
		if pdb == nil {
			t.Errorf("no PodDisruptionBudget for %s", name)
			continue
		}
		ps, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
		if !labels.SelectorFromSet(ps).Matches(lbl) || labels.SelectorFromSet(ps).String() != sel.String() {
			t.Errorf("PodDisruptionBudget %s selects %v, want %s", name, ps, sel)
		}
	}
	applyDryRun(t, objs)

	// One replica: no budget (it would block every drain), no selector.
	objs = decodeAll(t, renderChart(t, "ramp-system"))
	if n := len(ofKind(objs, "PodDisruptionBudget")); n != 0 {
		t.Errorf("%d PodDisruptionBudgets with one replica", n)
	}
	if strings.Contains(deploymentArgs(objs), "--watch-label-selector") {
		t.Errorf("--watch-label-selector without shards: %s", deploymentArgs(objs))
	}
}

// TestChartPlatformValues renders the values a platform engineer sets
// (NetworkPolicy, priorityClassName, topologySpreadConstraints, extra
// args, env and volumes) and checks each reaches the objects, that the
// Service has the health port, and that the API server accepts them.
func TestChartPlatformValues(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`
priorityClassName: system-cluster-critical
extraArgs: [--log-level=debug]
extraEnv: [{name: HTTPS_PROXY, value: "http://proxy:3128"}]
extraVolumes: [{name: git-ca, configMap: {name: git-ca}}]
extraVolumeMounts: [{name: git-ca, mountPath: /etc/git-ca, readOnly: true}]
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector: {matchLabels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}}
networkPolicy:
  enabled: true
  webhookFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress}}}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := decodeAll(t, renderChart(t, "ramp-system", "--values="+values))
	d := ofKind(objs, "Deployment")["ramp"]
	_, podLabels, c := podTemplate(t, d)
	spec, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
	if spec["priorityClassName"] != "system-cluster-critical" {
		t.Errorf("priorityClassName %v", spec["priorityClassName"])
	}
	tsc, _, _ := unstructured.NestedSlice(spec, "topologySpreadConstraints")
	if len(tsc) != 1 {
		t.Fatalf("topologySpreadConstraints %v", tsc)
	}
	inst, _, _ := unstructured.NestedString(tsc[0].(map[string]any), "labelSelector", "matchLabels", "app.kubernetes.io/instance")
	if inst != "ramp" {
		t.Errorf("topologySpreadConstraints' selector %q, want the release name through tpl", inst)
	}
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	if !contains(args, "--log-level=debug") || args[0] != "controller" {
		t.Errorf("args %q: want controller … --log-level=debug", args)
	}
	env, _, _ := unstructured.NestedSlice(c, "env")
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	vols, _, _ := unstructured.NestedSlice(spec, "volumes")
	for what, got := range map[string]string{"env": fmt.Sprint(env), "volumeMounts": fmt.Sprint(mounts), "volumes": fmt.Sprint(vols)} {
		want := map[string]string{"env": "HTTPS_PROXY", "volumeMounts": "/etc/git-ca", "volumes": "git-ca"}[what]
		if !strings.Contains(got, want) {
			t.Errorf("%s %s lack %s", what, got, want)
		}
	}
	if !strings.Contains(fmt.Sprint(env), "TMPDIR") || !strings.Contains(fmt.Sprint(mounts), "/data") {
		t.Errorf("extra env/mounts replaced the chart's own: %v %v", env, mounts)
	}

	ports, _, _ := unstructured.NestedSlice(ofKind(objs, "Service")["ramp"].Object, "spec", "ports")
	if !strings.Contains(fmt.Sprint(ports), "targetPort:health") {
		t.Errorf("the Service has no health port: %v", ports)
	}

	np := ofKind(objs, "NetworkPolicy")["ramp"]
	if np == nil {
		t.Fatal("networkPolicy.enabled rendered no NetworkPolicy")
	}
	npSel, _, _ := unstructured.NestedStringMap(np.Object, "spec", "podSelector", "matchLabels")
	if !labels.SelectorFromSet(npSel).Matches(podLabels) {
		t.Errorf("NetworkPolicy selects %v, not the controller's pods %v", npSel, podLabels)
	}
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	got := fmt.Sprint(ingress)
	for _, want := range []string{"port:webhook", "port:metrics", "port:health", "kubernetes.io/metadata.name:ingress"} {
		if !strings.Contains(got, want) {
			t.Errorf("NetworkPolicy ingress %s lacks %s", got, want)
		}
	}
	if types, _, _ := unstructured.NestedStringSlice(np.Object, "spec", "policyTypes"); len(types) != 1 || types[0] != "Ingress" {
		t.Errorf("policyTypes %v: egress is restricted only when rules are given", types)
	}
	applyDryRun(t, objs)
	if n := len(ofKind(decodeAll(t, renderChart(t, "ramp-system")), "NetworkPolicy")); n != 0 {
		t.Errorf("a NetworkPolicy by default")
	}
}

// canGet asks the API server (SubjectAccessReview) whether the chart's
// ServiceAccount may get resource namespace/name.
func canGet(t *testing.T, sa, resource, namespace, name string) bool {
	t.Helper()
	r := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + sa,
		Groups: []string{"system:serviceaccounts", "system:authenticated"},
		ResourceAttributes: &authzv1.ResourceAttributes{
			Verb: "get", Resource: resource, Namespace: namespace, Name: name,
		},
	}}
	if err := k8s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}

// TestChartRBACReadsOnlyTheNamedSecrets installs the chart's RBAC (all
// namespaces, the default) for real and asks the API server what its
// ServiceAccount may read: the Secrets and ConfigMaps rbac.credentials
// names, and nothing else, until rbac.clusterWideSecretRead opts in.
func TestChartRBACReadsOnlyTheNamedSecrets(t *testing.T) {
	const release, ns = "rbac-least", "ramp-rbac-least"
	for _, n := range []string{ns, "team-a"} {
		err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	sa := ns + ":" + release + "-ramp"
	install := func(set ...string) {
		t.Helper()
		for _, u := range decodeAll(t, renderChartAs(t, release, ns, set...)) {
			switch u.GetKind() {
			case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
				ac := client.ApplyConfigurationFromUnstructured(u)
				if err := k8s.Apply(context.Background(), ac, client.ForceOwnership, client.FieldOwner("chart-test")); err != nil {
					t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
				}
				t.Cleanup(func() { _ = k8s.Delete(context.Background(), u) })
			}
		}
	}
	creds := []string{"rbac.credentials[0].namespace=team-a", "rbac.credentials[0].secrets={git-push,ramp-signing}", "rbac.credentials[0].configMaps={approvers}"}
	install(creds...)
	// RBAC is read from an informer in the API server: wait for the Roles.
	deadline := time.Now().Add(10 * time.Second)
	for !canGet(t, sa, "secrets", "team-a", "ramp-signing") {
		if time.Now().After(deadline) {
			t.Fatal("the ServiceAccount cannot get the named Secret team-a/ramp-signing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cases := []struct {
		resource, namespace, name string
		want                      bool
	}{
		{"secrets", "team-a", "git-push", true},
		{"configmaps", "team-a", "approvers", true},
		{"secrets", "team-a", "someone-elses", false},
		{"configmaps", "team-a", "kube-root-ca.crt", false},
		{"secrets", "kube-system", "bootstrap-token", false},
		{"secrets", "team-a", "", false}, // every Secret of team-a
	}
	for _, c := range cases {
		if got := canGet(t, sa, c.resource, c.namespace, c.name); got != c.want {
			t.Errorf("get %s %s/%s: allowed=%v, want %v", c.resource, c.namespace, c.name, got, c.want)
		}
	}

	install(append(creds, "rbac.clusterWideSecretRead=true")...)
	deadline = time.Now().Add(10 * time.Second)
	for !canGet(t, sa, "secrets", "kube-system", "bootstrap-token") {
		if time.Now().After(deadline) {
			t.Fatal("rbac.clusterWideSecretRead=true: still no read of kube-system/bootstrap-token")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestChartReadmeWebhookURLIsTheRenderedService renders the chart with
// charts/ramp/README.md's own install command and checks that the webhook
// URL the README gives is the rendered Service's (name, namespace, webhook
// port) and the receiver's path for the README's ReleaseRepository.
func TestChartReadmeWebhookURLIsTheRenderedService(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "charts", "ramp", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	// The first install command, its continuation lines joined.
	m := regexp.MustCompile(`(?m)^helm install (\S+) charts/ramp((?:[^\n]*\\\n)*[^\n]*)`).FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("no `helm install … charts/ramp` in charts/ramp/README.md")
	}
	release, rest := m[1], strings.ReplaceAll(m[2], "\\\n", " ")
	var namespace string
	var set []string
	fields := strings.Fields(rest)
	for i := 0; i < len(fields); i++ {
		switch fields[i] {
		case "--namespace", "-n":
			i++
			namespace = fields[i]
		case "--set":
			i++
			set = append(set, strings.Trim(fields[i], "'"))
		}
	}
	if namespace == "" {
		t.Fatalf("the README's install command names no namespace: %q", m[0])
	}
	// The ReleaseRepository example's namespace and name.
	rr := regexp.MustCompile(`kind: ReleaseRepository\nmetadata: \{name: (\S+), namespace: (\S+)\}`).FindStringSubmatch(readme)
	if rr == nil {
		t.Fatal("no ReleaseRepository example in charts/ramp/README.md")
	}
	var svc *unstructured.Unstructured
	for _, s := range ofKind(decodeAll(t, renderChartAs(t, release, namespace, set...)), "Service") {
		svc = s
	}
	if svc == nil {
		t.Fatal("the install command renders no Service")
	}
	port := "(no webhook port)"
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	for _, p := range ports {
		if p := p.(map[string]any); p["name"] == "webhook" {
			port = fmt.Sprint(p["port"])
		}
	}
	url := fmt.Sprintf("http://%s.%s:%s%s%s/%s", svc.GetName(), svc.GetNamespace(), port, controllers.HookPath, rr[2], rr[1])
	if !strings.Contains(readme, url) {
		t.Errorf("charts/ramp/README.md does not give the webhook URL its install command renders, %s", url)
	}
	if url != "http://ramp.ramp-system:9292/hook/apps/release" {
		t.Errorf("rendered %s", url) // the README's command and example, as written today
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestChartNamedCredentialsRunAReleaseAndRefuseTheRest installs the chart's
// RBAC for one namespace with rbac.credentials naming the Secrets and
// ConfigMap a ReleaseRepository uses, runs the controller as the chart's
// ServiceAccount (impersonation): that repository becomes Ready and takes a
// release step; one naming a Secret the chart does not list is Stalled with
// reason SecretForbidden, saying where to add it.
func TestChartNamedCredentialsRunAReleaseAndRefuseTheRest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	out := renderChart(t, w.ns, "watchNamespace="+w.ns,
		"rbac.credentials[0].namespace="+w.ns,
		"rbac.credentials[0].secrets={"+signingSecret+"}",
		"rbac.credentials[0].configMaps={"+approversCM+"}")
	for _, u := range decodeAll(t, out) {
		switch u.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding":
			ac := client.ApplyConfigurationFromUnstructured(u)
			if err := k8s.Apply(context.Background(), ac, client.ForceOwnership, client.FieldOwner("chart-test")); err != nil {
				t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
	}
	sa := w.ns + ":ramp"
	if canGet(t, sa, "secrets", w.ns, "unlisted-key") {
		t.Fatalf("the namespace's Role still reads every Secret though rbac.credentials names %s", w.ns)
	}
	signing := &corev1.Secret{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: signingSecret}, signing); err != nil {
		t.Fatal(err)
	}
	w.create(&corev1.Secret{ObjectMeta: w.meta("unlisted-key"), Data: signing.Data})

	cfg := rest.CopyConfig(restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + w.ns + ":ramp"}
	w.startWith(cfg, nil)
	w.repository(repoName, nil)
	w.repository("unlisted", func(rr *rampv1.ReleaseRepository) { rr.Spec.SigningKeySecretRef.Name = "unlisted-key" })
	w.wait(repoName, "Ready", func(rr *rampv1.ReleaseRepository) bool {
		return condition(rr, meta.ReadyCondition).Status == metav1.ConditionTrue
	})
	w.wait("unlisted", "Stalled SecretForbidden", func(rr *rampv1.ReleaseRepository) bool {
		c := condition(rr, meta.StalledCondition)
		return c.Reason == controllers.ReasonSecretForbidden &&
			strings.Contains(c.Message, "Secret "+w.ns+"/unlisted-key") && strings.Contains(c.Message, "rbac.credentials")
	})
	w.release(releaseVersion)
	w.requestReconcile(repoName)
	w.wait(repoName, "step 1", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 1 })
}

// TestChartConcurrencyAndCloneDepthReachEveryShard: the values
// concurrency and cloneDepth become --concurrency and --clone-depth of
// every Deployment (the main one and each shard); their defaults are the
// operator's flag defaults, and cloneDepth 0 (a full clone) is rendered
// as 0, not dropped.
func TestChartConcurrencyAndCloneDepthReachEveryShard(t *testing.T) {
	err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ramp-system"}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set                                         []string
		deployments, concurrency, depth, checkpoint int
	}{
		{nil, 1, controllers.DefaultConcurrency, controllers.DefaultCloneDepth, gitsync.DefaultCheckpointEvery},
		{[]string{"shards=2", "concurrency=3", "cloneDepth=0", "checkpointEvery=0"}, 3, 3, 0, 0},
		{[]string{"shards=1", "cloneDepth=250", "checkpointEvery=50"}, 2, controllers.DefaultConcurrency, 250, 50},
	} {
		objs := decodeAll(t, renderChart(t, "ramp-system", c.set...))
		deps := ofKind(objs, "Deployment")
		if len(deps) != c.deployments {
			t.Fatalf("%v: %d Deployments, want %d", c.set, len(deps), c.deployments)
		}
		for name, d := range deps {
			_, _, container := podTemplate(t, d)
			args, _, _ := unstructured.NestedStringSlice(container, "args")
			for _, a := range []string{fmt.Sprintf("--concurrency=%d", c.concurrency), fmt.Sprintf("--clone-depth=%d", c.depth), fmt.Sprintf("--checkpoint-every=%d", c.checkpoint)} {
				if !contains(args, a) {
					t.Errorf("%v: Deployment %s's args %q lack %q", c.set, name, args, a)
				}
			}
		}
		applyDryRun(t, objs)
	}
}

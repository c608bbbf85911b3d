package controllers_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
)

// installGuide is docs/install.md: its text, and the objects of its yaml
// blocks (each block must parse).
func installGuide(t *testing.T) (string, []*unstructured.Unstructured) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		objs = append(objs, decodeAll(t, []byte(m[1]))...)
	}
	if len(objs) == 0 {
		t.Fatal("docs/install.md has no yaml blocks")
	}
	return string(b), objs
}

// TestInstallGuideObjectsApply applies every object of docs/install.md
// whose API the test server serves (Secrets, ConfigMaps, the Ingress,
// Flux's GitRepository, Kustomization and OCIRepository, the
// ReleaseRepository) with server-side dry run and strict field validation,
// and decodes the ReleaseRepository strictly into ramp's Go type.
func TestInstallGuideObjectsApply(t *testing.T) {
	_, objs := installGuide(t)
	for _, ns := range []string{"apps", "flux-system", "ramp-system"} {
		err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	applied := map[string]bool{}
	for _, u := range objs {
		switch u.GetKind() {
		case "HelmRelease", "Receiver": // CRDs the test server does not have: TestInstallGuideTiesTogether
			continue
		}
		err := k8s.Create(context.Background(), u.DeepCopy(), client.DryRunAll, client.FieldValidation("Strict"))
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Errorf("docs/install.md: dry-run create of %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		applied[u.GetKind()] = true
	}
	for _, k := range []string{"Secret", "ConfigMap", "ReleaseRepository", "GitRepository", "Kustomization", "OCIRepository", "Ingress"} {
		if !applied[k] {
			t.Errorf("docs/install.md has no %s", k)
		}
	}
	for _, u := range objs {
		if u.GetKind() == rampv1.ReleaseRepositoryKind {
			b, _ := json.Marshal(u.Object)
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rampv1.ReleaseRepository{}); err != nil {
				t.Errorf("docs/install.md: ReleaseRepository %s: %v", u.GetName(), err)
			}
		}
	}
}

// TestInstallGuideTiesTogether checks that the guide's pieces fit: the
// HelmRelease replaces CRDs on install and upgrade and installs the chart
// from the guide's OCIRepository; its values, rendered by the chart, let
// ramp read every Secret and ConfigMap the ReleaseRepository names, and
// nothing is named that the guide does not create (in YAML and with kubectl,
// with the keys ramp reads); the Kustomization the ReleaseRepository names
// applies the GitRepository that verifies HEAD with a Secret the guide
// creates; the Ingress and the receiver URL reach the chart's Service; the
// Receiver reconciles that GitRepository.
func TestInstallGuideTiesTogether(t *testing.T) {
	text, objs := installGuide(t)
	byKind := map[string]map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		if byKind[u.GetKind()] == nil {
			byKind[u.GetKind()] = map[string]*unstructured.Unstructured{}
		}
		byKind[u.GetKind()][u.GetNamespace()+"/"+u.GetName()] = u
	}
	one := func(kind string) *unstructured.Unstructured {
		t.Helper()
		if len(byKind[kind]) != 1 {
			t.Fatalf("docs/install.md: want one %s, found %d", kind, len(byKind[kind]))
		}
		for _, u := range byKind[kind] {
			return u
		}
		return nil
	}
	str := func(u *unstructured.Unstructured, path ...string) string {
		s, _, _ := unstructured.NestedString(u.Object, path...)
		return s
	}

	hr, oci := one("HelmRelease"), one("OCIRepository")
	for _, phase := range []string{"install", "upgrade"} {
		if got := str(hr, "spec", phase, "crds"); got != "CreateReplace" {
			t.Errorf("HelmRelease spec.%s.crds = %q, want CreateReplace", phase, got)
		}
	}
	if str(hr, "spec", "chartRef", "kind") != "OCIRepository" || str(hr, "spec", "chartRef", "name") != oci.GetName() ||
		str(hr, "spec", "chartRef", "namespace") != oci.GetNamespace() {
		t.Errorf("HelmRelease chartRef %v is not the guide's OCIRepository %s/%s", hr.Object["spec"].(map[string]any)["chartRef"], oci.GetNamespace(), oci.GetName())
	}

	// What the ReleaseRepository names, per kind.
	rr := one(rampv1.ReleaseRepositoryKind)
	var obj rampv1.ReleaseRepository
	b, _ := json.Marshal(rr.Object)
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	secrets := []string{obj.Spec.SigningKeySecretRef.Name}
	if obj.Spec.SecretRef != nil {
		secrets = append(secrets, obj.Spec.SecretRef.Name)
	}
	if obj.Spec.Webhook != nil {
		secrets = append(secrets, obj.Spec.Webhook.SecretRef.Name)
	}
	if obj.Spec.Prometheus != nil && obj.Spec.Prometheus.SecretRef != nil {
		secrets = append(secrets, obj.Spec.Prometheus.SecretRef.Name)
	}
	var configMaps []string
	if a := obj.Spec.Approvers; a != nil && a.ConfigMapRef != nil {
		configMaps = append(configMaps, a.ConfigMapRef.Name)
	} else if a != nil && a.SecretRef != nil {
		secrets = append(secrets, a.SecretRef.Name)
	}
	if obj.Spec.GuardrailsRef != nil {
		configMaps = append(configMaps, obj.Spec.GuardrailsRef.Name)
	}
	keys := map[string][]string{ // the keys ramp reads from each
		"Secret/" + obj.Spec.SigningKeySecretRef.Name: {rampv1.SigningKeyKey},
		"Secret/" + obj.Spec.Webhook.SecretRef.Name:   {rampv1.TokenKey},
		"Secret/" + obj.Spec.SecretRef.Name:           {rampv1.UsernameKey, rampv1.PasswordKey},
	}
	for _, name := range secrets {
		s := byKind["Secret"][obj.Namespace+"/"+name]
		if s == nil {
			t.Errorf("the ReleaseRepository names Secret %s/%s; the guide's YAML does not create it", obj.Namespace, name)
			continue
		}
		for _, k := range keys["Secret/"+name] {
			if str(s, "stringData", k) == "" {
				t.Errorf("Secret %s/%s has no %s key", obj.Namespace, name, k)
			}
		}
	}
	for _, name := range configMaps {
		cm := byKind["ConfigMap"][obj.Namespace+"/"+name]
		if cm == nil {
			t.Errorf("the ReleaseRepository names ConfigMap %s/%s; the guide's YAML does not create it", obj.Namespace, name)
			continue
		}
		data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
		for k := range data {
			if !strings.HasSuffix(k, rampv1.AllowedSignersSuffix) && !strings.HasSuffix(k, rampv1.ASCSuffix) {
				t.Errorf("approvers ConfigMap key %s: ramp reads <group>.allowed_signers or <group>.asc", k)
			}
		}
	}

	// The kubectl commands create the same objects with the same keys.
	created := map[string][]string{}
	cmds := regexp.MustCompile(`kubectl -n (\S+) create (secret generic|configmap) (\S+)((?:[^\n]*\\\n)*[^\n]*)`).FindAllStringSubmatch(text, -1)
	for _, m := range cmds {
		kind := map[string]string{"secret generic": "Secret", "configmap": "ConfigMap"}[m[2]]
		var ks []string
		for _, f := range regexp.MustCompile(`--from-(?:file|literal)=([^=\s]+)`).FindAllStringSubmatch(m[4], -1) {
			ks = append(ks, f[1])
		}
		created[kind+"/"+m[1]+"/"+m[3]] = ks
	}
	for _, kind := range []string{"Secret", "ConfigMap"} {
		for key, u := range byKind[kind] {
			ks, ok := created[kind+"/"+key]
			if !ok {
				t.Errorf("the guide's YAML has %s %s, its kubectl commands do not create it", kind, key)
				continue
			}
			field := map[string]string{"Secret": "stringData", "ConfigMap": "data"}[kind]
			data, _, _ := unstructured.NestedStringMap(u.Object, field)
			var want []string
			for k := range data {
				want = append(want, k)
			}
			sort.Strings(want)
			sort.Strings(ks)
			if strings.Join(ks, ",") != strings.Join(want, ",") {
				t.Errorf("%s %s: kubectl creates keys %v, the YAML has %v", kind, key, ks, want)
			}
		}
	}

	// The HelmRelease's values, rendered by the chart: a Role in the
	// ReleaseRepository's namespace that reads exactly what it names.
	values, _, _ := unstructured.NestedMap(hr.Object, "spec", "values")
	vb, _ := json.Marshal(values)
	vf := filepath.Join(t.TempDir(), "values.json")
	if err := os.WriteFile(vf, vb, 0o644); err != nil {
		t.Fatal(err)
	}
	rendered := decodeAll(t, renderChartAs(t, str(hr, "spec", "releaseName"), hr.GetNamespace(), "--values="+vf))
	var served []*unstructured.Unstructured // the test server has no prometheus-operator CRDs
	for _, u := range rendered {
		if u.GetKind() != "ServiceMonitor" {
			served = append(served, u)
		}
	}
	applyDryRun(t, served)
	role := ofKind(rendered, "Role")[str(hr, "spec", "releaseName")+"-credentials"]
	if role == nil || role.GetNamespace() != obj.Namespace {
		t.Fatalf("the HelmRelease's values render no credentials Role in %s", obj.Namespace)
	}
	readable := map[string][]string{}
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		r := r.(map[string]any)
		res, _, _ := unstructured.NestedStringSlice(r, "resources")
		names, _, _ := unstructured.NestedStringSlice(r, "resourceNames")
		for _, x := range res {
			readable[x] = append(readable[x], names...)
		}
	}
	sort.Strings(secrets)
	sort.Strings(configMaps)
	sort.Strings(readable["secrets"])
	sort.Strings(readable["configmaps"])
	if strings.Join(readable["secrets"], ",") != strings.Join(secrets, ",") || strings.Join(readable["configmaps"], ",") != strings.Join(configMaps, ",") {
		t.Errorf("the chart lets ramp read secrets %v, configmaps %v; the ReleaseRepository names %v, %v",
			readable["secrets"], readable["configmaps"], secrets, configMaps)
	}
	if ofKind(rendered, "ClusterRole")[str(hr, "spec", "releaseName")] == nil {
		t.Errorf("no ClusterRole rendered")
	} else if strings.Contains(string(mustJSON(ofKind(rendered, "ClusterRole")[str(hr, "spec", "releaseName")].Object["rules"])), "secrets") {
		t.Errorf("the guide's values grant cluster-wide Secret reads")
	}
	svc := ofKind(rendered, "Service")[str(hr, "spec", "releaseName")]
	if svc == nil {
		t.Fatal("the HelmRelease renders no Service named after the release")
	}

	// Flux: the ReleaseRepository's Kustomization applies the GitRepository
	// of the same URL, which verifies HEAD with a Secret the guide creates.
	ks := one("Kustomization")
	if len(obj.Spec.Kustomizations) != 1 || obj.Spec.Kustomizations[0].Name != ks.GetName() || obj.Spec.Kustomizations[0].Namespace != ks.GetNamespace() {
		t.Errorf("the ReleaseRepository names Kustomizations %v, the guide has %s/%s", obj.Spec.Kustomizations, ks.GetNamespace(), ks.GetName())
	}
	gr := one("GitRepository")
	if str(ks, "spec", "sourceRef", "name") != gr.GetName() || str(gr, "spec", "url") != obj.Spec.URL || str(gr, "spec", "ref", "branch") != obj.GetBranch() {
		t.Errorf("Kustomization → GitRepository %s (url %s) is not the ReleaseRepository's %s", gr.GetName(), str(gr, "spec", "url"), obj.Spec.URL)
	}
	if str(gr, "spec", "verify", "mode") != "HEAD" || byKind["Secret"][gr.GetNamespace()+"/"+str(gr, "spec", "verify", "secretRef", "name")] == nil {
		t.Errorf("GitRepository spec.verify %v: want mode HEAD and a Secret the guide creates", gr.Object["spec"].(map[string]any)["verify"])
	}
	if _, ok := created["Secret/"+gr.GetNamespace()+"/"+str(gr, "spec", "secretRef", "name")]; !ok {
		t.Errorf("the GitRepository's secretRef %s is not created by the guide", str(gr, "spec", "secretRef", "name"))
	}

	// The webhook: the Ingress and the in-cluster URL reach the chart's Service.
	ing := one("Ingress")
	paths, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
	backend := mustJSON(paths)
	if ing.GetNamespace() != svc.GetNamespace() || !strings.Contains(string(backend), `"name":"`+svc.GetName()+`"`) ||
		!strings.Contains(string(backend), `"port":{"name":"webhook"}`) || !strings.Contains(string(backend), `"path":"/hook/"`) {
		t.Errorf("the Ingress %s/%s does not send /hook/ to Service %s/%s port webhook: %s", ing.GetNamespace(), ing.GetName(), svc.GetNamespace(), svc.GetName(), backend)
	}
	url := "http://" + svc.GetName() + "." + svc.GetNamespace() + ":9292/hook/" + obj.Namespace + "/" + obj.Name
	if !strings.Contains(text, url) {
		t.Errorf("docs/install.md does not give the in-cluster webhook URL %s", url)
	}
	rcv := one("Receiver")
	if !strings.Contains(string(mustJSON(rcv.Object["spec"])), `"kind":"GitRepository","name":"`+gr.GetName()+`"`) {
		t.Errorf("the Receiver does not reconcile GitRepository %s: %s", gr.GetName(), mustJSON(rcv.Object["spec"]))
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

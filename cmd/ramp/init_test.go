package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

// rampExit runs the CLI in-process and returns what it printed and the
// exit code main would give.
func rampExit(args ...string) (string, int) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return out.String(), exitOK
	}
	out.WriteString(err.Error())
	var ee *exitError
	if errors.As(err, &ee) {
		return out.String(), ee.code
	}
	return out.String(), exitUsage
}

// fleetRepo writes files (path → content) into a new git repository and
// returns its directory.
func fleetRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dst, content)
	}
	if out, err := exec.Command("git", "init", "-q", "-b", "main", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return dir
}

const (
	kustomizeSide = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml]
images:
  - name: sidecar
    newTag: "9.9"
  - name: shop
    newName: registry.example.com/shop
    newTag: "2.3.0"
`
	deploymentOnly = `apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:TAG
`
	routeByName = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  rules:
    - backendRefs:
        - {name: shop-primary, port: 80, weight: 100}
        - {name: shop-canary, port: 80, weight: 0}
`
	routeByWeight = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  rules:
    - backendRefs:
        - {name: web-blue, port: 80, weight: 0}
        - {name: web-green, port: 80, weight: 100}
`
)

// TestInitScaffoldsARolloutFromAnAppsManifests runs ramp init --rollout in
// existing repositories: one with Kustomize images on a primary and a
// canary side (two images; the one named after the rollout is chosen) and a
// route whose backends name the sides, one with only Deployment images and a
// route whose sides only its weights tell. Each spec is written, valid
// (ramp validate agrees), names the fields it found, and the output says
// what to check and the next commands.
func TestInitScaffoldsARolloutFromAnAppsManifests(t *testing.T) {
	t.Run("kustomize images, backends by name", func(t *testing.T) {
		repo := fleetRepo(t, map[string]string{
			"apps/shop/primary/kustomization.yaml": kustomizeSide,
			"apps/shop/canary/kustomization.yaml":  kustomizeSide,
			"apps/shop/route.yaml":                 routeByName,
			"apps/other/kustomization.yaml":        "resources: []\n",
		})
		out, code := rampExit("init", "--rollout", "shop", "--from", "apps/shop", repo)
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		r := parseScaffold(t, repo, "shop")
		want := [][2]string{
			{r.Spec.Release.File, "apps/shop/canary/kustomization.yaml"}, {r.Spec.Release.Path, "images[name=shop].newTag"},
			{r.Spec.Stable.File, "apps/shop/primary/kustomization.yaml"}, {r.Spec.Stable.Path, "images[name=shop].newTag"},
			{r.Spec.Target.HTTPRoute.File, "apps/shop/route.yaml"},
			{r.Spec.Target.HTTPRoute.StableBackend, "shop-primary"}, {r.Spec.Target.HTTPRoute.CanaryBackend, "shop-canary"},
		}
		for _, w := range want {
			if w[0] != w[1] {
				t.Errorf("scaffolded %q, want %q\n%s", w[0], w[1], out)
			}
		}
		for _, s := range []string{"wrote releases/shop/rollout.yaml (valid)", `(now "2.3.0", the canary side)`, "check:",
			"spec.kustomizations", "next:", "ramp validate", "git add releases/shop/rollout.yaml"} {
			if !strings.Contains(out, s) {
				t.Errorf("output lacks %q:\n%s", s, out)
			}
		}
		if out, code := rampExit("validate", "--repo", repo); code != exitOK {
			t.Errorf("ramp validate after the scaffold: exit %d\n%s", code, out)
		}
		// A second run refuses to overwrite it.
		if out, code := rampExit("init", "--rollout", "shop", "--from", "apps/shop", repo); code != exitUsage || !strings.Contains(out, "already exists") {
			t.Errorf("second scaffold: exit %d, want 2 and 'already exists':\n%s", code, out)
		}
	})
	t.Run("kustomize digests", func(t *testing.T) {
		side := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: shop\n    newName: registry.example.com/shop\n    digest: sha256:" + strings.Repeat("ab", 32) + "\n"
		repo := fleetRepo(t, map[string]string{
			"apps/shop/stable/kustomization.yaml": side,
			"apps/shop/canary/kustomization.yaml": side,
			"apps/shop/route.yaml":                routeByName,
		})
		if out, code := rampExit("init", "--rollout", "shop", "--from", "apps/shop", repo); code != exitOK {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if r := parseScaffold(t, repo, "shop"); r.Spec.Release.Path != "images[name=shop].digest" || r.Spec.Stable.Path != "images[name=shop].digest" {
			t.Errorf("release %s, stable %s: want the digest fields", r.Spec.Release.Path, r.Spec.Stable.Path)
		}
	})
	t.Run("deployment images, backends by weight", func(t *testing.T) {
		repo := fleetRepo(t, map[string]string{
			"apps/web/stable/deployment.yaml": strings.NewReplacer("NAME", "web-green", "TAG", "1.0").Replace(deploymentOnly),
			"apps/web/canary/deployment.yaml": strings.NewReplacer("NAME", "web-blue", "TAG", "1.1").Replace(deploymentOnly),
			"apps/web/route.yaml":             routeByWeight,
		})
		out, code := rampExit("init", "--rollout", "web", "--from", "apps/web/", repo)
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		r := parseScaffold(t, repo, "web")
		if r.Spec.Release.File != "apps/web/canary/deployment.yaml" || r.Spec.Release.Path != "spec.template.spec.containers[name=web].image" ||
			r.Spec.Stable.File != "apps/web/stable/deployment.yaml" ||
			r.Spec.Target.HTTPRoute.StableBackend != "web-green" || r.Spec.Target.HTTPRoute.CanaryBackend != "web-blue" {
			t.Errorf("scaffolded release %s %s, stable %s, backends %s/%s\n%s", r.Spec.Release.File, r.Spec.Release.Path, r.Spec.Stable.File,
				r.Spec.Target.HTTPRoute.StableBackend, r.Spec.Target.HTTPRoute.CanaryBackend, out)
		}
		if !strings.Contains(out, "by weight") {
			t.Errorf("the output does not say the sides were chosen by weight:\n%s", out)
		}
	})
}

// parseScaffold parses releases/<name>/rollout.yaml as ramp does.
func parseScaffold(t *testing.T, repo, name string) *policy.Rollout {
	t.Helper()
	p := filepath.Join("releases", name, "rollout.yaml")
	data, err := os.ReadFile(filepath.Join(repo, p))
	if err != nil {
		t.Fatal(err)
	}
	r, err := policy.Parse(p, data)
	if err != nil {
		t.Fatalf("%s:\n%s\n%v", p, data, err)
	}
	return r
}

// TestInitExplainsWhatItCannotDo: a non-empty directory, and manifests
// without a route or without two sides, exit 2 with what is missing and
// what to do, and write nothing.
func TestInitExplainsWhatItCannotDo(t *testing.T) {
	repo := fleetRepo(t, map[string]string{
		"apps/shop/primary/kustomization.yaml": kustomizeSide,
		"apps/shop/canary/kustomization.yaml":  kustomizeSide,
		"apps/solo/kustomization.yaml":         kustomizeSide,
		"apps/solo/route.yaml":                 routeByName,
	})
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"init", repo}, []string{"is not empty", "ramp init --rollout NAME --from apps/NAME"}},
		{[]string{"init", "--rollout", "shop", "--from", "apps/shop", repo}, []string{"no HTTPRoute", "Routers"}},
		{[]string{"init", "--rollout", "solo", "--from", "apps/solo", repo}, []string{"no canary side", "no stable side"}},
		{[]string{"init", "--rollout", "Shop", "--from", "apps/shop", repo}, []string{"DNS label"}},
		{[]string{"init", "--rollout", "shop", repo}, []string{"--rollout and --from go together"}},
	}
	for _, c := range cases {
		out, code := rampExit(c.args...)
		if code != exitUsage {
			t.Errorf("ramp %s: exit %d, want 2\n%s", strings.Join(c.args, " "), code, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("ramp %s does not say %q:\n%s", strings.Join(c.args, " "), w, out)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(repo, "releases")); err == nil {
		t.Errorf("a refused scaffold wrote releases/")
	}
}

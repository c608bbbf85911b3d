package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestAppAnswersItsVersionsShareOfRequestsWith500(t *testing.T) {
	a, err := startApp("canary", map[string]float64{"1.2.0": 0.30, "1.1.0": 0.005})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stop(context.Background()) })
	for _, tc := range []struct {
		version string
		n, want int
	}{{"1.2.0", 200, 60}, {"1.1.0", 400, 2}, {"1.0.0", 100, 0}} {
		a.setVersion(tc.version)
		failed := 0
		for range tc.n {
			resp, err := http.Get("http://" + a.addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("X-Demo-Version"); got != tc.version {
				t.Fatalf("answered as version %q, want %q", got, tc.version)
			}
			if resp.StatusCode == http.StatusInternalServerError {
				failed++
			}
		}
		if failed != tc.want {
			t.Errorf("version %s: %d of %d requests failed, want %d", tc.version, failed, tc.n, tc.want)
		}
	}
}

func TestReadMainReadsTheRouteWeightsAndImageTagsAtMain(t *testing.T) {
	dir := t.TempDir()
	bare, work := filepath.Join(dir, "release.git"), filepath.Join(dir, "work")
	files := map[string]string{
		"apps/demo/route.yaml": "spec:\n  rules:\n    - backendRefs:\n        - name: demo-stable\n          weight: 70\n" +
			"        - name: demo-canary\n          weight: 30\n",
		"apps/demo/stable/kustomization.yaml": "images:\n  - name: other\n    newTag: \"9.9.9\"\n  - name: demo\n    newTag: \"1.1.0\"\n",
		"apps/demo/canary/kustomization.yaml": "images:\n  - name: demo\n    newTag: \"1.2.0\" # the release\n",
	}
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "--bare", "--initial-branch=main", bare},
		{"-C", work, "init", "-q", "--initial-branch=main"},
		{"-C", work, "add", "-A"},
		{"-C", work, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "x"},
		{"-C", work, "push", "-q", bare, "main"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s (the demo needs the system git: apt-get install git)", args, err, out)
		}
	}
	d, err := readMain(context.Background(), bare)
	if err != nil {
		t.Fatal(err)
	}
	if d.canaryWeight != 30 || d.stable != "1.1.0" || d.canary != "1.2.0" || len(d.commit) != 40 {
		t.Errorf("read %+v, want canary weight 30, stable 1.1.0, canary 1.2.0 at a commit", d)
	}
}

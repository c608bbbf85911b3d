package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoPicksAPrometheusOnPathWhenItsVersionFits runs e2e/prometheus.sh
// (make demo's choice of Prometheus) in a copy of the tree with --check, so
// it never builds: bin/prometheus first; a 3.x `prometheus` on PATH next; an
// older one, or none, means a build, announced with what and how long.
func TestDemoPicksAPrometheusOnPathWhenItsVersionFits(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "prometheus.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		onPath   string // version line the prometheus on PATH prints; "" for none
		inBin    bool
		wantCode int
		wantOut  string // stdout: the chosen binary ("PATH" for the one on PATH)
		wantErr  []string
	}{
		{"bin first", "prometheus, version 3.5.0 (branch: HEAD)", true, 0, "bin/prometheus", []string{"bin/prometheus"}},
		{"3.x on PATH", "prometheus, version 3.5.0 (branch: HEAD, revision: abc)", false, 0, "PATH", []string{"version 3.5.0, on PATH"}},
		{"2.x on PATH is too old", "prometheus, version 2.53.1 (branch: HEAD)", false, 3, "", []string{"version 2.53.1", "needs 3.x", "building Prometheus", "about 5 min"}},
		{"no version on PATH", "prometheus, version  (branch: )", false, 3, "", []string{"version unknown", "building Prometheus"}},
		{"none", "", false, 3, "", []string{"building Prometheus", "about 5 min"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range []string{"e2e", "bin", "path"} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, "e2e", "prometheus.sh"), script, 0o755); err != nil {
				t.Fatal(err)
			}
			fake := filepath.Join(root, "path", "prometheus")
			if c.onPath != "" {
				if err := os.WriteFile(fake, []byte("#!/bin/sh\necho '"+c.onPath+"'\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if c.inBin {
				if err := os.WriteFile(filepath.Join(root, "bin", "prometheus"), []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("bash", filepath.Join(root, "e2e", "prometheus.sh"), "--check")
			cmd.Env = []string{"PATH=" + filepath.Join(root, "path") + ":/usr/bin:/bin", "PROM_VER=v0.316.0"}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			want := c.wantOut
			if want == "PATH" {
				want = fake
			}
			if code != c.wantCode || strings.TrimSpace(string(out)) != want {
				t.Errorf("exit %d, stdout %q; want %d, %q\nstderr: %s", code, out, c.wantCode, want, stderr.String())
			}
			for _, w := range c.wantErr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

func TestValidateNamesTargetFieldsThatDoNotResolve(t *testing.T) {
	dir := t.TempDir()
	spec := strings.Replace(policytest.SpecYAML("demo"), "  kustomizations:",
		"    canaryReplicas: {file: apps/demo/canary/deployment.yaml, path: spec.replicas}\n"+
			"    stableReplicas: {file: apps/demo/stable/deployment.yaml, path: spec.replicas}\n  kustomizations:", 1)
	gittest.WriteFiles(t, dir, gittest.RolloutFilesWithSpec("demo", "1.0.0", spec))
	if err := os.WriteFile(filepath.Join(dir, "apps/demo/stable/deployment.yaml"), []byte("kind: Deployment\nspec: {replicas: 10}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runRamp("validate", "--repo", dir)
	want := "releases/demo/rollout.yaml:11: spec.target.canaryReplicas.path: apps/demo/canary/deployment.yaml: no such file or directory"
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("ramp validate = %v:\n%s\nwant a problem starting %q", err, out, want)
	}
}

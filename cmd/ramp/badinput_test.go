package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestValidateAndStatusAgreeOnFilesThatCannotBeUsed: a file the spec
// names is a symbolic link, or lies below one, or is missing; the spec
// itself or its directory is a link. `ramp validate`, which reads the
// disk, refuses each naming file:line, field and the link, as `ramp
// status` (the loop of `ramp run`, which reads git) does; status lists
// the rollout once, naming the file that cannot be used (a rollout
// directory that is a link included: it is no missing rollout), and a
// rollout whose spec parses can still be audited.
func TestValidateAndStatusAgreeOnFilesThatCannotBeUsed(t *testing.T) {
	cases := []struct {
		name     string
		damage   func(t *testing.T, repo, outside string)
		validate string
		status   string
		audits   bool // the spec parses, so its history can be audited
	}{
		{"route.yaml links to a file outside", func(t *testing.T, repo, outside string) {
			moveOut(t, repo, outside, "apps/demo/route.yaml")
		}, "releases/demo/rollout.yaml:10: spec.target.httpRoute.file: apps/demo/route.yaml is a symbolic link (to ",
			"apps/demo/route.yaml is a symbolic link (to ", true},
		{"apps/demo links to a directory outside", func(t *testing.T, repo, outside string) {
			moveOut(t, repo, outside, "apps/demo")
		}, "releases/demo/rollout.yaml:7: spec.release.file: apps/demo/canary/kustomization.yaml: apps/demo is a symbolic link (to ",
			"apps/demo/canary/kustomization.yaml: apps/demo is a symbolic link (to ", true},
		{"rollout.yaml links to a file outside", func(t *testing.T, repo, outside string) {
			moveOut(t, repo, outside, "releases/demo/rollout.yaml")
		}, "releases/demo/rollout.yaml is a symbolic link (to ", "releases/demo/rollout.yaml is a symbolic link (to ", false},
		{"releases/demo links to a directory outside", func(t *testing.T, repo, outside string) {
			moveOut(t, repo, outside, "releases/demo")
		}, "releases/demo/rollout.yaml: releases/demo is a symbolic link (to ", "releases/demo/rollout.yaml: releases/demo is a symbolic link (to ", false},
		{"route.yaml is missing", func(t *testing.T, repo, outside string) {
			os.Remove(filepath.Join(repo, "apps/demo/route.yaml"))
		}, "releases/demo/rollout.yaml:10: spec.target.httpRoute.file: apps/demo/route.yaml: no such file or directory",
			"apps/demo/route.yaml: file not found (at ", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo, outside := filepath.Join(t.TempDir(), "repo"), t.TempDir()
			gittest.InitRepo(t, repo, gittest.RolloutFiles("demo", "1.0.0"))
			if out, err := runRamp("validate", "--repo", repo); err != nil {
				t.Fatalf("validate before the damage: %v\n%s", err, out)
			}
			c.damage(t, repo, outside)
			gittest.CommitAll(t, repo, nil, "damage")

			out, err := runRamp("validate", "--repo", repo)
			if ee, ok := err.(*exitError); !ok || ee.code != exitFindings || !strings.HasPrefix(out, c.validate) {
				t.Errorf("validate: %v\n%s\nwant exit 1 and a problem starting %q", err, out, c.validate)
			}
			out, err = runRamp("status", "--repo", repo, "-o", "json")
			if err != nil {
				t.Fatalf("status: %v\n%s", err, out)
			}
			var rollouts []rolloutStatus
			if err := json.Unmarshal([]byte(out), &rollouts); err != nil {
				t.Fatalf("status -o json: %v\n%s", err, out)
			}
			if out, err := runRamp("audit", "demo", "--repo", repo); (err == nil) != c.audits {
				t.Errorf("audit: %v\n%s\nwant it to pass: %v", err, out, c.audits)
			}
			if len(rollouts) != 1 || rollouts[0].Phase != "Invalid" || !strings.HasPrefix(rollouts[0].Invalid, c.status) {
				t.Errorf("status lists %d rollouts:\n%s\nwant demo once, Invalid, starting %q", len(rollouts), out, c.status)
			}
		})
	}
}

// moveOut moves rel (a file or directory) of repo to outside and leaves a
// symbolic link to it in its place.
func moveOut(t *testing.T, repo, outside, rel string) {
	t.Helper()
	path := filepath.Join(repo, rel)
	moved := filepath.Join(outside, filepath.Base(rel))
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(moved, path); err != nil {
		t.Fatal(err)
	}
}

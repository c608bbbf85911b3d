package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestValidateNeverReadsAFileOutsideTheRepository: the freeze calendar,
// a guardrails file inside the repository, the spec and each managed file
// (release, stable, traffic target) in turn is a symbolic link to a file
// outside the repository holding a secret that would parse as YAML. ramp
// validate refuses each, naming the link and its target, and never prints
// the secret.
func TestValidateNeverReadsAFileOutsideTheRepository(t *testing.T) {
	const secret = "SECRET-TOKEN-1234"
	cases := []struct {
		name, link string
		guardrails bool // pass the link as --guardrails
	}{
		{"freeze calendar", "freeze.yaml", false},
		{"guardrails inside the repository", "guardrails.yaml", true},
		{"spec", "releases/demo/rollout.yaml", false},
		{"release file", "apps/demo/canary/kustomization.yaml", false},
		{"stable file", "apps/demo/stable/kustomization.yaml", false},
		{"traffic target", "apps/demo/route.yaml", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "repo")
			gittest.InitRepo(t, repo, gittest.RolloutFiles("demo", "1.0.0"))
			outside := filepath.Join(t.TempDir(), "token.yaml")
			// Valid YAML whose first line a parse error would quote.
			if err := os.WriteFile(outside, []byte("apiVersion: \""+secret+"\"\nkind: [\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(repo, filepath.FromSlash(c.link))
			os.Remove(path)
			if err := os.Symlink(outside, path); err != nil {
				t.Fatal(err)
			}
			args := []string{"validate", "--repo", repo}
			if c.guardrails {
				args = append(args, "--guardrails", path)
			}
			out, err := runRamp(args...)
			if err == nil {
				t.Fatalf("validate passed:\n%s", out)
			}
			all := out + err.Error()
			if strings.Contains(all, secret) {
				t.Errorf("validate printed the secret of the file outside:\n%s", all)
			}
			if want := c.link + " is a symbolic link (to " + outside + ")"; !strings.Contains(all, want) {
				t.Errorf("validate said:\n%s\nwant %q", all, want)
			}
		})
	}
}

// TestInitFromRefusesADirectoryBehindASymbolicLink: ramp init --rollout
// --from DIR, where a directory above DIR is a link out of the
// repository, reads nothing there, writes nothing and names the link; a
// releases/ that is a link is not written through.
func TestInitFromRefusesADirectoryBehindASymbolicLink(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	gittest.InitRepo(t, repo, gittest.RolloutFiles("demo", "1.0.0"))
	outside := t.TempDir()
	if err := os.Rename(filepath.Join(repo, "apps"), filepath.Join(outside, "apps")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "apps"), filepath.Join(repo, "apps")); err != nil {
		t.Fatal(err)
	}
	out, err := runRamp("init", "--rollout", "shop", "--from", "apps/demo", repo)
	if err == nil || !strings.Contains(out+err.Error(), "apps is a symbolic link (to "+filepath.Join(outside, "apps")+")") {
		t.Errorf("init --from through a link: %v\n%s\nwant the link named", err, out)
	}
	if _, err := os.Lstat(filepath.Join(repo, "releases", "shop")); err == nil {
		t.Errorf("init scaffolded shop from the manifests outside the repository")
	}

	repo2 := filepath.Join(t.TempDir(), "repo")
	gittest.InitRepo(t, repo2, gittest.RolloutFiles("demo", "1.0.0"))
	elsewhere := t.TempDir()
	if err := os.Rename(filepath.Join(repo2, "releases"), filepath.Join(elsewhere, "releases")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "releases"), filepath.Join(repo2, "releases")); err != nil {
		t.Fatal(err)
	}
	out, err = runRamp("init", "--rollout", "shop", "--from", "apps/demo", repo2)
	if _, statErr := os.Stat(filepath.Join(elsewhere, "releases", "shop")); err == nil || statErr == nil {
		t.Errorf("init wrote through the releases link: %v\n%s", err, out)
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewcomerFromAFreshClone does what a new user does: clones this
// repository with the system git (HEAD, as committed), reads the README's
// top commands, builds with make, pastes the README's walkthrough (the
// clone's own copy, through its e2e/walkthrough.sh), and then makes the
// common `ramp approve` mistakes in the walkthrough's release repository.
func TestNewcomerFromAFreshClone(t *testing.T) {
	for _, tool := range []string{"git", "ssh-keygen", "make", "bash", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: a newcomer needs it (README: Walkthrough, prerequisites)", tool)
		}
	}
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	global := filepath.Join(tmp, "gitconfig")
	writeFile(t, global, "")
	env := append(os.Environ(), "TMPDIR="+tmp, "GIT_CONFIG_GLOBAL="+global, "GIT_CONFIG_NOSYSTEM=1")
	run := func(dir string, name string, args ...string) (string, int) {
		t.Helper()
		c := exec.Command(name, args...)
		c.Dir, c.Env = dir, env
		out, err := c.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return string(out), 0
	}
	must := func(dir string, name string, args ...string) string {
		t.Helper()
		out, code := run(dir, name, args...)
		if code != 0 {
			t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
		}
		return out
	}

	clone := filepath.Join(tmp, "ramp")
	must(tmp, "git", "clone", "-q", src, clone)

	// The README's first commands are the two set-up commands.
	readme, err := os.ReadFile(filepath.Join(clone, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, l := range strings.Split(string(readme), "\n")[:12] {
		if strings.HasPrefix(l, "make ") {
			cmds = append(cmds, strings.Fields(l)[1])
		}
	}
	if strings.Join(cmds, " ") != "demo test" {
		t.Errorf("the README's top commands are %v, want make demo and make test", cmds)
	}

	must(clone, "make", "build")
	text := must(clone, "bash", "e2e/walkthrough.sh")
	repos, _ := filepath.Glob(filepath.Join(tmp, "tmp.*", "repo"))
	if len(repos) != 1 {
		t.Fatalf("want the walkthrough's release repository under %s, found %v\n%s", tmp, repos, text)
	}
	repo := repos[0]
	if !strings.Contains(text, "1 rollout(s) valid") || !strings.Contains(text, "verified: evidence bundle of rollout demo release 1.1.0") {
		t.Errorf("the walkthrough in the fresh clone did not validate and verify:\n%s", text)
	}
	ramp := filepath.Join(clone, "bin", "ramp")
	approvers := "--approvers=" + filepath.Join(repo, "..", "approvers")
	status := must(repo, ramp, "status", approvers)
	if !strings.Contains(status, "2/4") || !strings.Contains(status, "approval") {
		t.Fatalf("after the walkthrough, demo 1.2.0 should wait for an approval at step 2/4:\n%s", status)
	}

	// The approve mistakes: each refused with exit 1 and a reason, and
	// nothing committed.
	t.Run("approve mistakes", func(t *testing.T) {
		tip := must(repo, "git", "rev-parse", "HEAD")

		// A step that does not wait for an approval (step 3/4 sets a weight).
		out, code := run(repo, ramp, "approve", "demo", "--step", "3", approvers)
		if code != exitFindings || !strings.Contains(out, "refused") {
			t.Errorf("ramp approve demo --step 3 (a setWeight step, not reached): exit %d, want 1 with a reason:\n%s", code, out)
		}
		if now := must(repo, "git", "rev-parse", "HEAD"); now != tip {
			t.Errorf("the refused approval moved HEAD")
		}

		// A staged edit does not go into the approval commit, and stays staged.
		route := filepath.Join(repo, "apps", "demo", "route.yaml")
		data, err := os.ReadFile(route)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, route, string(data)+"# a staged edit\n")
		must(repo, "git", "add", "apps/demo/route.yaml")
		if out, code := run(repo, ramp, "approve", "demo", approvers); code != exitOK {
			t.Fatalf("ramp approve demo at step 2/4 with a staged edit: exit %d\n%s", code, out)
		}
		if files := must(repo, "git", "diff", "--name-only", "HEAD^", "HEAD"); strings.TrimSpace(files) != "" {
			t.Errorf("the approval commit changed files: %s", files)
		}
		if staged := must(repo, "git", "diff", "--cached", "--name-only"); strings.TrimSpace(staged) != "apps/demo/route.yaml" {
			t.Errorf("the staged edit is not staged any more (staged: %q)", staged)
		}
		if subj := must(repo, "git", "log", "-1", "--format=%G? %s"); !strings.HasPrefix(subj, "G approve demo 1.2.0 step 2/4") {
			t.Errorf("the approval commit: %s", subj)
		}

		// A duplicate approval of the same step by the same person.
		out, code = run(repo, ramp, "approve", "demo", "--step", "2", approvers)
		if code != exitFindings || !strings.Contains(out, "refused") {
			t.Errorf("a second approval of step 2 by bob: exit %d, want 1 with a reason:\n%s", code, out)
		}
	})
}

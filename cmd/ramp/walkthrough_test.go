package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeWalkthrough runs the README's walkthrough as pasted (through
// e2e/walkthrough.sh, which `make demo` also runs) and checks what a
// newcomer should see: release 1.1.0 promoted with its approvals, audit
// verified, its evidence bundle verified, then an unsigned hand edit holds
// the rollout and fails `audit --verify`, naming the commit.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"git", "ssh-keygen", "make", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: the walkthrough needs it (apt-get install git openssh-client make)", tool)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	global := filepath.Join(tmp, "gitconfig")
	if err := os.WriteFile(global, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "e2e", "walkthrough.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "GIT_CONFIG_GLOBAL="+global, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, text)
	}

	repos, _ := filepath.Glob(filepath.Join(tmp, "*", "repo"))
	if len(repos) != 1 {
		t.Fatalf("want one release repository under %s, found %v\n%s", tmp, repos, text)
	}
	repo := repos[0]
	git := func(args ...string) string {
		c := exec.Command("git", append([]string{"-C", repo}, args...)...)
		c.Env = cmd.Env
		b, err := c.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(b))
	}

	// Release 1.1.0 went through every step and was promoted.
	var subjects []string
	for _, line := range strings.Split(git("log", "--reverse", "--format=%s"), "\n") {
		if strings.HasPrefix(line, "ramp:") || strings.HasPrefix(line, "approve") {
			subjects = append(subjects, line)
		}
	}
	want := []string{
		"ramp: demo 1.1.0 step 1/4 set-weight (weight 10%)",
		"ramp: demo 1.1.0 step 2/4 pause (weight 10%)",
		"approve demo 1.1.0 step 2/4",
		"ramp: demo 1.1.0 step 3/4 set-weight (weight 50%)",
		"ramp: demo 1.1.0 step 4/4 pause (weight 50%)",
		"approve demo 1.1.0 step 4/4",
		"ramp: demo 1.1.0 promote (weight 50%)",
		"ramp: demo 1.1.0 complete (weight 0%)",
		"ramp: demo 1.2.0 step 1/4 set-weight (weight 10%)",
		"ramp: demo 1.2.0 step 2/4 pause (weight 10%)", // after alice's and bob's resume
	}
	if strings.Join(subjects, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
	}
	// At the promotion, stable equals the canary and all traffic is on stable.
	promote := git("log", "--format=%H", "--grep", "^ramp: demo 1.1.0 complete", "-n1")
	stable := git("show", promote+":apps/demo/stable/kustomization.yaml")
	route := git("show", promote+":apps/demo/route.yaml")
	if !strings.Contains(stable, `newTag: "1.1.0"`) {
		t.Errorf("stable at completion:\n%s\nwant newTag 1.1.0", stable)
	}
	if !regexp.MustCompile(`name: demo-stable\s+port: 80\s+weight: 100`).MatchString(route) ||
		!regexp.MustCompile(`name: demo-canary\s+port: 80\s+weight: 0`).MatchString(route) {
		t.Errorf("route at completion:\n%s\nwant 100/0", route)
	}
	if !strings.Contains(text, "verified: ") || !strings.Contains(text, "no findings") {
		t.Errorf("first audit --verify did not pass:\n%s", text)
	}
	if !strings.Contains(text, "verified: evidence bundle of rollout demo release 1.1.0") {
		t.Errorf("the evidence bundle of 1.1.0 did not verify:\n%s", text)
	}
	// The hand edit: the rollout holds naming it, and audit --verify exits 1 naming it.
	edit := git("log", "--format=%H", "--grep", "^canary to 40% by hand", "-n1")
	if !strings.Contains(text, "hold: commit "+edit[:10]) {
		t.Errorf("ramp run did not hold naming %s:\n%s", edit[:10], text)
	}
	if !strings.Contains(text, edit[:10]+" FINDING: commit "+edit[:10]) || !strings.Contains(text, "audit --verify exited 1") {
		t.Errorf("audit --verify did not fail naming %s:\n%s", edit[:10], text)
	}

	// ramp resume: two signed resumes (alice's, bob's), the first leaving the
	// hold in place, the second letting ramp go on.
	resumes := git("log", "--format=%G? %ae %s", "--grep", "^resume demo 1.2.0")
	if resumes != "G bob@example.com resume demo 1.2.0\nG alice@example.com resume demo 1.2.0" {
		t.Errorf("resume commits (newest first):\n%s\nwant bob's and alice's, both with a good signature", resumes)
	}
	if !strings.Contains(text, "resuming takes 2 people with reason=, 1 so far") {
		t.Errorf("after alice's resume ramp did not say it waits for a second:\n%s", text)
	}

	// The walkthrough's own `git log --format='%h %G? %ae %s'` lines: git
	// verifies each commit with the allowed-signers file the walkthrough set.
	short := func(rev string) string { return git("rev-parse", "--short", rev) }
	for _, want := range []string{
		short(edit) + " N dev@example.com canary to 40% by hand",
		short(promote) + " G ramp@localhost ramp: demo 1.1.0 complete (weight 0%)",
		short(git("log", "--format=%H", "--grep", "^approve demo 1.1.0 step 2/4", "-n1")) + " G alice@example.com approve demo 1.1.0 step 2/4",
	} {
		if !strings.Contains(text, "\n"+want+"\n") {
			t.Errorf("the walkthrough's git log does not show %q:\n%s", want, text)
		}
	}
}

// TestReadmeWalkthroughIsPortable checks what the walkthrough test cannot
// on Linux: its prerequisites are listed, and every in-place sed has the
// suffix BSD sed (macOS) needs, so the block runs there too.
func TestReadmeWalkthroughIsPortable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start, end := strings.Index(readme, "<!-- walkthrough:start -->"), strings.Index(readme, "<!-- walkthrough:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no walkthrough block")
	}
	block := readme[start:end]
	if bad := regexp.MustCompile(`sed -i(\s|$)|sed -i ?['"]|sed --in-place`).FindAllString(block, -1); len(bad) > 0 {
		t.Errorf("the walkthrough uses GNU-only sed -i (write sed -i.bak … && rm ….bak): %q", bad)
	}
	for _, m := range regexp.MustCompile(`sed -i\.bak .* (\S+) && rm (\S+)`).FindAllStringSubmatch(block, -1) {
		if m[2] != m[1]+".bak" {
			t.Errorf("sed -i.bak on %s removes %s", m[1], m[2])
		}
	}
	if !strings.Contains(block, "ramp resume ") {
		t.Errorf("the walkthrough does not show ramp resume")
	}
	pre := readme[strings.Index(readme, "## Walkthrough"):start]
	for _, want := range []string{"Go ≥ 1.26", "git ≥ 2.34", "ssh-keygen"} {
		if !strings.Contains(pre, want) {
			t.Errorf("the walkthrough's prerequisites do not name %q:\n%s", want, pre)
		}
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^go 1\.26(\.|$)`).Match(gomod) {
		t.Errorf("go.mod's go line changed: update the README's Go prerequisite")
	}
}

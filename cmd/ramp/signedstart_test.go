package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ramp-dev/ramp/policy"
)

// chartGuardrails renders charts/ramp with its default values (real helm)
// and writes the guardrails the controller would read to a file outside
// any repository.
func chartGuardrails(t *testing.T) string {
	t.Helper()
	helm := filepath.Join("..", "..", "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("run `make tools` (bin/helm missing): %v", err)
	}
	out, err := exec.Command(helm, "template", "ramp", filepath.Join("..", "..", "charts", "ramp"), "--namespace", "ramp-system").Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var cm struct {
			Kind     string                `json:"kind"`
			Metadata struct{ Name string } `json:"metadata"`
			Data     map[string]string     `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &cm); err != nil || cm.Kind != "ConfigMap" || cm.Metadata.Name != "ramp-guardrails" {
			continue
		}
		path := filepath.Join(t.TempDir(), "guardrails.yaml")
		writeFile(t, path, cm.Data["guardrails.yaml"])
		return path
	}
	t.Fatalf("the chart's default rendering has no ConfigMap ramp-guardrails:\n%s", out)
	return ""
}

// TestTheChartsAndInitsGuardrailsHoldAnUnsignedStart: the guardrails the
// chart installs by default and those ramp init writes turn
// requireSignedStart on: an unsigned release start holds with no commit,
// and status says how to sign it (SSH or OpenPGP, commit or merge) and
// how to opt out. ramp's built-in defaults (no --guardrails) keep today's
// behaviour: the release takes step 1, and status and audit note that
// separation of duties was not verified, and why. A signed start under
// the chart's guardrails goes ahead.
func TestTheChartsAndInitsGuardrailsHoldAnUnsignedStart(t *testing.T) {
	chart := chartGuardrails(t)
	data, err := os.ReadFile(chart)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := policy.ParseGuardrails("guardrails.yaml", data); err != nil || !g.RequireSignedStart {
		t.Fatalf("the chart's default guardrails %q: %+v, %v; want requireSignedStart", data, g, err)
	}
	h, _ := approveRepo(t)
	path := filepath.Join(h.repo, "apps/demo/canary/kustomization.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strings.Replace(string(b), `newTag: "1.0.0"`, `newTag: "1.1.0"`, 1))
	h.git("dev", "commit", "-q", "-am", "demo: release 1.1.0") // unsigned
	read := []string{"--repo", h.repo, "--approvers", h.approvers}

	for name, g := range map[string]string{"chart": chart, "ramp init": filepath.Join(h.repo, initGuardrailsFile)} {
		if out, err := runRamp(append(h.run, "--guardrails", g)...); err != nil {
			t.Fatalf("%s: ramp run: %v\n%s", name, err, out)
		}
		if subject := h.git("dev", "log", "-1", "--format=%s"); subject != "demo: release 1.1.0" {
			t.Errorf("%s: ramp committed %q on an unsigned start", name, subject)
		}
		out, err := runRamp(append([]string{"status", "--guardrails", g}, read...)...)
		if err != nil {
			t.Fatalf("%s: ramp status: %v\n%s", name, err, out)
		}
		for _, want := range []string{"guardrail requireSignedStart: separation of duties cannot be verified for release 1.1.0",
			"by dev@example.com (unsigned)", "git config gpg.format ssh", "git config user.signingkey ~/.ssh/id_ed25519.pub",
			"git commit -S", "git merge -S", "OpenPGP", "requireSignedStart: false in the guardrails"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: status does not say %q:\n%s", name, want, out)
			}
		}
		if strings.Contains(out, "separation of duties not verified") {
			t.Errorf("%s: the guardrail is on, yet status notes it off:\n%s", name, out)
		}
	}

	// ramp's built-in defaults: no hold, and a note on the release.
	h.until(t, "ramp: demo 1.1.0 step 1/4")
	out, err := runRamp(append([]string{"status"}, read...)...)
	note := "demo: separation of duties not verified for release 1.1.0: not signed by a trusted key: start commit "
	if err != nil || !strings.Contains(out, note) || !strings.Contains(out, "(unsigned) (guardrail requireSignedStart is off") {
		t.Errorf("status with the guardrail off: %v\n%s\nwant %q", err, out, note)
	}
	out, err = runRamp(append([]string{"audit", "demo"}, read...)...)
	if err != nil || !strings.Contains(out, "start signed     no, separation of duties not verified: not signed by a trusted key: start commit ") {
		t.Errorf("audit with the guardrail off: %v\n%s\nwant the start's row to say separation of duties was not verified", err, out)
	}

	// A signed start under the chart's guardrails takes its step.
	h2, _ := approveRepo(t)
	h2.release(t, "1.0.0", "1.1.0")
	if out, err := runRamp(append(h2.run, "--guardrails", chart)...); err != nil {
		t.Fatalf("signed start: ramp run: %v\n%s", err, out)
	}
	if subject := h2.git("dev", "log", "-1", "--format=%s"); !strings.HasPrefix(subject, "ramp: demo 1.1.0 step 1/4") {
		t.Errorf("signed start under the chart's guardrails: main at %q, want step 1", subject)
	}
}

package main

import (
	"strings"
	"testing"
)

// TestCompletionOffersRolloutNamesAndOutputFormats: `ramp completion
// bash|zsh|fish` writes a script, and the completion it calls back
// (`ramp __complete …`) offers the rollouts of --repo for NAME and each
// command's -o values.
func TestCompletionOffersRolloutNamesAndOutputFormats(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, err := runRamp("completion", shell)
		if err != nil || !strings.Contains(out, "__complete") {
			t.Errorf("ramp completion %s: %v\n%.300s", shell, err, out)
		}
	}
	h, _ := approveRepo(t)
	words := func(args ...string) []string {
		t.Helper()
		out, err := runRamp(append([]string{"__complete"}, args...)...)
		if err != nil {
			t.Fatalf("ramp __complete %v: %v\n%s", args, err, out)
		}
		var ws []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, ":") && !strings.HasPrefix(l, "Completion ended") {
				ws = append(ws, strings.SplitN(l, "\t", 2)[0])
			}
		}
		return ws
	}
	for _, cmd := range []string{"approve", "abort", "pause", "resume", "audit", "plan"} {
		if got := words(cmd, "--repo", h.repo, ""); strings.Join(got, " ") != "demo" {
			t.Errorf("ramp %s --repo R <TAB> offers %v, want [demo]", cmd, got)
		}
	}
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 1/4 set-weight")
	for _, cmd := range []string{"approve", "audit"} {
		if got := words(cmd, "demo", "--repo", h.repo, "--release", ""); strings.Join(got, " ") != "1.1.0" {
			t.Errorf("ramp %s demo --release <TAB> offers %v, want [1.1.0]", cmd, got)
		}
	}
	if got := words("status", "-o", ""); strings.Join(got, " ") != "text json yaml" {
		t.Errorf("ramp status -o <TAB> offers %v", got)
	}
	if got := words("audit", "demo", "-o", ""); strings.Join(got, " ") != "text json yaml html bundle" {
		t.Errorf("ramp audit -o <TAB> offers %v", got)
	}
	if got := words("run", "-o", ""); len(got) != 0 && strings.Join(got, " ") == "text json yaml" {
		t.Errorf("ramp run offers -o %v, but prints no structured output", got)
	}
}

// TestOutputFlagIsNeverSilentlyIgnored: a format a command does not offer
// is refused (exit 2), run offers no -o at all, and approve's -o json
// describes the commit it made.
func TestOutputFlagIsNeverSilentlyIgnored(t *testing.T) {
	h, key := approveRepo(t)
	if out, err := runRamp("status", "--repo", h.repo, "-o", "html"); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "-o html: want text, json, yaml") {
		t.Errorf("status -o html: %v\n%s", err, out)
	}
	if _, err := runRamp(append([]string{"run", "-o", "json"}, h.run[1:]...)...); err == nil || !strings.Contains(err.Error(), "unknown shorthand flag: 'o'") {
		t.Errorf("run -o json: %v, want an unknown flag", err)
	}
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")
	as(t, "alice", key["alice"])
	out, err := runRamp("approve", "demo", "--repo", h.repo, "--approvers", h.approvers, "-o", "json")
	if err != nil {
		t.Fatalf("approve -o json: %v\n%s", err, out)
	}
	head := h.git("dev", "rev-parse", "HEAD")
	for _, want := range []string{`"commit": "` + head + `"`, `"trailer": "Ramp-Approve: rollout=demo release=1.1.0 step=2"`, `"ref": "refs/heads/main"`} {
		if !strings.Contains(out, want) {
			t.Errorf("approve -o json lacks %s:\n%s", want, out)
		}
	}
}

// TestFlagsThatMeanNothingForACommandAreNotOffered: validate reads the
// working copy on disk (no branch, URL, keys or commands ref), and the
// command verbs commit in a working copy (no URL cache or SSH flags).
func TestFlagsThatMeanNothingForACommandAreNotOffered(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"validate": {"branch", "cache-dir", "ssh-key", "known-hosts", "approvers", "commands-ref"},
		"approve":  {"cache-dir", "ssh-key", "known-hosts"},
		"resume":   {"cache-dir", "ssh-key", "known-hosts"},
		"run":      {"output"},
	} {
		help, err := runRamp(cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range flags {
			if strings.Contains(help, "--"+f+" ") {
				t.Errorf("ramp %s offers --%s, which means nothing there", cmd, f)
			}
		}
	}
	for cmd, flags := range map[string][]string{
		"status":   {"repo", "branch", "cache-dir", "ssh-key", "approvers", "commands-ref", "prometheus", "output"},
		"approve":  {"repo", "branch", "approvers", "commands-ref", "output", "force"},
		"validate": {"repo", "guardrails", "output"},
	} {
		help, _ := runRamp(cmd, "--help")
		for _, f := range flags {
			if !strings.Contains(help, "--"+f+" ") {
				t.Errorf("ramp %s does not offer --%s", cmd, f)
			}
		}
	}
}

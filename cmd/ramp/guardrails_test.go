package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestGuardrailsThatWeakenThemselvesAreRefusedByEveryCommand: a guardrails
// file with a resume count of 0 (which would silently mean one person) is
// refused by validate, status, plan and run with exit 2 at its file:line
// and field, before anything is read or pushed; a group the guardrails
// require that no key of --approvers is in is refused the same way, and
// the groups the keys have pass.
func TestGuardrailsThatWeakenThemselvesAreRefusedByEveryCommand(t *testing.T) {
	h, _ := approveRepo(t)
	dir := t.TempDir()
	weak := filepath.Join(dir, "weak.yaml")
	writeFile(t, weak, "maxWeightStep: 25\nrequireDigest: false\ncommands:\n  resume: {count: 0}\n")
	want := weak + ":4: commands.resume.count: 0 is below 1"
	for _, args := range [][]string{
		{"validate", "--repo", h.repo, "--guardrails", weak},
		{"status", "--repo", h.repo, "--approvers", h.approvers, "--guardrails", weak},
		{"plan", "--repo", h.repo, "--approvers", h.approvers, "--guardrails", weak},
		append(append([]string{}, h.run...), "--guardrails", weak),
	} {
		out, err := runRamp(args...)
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), want) {
			t.Errorf("ramp %s: exit %d, %v\n%s\nwant exit %d naming %q", args[0], exitCode(err), err, out, exitUsage, want)
		}
	}

	unknown := filepath.Join(dir, "groups.yaml")
	writeFile(t, unknown, "engineerGroups: [dev]\ncommands:\n  approve: {groups: [sre]}\nfreeze: {exceptionGroups: [cab]}\n")
	want = unknown + `:4: freeze.exceptionGroups[0]: "cab" is not a group of the trusted keys (groups with keys: dev, sre)`
	for _, cmd := range []string{"status", "plan"} {
		out, err := runRamp(cmd, "--repo", h.repo, "--approvers", h.approvers, "--guardrails", unknown)
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), want) {
			t.Errorf("ramp %s with a group no key is in: exit %d, %v\n%s\nwant exit %d naming %q", cmd, exitCode(err), err, out, exitUsage, want)
		}
	}
	known := filepath.Join(dir, "known.yaml")
	writeFile(t, known, "engineerGroups: [dev]\ncommands:\n  approve: {groups: [sre]}\n  resume: {groups: [sre], count: 1}\n")
	if out, err := runRamp("status", "--repo", h.repo, "--approvers", h.approvers, "--guardrails", known); err != nil {
		t.Errorf("ramp status with groups the keys have: %v\n%s", err, out)
	}
}

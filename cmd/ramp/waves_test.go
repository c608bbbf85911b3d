package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

func TestStatusShowsTheWaveAndEachTargetsPhaseStepAndWeight(t *testing.T) {
	h := newReleaseRepo(t)
	spec := strings.Replace(policytest.WavesYAML("pay"), "        - analysis: {gates: [error-rate], window: 5m}\n", "        - pause: {}\n", 1)
	for path, content := range gittest.WavesFiles("pay", "1.0.0", spec, "eu", "us", "ap") {
		gittest.WriteFiles(t, h.repo, map[string]string{path: content})
	}
	h.git("dev", "add", "-A")
	h.git("dev", "commit", "-q", "-S", "-m", "pay: rollout in waves")
	writeFile(t, filepath.Join(h.repo, "releases/pay/release.yaml"), gittest.Release("2.0.0"))
	h.git("dev", "commit", "-q", "-S", "-am", "pay: release 2.0.0")
	h.run = []string{"run", "--once", "--repo", h.repo, "--signing-key", h.rampKey, "--approvers", h.approvers}
	h.until(t, "ramp: pay/eu 2.0.0 step 2/2 pause")

	out, err := runRamp("status", "--repo", h.repo, "--approvers", h.approvers)
	if err != nil {
		t.Fatalf("ramp status: %v\n%s", err, out)
	}
	for _, row := range []string{
		`pay +2\.0\.0 +Wave 1/2 first progressing .*target eu: an approval of step 2/2`,
		`pay/eu +2\.0\.0 +1\.0\.0 +Progressing +2/2 +50% `,
		`pay/us +1\.0\.0 +1\.0\.0 +Stable +- +0% `,
		`pay/ap +1\.0\.0 +1\.0\.0 +Stable +- +0% `,
	} {
		if !regexp.MustCompile(`(?m)^` + row).MatchString(out) {
			t.Errorf("status lacks a row matching %q:\n%s", row, out)
		}
	}
	out, err = runRamp("status", "--repo", h.repo, "--approvers", h.approvers, "-o", "json")
	if err != nil {
		t.Fatalf("ramp status -o json: %v\n%s", err, out)
	}
	var rows []rolloutStatus
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	var pay *rolloutStatus
	for i := range rows {
		if rows[i].Name == "pay" {
			pay = &rows[i]
		}
	}
	if pay == nil || len(pay.Waves) != 2 || pay.Waves[0].State != "progressing" || pay.Waves[1].State != "waiting" ||
		pay.Waves[0].Targets[0].Step != 2 || pay.Waves[0].Targets[0].Steps != 2 || pay.Waves[0].Targets[0].Weight != 50 {
		t.Errorf("pay in -o json: %+v", pay)
	}

	// alice approves eu's step 2; eu is promoted, wave rest waits out
	// first's soak of 30m.
	h.command("approve pay eu 2.0.0 step 2", "Ramp-Approve: rollout=pay target=eu release=2.0.0 step=2")
	h.until(t, "ramp: pay/eu 2.0.0 complete")
	out, err = runRamp("audit", "pay", "--repo", h.repo, "--approvers", h.approvers)
	if err != nil {
		t.Fatalf("ramp audit pay: %v\n%s", err, out)
	}
	if strings.Contains(out, "FINDING") {
		t.Errorf("findings in a clean history:\n%s", out)
	}
	for _, row := range []string{
		`COMMIT +TIME +RELEASE +WAVE +ROLLOUT +EU \(first\) +US \(rest\) +AP \(rest\) +BY`,
		`[0-9a-f]{10} .* 2\.0\.0 +- +start +\| +\| +\| +dev@example\.com`,
		`[0-9a-f]{10} .* 2\.0\.0 +first +start-wave +start +\| +\| +ramp@localhost`,
		`[0-9a-f]{10} .* 2\.0\.0 +first +- +set-weight 1/2 50% +\| +\| +ramp@localhost`,
		`[0-9a-f]{10} .* 2\.0\.0 +first +- +pause 2/2 50% +\| +\| +ramp@localhost`,
		`[0-9a-f]{10} .* 2\.0\.0 +- +- +Ramp-Approve 2/2 +\| +\| +alice@example\.com`,
		`[0-9a-f]{10} .* 2\.0\.0 +first +- +promote 50% +\| +\| +ramp@localhost`,
		`[0-9a-f]{10} .* 2\.0\.0 +first +- +complete 0% +\| +\| +ramp@localhost`,
	} {
		if !regexp.MustCompile(`(?m)^` + row).MatchString(out) {
			t.Errorf("audit lacks a row matching %q:\n%s", row, out)
		}
	}
}

func TestValidateReadsEachTargetsFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	files := gittest.WavesFiles("pay", "1.0.0", policytest.WavesYAML("pay"), "eu", "us", "ap")
	gittest.InitRepo(t, dir, files)
	if out, err := runRamp("validate", "--repo", dir); err != nil || !strings.Contains(out, "1 rollout(s) valid") {
		t.Fatalf("ramp validate: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(dir, "clusters/us/pay/stable/kustomization.yaml"),
		strings.Replace(files["clusters/us/pay/stable/kustomization.yaml"], `newTag: "1.0.0"`, `tag: "1.0.0"`, 1))
	out, err := runRamp("validate", "--repo", dir)
	want := `releases/pay/rollout.yaml:16: spec.targets[1].stable.path: clusters/us/pay/stable/kustomization.yaml images[name=pay].newTag:`
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("ramp validate of a target's broken stable file: %v\n%s\nwant %s", err, out, want)
	}
}

package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestStatusSaysWhenNoTrustedKeysAreConfiguredAndReadsThemFromEnvAndConfig:
// without trusted keys, status says so plainly (ramp's commits would read
// as hand edits); $RAMP_APPROVERS and the user config file's approvers:
// (relative to the file) give the keys; a directory inside the release
// repository is refused; the flag wins over both.
func TestStatusSaysWhenNoTrustedKeysAreConfiguredAndReadsThemFromEnvAndConfig(t *testing.T) {
	h, _ := approveRepo(t)
	t.Setenv("RAMP_CONFIG", filepath.Join(t.TempDir(), "absent.yaml"))
	t.Setenv("RAMP_APPROVERS", "")
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")

	out, err := runRamp("status", "--repo", h.repo)
	if err != nil {
		t.Fatalf("ramp status: %v\n%s", err, out)
	}
	if !strings.Contains(out, "no trusted keys are configured") || !strings.Contains(out, "ramp's own commits read as unsigned hand edits") {
		t.Errorf("status without keys does not say so:\n%s", out)
	}

	wantLine := func(how, out string) {
		t.Helper()
		if strings.Contains(out, "no trusted keys") || !strings.Contains(out, "demo: next: ramp approve demo --step 2") ||
			!strings.Contains(out, "2/4") || !strings.Contains(out, "10%") {
			t.Errorf("status with keys from %s:\n%s\nwant step 2/4 at 10%% and the approve command", how, out)
		}
	}
	t.Setenv("RAMP_APPROVERS", h.approvers)
	out, err = runRamp("status", "--repo", h.repo)
	if err != nil {
		t.Fatalf("ramp status: %v\n%s", err, out)
	}
	wantLine("$RAMP_APPROVERS", out)

	t.Setenv("RAMP_APPROVERS", "")
	cfgDir := filepath.Dir(h.approvers)
	cfg := filepath.Join(cfgDir, "config.yaml")
	writeFile(t, cfg, "approvers: "+filepath.Base(h.approvers)+"\nprometheus: http://127.0.0.1:1\n")
	t.Setenv("RAMP_CONFIG", cfg)
	out, err = runRamp("status", "--repo", h.repo)
	if err != nil {
		t.Fatalf("ramp status: %v\n%s", err, out)
	}
	wantLine("the config file", out)

	writeFile(t, cfg, "approvers: "+h.approvers+"\nprometheus: not a url\n")
	if out, err := runRamp("status", "--repo", h.repo); exitCode(err) != exitUsage || !strings.Contains(err.Error(), cfg+": prometheus address") {
		t.Errorf("a bad prometheus: in the config file: exit %d, %v\n%s", exitCode(err), err, out)
	}
	writeFile(t, cfg, "approver: typo\n")
	if _, err := runRamp("status", "--repo", h.repo); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "field approver not found") {
		t.Errorf("an unknown field in the config file: %v", err)
	}
	t.Setenv("RAMP_CONFIG", filepath.Join(t.TempDir(), "absent.yaml"))

	inside := filepath.Join(h.repo, "keys")
	if _, err := runRamp("status", "--repo", h.repo, "--approvers", inside); exitCode(err) != exitUsage ||
		!strings.Contains(err.Error(), "trust must not come from the repository it guards") {
		t.Errorf("trusted keys inside the release repository: %v", err)
	}
}

// TestStatusAndPlanShareOneSchema: status and plan name a rollout "name",
// give step and steps as integers, never a zero timestamp or an empty
// action, and -o yaml carries the same fields as -o json.
func TestStatusAndPlanShareOneSchema(t *testing.T) {
	h, _ := approveRepo(t)
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")
	flags := []string{"--repo", h.repo, "--approvers", h.approvers}
	decode := func(format string, args ...string) []map[string]any {
		t.Helper()
		out, err := runRamp(append(append(args, "-o", format), flags...)...)
		if err != nil {
			t.Fatalf("ramp %v -o %s: %v\n%s", args, format, err, out)
		}
		b := []byte(out)
		if format == "yaml" {
			if b, err = yaml.YAMLToJSON(b); err != nil {
				t.Fatalf("ramp %v -o yaml is not YAML: %v\n%s", args, err, out)
			}
		}
		var v []map[string]any
		if err := json.Unmarshal(b, &v); err != nil || len(v) != 1 {
			t.Fatalf("ramp %v -o %s: %v\n%s", args, format, err, out)
		}
		return v
	}
	status, plan := decode("json", "status"), decode("json", "plan")
	for what, v := range map[string]map[string]any{"status": status[0], "plan": plan[0]} {
		for k, want := range map[string]any{"name": "demo", "release": "1.1.0", "step": 2.0, "steps": 4.0, "weight": 10.0,
			"nextCommand": "ramp approve demo --step 2"} {
			if v[k] != want {
				t.Errorf("%s -o json: %s = %#v, want %#v", what, k, v[k], want)
			}
		}
		raw, _ := json.Marshal(v)
		if strings.Contains(string(raw), "0001-01-01") || strings.Contains(string(raw), `"action":""`) {
			t.Errorf("%s -o json has a zero timestamp or an empty action: %s", what, raw)
		}
	}
	if plan[0]["action"] != "hold" {
		t.Errorf("plan action %#v, want hold", plan[0]["action"])
	}
	if y := decode("yaml", "status"); !reflect.DeepEqual(y, status) {
		t.Errorf("status -o yaml %v\nis not -o json %v", y, status)
	}
	if y := decode("yaml", "plan"); !reflect.DeepEqual(y, plan) {
		t.Errorf("plan -o yaml %v\nis not -o json %v", y, plan)
	}
}

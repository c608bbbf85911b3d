package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateNamesAPromQLSyntaxErrorAtFileAndLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if out, err := runRamp("init", dir); err != nil {
		t.Fatalf("ramp init: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "releases/demo/rollout.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spec := strings.Replace(string(data), "  onFailure:\n", `  gates:
    - name: error-rate
      prometheus:
        query: sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[1m]) / sum(rate(http_requests_total{version="{{.Version}}"}[1m]))
        max: 0.01
  onFailure:
`, 1)
	writeFile(t, path, spec)
	out, err := runRamp("validate", "--repo", dir)
	var exit *exitError
	if !errors.As(err, &exit) || exit.code != exitFindings {
		t.Fatalf("ramp validate: %v, want exit %d\n%s", err, exitFindings, out)
	}
	want := "releases/demo/rollout.yaml:36: spec.gates[0].prometheus.query: not valid PromQL: 1:117: parse error: unclosed left parenthesis"
	if !strings.Contains(out, want) {
		t.Fatalf("ramp validate printed:\n%s\nwant it to say %q", out, want)
	}
}

func TestValidateChecksTheFreezeCalendar(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if out, err := runRamp("init", dir); err != nil {
		t.Fatalf("ramp init: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(dir, "freeze.yaml"), `apiVersion: ramp.dev/v1alpha1
kind: FreezeCalendar
freezes:
  - name: year-end
    start: "2026-12-20T00:00"
    end: "2027-01-03 00:00"
    timeZone: Europe/Berlin
    reason: year-end change freeze
`)
	out, err := runRamp("validate", "--repo", dir)
	var exit *exitError
	if !errors.As(err, &exit) || exit.code != exitFindings {
		t.Fatalf("ramp validate: %v, want exit %d\n%s", err, exitFindings, out)
	}
	if want := `freeze.yaml:6: freezes[0].end: "2027-01-03 00:00" is not a local time like 2027-01-03T00:00`; !strings.Contains(out, want) {
		t.Fatalf("ramp validate printed:\n%s\nwant it to say %q", out, want)
	}
}

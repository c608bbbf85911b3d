package controllers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/policy"
)

// TestChartGuardrailsParseClean renders the chart with its default values,
// and with the guardrails example its values.yaml documents: the
// guardrails.yaml each gives the controller parses with no problem (a
// value that weakens the guardrails would stall every repository, or keep
// the controller from starting).
func TestChartGuardrailsParseClean(t *testing.T) {
	values, err := os.ReadFile(filepath.Join("..", "charts", "ramp", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	example := guardrailsExample(t, string(values))
	file := filepath.Join(t.TempDir(), "example.yaml")
	if err := os.WriteFile(file, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, set := range map[string][]string{"defaults": nil, "the documented example": {"--values=" + file}} {
		t.Run(name, func(t *testing.T) {
			objs := decodeAll(t, renderChart(t, "ramp-system", set...))
			found := false
			for _, u := range objs {
				if u.GetKind() != "ConfigMap" || !strings.HasSuffix(u.GetName(), "-guardrails") {
					continue
				}
				found = true
				data, _, _ := unstructured.NestedString(u.Object, "data", rampv1.GuardrailsKey)
				if _, err := policy.ParseGuardrails("guardrails.yaml", []byte(data)); err != nil {
					t.Errorf("the chart's guardrails.yaml:\n%s\ndoes not parse clean:\n%v", data, err)
				}
			}
			if !found && name != "defaults" {
				t.Errorf("no guardrails ConfigMap rendered for %s:\n%s", name, example)
			}
		})
	}
}

// guardrailsExample returns the `guardrails:` example of the comment above
// the guardrails value in values.yaml, as a values file.
func guardrailsExample(t *testing.T, values string) string {
	t.Helper()
	_, after, ok := strings.Cut(values, "Example:\n")
	if !ok {
		t.Fatal("values.yaml documents no guardrails example (a comment line ending in Example:)")
	}
	var lines []string
	for _, l := range strings.Split(after, "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		lines = append(lines, strings.TrimPrefix(strings.TrimPrefix(l, "#"), "  "))
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], " guardrails:") {
		t.Fatalf("the guardrails example of values.yaml starts %q, want guardrails:", lines)
	}
	for i := range lines {
		lines[i] = strings.TrimPrefix(lines[i], " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

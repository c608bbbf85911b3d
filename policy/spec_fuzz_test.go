package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// FuzzParse feeds the spec parser anything: it must never panic, return a
// rollout or an error but not both, and every problem it or Validate
// finds must name the file and a line in it (only an empty document has
// none), one problem per line of the error. The seed corpus is the specs
// below and testdata/fuzz/FuzzParse; `make test` runs it for a bounded
// time.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		policytest.Valid(),
		policytest.SpecYAML("demo"),
		policytest.BlueGreenYAML("demo"),
		policytest.GatedYAML("demo", "setWeight: 20", "analysis: {gates: [error-rate], window: 3s}"),
		"", "---\n", "- a\n", "a: &x 1\nb: *x\n", "apiVersion: ramp.dev/v1alpha1\nkind: Rollout\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := policy.Parse(file, data)
		if (r == nil) == (err == nil) {
			t.Fatalf("Parse returned rollout %v and error %v: want exactly one", r != nil, err)
		}
		if err != nil {
			checkProblems(t, data, err)
			return
		}
		if err := policy.Validate(r, policy.DefaultGuardrails()).Err(); err != nil {
			checkProblems(t, data, err)
		}
	})
}

// checkProblems checks that err is SpecErrors whose every problem names
// file and a line of data.
func checkProblems(t *testing.T, data []byte, err error) {
	t.Helper()
	var es policy.SpecErrors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("error %T %q is not a list of SpecErrors", err, err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(es) {
		t.Errorf("%d problems printed on %d lines:\n%s", len(es), n, err)
	}
	lines := yamlLines(data)
	for _, e := range es {
		switch {
		case e.File != file:
			t.Errorf("problem %q names file %q, want %q", e, e.File, file)
		case e.Msg == "":
			t.Errorf("problem %q says nothing", e)
		case e.Line == 0 && !strings.HasPrefix(e.Msg, "empty document"):
			t.Errorf("problem %q has no line", e)
		case e.Line > lines:
			t.Errorf("problem %q is past the last line (%d)", e, lines)
		}
	}
}

// yamlLines counts the lines of data as YAML does: CR LF, CR, LF, NEL,
// LS and PS each end one.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return 1 + strings.Count(s, "\n") + strings.Count(s, "\r") +
		strings.Count(s, "\u0085") + strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}

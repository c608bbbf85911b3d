package main

import (
	"errors"
	"strings"
	"testing"
)

// TestRunConcurrencyFlag: ramp run takes --concurrency (how many
// rollouts' evidence a pass gathers at once, default 8), and a value
// below 1 is a usage error naming the flag, before anything is opened.
func TestRunConcurrencyFlag(t *testing.T) {
	for _, n := range []string{"0", "-2"} {
		out, err := runRamp("run", "--once", "--concurrency", n, "--repo", t.TempDir(), "--signing-key", "absent-key")
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "--concurrency "+n+": want 1 or more") {
			t.Errorf("ramp run --concurrency %s: error %v (output %q), want exit %d naming --concurrency", n, err, out, exitUsage)
		}
	}
	help, err := runRamp("run", "--help")
	i := strings.Index(help, "--concurrency int")
	line := ""
	if i >= 0 {
		line, _, _ = strings.Cut(help[i:], "\n")
	}
	if err != nil || !strings.Contains(line, "at once (default 8)") {
		t.Errorf("ramp run --help (%v) does not offer --concurrency with its default 8:\n%s", err, help)
	}
}

package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestAuditTellsUnsignedFromUnknownKeysInOneVocabulary: the text audit's
// WHAT column uses one vocabulary (ramp's actions, "approve", "request
// abort", …, never a trailer key), SIGNED BY tells an unsigned commit from
// one signed by a key no group trusts, and --verify's summary says how
// many of the commits it checked carry a trusted signature.
func TestAuditTellsUnsignedFromUnknownKeysInOneVocabulary(t *testing.T) {
	h, key := approveRepo(t)
	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 2/4 pause")
	flags := []string{"--repo", h.repo, "--approvers", h.approvers}
	as(t, "alice", key["alice"])
	if out, err := runRamp(append([]string{"approve", "demo"}, flags...)...); err != nil {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	as(t, "eve", key["eve"])
	if out, err := runRamp(append([]string{"approve", "demo", "--force"}, flags...)...); err != nil {
		t.Fatalf("approve --force: %v\n%s", err, out)
	}
	eve := h.git("dev", "rev-parse", "HEAD")
	h.until(t, "ramp: demo 1.1.0 step 3/4 set-weight")

	out, err := runRamp(append([]string{"audit", "demo"}, flags...)...)
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	if strings.Contains(out, "rejected Ramp-") {
		t.Errorf("the audit names a command by its trailer key:\n%s", out)
	}
	row := func(sha string) string {
		t.Helper()
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, sha[:10]+" ") && strings.Contains(l, ":") && regexp.MustCompile(`\d\d:\d\d:\d\d`).MatchString(l) {
				return l
			}
		}
		t.Fatalf("no row for %s:\n%s", sha[:10], out)
		return ""
	}
	if l := row(eve); !strings.Contains(l, " approve ") || !strings.Contains(l, "unknown key SHA256:") {
		t.Errorf("eve's approval row %q, want WHAT approve and SIGNED BY unknown key", l)
	}
	alice := h.git("dev", "log", "-1", "--format=%H", "--author=alice")
	if l := row(alice); !strings.Contains(l, " approve ") || !strings.Contains(l, "alice@example.com (sre)") {
		t.Errorf("alice's approval row %q", l)
	}
	initCommit := h.git("dev", "rev-list", "--max-parents=0", "HEAD")
	if strings.Contains(out, initCommit[:10]) {
		if l := row(initCommit); !strings.Contains(l, "unsigned") {
			t.Errorf("the unsigned init commit's row %q, want unsigned", l)
		}
	}
	// The hand edit: unsigned, shown as such, and counted by --verify.
	h.git("dev", "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", "note without signature")
	out, err = runRamp(append([]string{"audit", "demo", "--verify"}, flags...)...)
	if m := regexp.MustCompile(`verified: (\d+) commit\(s\): (\d+) signed by trusted keys(, \d+ unsigned)?(, 1 signed by keys not trusted)?, no findings`).FindStringSubmatch(out); err != nil || m == nil {
		t.Errorf("audit --verify: %v\n%s\nwant a summary counting trusted signatures", err, out)
	} else if m[1] == m[2] {
		t.Errorf("audit --verify summary %q counts every commit as signed by a trusted key; eve's is not", m[0])
	}
}

package history_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// BenchmarkAuditWalk runs the audit of r000 at 100k commits in this
// process (a fresh open each time), for profiles of the walk itself
// (-cpuprofile, -memprofile), against `git log --first-parent` over the
// same history.
func BenchmarkAuditWalk(b *testing.B) {
	dir, tip, keys := coldAbortedRepo(b, 100_000)
	var walk, gitlog []time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		local, err := gitsync.OpenLocal(dir, "main")
		if err != nil {
			b.Fatal(err)
		}
		d := &history.Deriver{Repo: local.Git(), Keys: keys, Guardrails: policy.DefaultGuardrails()}
		snap, err := d.Specs(tip)
		if err != nil {
			b.Fatal(err)
		}
		a, err := d.AuditRollout(tip, snap.Rollouts["r000"], "")
		if err != nil {
			b.Fatal(err)
		}
		walk = append(walk, time.Since(start))
		if len(a.Rows) == 0 || a.Rows[len(a.Rows)-1].What != "abort" {
			b.Fatalf("audit of r000 does not end with the abort: %d rows", len(a.Rows))
		}
		d2, _, _ := runChild(b, "git", "--git-dir", dir, "log", "--first-parent", "--format=%H%x00%B", "main")
		gitlog = append(gitlog, d2)
	}
	report(b, "walk", walk, "gitlog", gitlog)
}

// BenchmarkColdAudit measures `ramp audit r000` (a fresh process, the
// whole first-parent history) at 100k commits against `git log
// --first-parent --format=%H%x00%B` over the same history, each with its
// peak RSS. With $RAMP_AUDIT_BEFORE naming a ramp binary built from an
// older commit, it runs that one too, interleaved, and checks that both
// print the same audit.
func BenchmarkColdAudit(b *testing.B) {
	const n = 100_000
	aborted, _, _ := coldAbortedRepo(b, n)
	ramp := rampBinary(b)
	approvers := approversDir(b)
	before := os.Getenv("RAMP_AUDIT_BEFORE")
	b.Run("100k", func(b *testing.B) {
		var audit, old, gitlog []time.Duration
		var auditRSS, oldRSS, gitRSS int64
		for i := 0; i < b.N; i++ {
			d, rss, out := runChild(b, ramp, "audit", "r000", "--repo", aborted, "--approvers", approvers)
			if !strings.Contains(out, "9.0.0") || !strings.Contains(out, "abort") {
				b.Fatalf("ramp audit r000 does not show the aborted release:\n%s", out)
			}
			audit, auditRSS = append(audit, d), max(auditRSS, rss)
			if before != "" {
				d, rss, outOld := runChild(b, before, "audit", "r000", "--repo", aborted, "--approvers", approvers)
				if outOld != out {
					b.Fatalf("ramp audit r000 differs from %s's:\nnow:\n%s\nbefore:\n%s", before, out, outOld)
				}
				old, oldRSS = append(old, d), max(oldRSS, rss)
			}
			d, rss, _ = runChild(b, "git", "--git-dir", aborted, "log", "--first-parent", "--format=%H%x00%B", "main")
			gitlog, gitRSS = append(gitlog, d), max(gitRSS, rss)
		}
		report(b, "audit", audit, "gitlog", gitlog)
		b.ReportMetric(float64(auditRSS)/1024, "audit-MiB")
		b.ReportMetric(float64(gitRSS)/1024, "gitlog-MiB")
		if before != "" {
			report(b, "before", old, "gitlog", gitlog)
			b.ReportMetric(float64(oldRSS)/1024, "before-MiB")
		}
	})
}

package history_test

import (
	"os"
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

// BenchmarkColdAuditBefore runs `ramp audit r000` at 100k commits as
// BenchmarkColdAudit does, three ways interleaved: the CLI built from
// this tree, the binary $RAMP_AUDIT_BEFORE names (built from an older
// commit), and `git log --first-parent --format=%H%x00%B`, each with its
// peak RSS, and checks that both binaries print the same audit.
func BenchmarkColdAuditBefore(b *testing.B) {
	before := os.Getenv("RAMP_AUDIT_BEFORE")
	if before == "" {
		b.Fatal("set RAMP_AUDIT_BEFORE to a ramp binary built from an older commit (git worktree add, make build)")
	}
	aborted, _, _ := coldAbortedRepo(b, 100_000)
	ramp := rampBinary(b)
	approvers := approversDir(b)
	var now, old, gitlog []time.Duration
	var nowRSS, oldRSS, gitRSS int64
	for i := 0; i < b.N; i++ {
		d, rss, outNow := runChild(b, ramp, "audit", "r000", "--repo", aborted, "--approvers", approvers)
		now, nowRSS = append(now, d), max(nowRSS, rss)
		d, rss, outOld := runChild(b, before, "audit", "r000", "--repo", aborted, "--approvers", approvers)
		old, oldRSS = append(old, d), max(oldRSS, rss)
		if outNow != outOld {
			b.Fatalf("the audits differ:\nnow:\n%s\nbefore:\n%s", outNow, outOld)
		}
		d, rss, _ = runChild(b, "git", "--git-dir", aborted, "log", "--first-parent", "--format=%H%x00%B", "main")
		gitlog, gitRSS = append(gitlog, d), max(gitRSS, rss)
	}
	report(b, "audit", now, "gitlog", gitlog)
	report(b, "before", old, "gitlog", gitlog)
	b.ReportMetric(float64(nowRSS)/1024, "audit-MiB")
	b.ReportMetric(float64(oldRSS)/1024, "before-MiB")
	b.ReportMetric(float64(gitRSS)/1024, "gitlog-MiB")
}

package history_test

import (
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

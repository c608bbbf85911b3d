package gitsync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// TestPassOver500RolloutsLosesNoCommitAndRedoesNothingWhenSomeonePushesBetweenItsPushes:
// 500 rollouts start a release in one commit and alice aborts r000. The
// pass pushes r000's abort first, on its own; someone else's commit lands
// right before ramp's second push (the 500 steps), which the remote then
// refuses. The pass fetches, derives and pushes the steps again on top of
// that commit: on the remote every rollout's step is there exactly once,
// r000's abort once (not redone) and the other commit is kept.
func TestPassOver500RolloutsLosesNoCommitAndRedoesNothingWhenSomeonePushesBetweenItsPushes(t *testing.T) {
	const n = 500
	var w *world
	var armed atomic.Bool
	var pushes atomic.Int32
	var other string
	w = newWorld(t, gittest.BeforeReceive(func() {
		if armed.Load() && pushes.Add(1) == 2 {
			// Between ramp's first push and its second, someone pushes.
			other = w.command("dan", true, "unrelated docs change", "")
		}
	}))
	files, start := map[string]string{}, map[string]string{}
	for i := 0; i < n; i++ {
		name := gittest.RolloutName(i)
		for p, c := range gittest.RolloutFiles(name, "1.0.0") {
			files[p] = c
		}
		start["apps/"+name+"/canary/kustomization.yaml"] = gittest.Kustomization(name, "2.0.0")
	}
	w.commitFiles("dev", fmt.Sprintf("add %d rollouts", n), files)
	w.commitFiles("dev", fmt.Sprintf("release 2.0.0 of %d rollouts", n), start)
	w.command("alice", true, "abort r000 2.0.0", `Ramp-Abort: rollout=r000 release=2.0.0 reason="not today"`)

	armed.Store(true)
	res, err := w.loop.Pass(context.Background())
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	if other == "" {
		t.Fatalf("the other push never happened (%d pushes by ramp)", pushes.Load())
	}
	if got := pushes.Load(); got != 3 {
		t.Errorf("ramp pushed %d times, want 3: the abort, the steps refused, the steps again", got)
	}

	// What the remote has, read with the system git.
	bare := filepath.Join(w.server.Root(), "release.git")
	gittest.Git(t, bare, gittest.GitEnv(t.TempDir()), "merge-base", "--is-ancestor", other, "main")
	count := map[string]int{}
	for _, line := range w.serverLog() {
		if _, subject, ok := strings.Cut(line, " "); ok && strings.HasPrefix(subject, "ramp: ") {
			count[strings.TrimPrefix(subject, "ramp: ")]++
		}
	}
	abort := "r000 2.0.0 abort (weight 0%)"
	if count[abort] != 1 {
		t.Errorf("r000's abort is on the remote %d times, want once; ramp's commits: %v", count[abort], count)
	}
	for i := 1; i < n; i++ {
		step := gittest.RolloutName(i) + " 2.0.0 step 1/4 set-weight (weight 10%)"
		if count[step] != 1 {
			t.Errorf("%q is on the remote %d times, want once", step, count[step])
		}
	}
	if total := len(count); total != n {
		t.Errorf("%d distinct ramp commits on the remote, want %d: %v", total, n, count)
	}
	// The step commits sit on the other commit, the abort below it.
	log := w.serverLog()
	if !strings.HasPrefix(log[n-1], other) || !strings.Contains(log[n], "abort") {
		t.Errorf("history at the race: %q, %q; want the steps on %s, which is on the abort", log[n-2], log[n-1], other)
	}

	// The pass reports each rollout's decision that is on the remote.
	pushed := map[string]policy.Action{}
	for _, o := range res.Pushed() {
		pushed[o.Rollout] = o.Decision.Action
	}
	if len(pushed) != n || pushed["r000"] != policy.ActionAbort || pushed["r499"] != policy.ActionSetWeight {
		t.Errorf("the pass reports %d pushed decisions (r000 %s, r499 %s), want %d (abort, set-weight)", len(pushed), pushed["r000"], pushed["r499"], n)
	}
}

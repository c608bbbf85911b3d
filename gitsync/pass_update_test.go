package gitsync_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
)

// TestPassStatesAfterItsPushEqualAFreshRampsColdDerive: the states a pass
// over 60 rollouts reports after its push (an update over its own
// commits, reading the directories it wrote from memory) are those a new
// ramp, with a new clone, derives from the remote from scratch; and so
// after a second pass, which builds on the first.
func TestPassStatesAfterItsPushEqualAFreshRampsColdDerive(t *testing.T) {
	const n = 60
	w := newWorld(t)
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
	w.command("alice", true, "abort r007 2.0.0", `Ramp-Abort: rollout=r007 release=2.0.0 reason="not today"`)

	for pass := 1; pass <= 2; pass++ {
		res, err := w.loop.Pass(context.Background())
		if err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		if pass == 1 && len(res.Pushed()) != n {
			t.Fatalf("pass 1 pushed %d commits, want %d", len(res.Pushed()), n)
		}
		cold, err := w.newLoop().Deriver().Derive(res.Snapshot.Tip)
		if err != nil {
			t.Fatal(err)
		}
		if len(cold.States) != n+1 { // and demo
			t.Fatalf("pass %d: the cold derive has %d states, want %d", pass, len(cold.States), n+1)
		}
		for name, want := range cold.States {
			got, ok := res.Snapshot.States[name]
			if !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("pass %d: %s after the pass\n%+v\nfrom a cold derive\n%+v", pass, name, got, want)
			}
		}
		if got := res.Snapshot.States["r001"]; pass == 1 && (got.Weight != 10 || got.Phase == policy.PhaseStable) {
			t.Errorf("pass 1: r001 at weight %d, phase %s; want its first step, weight 10", got.Weight, got.Phase)
		}
		if got := res.Snapshot.States["r007"]; got.Weight != 0 {
			t.Errorf("pass %d: r007 at weight %d after its abort", pass, got.Weight)
		}
	}
}

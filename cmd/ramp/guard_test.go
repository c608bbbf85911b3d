package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

func TestStatusShowsTheBackgroundGatesLastValues(t *testing.T) {
	o := gitsync.Outcome{Rollout: "api", State: policy.State{Phase: policy.PhaseProgressing, Release: "2.0", Stable: "1.0", Step: 2, Weight: 10},
		Decision: policy.Decision{Step: 2, Steps: 3, Weight: 10, Reason: "step 2/3 needs 1 approval(s) from group sre, has 0", WaitingFor: "1 approval(s) from sre",
			Gates: []policy.GateResult{{Name: "error-rate", Verdict: policy.Pass, Value: 0.0021, HasValue: true, Bound: "<=0.05", Samples: 480, Scope: policy.ScopeBackground}}}}
	var b bytes.Buffer
	printStatus(&b, []rolloutStatus{toStatus(o)})
	if want := "api: gate background error-rate: pass value=0.0021 bound <=0.05 samples=480"; !strings.Contains(b.String(), want) {
		t.Fatalf("status output lacks %q:\n%s", want, b.String())
	}
}

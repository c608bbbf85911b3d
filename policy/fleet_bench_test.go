package policy_test

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// validateAndPlan parses and validates a rollout of n targets and plans
// its next action with release 2.0.0 merged while every target runs 1.0.0:
// what `ramp validate` and `ramp plan` ask of policy for it.
func validateAndPlan(tb testing.TB, spec []byte, n int) {
	r, err := policy.Parse("releases/pay/rollout.yaml", spec)
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	if errs := policy.Validate(r, policy.DefaultGuardrails()); errs != nil {
		tb.Fatalf("Validate:\n%v", errs)
	}
	targets := map[string]policy.State{}
	for _, t := range r.TargetRollouts() {
		_, name, _, _ := t.TargetInfo()
		targets[name] = policy.Base(t.Name(), "1.0.0", "1.0.0", 0)
	}
	fs := policy.FleetBase(r, "2.0.0", targets)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	d := policy.PlanFleet(r, fs, policy.FleetEvidence{}, now, policy.DefaultGuardrails())
	if d.Action != policy.ActionStartWave || d.Wave != "first" || len(d.Targets) != 1 {
		tb.Fatalf("PlanFleet over %d targets: %+v", n, d)
	}
}

// BenchmarkValidateAndPlanFleet parses, validates and plans a rollout of
// 200 and of 2,000 targets in every iteration, with the collector off
// while it runs (the heap is collected before), and reports the least
// time of each, wall clock and CPU, and their ratio 2000/200 in CPU time:
// about 10 for work linear in the number of targets, 100 for quadratic
// work (before each target's rollout shared the spec's line map it was
// 40), at most 11 here. The collector is left out because it is not
// linear below the Go runtime's 4 MB minimum heap: a 200-target run never
// collects, a 2,000-target one (about 30 MB) does, which alone puts the
// ratio at 12–13 on 2 busy cores. The least of the iterations is what the
// code costs; the others add what else runs on the machine.
func BenchmarkValidateAndPlanFleet(b *testing.B) {
	sizes := []int{200, 2000}
	specs := map[int][]byte{}
	for _, n := range sizes {
		specs[n] = []byte(policytest.FleetYAML("pay", n))
	}
	wall, cpu := map[int]time.Duration{}, map[int]time.Duration{}
	least := func(m map[int]time.Duration, n int, d time.Duration) {
		if m[n] == 0 || d < m[n] {
			m[n] = d
		}
	}
	for b.Loop() {
		for _, n := range sizes {
			runtime.GC() // each size starts from the same heap
			gc := debug.SetGCPercent(-1)
			start, startCPU := time.Now(), cpuTime()
			validateAndPlan(b, specs[n], n)
			least(wall, n, time.Since(start))
			least(cpu, n, cpuTime()-startCPU)
			debug.SetGCPercent(gc)
		}
	}
	for _, n := range sizes {
		b.ReportMetric(float64(wall[n].Microseconds())/1000, fmt.Sprintf("%d-targets-ms", n))
		b.ReportMetric(float64(cpu[n].Microseconds())/1000, fmt.Sprintf("%d-targets-cpu-ms", n))
	}
	ratio := float64(cpu[2000]) / float64(cpu[200])
	b.ReportMetric(ratio, "2000/200")
	if ratio > 11 {
		b.Errorf("2,000 targets take %.1f× the CPU time of 200 (at most 11× for linear work)", ratio)
	}
	if wall[2000] > 2*time.Second {
		b.Errorf("2,000 targets take %s (at most 2s)", wall[2000])
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package policy

import "testing"

func TestAbortReasonSaysTheValueOnceRoundedAgainstTheBound(t *testing.T) {
	tests := []struct {
		name string
		g    GateResult
		want string
	}{
		{"a failed window: value once, rounded, and the count",
			GateResult{Name: "error-rate", Verdict: Fail, Value: 0.27777777, HasValue: true, Bound: "<=0.05", Failures: 1,
				Reason: "value 0.27777777 above <=0.05 (1 of 1 measurements failed, failureLimit 0)"},
			"gate error-rate: 0.278 > 0.05 (1 of 1 measurements failed)"},
		{"a value that rounds onto the bound keeps its digits",
			GateResult{Name: "error-rate", Verdict: Fail, Value: 0.050004, HasValue: true, Bound: "<=0.05", Failures: 2},
			"gate error-rate: 0.050004 > 0.05 (2 measurements failed)"},
		{"a minimum", GateResult{Name: "success", Scope: ScopeBackground, Verdict: Fail, Value: 0.98123, HasValue: true, Bound: ">=0.995", Failures: 1},
			"background gate success: 0.981 < 0.995 (1 measurement failed)"},
		{"a ratio names stable's value", GateResult{Name: "latency", Verdict: Fail, Value: 0.8, HasValue: true, Bound: "<=1.5x stable", HasBaseline: true, Baseline: 0.2},
			"gate latency: 0.8 > 1.5x stable 0.2"},
		{"passing so far reads as progress, not inconclusive",
			GateResult{Name: "error-rate", Verdict: Inconclusive, Value: 0.001, HasValue: true, Bound: "<=0.05", Reason: "measuring 3/10 points, all within bound"},
			"gate error-rate: measuring 3/10 points, all within bound"},
		{"no data stays inconclusive",
			GateResult{Name: "error-rate", Verdict: Inconclusive, Inconclusives: 2, Reason: "0 of 10 needed measurements conclusive; 2 inconclusive, last: no value"},
			"gate error-rate inconclusive (0 of 10 needed measurements conclusive; 2 inconclusive, last: no value)"},
	}
	for _, tt := range tests {
		if got := describe(tt.g); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

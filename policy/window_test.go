package policy

import (
	"testing"
	"time"
)

// windowGate measures every 10s over a 30s window after a 20s warm-up:
// points at +30s, +40s, +50s after the step went live.
func windowGate() Gate {
	return Gate{Name: "errors", Severity: SeverityCritical, Interval: Duration{10 * time.Second}, WarmUp: Duration{20 * time.Second},
		Prometheus: &PrometheusGate{Query: "errors", Max: floatp(0.01)}}
}

func floatp(v float64) *float64 { return &v }

func points(from time.Time, n int, value float64) []Measurement {
	var ms []Measurement
	for i := 0; i < n; i++ {
		ms = append(ms, Measurement{At: from.Add(time.Duration(i) * 10 * time.Second), Value: value, OK: true})
	}
	return ms
}

func TestPlanWindowHoldsUntilTheFirstPointIsDue(t *testing.T) {
	g, window := windowGate(), 30*time.Second
	tests := []struct {
		name       string
		now        time.Time
		wantReason string
	}{
		{"warming up", t0.Add(5 * time.Second), "warming up: window opens in 15s"},
		{"window open, first point not due", t0.Add(25 * time.Second), "window 5s of 30s elapsed; first measurement at 2026-11-25T10:00:30Z"},
	}
	for _, tt := range tests {
		_, hold := PlanWindow(g, window, t0, tt.now)
		if hold == nil || hold.Verdict != Inconclusive || hold.Reason != tt.wantReason || hold.Inconclusives < 1 {
			t.Errorf("%s: hold %+v, want inconclusive %q counting one inconclusive", tt.name, hold, tt.wantReason)
		}
	}
	q, hold := PlanWindow(g, window, t0, t0.Add(45*time.Second))
	if hold != nil || !q.Start.Equal(t0.Add(30*time.Second)) || !q.End.Equal(t0.Add(45*time.Second)) || q.Step != 10*time.Second {
		t.Fatalf("range %+v hold %+v, want points from +30s to now (+45s) every 10s", q, hold)
	}
}

func TestJudgeWindowIsInconclusiveUntilTheWindowElapsesUnlessItFails(t *testing.T) {
	g, window := windowGate(), 30*time.Second
	now := t0.Add(45 * time.Second)
	res, ext := JudgeWindow(g, window, t0, now, points(t0.Add(30*time.Second), 2, 0))
	if res.Verdict != Inconclusive || ext != nil || res.Reason != "window 25s of 30s elapsed; measuring 2/3 points, all within bound" {
		t.Fatalf("got %s %q (extend %v), want inconclusive while the window runs", res.Verdict, res.Reason, ext)
	}
	res, _ = JudgeWindow(g, window, t0, now, points(t0.Add(30*time.Second), 2, 0.5))
	if res.Verdict != Fail {
		t.Fatalf("got %s %q, want a failure before the window ends", res.Verdict, res.Reason)
	}
	res, ext = JudgeWindow(g, window, t0, t0.Add(50*time.Second), points(t0.Add(30*time.Second), 3, 0))
	if res.Verdict != Pass || ext != nil {
		t.Fatalf("got %s (extend %v), want a pass when the window has elapsed", res.Verdict, ext)
	}
}

func TestJudgeWindowExtendsAnElapsedWindowThatLacksConclusivePoints(t *testing.T) {
	g, window := windowGate(), 30*time.Second
	now := t0.Add(70 * time.Second)
	ms := points(t0.Add(30*time.Second), 3, 0)
	ms[1] = Measurement{At: ms[1].At, Err: "no data"}
	res, ext := JudgeWindow(g, window, t0, now, ms)
	if res.Verdict != Inconclusive || ext == nil || !ext.Start.Equal(t0.Add(30*time.Second)) || !ext.End.Equal(now) || ext.Step != 10*time.Second {
		t.Fatalf("got %s, extend %+v, want the window extended from +30s to now", res.Verdict, ext)
	}
	extended := append(ms, points(t0.Add(60*time.Second), 2, 0)...)
	res = JudgeExtended(g, window, t0, *ext, extended)
	if res.Verdict != Pass || res.Reason != "window extended to 50s: 4 of 5 measurements passed, 0 failed (failureLimit 0)" {
		t.Fatalf("got %s %q, want a pass over the extended window", res.Verdict, res.Reason)
	}
	// An extension never exceeds the points one range query may return.
	_, ext = JudgeWindow(g, window, t0, t0.Add(365*24*time.Hour), ms)
	if want := t0.Add(30*time.Second + maxWindowPoints*10*time.Second); ext == nil || !ext.End.Equal(want) {
		t.Fatalf("extend %+v, want it to end at %v", ext, want)
	}
}

func TestUnmeasuredAndUndefinedGatesAreInconclusive(t *testing.T) {
	res := Unmeasured(windowGate(), time.Minute, "connection refused")
	if res.Verdict != Inconclusive || res.Reason != "connection refused" || res.Inconclusives != 1 || res.Bound != "<=0.01" {
		t.Fatalf("Unmeasured = %+v, want inconclusive, one inconclusive, the gate's bound", res)
	}
	res = UndefinedGate("p99")
	if res.Verdict != Inconclusive || res.Severity != SeverityCritical || res.Reason != "gate p99 is not defined in spec.gates" {
		t.Fatalf("UndefinedGate = %+v", res)
	}
}

func TestPlanBackgroundMeasuresEveryStepSinceTheStepWentLive(t *testing.T) {
	g, step := windowGate(), 10*time.Second
	_, hold := PlanBackground(g, step, t0, t0.Add(15*time.Second))
	if hold == nil || hold.Verdict != Inconclusive || hold.Inconclusives != 0 || hold.Scope != ScopeBackground ||
		hold.Reason != "warming up: first measurement at 2026-11-25T10:00:30Z" {
		t.Fatalf("during the warm-up: %+v, want inconclusive, counting nothing", hold)
	}
	q, hold := PlanBackground(g, step, t0, t0.Add(75*time.Second))
	if hold != nil || !q.Start.Equal(t0.Add(30*time.Second)) || !q.End.Equal(t0.Add(70*time.Second)) || q.Step != step {
		t.Fatalf("range %+v hold %+v, want the points +30s…+70s", q, hold)
	}
	q, _ = PlanBackground(g, time.Second, t0, t0.Add(20*time.Second+(maxWindowPoints+5)*time.Second))
	if n := int(q.End.Sub(q.Start)/q.Step) + 1; n != maxWindowPoints {
		t.Fatalf("a long wait measures %d points, want the latest %d", n, maxWindowPoints)
	}
}

func TestJudgeBackgroundFollowsTheLatestMeasurement(t *testing.T) {
	g := windowGate()
	g.InconclusiveLimit = 5
	now := t0.Add(70 * time.Second)
	missing := Measurement{At: t0.Add(70 * time.Second), Err: "no data"}
	tests := []struct {
		name              string
		ms                []Measurement
		want              Verdict
		failures, inconcl int
	}{
		{"all passed", points(t0.Add(30*time.Second), 5, 0), Pass, 0, 0},
		{"one failure above failureLimit 0 fails, whatever came after", append(points(t0.Add(30*time.Second), 1, 0.5), points(t0.Add(40*time.Second), 4, 0)...), Fail, 1, 0},
		{"the latest missing holds and counts", append(points(t0.Add(30*time.Second), 4, 0), missing), Inconclusive, 0, 1},
		{"no measurement is never a pass", nil, Inconclusive, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := JudgeBackground(g, t0, now, tt.ms)
			if res.Verdict != tt.want || res.Failures != tt.failures || res.Inconclusives != tt.inconcl || res.Scope != ScopeBackground {
				t.Fatalf("got %s failures %d inconclusives %d scope %q (%s), want %s %d %d", res.Verdict, res.Failures, res.Inconclusives, res.Scope, res.Reason, tt.want, tt.failures, tt.inconcl)
			}
		})
	}
	g.FailureLimit = 1
	res := JudgeBackground(g, t0, now, append(points(t0.Add(30*time.Second), 4, 0), points(t0.Add(70*time.Second), 1, 0.5)...))
	if res.Verdict != Inconclusive || res.Failures != 1 {
		t.Fatalf("a failure within failureLimit as the latest: %s (%s), want inconclusive: it holds, it does not pass", res.Verdict, res.Reason)
	}
}

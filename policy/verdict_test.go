package policy

import (
	"math"
	"strings"
	"testing"
	"time"
)

func gateBound(v float64) *float64 { return &v }

var judgeT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// pts builds one measurement per value, a minute apart, with ok values and
// no baseline or samples.
func pts(vs ...float64) []Measurement {
	ms := make([]Measurement, len(vs))
	for i, v := range vs {
		ms[i] = Measurement{At: judgeT0.Add(time.Duration(i) * time.Minute), Value: v, OK: true}
	}
	return ms
}

// withBaseline sets the baseline of every measurement.
func withBaseline(ms []Measurement, b float64) []Measurement {
	for i := range ms {
		ms[i].Baseline, ms[i].HasBaseline = b, true
	}
	return ms
}

// withSamples sets the sample count of every measurement.
func withSamples(ms []Measurement, n float64) []Measurement {
	for i := range ms {
		ms[i].Samples, ms[i].HasSamples = n, true
	}
	return ms
}

func promGate(pg PrometheusGate) Gate {
	pg.Query = `sum(rate(x{version="{{.Version}}"}[{{.Window}}]))`
	return Gate{Name: "g", Prometheus: &pg}
}

func TestJudgeMeasurementBranches(t *testing.T) {
	absent := Measurement{At: judgeT0, Err: "connection refused"}
	tests := []struct {
		name       string
		gate       PrometheusGate
		m          Measurement
		want       Verdict
		wantReason string
	}{
		{"no value is inconclusive with the error", PrometheusGate{Max: gateBound(1)}, absent, Inconclusive, "no value: connection refused"},
		{"empty result is inconclusive", PrometheusGate{Max: gateBound(1)}, Measurement{At: judgeT0}, Inconclusive, "no value"},
		{"NaN is inconclusive", PrometheusGate{Max: gateBound(1)}, pts(math.NaN())[0], Inconclusive, "value is NaN"},
		{"+Inf is inconclusive", PrometheusGate{Min: gateBound(0)}, pts(math.Inf(1))[0], Inconclusive, "value is +Inf"},
		{"-Inf is inconclusive", PrometheusGate{Max: gateBound(0)}, pts(math.Inf(-1))[0], Inconclusive, "value is -Inf"},
		{"below min fails", PrometheusGate{Min: gateBound(0.995)}, pts(0.99)[0], Fail, "value 0.99 below >=0.995"},
		{"at min passes", PrometheusGate{Min: gateBound(0.995)}, pts(0.995)[0], Pass, ""},
		{"above max fails", PrometheusGate{Max: gateBound(0.01)}, pts(0.2)[0], Fail, "value 0.2 above <=0.01"},
		{"at max passes", PrometheusGate{Max: gateBound(0.01)}, pts(0.01)[0], Pass, ""},
		{"missing sample count is inconclusive", PrometheusGate{Max: gateBound(1), MinSamples: 100}, pts(0)[0], Inconclusive, "no sample count"},
		{"samples below minSamples is inconclusive", PrometheusGate{Max: gateBound(1), MinSamples: 100},
			withSamples(pts(0), 99)[0], Inconclusive, "99 samples below minSamples 100"},
		{"NaN samples is inconclusive", PrometheusGate{Max: gateBound(1), MinSamples: 100},
			withSamples(pts(0), math.NaN())[0], Inconclusive, "NaN samples below minSamples 100"},
		{"samples at minSamples passes", PrometheusGate{Max: gateBound(1), MinSamples: 100}, withSamples(pts(0), 100)[0], Pass, ""},
		{"few samples with a bad value is still inconclusive", PrometheusGate{Max: gateBound(0.01), MinSamples: 100},
			withSamples(pts(0.5), 3)[0], Inconclusive, "3 samples below minSamples 100"},
		{"an idle canary's missing value is explained by its samples", PrometheusGate{Max: gateBound(1), MinSamples: 10},
			Measurement{At: judgeT0, HasSamples: true}, Inconclusive, "0 samples below minSamples 10"},
		{"an idle canary's NaN value is explained by its samples", PrometheusGate{Max: gateBound(1), MinSamples: 10},
			withSamples(pts(math.NaN()), 0)[0], Inconclusive, "0 samples below minSamples 10"},
		{"infinite samples are inconclusive", PrometheusGate{Max: gateBound(1), MinSamples: 10},
			withSamples(pts(0), math.Inf(1))[0], Inconclusive, "+Inf samples below minSamples 10"},
		{"samples ignored without minSamples", PrometheusGate{Max: gateBound(1)}, withSamples(pts(0), 0)[0], Pass, ""},
		{"missing baseline is inconclusive", PrometheusGate{MaxRatio: gateBound(1.5)}, pts(1)[0], Inconclusive, "no stable baseline"},
		{"missing baseline carries the error", PrometheusGate{MaxIncrease: gateBound(0.1)},
			Measurement{At: judgeT0, Value: 1, OK: true, Err: "baseline: timeout"}, Inconclusive, "no stable baseline: baseline: timeout"},
		{"NaN baseline is inconclusive", PrometheusGate{MaxRatio: gateBound(1.5)}, withBaseline(pts(1), math.NaN())[0], Inconclusive, "stable baseline is NaN"},
		{"ratio above maxRatio fails", PrometheusGate{MaxRatio: gateBound(1.5)}, withBaseline(pts(0.8), 0.2)[0], Fail,
			"value 0.8 is 4x stable 0.2, above <=1.5x stable"},
		{"ratio at maxRatio passes", PrometheusGate{MaxRatio: gateBound(1.5)}, withBaseline(pts(0.3), 0.2)[0], Pass, ""},
		{"ratio of zero to zero passes", PrometheusGate{MaxRatio: gateBound(1.5)}, withBaseline(pts(0), 0)[0], Pass, ""},
		{"ratio over a zero baseline is inconclusive", PrometheusGate{MaxRatio: gateBound(1.5)}, withBaseline(pts(0.1), 0)[0], Inconclusive,
			"stable baseline is 0: ratio undefined for canary value 0.1"},
		{"increase above maxIncrease fails", PrometheusGate{MaxIncrease: gateBound(0.05)}, withBaseline(pts(0.2), 0.1)[0], Fail,
			"value 0.2 is 0.1 over stable 0.1, above <=+0.05 over stable"},
		{"increase within maxIncrease passes", PrometheusGate{MaxIncrease: gateBound(0.05)}, withBaseline(pts(0.14), 0.1)[0], Pass, ""},
		{"increase fails even when the ratio is undefined", PrometheusGate{MaxRatio: gateBound(2), MaxIncrease: gateBound(0.05)},
			withBaseline(pts(0.2), 0)[0], Fail, "value 0.2 is 0.2 over stable 0, above <=+0.05 over stable"},
		{"absolute bound fails before comparison", PrometheusGate{Max: gateBound(0.1), MaxRatio: gateBound(10)}, withBaseline(pts(0.2), 0.1)[0], Fail,
			"value 0.2 above <=0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeMeasurement(&tt.gate, &tt.m)
			if got.verdict != tt.want || got.reason != tt.wantReason {
				t.Errorf("got %s %q, want %s %q", got.verdict, got.reason, tt.want, tt.wantReason)
			}
		})
	}
}

func TestJudgeWindow(t *testing.T) {
	const window = 5 * time.Minute // at the default 1m interval: 5 points needed when Count is 0
	lowSamples := withSamples(pts(0, 0, 0), 2)
	tests := []struct {
		name     string
		gate     Gate
		ms       []Measurement
		want     GateResult
		inReason string
	}{
		{name: "every point of the window passing passes",
			gate: promGate(PrometheusGate{Max: gateBound(0.01)}), ms: pts(0, 0.001, 0, 0.002, 0.003),
			want:     GateResult{Verdict: Pass, Value: 0.003, HasValue: true, Bound: "<=0.01"},
			inReason: "5 of 5 measurements passed"},
		{name: "a window short of points is inconclusive",
			gate: promGate(PrometheusGate{Max: gateBound(0.01)}), ms: pts(0, 0, 0, 0),
			want:     GateResult{Verdict: Inconclusive, Value: 0, HasValue: true, Bound: "<=0.01"},
			inReason: "measuring 4/5 points, all within bound"},
		{name: "an empty window is inconclusive",
			gate: promGate(PrometheusGate{Max: gateBound(0.01)}), ms: nil,
			want:     GateResult{Verdict: Inconclusive, Bound: "<=0.01"},
			inReason: "0 of 5 needed measurements conclusive"},
		{name: "one failure over a zero failureLimit fails with the failing value",
			gate: promGate(PrometheusGate{Max: gateBound(0.01)}), ms: pts(0, 0.3, 0),
			want:     GateResult{Verdict: Fail, Value: 0.3, HasValue: true, Bound: "<=0.01", Failures: 1},
			inReason: "value 0.3 above <=0.01 (1 of 3 measurements failed, failureLimit 0)"},
		{name: "failures within failureLimit pass on count",
			gate: withLimits(promGate(PrometheusGate{Max: gateBound(0.01)}), 3, 1), ms: pts(0, 0.3, 0),
			want:     GateResult{Verdict: Pass, Value: 0, HasValue: true, Bound: "<=0.01", Failures: 1},
			inReason: "2 of 3 measurements passed, 1 failed (failureLimit 1)"},
		{name: "failures past failureLimit fail",
			gate: withLimits(promGate(PrometheusGate{Max: gateBound(0.01)}), 3, 1), ms: pts(0.2, 0.3, 0),
			want: GateResult{Verdict: Fail, Value: 0.3, HasValue: true, Bound: "<=0.01", Failures: 2}},
		{name: "count needs that many conclusive points, inconclusive ones tolerated",
			gate: withLimits(promGate(PrometheusGate{Max: gateBound(0.01)}), 2, 0),
			ms:   append(pts(0.001, 0.002), Measurement{At: judgeT0.Add(3 * time.Minute)}),
			want: GateResult{Verdict: Pass, Value: 0.002, HasValue: true, Bound: "<=0.01", Inconclusives: 1}},
		{name: "no traffic is inconclusive, never a pass",
			gate: promGate(PrometheusGate{Max: gateBound(0.01), SampleQuery: "s", MinSamples: 10}), ms: lowSamples,
			want:     GateResult{Verdict: Inconclusive, Samples: 2, Bound: "<=0.01", Inconclusives: 3},
			inReason: "0 of 5 needed measurements conclusive; 3 inconclusive, last: 2 samples below minSamples 10"},
		{name: "unreachable Prometheus is inconclusive with the error",
			gate:     promGate(PrometheusGate{Max: gateBound(0.01)}),
			ms:       []Measurement{{At: judgeT0, Err: "dial tcp: connection refused"}, {At: judgeT0.Add(time.Minute), Err: "dial tcp: connection refused"}},
			want:     GateResult{Verdict: Inconclusive, Bound: "<=0.01", Inconclusives: 2},
			inReason: "last: no value: dial tcp: connection refused"},
		{name: "comparison records the baseline and samples of the shown point",
			gate: promGate(PrometheusGate{MaxRatio: gateBound(1.5), SampleQuery: "s", MinSamples: 1}),
			ms:   withSamples(withBaseline(pts(0.4, 0.5, 0.4, 0.5, 0.9), 0.5), 40),
			want: GateResult{Verdict: Fail, Value: 0.9, HasValue: true, Baseline: 0.5, HasBaseline: true, Samples: 40,
				Bound: "<=1.5x stable", Failures: 1}},
		{name: "warning severity is copied",
			gate: Gate{Name: "g", Severity: SeverityWarning, Prometheus: &PrometheusGate{Query: "q", Max: gateBound(0)}}, ms: pts(1),
			want: GateResult{Verdict: Fail, Value: 1, HasValue: true, Bound: "<=0", Failures: 1, Severity: SeverityWarning}},
		{name: "bounds are listed together",
			gate: promGate(PrometheusGate{Min: gateBound(0.9), Max: gateBound(1), MaxIncrease: gateBound(0.05)}), ms: withBaseline(pts(1, 1, 1, 1, 1), 0.99),
			want: GateResult{Verdict: Pass, Value: 1, HasValue: true, Baseline: 0.99, HasBaseline: true,
				Bound: ">=0.9 and <=1 and <=+0.05 over stable"}},
		{name: "a gate without a query is inconclusive",
			gate: Gate{Name: "g"}, ms: pts(0),
			want: GateResult{Verdict: Inconclusive}, inReason: "gate g has no prometheus query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(tt.gate, tt.ms, window)
			want := tt.want
			want.Name, want.Window = "g", Duration{window}
			if want.Severity == "" {
				want.Severity = SeverityCritical
			}
			if tt.gate.Prometheus != nil {
				want.Query = QueryHash(tt.gate.Prometheus.Query)
			}
			if !strings.Contains(got.Reason, tt.inReason) {
				t.Errorf("reason %q does not contain %q", got.Reason, tt.inReason)
			}
			got.Reason = ""
			if got != want {
				t.Errorf("Judge:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func withLimits(g Gate, count, failureLimit int) Gate {
	g.Count, g.FailureLimit = count, failureLimit
	return g
}

func TestNeededMeasurementsAndInterval(t *testing.T) {
	tests := []struct {
		name         string
		gate         Gate
		window       time.Duration
		wantNeeded   int
		wantInterval time.Duration
	}{
		{"defaults to one point a minute over the window", Gate{}, 10 * time.Minute, 10, time.Minute},
		{"count spreads points over the window", Gate{Count: 4}, 10 * time.Minute, 4, 150 * time.Second},
		{"interval sets the spacing", Gate{Interval: Duration{30 * time.Second}}, 2 * time.Minute, 4, 30 * time.Second},
		{"count with interval needs count", Gate{Count: 2, Interval: Duration{30 * time.Second}}, 2 * time.Minute, 2, 30 * time.Second},
		{"an interval longer than the window still needs one", Gate{Interval: Duration{time.Hour}}, 5 * time.Minute, 1, time.Hour},
		{"a zero window needs one point", Gate{}, 0, 1, time.Minute},
		{"count on a zero window falls back to the default interval", Gate{Count: 3}, 0, 3, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeededMeasurements(tt.gate, tt.window); got != tt.wantNeeded {
				t.Errorf("NeededMeasurements = %d, want %d", got, tt.wantNeeded)
			}
			if got := MeasurementInterval(tt.gate, tt.window); got != tt.wantInterval {
				t.Errorf("MeasurementInterval = %s, want %s", got, tt.wantInterval)
			}
		})
	}
}

func TestMeasurementTimes(t *testing.T) {
	live := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(d string) time.Time {
		dd, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		return live.Add(dd)
	}
	warm := Gate{WarmUp: Duration{2 * time.Minute}}
	tests := []struct {
		name               string
		gate               Gate
		window             time.Duration
		now                time.Time
		wantStart, wantEnd time.Time
		wantStep           time.Duration
		wantReady          bool
	}{
		{"during warm-up no point is due", warm, 5 * time.Minute, at("1m"), at("3m"), at("1m"), time.Minute, false},
		{"partway the range ends now", warm, 5 * time.Minute, at("4m30s"), at("3m"), at("4m30s"), time.Minute, false},
		{"the window is ready at its close", warm, 5 * time.Minute, at("7m"), at("3m"), at("7m"), time.Minute, true},
		{"after the close the range stays the window", warm, 5 * time.Minute, at("1h"), at("3m"), at("7m"), time.Minute, true},
		{"count sets the grid", Gate{Count: 2}, 4 * time.Minute, at("10m"), at("2m"), at("4m"), 2 * time.Minute, true},
		{"an uneven grid ends at the close", Gate{Interval: Duration{2 * time.Minute}}, 5 * time.Minute, at("10m"), at("3m"), at("5m"), 2 * time.Minute, true},
		{"a zero window is one point at the end of warm-up", warm, 0, at("2m"), at("2m"), at("2m"), time.Minute, true},
		{"seconds-long windows work", Gate{Interval: Duration{time.Second}}, 4 * time.Second, at("3s"), at("1s"), at("3s"), time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, step, ready := MeasurementTimes(live, tt.now, tt.gate, tt.window)
			if !start.Equal(tt.wantStart) || !end.Equal(tt.wantEnd) || step != tt.wantStep || ready != tt.wantReady {
				t.Errorf("got start %s end %s step %s ready %v, want %s %s %s %v",
					start.Sub(live), end.Sub(live), step, ready, tt.wantStart.Sub(live), tt.wantEnd.Sub(live), tt.wantStep, tt.wantReady)
			}
		})
	}
}

func TestMeasurementTimesAreTheSameAfterARestart(t *testing.T) {
	live := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	g := Gate{WarmUp: Duration{time.Minute}}
	s1, e1, _, _ := MeasurementTimes(live, live.Add(30*time.Minute), g, 10*time.Minute)
	s2, e2, _, _ := MeasurementTimes(live, live.Add(3*time.Hour), g, 10*time.Minute)
	if !s1.Equal(s2) || !e1.Equal(e2) {
		t.Errorf("window moved: %s–%s then %s–%s", s1, e1, s2, e2)
	}
}

func TestQueryHashIsStableAndShort(t *testing.T) {
	// sha256("up") = 75a288c0…, computed with `printf up | sha256sum`.
	if got := QueryHash("up"); got != "q-75a288c0" {
		t.Errorf("QueryHash(up) = %s, want q-75a288c0", got)
	}
	if QueryHash("up ") == QueryHash("up") {
		t.Error("different queries hash alike")
	}
}

func TestAlertsQuery(t *testing.T) {
	if got, want := AlertsQuery(`service="demo"`), `ALERTS{alertstate="firing", service="demo"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := AlertsQuery(" "), `ALERTS{alertstate="firing"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestJudgeAlerts(t *testing.T) {
	g := Gate{Name: "incidents", Alerts: &AlertsGate{Selector: `service="demo"`}}
	tests := []struct {
		name       string
		firing     []string
		err        string
		want       Verdict
		wantReason string
	}{
		{"none firing passes", nil, "", Pass, "no alert firing"},
		{"one firing holds naming it", []string{"HighErrorRate"}, "", Inconclusive, "alert HighErrorRate firing"},
		{"several firing hold naming them", []string{"A", "B"}, "", Inconclusive, "alerts A, B firing"},
		{"an error holds", nil, "connection refused", Inconclusive, "alerts unknown: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := JudgeAlerts(g, tt.firing, tt.err)
			if got.Verdict != tt.want || got.Reason != tt.wantReason || got.Name != "incidents" || got.Severity != SeverityCritical {
				t.Errorf("got %+v, want %s %q", got, tt.want, tt.wantReason)
			}
		})
	}
}

func TestJudgeWebhook(t *testing.T) {
	g := Gate{Name: "smoke", Webhook: &WebhookGate{URL: "http://127.0.0.1:1/"}}
	long := strings.Repeat("x", 300)
	tests := []struct {
		name       string
		status     int
		body, err  string
		want       Verdict
		wantReason string
	}{
		{"200 passes", 200, "ok", "", Pass, "status 200: ok"},
		{"204 passes", 204, "", "", Pass, "status 204"},
		{"404 fails", 404, "no such test", "", Fail, "status 404: no such test"},
		{"500 fails with at most 200 bytes of body", 500, long, "", Fail, "status 500: " + long[:200]},
		{"a redirect holds", 302, "", "", Inconclusive, "status 302"},
		{"a timeout holds", 0, "", "context deadline exceeded", Inconclusive, "webhook unreachable: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := JudgeWebhook(g, tt.status, tt.body, tt.err)
			if got.Verdict != tt.want || got.Reason != tt.wantReason {
				t.Errorf("got %s %q, want %s %q", got.Verdict, got.Reason, tt.want, tt.wantReason)
			}
		})
	}
}

func TestJudgeNamesAConfigurationErrorFirstAndCountsIt(t *testing.T) {
	g := Gate{Name: "errors", InconclusiveLimit: 2, Prometheus: &PrometheusGate{Query: "errors", Max: new(0.01)}}
	refused := Measurement{Err: "Prometheus refused query_range errors(: bad_data: parse error", ConfigError: true}
	ms := []Measurement{refused, refused, refused}
	res := Judge(g, ms, 3*time.Minute)
	if res.Verdict != Inconclusive || res.Inconclusives != 3 ||
		res.Reason != "configuration error: Prometheus refused query_range errors(: bad_data: parse error (3 of 3 measurements)" {
		t.Fatalf("got %s %d %q, want inconclusive naming the configuration error, counting 3", res.Verdict, res.Inconclusives, res.Reason)
	}
	d := Plan(&Rollout{Metadata: Metadata{Name: "demo"}, Spec: Spec{Gates: []Gate{g},
		Strategy: Strategy{Canary: &Canary{Steps: []Step{{Analysis: &Analysis{Gates: []string{"errors"}, Window: Duration{3 * time.Minute}}}}}}}},
		State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.0", Stable: "1.0", Step: 1, StepAt: t0},
		Evidence{AppliedUnknown: true, Gates: map[string]GateResult{"errors": res}}, t0.Add(time.Hour), DefaultGuardrails())
	if d.Action != ActionAbort || !strings.Contains(d.Reason, "gate errors inconclusive 3 times (limit 2): configuration error: Prometheus refused") {
		t.Fatalf("plan: %s (%s), want an abort at the limit naming the configuration error", d.Action, d.Reason)
	}
}

func TestInstantChecksCountTheirInconclusivePoints(t *testing.T) {
	timedOut := JudgeWebhook(Gate{Name: "smoke"}, 0, "", "POST ci.example: no answer within 2s")
	if got := CountInconclusives(timedOut, 7); got.Inconclusives != 7 || got.Verdict != Inconclusive {
		t.Fatalf("a webhook timing out over 7 due points: %+v, want 7 inconclusives", got)
	}
	if got := CountInconclusives(timedOut, 0); got.Inconclusives != 1 {
		t.Fatalf("before the first point: %d inconclusives, want 1", got.Inconclusives)
	}
	if got := CountInconclusives(JudgeWebhook(Gate{Name: "smoke"}, 200, "", ""), 7); got.Inconclusives != 0 || got.Verdict != Pass {
		t.Fatalf("a passing webhook: %+v, want a pass counting nothing", got)
	}
	office := Gate{Name: "office", Schedule: &ScheduleGate{TimeZone: "UTC", Windows: []ChangeWindow{{Start: "09:00", End: "10:00"}}}}
	// t0 is 10:00 UTC: points every 15m from 09:30 to 10:30, 3 of 5 outside.
	q := MeasureRange{Start: t0.Add(-30 * time.Minute), End: t0.Add(30 * time.Minute), Step: 15 * time.Minute}
	if n := ScheduleMisses(office, q); n != 3 {
		t.Fatalf("ScheduleMisses = %d, want 3 (10:00, 10:15, 10:30)", n)
	}
}

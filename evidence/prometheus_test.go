package evidence

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/policy"
)

// Queries of the gates below, as a spec would write them.
const (
	errorRateQuery = `sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[{{.Window}}]))` +
		` / sum(rate(http_requests_total{version="{{.Version}}"}[{{.Window}}]))`
	requestsQuery = `sum(increase(http_requests_total{version="{{.Version}}"}[{{.Window}}]))`
	p99Query      = `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{.Version}}"}[{{.Window}}])))`
	perCodeQuery  = `rate(http_requests_total{version="{{.Version}}"}[{{.Window}}])`
)

// alertRules fires CanaryErrors (service=demo) while any version serves
// more than 0.5 errors a second.
const alertRules = `groups:
  - name: demo
    rules:
      - alert: CanaryErrors
        expr: sum by (version) (rate(http_requests_total{code="500"}[5s])) > 0.5
        labels:
          service: demo
`

func ptr(v float64) *float64 { return &v }

// testWindow is the analysis window of the integration tests: three
// measurements a second apart.
const testWindow = 3 * time.Second

// testRollout is a spec with every gate the integration tests use.
func testRollout() *policy.Rollout {
	every := policy.Duration{Duration: time.Second}
	prom := func(name string, pg policy.PrometheusGate) policy.Gate {
		return policy.Gate{Name: name, Prometheus: &pg, Interval: every}
	}
	r := &policy.Rollout{Metadata: policy.Metadata{Name: "demo"}}
	r.Spec.Gates = []policy.Gate{
		prom("error-rate", policy.PrometheusGate{Query: errorRateQuery, Max: ptr(0.01), SampleQuery: requestsQuery, MinSamples: 50}),
		prom("p99", policy.PrometheusGate{Query: p99Query, MaxRatio: ptr(1.5), SampleQuery: requestsQuery, MinSamples: 50}),
		prom("per-code", policy.PrometheusGate{Query: perCodeQuery, Max: ptr(1000)}),
		prom("typo", policy.PrometheusGate{Query: `sum(rate(http_requests_total{version="{{.Version}}"}[1m])`, Max: ptr(1)}),
		{Name: "incidents", Alerts: &policy.AlertsGate{Selector: `service="demo"`}, Interval: every},
		{Name: "other-incidents", Alerts: &policy.AlertsGate{Selector: `service="other"`}, Interval: every},
	}
	return r
}

func analysis(gates ...string) *policy.Analysis {
	return &policy.Analysis{Gates: gates, Window: policy.Duration{Duration: testWindow}}
}

// apps is a stable version and canaries in each condition, all scraped by
// one Prometheus.
type apps struct {
	stable, healthy, erroring, idle, slow *evidencetest.App
}

func startApps(t *testing.T) apps {
	a := apps{
		stable:   evidencetest.NewApp(t, "1.0.0"),
		healthy:  evidencetest.NewApp(t, "2.0.0-healthy"),
		erroring: evidencetest.NewApp(t, "2.0.0-5xx"),
		idle:     evidencetest.NewApp(t, "2.0.0-idle"),
		slow:     evidencetest.NewApp(t, "2.0.0-slow"),
	}
	for _, app := range []*evidencetest.App{a.stable, a.healthy, a.erroring, a.slow} {
		app.SetTraffic(100)
	}
	a.erroring.SetErrorRate(0.2)
	a.slow.SetLatency(800 * time.Millisecond)
	a.idle.Simulate(3) // a few requests once, then nothing: the series exist but do not grow
	return a
}

func (a apps) targets() []string {
	return []string{a.stable.Target, a.healthy.Target, a.erroring.Target, a.idle.Target, a.slow.Target}
}

// waitForHistory waits until Prometheus holds enough scrapes of version
// for a window that closed a second ago (each point's rate reaches a
// window further back).
func waitForHistory(t testing.TB, p *evidencetest.Prom, version string) {
	t.Helper()
	p.WaitFor(t, `count_over_time(http_requests_total{version="`+version+`",code="200"}[1m])`, 9, 30*time.Second)
}

func TestGatesAgainstRealPrometheus(t *testing.T) {
	t.Parallel()
	a := startApps(t)
	began := time.Now()
	p := evidencetest.StartPrometheus(t, a.targets(), alertRules)
	waitForHistory(t, p, "2.0.0-healthy")
	p.WaitFor(t, `count(ALERTS{alertname="CanaryErrors",alertstate="firing"})`, 1, 30*time.Second)

	prom, err := NewPrometheus(p.URL, WithQueryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	g := &Gatherer{Prom: prom}
	r := testRollout()
	now := time.Now()
	closed := now.Add(-testWindow - time.Second) // the window closed a second ago
	vars := func(canary string) QueryVars {
		return QueryVars{Rollout: "demo", Release: canary, Stable: "1.0.0", Step: 2}
	}
	gather := func(canary, gate string, liveAt time.Time) policy.GateResult {
		t.Helper()
		res := g.Gather(context.Background(), r, analysis(gate), vars(canary), liveAt, now)[gate]
		t.Logf("%s on %s: %+v", gate, canary, res)
		return res
	}

	t.Run("a healthy canary passes", func(t *testing.T) {
		res := gather("2.0.0-healthy", "error-rate", closed)
		if res.Verdict != policy.Pass || !res.HasValue || res.Value != 0 || res.Bound != "<=0.01" || res.Samples < 50 {
			t.Errorf("got %+v, want pass with value 0, bound <=0.01 and at least 50 samples", res)
		}
		if res.Query != policy.QueryHash(errorRateQuery) || res.Window.Duration != testWindow {
			t.Errorf("query %s window %s, want %s %s", res.Query, res.Window, policy.QueryHash(errorRateQuery), testWindow)
		}
	})
	t.Run("a 5xx spike fails with value and bound", func(t *testing.T) {
		res := gather("2.0.0-5xx", "error-rate", closed)
		if res.Verdict != policy.Fail || res.Value < 0.15 || res.Value > 0.25 || res.Bound != "<=0.01" {
			t.Errorf("got %+v, want fail with a value near 0.2 and bound <=0.01", res)
		}
		if !strings.Contains(res.Reason, "above <=0.01") || res.Failures != 3 {
			t.Errorf("reason %q failures %d, want the bound named and 3 failures", res.Reason, res.Failures)
		}
	})
	t.Run("a canary without traffic is inconclusive", func(t *testing.T) {
		res := gather("2.0.0-idle", "error-rate", closed)
		// The window closed a second ago without conclusive points, so it
		// was extended to now: at least its 3 points are inconclusive.
		if res.Verdict != policy.Inconclusive || res.Inconclusives < 3 || res.HasValue {
			t.Errorf("got %+v, want inconclusive with at least 3 inconclusive measurements and no value", res)
		}
		if !strings.Contains(res.Reason, "0 samples below minSamples 50") {
			t.Errorf("reason %q does not name the missing samples", res.Reason)
		}
	})
	t.Run("a canary with no series at all is inconclusive", func(t *testing.T) {
		res := gather("9.9.9-never-deployed", "error-rate", closed)
		if res.Verdict != policy.Inconclusive || !strings.Contains(res.Reason, "no value") {
			t.Errorf("got %+v, want inconclusive for want of a value", res)
		}
	})
	t.Run("p99 worse than stable times maxRatio fails", func(t *testing.T) {
		res := gather("2.0.0-slow", "p99", closed)
		if res.Verdict != policy.Fail || !res.HasBaseline || res.Value < 0.5 || res.Baseline > 0.11 || res.Bound != "<=1.5x stable" {
			t.Errorf("got %+v, want fail with p99 near 1s against a stable baseline near 0.1s", res)
		}
	})
	t.Run("p99 like stable passes", func(t *testing.T) {
		res := gather("2.0.0-healthy", "p99", closed)
		if res.Verdict != policy.Pass || !res.HasBaseline || res.Baseline <= 0 {
			t.Errorf("got %+v, want pass with a baseline", res)
		}
	})
	t.Run("a query returning several series is a configuration error", func(t *testing.T) {
		res := gather("2.0.0-5xx", "per-code", closed)
		if res.Verdict != policy.Inconclusive || !strings.HasPrefix(res.Reason, "configuration error: query ") || !strings.Contains(res.Reason, "returned 2 series, want one") {
			t.Errorf("got %+v, want inconclusive: a configuration error naming the 2 series", res)
		}
	})
	t.Run("a query Prometheus refuses is a configuration error that counts towards the limit", func(t *testing.T) {
		res := gather("2.0.0-healthy", "typo", closed)
		if res.Verdict != policy.Inconclusive || res.Inconclusives < 3 ||
			!strings.HasPrefix(res.Reason, "configuration error: Prometheus refused query_range sum(rate(") || !strings.Contains(res.Reason, "bad_data") {
			t.Errorf("got %+v, want inconclusive: a configuration error naming Prometheus' refusal, counting every point", res)
		}
	})
	t.Run("an unfinished window holds with the measurements so far", func(t *testing.T) {
		res := gather("2.0.0-healthy", "error-rate", now.Add(-2*time.Second))
		if res.Verdict != policy.Inconclusive || !res.HasValue || !strings.HasPrefix(res.Reason, "window 2s of 3s elapsed") {
			t.Errorf("got %+v, want inconclusive, a value, and the elapsed part of the window", res)
		}
	})
	t.Run("an unfinished window already failing fails", func(t *testing.T) {
		res := gather("2.0.0-5xx", "error-rate", now.Add(-2*time.Second))
		if res.Verdict != policy.Fail || res.Failures != 2 {
			t.Errorf("got %+v, want fail on the 2 points so far", res)
		}
	})
	t.Run("a window without data is extended until it has enough", func(t *testing.T) {
		liveAt := began.Add(-20 * time.Second) // the window closed before Prometheus ran
		res := gather("2.0.0-healthy", "error-rate", liveAt)
		if res.Verdict != policy.Pass || res.Inconclusives < 3 || !strings.HasPrefix(res.Reason, "window extended to ") {
			t.Errorf("got %+v, want a pass after extending past at least 3 empty points", res)
		}
	})
	t.Run("a firing alert holds naming it, counting each point it fired at", func(t *testing.T) {
		res := gather("2.0.0-5xx", "incidents", closed)
		if res.Verdict != policy.Inconclusive || res.Reason != "alert CanaryErrors firing" || res.Inconclusives < 3 {
			t.Errorf("got %+v, want inconclusive \"alert CanaryErrors firing\" at the 4 points since the window opened", res)
		}
	})
	t.Run("no alert firing for the selector passes", func(t *testing.T) {
		res := gather("2.0.0-5xx", "other-incidents", closed)
		if res.Verdict != policy.Pass {
			t.Errorf("got %+v, want pass", res)
		}
	})
	t.Run("measurements are aligned to the window's points", func(t *testing.T) {
		gate := r.Spec.Gates[1] // p99: value, baseline and samples
		start, end, step, _ := policy.MeasurementTimes(closed, now, gate, testWindow)
		q := vars("2.0.0-healthy")
		q.Window = "3s"
		ms, err := prom.Measure(context.Background(), gate, q, start, end, step)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 {
			t.Fatalf("got %d measurements, want 3", len(ms))
		}
		for i, m := range ms {
			if want := start.Add(time.Duration(i) * time.Second); !m.At.Equal(want) || !m.OK || !m.HasBaseline || !m.HasSamples || m.Err != "" {
				t.Errorf("measurement %d = %+v, want one at %s with value, baseline and samples", i, m, want)
			}
		}
	})
	t.Run("a range whose ends are not whole milliseconds gets no point past its end", func(t *testing.T) {
		// Prometheus rounds both ends to milliseconds: start x+0.0004s is
		// read as x and end x+1.0003s as x+1s, so it answers a point at
		// x+1s, past the one point a range shorter than a step holds.
		gate := r.Spec.Gates[0]
		start := closed.Add(-2 * time.Second).Truncate(time.Millisecond).Add(400 * time.Microsecond)
		end := start.Add(time.Second - 100*time.Microsecond)
		q := vars("2.0.0-healthy")
		q.Window = "3s"
		ms, err := prom.Measure(context.Background(), gate, q, start, end, time.Second)
		if err != nil || len(ms) != 1 || !ms[0].At.Equal(start) {
			t.Fatalf("got %d measurements (%+v), %v; want the one at %s", len(ms), ms, err, start)
		}
	})
}

func TestRenderQueryFillsEveryTemplateVariable(t *testing.T) {
	q := QueryVars{Rollout: "demo", Release: "2.0.0", Stable: "1.0.0", Version: "2.0.0", Window: "5m", Interval: "1m", Step: 3}
	got, err := RenderQuery(`x{app="{{.Rollout}}",version="{{.Version}}",stable="{{.Stable}}"}[{{.Window}}:{{.Interval}}] # {{.Release}} {{.Step}}`, q)
	want := `x{app="demo",version="2.0.0",stable="1.0.0"}[5m:1m] # 2.0.0 3`
	if err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if _, err := RenderQuery(`x{version="{{.Canary}}"}`, q); err == nil || !strings.Contains(err.Error(), "Canary") {
		t.Errorf("unknown field: err = %v, want it named", err)
	}
	if _, err := RenderQuery(`x{version="{{.Version}"}`, q); err == nil {
		t.Error("unclosed action: no error")
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", 90 * time.Minute: "1h30m", 3 * time.Second: "3s", 0: "0s"} {
		if got := PromDuration(d); got != want {
			t.Errorf("PromDuration(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestNewPrometheusRejectsBadAddressesWithoutTheirPassword(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:9090", "ftp://127.0.0.1", "http://user:hunter2@", "http://user:hunter2@[::1"} {
		_, err := NewPrometheus(addr)
		if err == nil {
			t.Errorf("NewPrometheus(%q): no error", addr)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("NewPrometheus(%q): error leaks the password: %v", addr, err)
		}
	}
}

// TestPrometheusSendsCredentials checks the Authorization header on the
// wire; Prometheus itself only checks it behind a web config, so a
// recording server on loopback stands in.
func TestPrometheusSendsCredentials(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	defer srv.Close()
	for _, tt := range []struct {
		opt  Option
		want string
	}{
		{WithBearerToken("tok-123"), "Bearer tok-123"},
		{WithBasicAuth("ramp", "pw"), "Basic cmFtcDpwdw=="}, // base64("ramp:pw")
	} {
		p, err := NewPrometheus(srv.URL, tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.FiringAlerts(context.Background(), "", time.Now()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := auth[len(auth)-1]
		mu.Unlock()
		if got != tt.want {
			t.Errorf("Authorization = %q, want %q", got, tt.want)
		}
	}
}

// TestMeasureTimesOutIntoInconclusivePoints: a Prometheus that accepts
// the connection and never answers (a loopback listener standing in for a
// hung server) leaves every point without a value, with the reason.
func TestMeasureTimesOutIntoInconclusivePoints(t *testing.T) {
	hung := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hung:
		}
	}))
	defer srv.Close()
	defer close(hung)
	p, err := NewPrometheus(srv.URL, WithQueryTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	gate := testRollout().Spec.Gates[0]
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ms, err := p.Measure(context.Background(), gate, QueryVars{Release: "2.0.0", Window: "3s"}, start, start.Add(2*time.Second), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("got %d measurements, want 3", len(ms))
	}
	for i, m := range ms {
		if m.OK || !strings.Contains(m.Err, "context deadline exceeded") {
			t.Errorf("measurement %d = %+v, want no value and the timeout as the reason", i, m)
		}
	}
	if res := policy.Judge(gate, ms, testWindow); res.Verdict != policy.Inconclusive {
		t.Errorf("Judge = %+v, want inconclusive", res)
	}
}

func TestMeasureReportsATemplateThatDoesNotRenderAsAConfigurationError(t *testing.T) {
	p, err := NewPrometheus("http://127.0.0.1:1") // never reached: rendering fails first
	if err != nil {
		t.Fatal(err)
	}
	gate := policy.Gate{Name: "bad", Prometheus: &policy.PrometheusGate{Query: `x{version="{{.Canary}}"}`, Max: ptr(1)}}
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ms, err := p.Measure(context.Background(), gate, QueryVars{}, start, start.Add(time.Minute), time.Minute)
	if err != nil || len(ms) != 2 {
		t.Fatalf("Measure: %d measurements, %v; want 2 points and no error", len(ms), err)
	}
	for _, m := range ms {
		if !m.ConfigError || !strings.Contains(m.Err, "query template") {
			t.Errorf("measurement %+v, want a configuration error naming the template", m)
		}
	}
	if res := policy.Judge(gate, ms, time.Minute); !strings.HasPrefix(res.Reason, "configuration error: query template") || res.Inconclusives != 2 {
		t.Errorf("Judge: %+v, want a configuration error counting both points", res)
	}
}

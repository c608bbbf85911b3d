package evidence

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/policy"
)

// TestTrafficMeasuresEachVersionsRequests runs the routing check against
// a real Prometheus scraping a stable app that serves 80 requests a
// scrape and canaries serving 20 and none.
func TestTrafficMeasuresEachVersionsRequests(t *testing.T) {
	t.Parallel()
	stable, routed, unrouted := evidencetest.NewApp(t, "1.0.0"), evidencetest.NewApp(t, "2.0.0"), evidencetest.NewApp(t, "3.0.0")
	stable.SetTraffic(80)
	routed.SetTraffic(20)
	unrouted.InitSeries() // its series exist, at 0: nothing reaches it
	p := evidencetest.StartPrometheus(t, []string{stable.Target, routed.Target, unrouted.Target}, "")
	waitForHistory(t, p, "1.0.0")
	waitForHistory(t, p, "2.0.0")
	prom, err := NewPrometheus(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	r := &policy.Rollout{Metadata: policy.Metadata{Name: "demo"}}
	r.Spec.TrafficCheck = &policy.TrafficCheck{
		Query:     `sum(increase(http_requests_total{version="{{.Version}}"}[{{.Window}}]))`,
		Tolerance: 0.5, Window: policy.Duration{Duration: 5 * time.Second}}
	state := func(release string) policy.State {
		return policy.State{Rollout: "demo", Phase: policy.PhaseProgressing, Release: release, Stable: "1.0.0", Step: 1, Weight: 20}
	}
	now := time.Now()
	g := &Gatherer{Prom: prom}

	s := g.Traffic(context.Background(), r, state("2.0.0"), now.Add(-10*time.Second), now)
	if s == nil || s.Err != "" || s.Stable == 0 {
		t.Fatalf("Traffic = %+v", s)
	}
	if res := r.Spec.TrafficCheck.JudgeTraffic(20, policy.Exposure{}, s); res.Verdict != policy.Pass || res.Value < 0.15 || res.Value > 0.25 {
		t.Errorf("a canary served a fifth of the requests: %+v", res)
	}
	s = g.Traffic(context.Background(), r, state("3.0.0"), now.Add(-10*time.Second), now)
	res := r.Spec.TrafficCheck.JudgeTraffic(20, policy.Exposure{}, s)
	if res.Verdict != policy.Fail || !strings.Contains(res.Reason, "weight 20% but canary served 0% of") {
		t.Errorf("a canary nothing reaches: %+v (sample %+v)", res, s)
	}
	if s := g.Traffic(context.Background(), r, state("2.0.0"), now.Add(-2*time.Second), now); s != nil {
		t.Errorf("before the window has passed since the step went live: %+v, want nil", s)
	}
	if s := g.Traffic(context.Background(), r, state("9.9.9"), now.Add(-10*time.Second), now); s == nil || s.Err != "" {
		t.Errorf("a version without series counts 0 requests: %+v", s)
	}

	p.Stop()
	s = g.Traffic(context.Background(), r, state("2.0.0"), now.Add(-10*time.Second), now)
	if s == nil || s.Err == "" {
		t.Errorf("with Prometheus down: %+v, want an error", s)
	}
}

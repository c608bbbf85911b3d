package evidence

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/policy"
)

func TestGatherHoldsWhilePrometheusIsDownAndResumes(t *testing.T) {
	t.Parallel()
	stable, canary := evidencetest.NewApp(t, "1.0.0"), evidencetest.NewApp(t, "2.0.0")
	stable.SetTraffic(100)
	canary.SetTraffic(100)
	p := evidencetest.StartPrometheus(t, []string{stable.Target, canary.Target}, "")
	waitForHistory(t, p, "2.0.0")

	prom, err := NewPrometheus(p.URL, WithQueryTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	g := &Gatherer{Prom: prom}
	r, a := testRollout(), analysis("error-rate", "p99", "other-incidents")
	vars := QueryVars{Rollout: "demo", Release: "2.0.0", Stable: "1.0.0", Step: 2}
	liveAt := time.Now().Add(-testWindow - time.Second)
	verdicts := func(phase string, liveAt time.Time) map[string]policy.GateResult {
		res := g.Gather(context.Background(), r, a, vars, liveAt, time.Now())
		for _, gr := range res {
			t.Logf("%s: %s: %+v", phase, gr.Name, gr)
		}
		return res
	}

	for name, res := range verdicts("before the outage", liveAt) {
		if res.Verdict != policy.Pass {
			t.Fatalf("before the outage %s: got %s %q, want pass", name, res.Verdict, res.Reason)
		}
	}

	midLive := time.Now() // a step goes live as Prometheus goes away
	p.Stop()
	time.Sleep(time.Until(midLive.Add(1500 * time.Millisecond))) // its first point is due
	for _, live := range []time.Time{liveAt, midLive} {
		for name, res := range verdicts("during the outage", live) {
			if res.Verdict != policy.Inconclusive || !strings.Contains(res.Reason, "connection refused") {
				t.Errorf("during the outage %s: got %s %q, want inconclusive naming the refused connection", name, res.Verdict, res.Reason)
			}
		}
	}

	if err := p.Start(); err != nil { // same port, same storage
		t.Fatal(err)
	}
	for name, res := range verdicts("after the restart, a window before the outage", liveAt) {
		if res.Verdict != policy.Pass {
			t.Errorf("after the restart %s: got %s %q, want pass again", name, res.Verdict, res.Reason)
		}
	}
	// The window that spanned the outage lacks points; re-evaluated like a
	// controller would, it holds (extending past the outage) until fresh
	// scrapes give it enough, and then passes. It never fails.
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := verdicts("after the restart, a window across the outage", midLive)
		passed := 0
		for name, gr := range res {
			switch gr.Verdict {
			case policy.Pass:
				passed++
			case policy.Fail:
				t.Fatalf("window across the outage %s: failed: %q", name, gr.Reason)
			}
		}
		if passed == len(a.Gates) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("window across the outage: still holding after 20s: %+v", res)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestGatherWithoutPrometheusHolds(t *testing.T) {
	g := &Gatherer{}
	res := g.Gather(context.Background(), testRollout(), analysis("error-rate", "incidents"), QueryVars{}, time.Now().Add(-time.Hour), time.Now())
	for _, name := range []string{"error-rate", "incidents"} {
		got := res[name]
		if got.Verdict != policy.Inconclusive || !strings.Contains(got.Reason, "no Prometheus configured") || got.Name != name {
			t.Errorf("%s: got %+v, want inconclusive \"no Prometheus configured\"", name, got)
		}
	}
}

func TestGatherHoldsDuringWarmUp(t *testing.T) {
	prom, err := NewPrometheus("http://127.0.0.1:1") // never queried during warm-up
	if err != nil {
		t.Fatal(err)
	}
	r := testRollout()
	r.Spec.Gates[0].WarmUp = policy.Duration{Duration: time.Minute}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	a := &policy.Analysis{Gates: []string{"error-rate"}, Window: policy.Duration{Duration: 5 * time.Minute}}
	tests := []struct {
		name   string
		liveAt time.Time
		want   string
	}{
		{"in warm-up", now.Add(-20 * time.Second), "warming up: window opens in 40s"},
		{"before the first point", now.Add(-time.Minute - 500*time.Millisecond), "window 1s of 5m elapsed; first measurement at 2026-11-25T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := (&Gatherer{Prom: prom}).Gather(context.Background(), r, a, QueryVars{}, tt.liveAt, now)["error-rate"]
			if res.Verdict != policy.Inconclusive || res.Reason != tt.want {
				t.Errorf("got %s %q, want inconclusive %q", res.Verdict, res.Reason, tt.want)
			}
		})
	}
}

func TestGatherReportsUndefinedGates(t *testing.T) {
	res := (&Gatherer{}).Gather(context.Background(), testRollout(), analysis("smoke"), QueryVars{}, time.Now(), time.Now())
	got := res["smoke"]
	if got.Verdict != policy.Inconclusive || got.Reason != "gate smoke is not defined in spec.gates" {
		t.Errorf("got %+v, want inconclusive naming the undefined gate", got)
	}
	if len((&Gatherer{}).Gather(context.Background(), testRollout(), nil, QueryVars{}, time.Now(), time.Now())) != 0 {
		t.Error("no analysis gave results")
	}
}

func TestGatherCallsWebhooksAndChecksSchedules(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		if r.Header.Get(SignatureHeader) == "" {
			http.Error(w, "unsigned", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	r := testRollout()
	r.Spec.Gates = append(r.Spec.Gates,
		policy.Gate{Name: "smoke", Webhook: &policy.WebhookGate{URL: srv.URL, SecretEnv: "RAMP_TEST_HOOK_KEY"}},
		policy.Gate{Name: "office-hours", Severity: policy.SeverityWarning, Schedule: &policy.ScheduleGate{
			TimeZone: "Europe/Berlin", Windows: []policy.ChangeWindow{{Days: []string{"Mon"}, Start: "09:00", End: "16:00"}},
		}},
	)
	g := &Gatherer{HTTP: srv.Client(), Env: func(name string) string {
		if name == "RAMP_TEST_HOOK_KEY" {
			return "k"
		}
		return ""
	}}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // a Wednesday
	vars := QueryVars{Rollout: "demo", Release: "2.0.0", Stable: "1.0.0", Step: 4}
	res := g.Gather(context.Background(), r, analysis("smoke", "office-hours"), vars, now, now)

	if got := res["smoke"]; got.Verdict != policy.Pass {
		t.Errorf("smoke: got %+v, want pass", got)
	}
	var p WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil || p != (WebhookPayload{Rollout: "demo", Release: "2.0.0", Stable: "1.0.0", Step: 4, Gate: "smoke"}) {
		t.Errorf("webhook body %s (%v), want rollout demo, release 2.0.0, stable 1.0.0, step 4, gate smoke", body, err)
	}
	got := res["office-hours"]
	if got.Verdict != policy.Inconclusive || got.Reason != "outside change window; next opens Mon 09:00 Europe/Berlin" || got.Severity != policy.SeverityWarning {
		t.Errorf("office-hours: got %+v, want a warning hold until Mon 09:00", got)
	}
}

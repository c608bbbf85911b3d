package gitsync_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// slowPrometheus is a 127.0.0.1 HTTP server posing as a Prometheus (its
// query_range API only), for a test that needs one query to be slow, which
// a real Prometheus cannot be made to be. A query that contains slowIf
// answers after delay (0, a passing value); every other value query
// answers 0.5 (a 50% error rate) and every sample query ("increase(")
// 100 samples per point.
type slowPrometheus struct {
	url    string
	slowIf string
	delay  time.Duration
	// slowStarted and slowDone count the slow queries begun and answered.
	slowStarted, slowDone atomic.Int32
}

func newSlowPrometheus(t *testing.T, slowIf string, delay time.Duration) *slowPrometheus {
	t.Helper()
	p := &slowPrometheus{slowIf: slowIf, delay: delay}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(p.queryRange)}}
	srv.Start()
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *slowPrometheus) queryRange(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query_range" {
		http.Error(w, `{"status":"error","errorType":"bad_data","error":"only query_range here"}`, http.StatusBadRequest)
		return
	}
	query := r.FormValue("query")
	value := "0.5"
	switch {
	case strings.Contains(query, "increase("):
		value = "100"
	case strings.Contains(query, p.slowIf):
		p.slowStarted.Add(1)
		select {
		case <-time.After(p.delay):
		case <-r.Context().Done():
			return
		}
		p.slowDone.Add(1)
		value = "0"
	}
	start, err1 := strconv.ParseFloat(r.FormValue("start"), 64)
	end, err2 := strconv.ParseFloat(r.FormValue("end"), 64)
	step, err3 := strconv.ParseFloat(r.FormValue("step"), 64)
	if err1 != nil || err2 != nil || err3 != nil || step <= 0 {
		http.Error(w, `{"status":"error","errorType":"bad_data","error":"bad range"}`, http.StatusBadRequest)
		return
	}
	var points []string
	for ts := start; ts <= end; ts += step {
		points = append(points, fmt.Sprintf(`[%.3f,%q]`, ts, value))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[%s]}]}}`, strings.Join(points, ","))
}

// TestPassPushesAnAbortWhileAnotherRolloutsSlowGateIsStillBeingGathered:
// rollouts api and demo are both in a 3s analysis of their error rate;
// Prometheus answers api's query only after 20s, and demo's with a 50%
// error rate. demo's abort must be on the remote (read with the system
// git) while api's query is still unanswered. (api sorts first: gathered
// one at a time in name order, its slow gate would delay demo's abort.)
func TestPassPushesAnAbortWhileAnotherRolloutsSlowGateIsStillBeingGathered(t *testing.T) {
	gated := func(name string) string {
		return policytest.GatedYAML(name, "setWeight: 10", "analysis: {gates: [error-rate], window: 3s}", "setWeight: 50")
	}
	const slowDelay = 20 * time.Second
	prom := newSlowPrometheus(t, `version="1.2.0",code=~"5.."`, slowDelay)
	w := newWorldWithSpec(t, gated("demo"))
	w.commitFiles("dev", "add rollout api", gittest.RolloutFilesWithSpec("api", "1.0.0", gated("api")))
	p, err := evidence.NewPrometheus(prom.url, evidence.WithQueryTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	g := &evidence.Gatherer{Prom: p}
	w.cfg.Evidence = func(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence {
		return g.Evidence(ctx, r, s, policy.Evidence{AppliedUnknown: true}, time.Now())
	}
	w.cfg.Now = time.Now
	w.loop = w.newLoop()

	w.release("1.1.0")
	w.commitFiles("dev", "api: release 1.2.0", map[string]string{"apps/api/canary/kustomization.yaml": gittest.Kustomization("api", "1.2.0")})
	for _, want := range []policy.Action{policy.ActionSetWeight, policy.ActionAnalysis} {
		res, err := w.loop.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := len(res.Pushed()); got != 2 {
			t.Fatalf("pass pushed %d commits, want %s for both rollouts: %+v", got, want, res.Outcomes)
		}
		for _, o := range res.Pushed() {
			if o.Decision.Action != want {
				t.Fatalf("%s: %s (%s), want %s", o.Rollout, o.Decision.Action, o.Decision.Reason, want)
			}
		}
	}
	time.Sleep(4 * time.Second) // past both analysis windows

	type passResult struct {
		res gitsync.Result
		err error
	}
	done := make(chan passResult, 1)
	start := time.Now()
	go func() {
		res, err := w.loop.Pass(context.Background())
		done <- passResult{res, err}
	}()
	var abort string
	for abort == "" {
		for _, line := range w.serverLog() {
			if isDemoAbort(line) {
				abort = line
				break
			}
		}
		if abort != "" {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the pass ended (%v) after %s before demo's abort was on the remote; outcomes %+v", r.err, time.Since(start), r.res.Outcomes)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(start) > slowDelay/2 {
			t.Fatalf("demo's abort is not on the remote %s after the pass started", time.Since(start))
		}
	}
	seen := time.Since(start)
	if prom.slowStarted.Load() == 0 || prom.slowDone.Load() != 0 {
		t.Fatalf("when the abort was on the remote (after %s), api's query had started %d times and been answered %d times; want started, not answered",
			seen, prom.slowStarted.Load(), prom.slowDone.Load())
	}
	t.Logf("demo's abort on the remote after %s, while api's gate was still being gathered", seen)

	r := <-done
	if r.err != nil {
		t.Fatalf("pass: %v", r.err)
	}
	if took := time.Since(start); took < slowDelay {
		t.Fatalf("the pass took %s, less than the slow query's %s: the slow gate was not gathered", took, slowDelay)
	}
	var demo gitsync.Outcome
	for _, o := range r.res.Outcomes {
		if o.Rollout == "demo" {
			demo = o
		}
	}
	if demo.Decision.Action != policy.ActionAbort || !strings.HasPrefix(abort, demo.Commit.String()) {
		t.Fatalf("demo's outcome %s commit %s, want the abort on the remote: %s", demo.Decision.Action, demo.Commit, abort)
	}
	for _, line := range w.serverLog() {
		if isDemoAbort(line) && line != abort {
			t.Fatalf("a second abort of demo on the remote: %s", line)
		}
	}
}

// isDemoAbort reports whether a serverLog line is demo's abort of 1.1.0.
func isDemoAbort(line string) bool {
	return strings.Contains(line, " ramp: demo 1.1.0 ") && strings.Contains(line, " abort (weight")
}

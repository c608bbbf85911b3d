package gitsync_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// hungWebhook is an HTTP server on 127.0.0.1 that never answers in time.
func hungWebhook(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }),
		ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/smoke"
}

func TestWebhookGateThatAlwaysTimesOutAbortsAtItsLimit(t *testing.T) {
	spec := strings.Replace(policytest.CanaryYAML("demo", "setWeight: 10", "analysis: {gates: [smoke], window: 2s}", "setWeight: 50"),
		`      prometheus: {query: 'sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[1m]))', max: 0.01}
`, `      prometheus: {query: 'sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[1m]))', max: 0.01}
    - name: smoke
      webhook: {url: "`+hungWebhook(t)+`", timeout: 300ms}
      interval: 1s
      inconclusiveLimit: 3
`, 1)
	w := newWorldWithSpec(t, spec)
	g := &evidence.Gatherer{}
	w.cfg.Evidence = func(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence {
		return g.Evidence(ctx, r, s, policy.Evidence{AppliedUnknown: true}, time.Now())
	}
	w.cfg.Now = time.Now
	w.loop = w.newLoop()
	w.release("1.1.0")
	w.expect(policy.ActionSetWeight, 1, 10)
	w.expect(policy.ActionAnalysis, 2, 10)
	o := w.expect(policy.ActionNone, 2, 10)
	entered := o.State.StepAt // the analysis step's commit time: its window opens then
	if g := o.Decision.Gates; len(g) != 1 || g[0].Verdict != policy.Inconclusive || !strings.Contains(g[0].Reason, "no answer within 300ms") {
		t.Fatalf("first look: gates %+v, want smoke inconclusive for want of an answer", g)
	}
	o, at := w.untilActs(20 * time.Second)
	t.Logf("aborted %s after the analysis step's commit", at.Sub(entered).Round(10*time.Millisecond))
	if d := o.Decision; d.Action != policy.ActionAbort || d.Weight != 0 ||
		!strings.Contains(d.Reason, "gate smoke inconclusive 4 times (limit 3): webhook unreachable: POST 127.0.0.1:") {
		t.Fatalf("got %s weight %d (%s), want an abort once the 4th interval passed without an answer", d.Action, d.Weight, d.Reason)
	}
	if took := at.Sub(entered); took < 4*time.Second {
		t.Errorf("aborted after %s: the limit of 3 inconclusive points at 1s cannot be passed before 4s", took)
	}
	if msg := w.lastMessage("abort"); !strings.Contains(msg, "Ramp-Gate: name=smoke verdict=inconclusive") || !strings.Contains(msg, "inconclusives=4") {
		t.Errorf("abort commit lacks the webhook gate's evidence:\n%s", msg)
	}
}

//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// The scenarios of this file run a real gateway, Traefik v3.6, in front
// of the apps: the weights, cohort rules and mirrors ramp commits reach
// requests only through Flux, the API server and Traefik's providers.

// routingCheck is spec.trafficCheck over 5s windows of the demo apps'
// request counters.
const routingCheck = `  trafficCheck:
    query: 'sum(increase(http_requests_total{version="{{.Version}}"}[{{.Window}}]))'
    tolerance: 0.5
    window: 5s
`

// withSpec inserts lines (spec fields, two-space indented) before the
// strategy of a spec from spec().
func withSpec(s string, lines ...string) string {
	return strings.Replace(s, "  strategy:\n", strings.Join(lines, "")+"  strategy:\n", 1)
}

// approve is Alice's signed approval of step of the release.
func approve(w *e2etest.World, step string) string {
	return w.Alice.Commit(true, "approve demo step "+step, nil,
		"Ramp-Approve: rollout=demo release="+e2etest.ReleaseVersion+" step="+step)
}

// untilConfig waits until Traefik's configuration holds every one of subs
// (and none of not), as its API reports it.
func untilConfig(w *e2etest.World, what string, subs []string, not ...string) {
	w.T.Helper()
	w.Eventually(30*time.Second, "Traefik serves "+what, func() (bool, string) {
		cfg, err := w.Traefik.Config()
		if err != nil {
			return false, err.Error()
		}
		for _, n := range not {
			if strings.Contains(cfg, n) {
				return false, cfg
			}
		}
		return hasAll(cfg, subs...), cfg
	})
}

var internal = http.Header{"X-User-Group": {"internal"}}

// TestGatewayRoutesCohortsAndWeightsThenNothingAfterAbort: through
// Traefik, the cohort rule ramp writes sends requests with the cohort's
// header to the canary only, at weight 0 and at 10%; at weight 20% the
// canary answers within 5 points of a fifth of 2,000 requests; the
// routing check passes and is recorded; after an abort no request
// reaches the canary.
func TestGatewayRoutesCohortsAndWeightsThenNothingAfterAbort(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Gateway: e2etest.GatewayHTTPRoute, Spec: withSpec(spec(false,
		"setHeaderRoute: {name: internal, match: [{header: x-user-group, value: internal}]}",
		"approval: {group: sre}",
		"setWeight: 10",
		"approval: {group: sre}",
		"setWeight: 20",
		"approval: {group: sre}"), routingCheck)})
	start, cohort := releaseUntilApplied(w, "ramp enters the approval after the cohort step", enteredStep("2/6"))
	if cs := describeAll(w.RampCommits(start)); strings.Join(cs, ", ") != "set-header-route 1/6 0, pause 2/6 0" {
		t.Fatalf("ramp's commits: %q", cs)
	}
	untilConfig(w, "the cohort rule", []string{"x-user-group"})
	cohortOnly := func(weight string) {
		t.Helper()
		if got := w.Traefik.Send(w.Ctx, 200, internal); got[e2etest.ReleaseVersion] != 200 {
			t.Errorf("at weight %s, 200 requests of cohort internal were answered by %v, want all by the canary", weight, got)
		} else {
			t.Logf("at weight %s: 200 requests with x-user-group: internal → %v", weight, got)
		}
	}
	cohortOnly("0%")
	if got := w.Traefik.Send(w.Ctx, 200, nil); got[e2etest.StableVersion] != 200 {
		t.Errorf("at weight 0, 200 requests outside the cohort were answered by %v, want all by stable", got)
	}

	approve(w, "2")
	ten := w.WaitCommit(cohort.SHA, time.Minute, "ramp enters the approval at weight 10", enteredStep("4/6"))
	w.WaitApplied(ten.SHA, time.Minute)
	if g := gateTrailer(ten, "routing"); !hasAll(g, "verdict=pass", "bound=", "window=5s") {
		t.Errorf("the commit leaving weight 10%% records routing as %q, want a pass", g)
	} else {
		t.Logf("routing check at 10%%: %s", g)
	}
	cohortOnly("10%")

	approve(w, "4")
	twenty := w.WaitCommit(ten.SHA, time.Minute, "ramp enters the approval at weight 20", enteredStep("6/6"))
	w.WaitApplied(twenty.SHA, time.Minute)
	untilConfig(w, "weights 80/20", []string{`"weight":20`, `"weight":80`})
	got := w.Traefik.Send(w.Ctx, 2000, nil)
	share := float64(got[e2etest.ReleaseVersion]) / 2000 * 100
	t.Logf("at weight 20%%: 2,000 requests → %v (canary %.1f%%)", got, share)
	if share < 15 || share > 25 || got[e2etest.ReleaseVersion]+got[e2etest.StableVersion] != 2000 {
		t.Errorf("at weight 20%% the canary answered %.1f%% of 2,000 requests (%v), want 20 ± 5 and no errors", share, got)
	}

	abort := w.Alice.Commit(true, "abort demo", nil, `Ramp-Abort: rollout=demo release=`+e2etest.ReleaseVersion+` reason="cohort sees errors"`)
	aborted := w.WaitCommit(abort, time.Minute, "ramp aborts", e2etest.IsAction("abort"))
	w.WaitApplied(aborted.SHA, time.Minute)
	untilConfig(w, "no cohort rule and weight 0", []string{`"weight":100`}, "x-user-group")
	plain, cohorted := w.Traefik.Send(w.Ctx, 1000, nil), w.Traefik.Send(w.Ctx, 1000, internal)
	t.Logf("after the abort: 1,000 requests → %v; 1,000 with x-user-group: internal → %v", plain, cohorted)
	if plain[e2etest.StableVersion] != 1000 || cohorted[e2etest.StableVersion] != 1000 {
		t.Errorf("after the abort requests still reach the canary or fail: %v and %v", plain, cohorted)
	}
	assertSigned(t, w, start+"~1")
}

// TestGatewayRoutingCheckHoldsUntilTheCanaryHasEndpoints: at weight 20%
// Traefik sends a fifth of the requests to a canary Service with no
// endpoints (nothing listens at its ClusterIP, as kube-proxy refuses such
// a Service); the routing check holds the rollout saying routing, not the
// app, and passes once the endpoints exist.
func TestGatewayRoutingCheckHoldsUntilTheCanaryHasEndpoints(t *testing.T) {
	defer wallTime(t)()
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Gateway: e2etest.GatewayHTTPRoute, Spec: withSpec(spec(false,
		"setWeight: 20",
		"approval: {group: sre}"), routingCheck)})
	w.Pods.SetReady("demo-canary", false)
	_, weighted := releaseUntilApplied(w, "ramp sets weight 20", enteredStep("1/2"))
	held := w.WaitRollout(time.Minute, "status says routing holds the rollout", func(s rampv1.RolloutStatus) bool {
		return strings.Contains(s.Message, "routing: weight 20% but canary served 0% of")
	})
	t.Logf("held: %s (waiting for %s); load so far %v", held.Message, held.WaitingFor, sent(w))
	if cs := w.RampCommits(weighted.SHA); len(cs) > 0 {
		t.Fatalf("ramp moved on while the canary got no traffic: %q", describeAll(cs))
	}

	w.Pods.SetReady("demo-canary", true)
	next := w.WaitCommit(weighted.SHA, time.Minute, "ramp moves on once traffic reaches the canary", enteredStep("2/2"))
	g := gateTrailer(next, "routing")
	if !hasAll(g, "verdict=pass", "window=5s") {
		t.Errorf("the commit leaving weight 20%% records routing as %q, want a pass", g)
	}
	t.Logf("routing check once the canary has endpoints: %s", g)
}

// TestGatewayMirrorsToTheCanaryWhileStableAnswers: a setMirrorRoute step
// written through the generic field target into Traefik's own
// TraefikService mirroring (Traefik's Gateway provider has no
// RequestMirror): of 2,000 requests every answer comes from stable and
// the canary sees about a tenth of them as copies; the step's commit
// carries the shadow declaration.
func TestGatewayMirrorsToTheCanaryWhileStableAnswers(t *testing.T) {
	defer wallTime(t)()
	s := strings.Replace(spec(false,
		"setMirrorRoute: {name: shadow, percent: 10}",
		"approval: {group: sre}"), `    httpRoute:
      file: apps/demo/route.yaml
      stableBackend: demo-stable
      canaryBackend: demo-canary
`, `    field:
      file: apps/demo/traefik.yaml
      path: spec.weighted.services[name=demo-canary].weight
      stablePath: spec.weighted.services[name=demo-stable].weight
      mirrorPath: spec.mirroring.mirrors[name=demo-canary].percent
`, 1)
	s = withSpec(s, "  shadow: {sideEffects: none, reason: \"demo only reads\"}\n")
	w := e2etest.NewWorld(t, cluster, e2etest.Options{Gateway: e2etest.GatewayTraefikService, NoLoad: true, Spec: s})
	_, mirror := releaseUntilApplied(w, "ramp sets the mirror", enteredStep("1/2"))
	if sh := mirror.Trailer("Ramp-Shadow"); sh != `name=shadow percent=10 sideEffects=none reason="demo only reads"` {
		t.Errorf("the mirror step's Ramp-Shadow is %q", sh)
	}
	untilConfig(w, "the 10% mirror", []string{`"percent":10`})

	before := w.Pods.Served("demo-canary")
	got := w.Traefik.Send(w.Ctx, 2000, nil)
	var copies int
	w.Eventually(10*time.Second, "the mirrored copies arrive", func() (bool, string) {
		prev := copies
		copies = w.Pods.Served("demo-canary") - before
		return copies > 0 && copies == prev, ""
	})
	t.Logf("10%% mirror: 2,000 requests answered by %v; the canary received %d copies (%.1f%%)", got, copies, float64(copies)/20)
	if got[e2etest.StableVersion] != 2000 {
		t.Errorf("answers %v, want all 2,000 from stable", got)
	}
	if copies < 150 || copies > 250 {
		t.Errorf("the canary received %d copies of 2,000 requests, want 10%% ± 2.5 points", copies)
	}
}

// sent is what the background load got so far.
func sent(w *e2etest.World) map[string]int {
	s, _ := w.Load.Sent()
	return s
}

package gitsync_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/manifest/manifesttest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// ladderRoute is demo's HTTPRoute as a person writes it: comments, a
// hostname, the weighted rule and a rule ramp does not touch.
const ladderRoute = `# demo's public route: ramp owns the weights, its cohort rules and its mirror.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: demo
spec:
  parentRefs:
    - name: public # the shared gateway
  hostnames: ["demo.example.com"]
  rules:
    # everything under /, split between stable and canary
    - matches:
        - path: {type: PathPrefix, value: /}
      backendRefs:
        - name: demo-stable
          port: 80
          weight: 100 # ramp edits the weights
        - name: demo-canary
          port: 80
          weight: 0
    # the admin pages never see a canary
    - matches:
        - path: {type: PathPrefix, value: /admin}
      backendRefs:
        - name: demo-admin
          port: 8080
`

const (
	internalRule = `    - name: ramp-cohort-internal
      matches:
        - {path: {type: PathPrefix, value: /}, headers: [{name: x-user-group, value: internal}]}
      backendRefs:
        - {name: demo-canary, port: 80}
`
	betaRule = `    - name: ramp-cohort-beta
      matches:
        - {path: {type: PathPrefix, value: /}, headers: [{name: Cookie, type: RegularExpression, value: (^|;\s*)beta=yes(;|$)}]}
        - {path: {type: PathPrefix, value: /}, queryParams: [{name: beta, value: "1"}]}
      backendRefs:
        - {name: demo-canary, port: 80}
`
	mirrorFilter = `      filters:
        - {type: RequestMirror, requestMirror: {backendRef: {name: demo-canary, port: 80}, percent: 10}}
`
	weightedComment = "    # everything under /, split between stable and canary\n"
	adminComment    = "    # the admin pages never see a canary\n"
)

// ladder returns ladderRoute with the canary at weight, the cohort rules
// before the weighted rule and, when mirror is set, its mirror filter.
func ladder(weight int, mirror bool, cohorts ...string) string {
	r := gittest.WithRouteWeight(ladderRoute, weight)
	r = strings.Replace(r, weightedComment, strings.Join(cohorts, "")+weightedComment, 1)
	if mirror {
		r = strings.Replace(r, adminComment, mirrorFilter+adminComment, 1)
	}
	return r
}

// TestLoopWritesTheExposureLadderIntoTheHTTPRoute takes releases through
// cohort, weight and mirror steps and compares the HTTPRoute after each of
// ramp's commits byte for byte; then the real API server, with Gateway
// API's CRDs, accepts every version of the route ramp wrote.
func TestLoopWritesTheExposureLadderIntoTheHTTPRoute(t *testing.T) {
	var written []string
	type step struct {
		action       policy.Action
		step, weight int
		route        string
	}
	run := func(t *testing.T, w *world, release string, steps []step) {
		t.Helper()
		w.release(release)
		for _, s := range steps {
			o := w.expect(s.action, s.step, s.weight)
			got := w.show("apps/demo/route.yaml")
			written = append(written, got)
			if got != s.route {
				t.Fatalf("after %s (%s) the HTTPRoute is\n%s\nwant:\n%s", s.action, o.Decision.Reason, got, s.route)
			}
		}
	}

	t.Run("ladder to promotion, then a release aborted with cohort and mirror live", func(t *testing.T) {
		w := newWorldWithSpec(t, policytest.LadderYAML("demo"))
		w.commitFiles("dev", "demo: a route people can read", map[string]string{"apps/demo/route.yaml": ladderRoute})
		run(t, w, "1.1.0", []step{
			{policy.ActionSetHeaderRoute, 1, 0, ladder(0, false, internalRule)},
			{policy.ActionSetWeight, 2, 5, ladder(5, false, internalRule)},
			{policy.ActionSetMirrorRoute, 3, 5, ladder(5, true, internalRule)},
			{policy.ActionSetWeight, 4, 50, ladder(50, true, internalRule)},
			{policy.ActionPromote, 0, 50, ladder(50, false)},
			{policy.ActionComplete, 0, 0, ladderRoute},
		})
		var mirrorCommit string
		for _, line := range w.serverLog() {
			if strings.Contains(line, "set-mirror-route") {
				mirrorCommit, _, _ = strings.Cut(line, " ")
			}
		}
		body := gittest.Git(t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(t.TempDir()), "log", "-1", "--format=%B", mirrorCommit)
		if want := `Ramp-Shadow: name=shadow percent=10 sideEffects=none reason="the canary reads only; its writes go to a sandbox"`; !strings.Contains(body, want) {
			t.Errorf("the mirror step's commit lacks %s:\n%s", want, body)
		}

		run(t, w, "1.2.0", []step{
			{policy.ActionSetHeaderRoute, 1, 0, ladder(0, false, internalRule)},
			{policy.ActionSetWeight, 2, 5, ladder(5, false, internalRule)},
			{policy.ActionSetMirrorRoute, 3, 5, ladder(5, true, internalRule)},
		})
		w.command("alice", true, "abort demo 1.2.0", `Ramp-Abort: rollout=demo release=1.2.0 reason="p99 up for internal users"`)
		o := w.expect(policy.ActionAbort, 3, 0)
		got := w.show("apps/demo/route.yaml")
		written = append(written, got)
		if got != ladderRoute {
			t.Fatalf("after the abort (%s) the HTTPRoute is\n%s\nwant it as people wrote it:\n%s", o.Decision.Reason, got, ladderRoute)
		}
	})

	t.Run("several cohorts, a cookie and a query parameter, one removed, rolled back", func(t *testing.T) {
		spec := policytest.CanaryYAML("demo",
			"setHeaderRoute: {name: internal, match: [{header: x-user-group, value: internal}]}",
			"setHeaderRoute: {name: beta, match: [{cookie: beta, value: \"yes\"}, {queryParam: beta, value: \"1\"}]}",
			"setWeight: 10",
			"setHeaderRoute: {name: internal}",
			"approval: {group: sre}")
		spec = strings.Replace(spec, "  strategy:\n", "  onFailure: {revertRelease: true}\n  strategy:\n", 1)
		w := newWorldWithSpec(t, spec)
		w.commitFiles("dev", "demo: a route people can read", map[string]string{"apps/demo/route.yaml": ladderRoute})
		run(t, w, "1.1.0", []step{
			{policy.ActionSetHeaderRoute, 1, 0, ladder(0, false, internalRule)},
			{policy.ActionSetHeaderRoute, 2, 0, ladder(0, false, internalRule, betaRule)},
			{policy.ActionSetWeight, 3, 10, ladder(10, false, internalRule, betaRule)},
			{policy.ActionSetHeaderRoute, 4, 10, ladder(10, false, betaRule)},
			{policy.ActionPause, 5, 10, ladder(10, false, betaRule)},
		})
		w.command("alice", true, "abort demo 1.1.0", `Ramp-Abort: rollout=demo release=1.1.0 reason="beta testers see errors"`)
		w.expect(policy.ActionAbort, 5, 0)
		got := w.show("apps/demo/route.yaml")
		written = append(written, got)
		if got != ladderRoute {
			t.Fatalf("after the abort the HTTPRoute is\n%s\nwant:\n%s", got, ladderRoute)
		}
		w.expect(policy.ActionRollback, 0, 0)
		if got := w.show("apps/demo/route.yaml"); got != ladderRoute {
			t.Fatalf("after the rollback the HTTPRoute is\n%s\nwant:\n%s", got, ladderRoute)
		}
	})

	if t.Failed() {
		return
	}
	api := manifesttest.StartAPIServer(t)
	for i, route := range written {
		if err := api.DryRunApply(context.Background(), []byte(route)); err != nil {
			t.Errorf("the API server refuses route %d ramp wrote: %v\n%s", i+1, err, route)
		}
	}
	if len(written) != 16 {
		t.Errorf("checked %d routes, want 16", len(written))
	}
}

package controllers_test

import (
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
	"github.com/ramp-dev/ramp/policy"
)

// TestTheChartsDefaultGuardrailsHoldAnUnsignedStart: the controller with
// the guardrails the chart renders by default (real helm) holds a release
// whose start is unsigned, with no commit, and its status says how to sign
// the start and how to opt out; a repository whose own guardrails opt out
// takes step 1, and its status notes on the release that separation of
// duties was not verified, and why. (requireSignedTip is off in both, so
// the start is what is judged, not the tip.)
func TestTheChartsDefaultGuardrailsHoldAnUnsignedStart(t *testing.T) {
	t.Parallel()
	var data string
	for _, u := range decodeAll(t, renderChart(t, "ramp-system")) {
		if u.GetKind() == "ConfigMap" && strings.HasSuffix(u.GetName(), "-guardrails") {
			data = u.Object["data"].(map[string]any)[rampv1.GuardrailsKey].(string)
		}
	}
	g, err := policy.ParseGuardrails("guardrails.yaml", []byte(data))
	if err != nil || !g.RequireSignedStart {
		t.Fatalf("the chart's default guardrails %q: %+v, %v; want requireSignedStart", data, g, err)
	}
	for _, c := range []struct {
		name, own string
	}{{"chart-default", ""}, {"opted-out", "requireSignedStart: false\n"}} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.start(func(o *controllers.Options) { o.Guardrails = &g })
			w.repository(repoName, func(rr *rampv1.ReleaseRepository) {
				rr.Spec.RequireSignedTip = ptr.To(false)
				rr.Spec.Guardrails = c.own
			})
			w.wait(repoName, "the first reconcile", func(rr *rampv1.ReleaseRepository) bool { return rr.Status.LastFetchedRevision != "" })
			unsigned := w.releaseSigned(releaseVersion, false)
			token := w.requestReconcile(repoName)
			if c.own == "" {
				rr := w.wait(repoName, "the request handled", func(rr *rampv1.ReleaseRepository) bool {
					return rr.Status.LastHandledReconcileAt == token
				})
				got := rollout(rr)
				for _, want := range []string{"guardrail requireSignedStart", "git config gpg.format ssh", "git commit -S", "requireSignedStart: false"} {
					if !strings.Contains(got.Message, want) {
						t.Errorf("status message %q does not say %q", got.Message, want)
					}
				}
				if got.WaitingFor != "a release started by signed commits" || got.SeparationOfDuties != "" {
					t.Errorf("status %+v, want a hold for a signed start and no note", got)
				}
				if tip := w.tip(); tip != unsigned {
					t.Errorf("ramp committed %s on the unsigned start %s", tip, unsigned)
				}
				return
			}
			rr := w.wait(repoName, "step 1", func(rr *rampv1.ReleaseRepository) bool { return rollout(rr).Step == 1 })
			if note := rollout(rr).SeparationOfDuties; !strings.HasPrefix(note, "separation of duties not verified for release "+releaseVersion+": ") ||
				!strings.Contains(note, "(unsigned)") {
				t.Errorf("status separationOfDuties %q, want the release's unverified start noted", note)
			}
		})
	}
}

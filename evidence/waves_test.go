package evidence

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

func TestGateQueriesOfATargetNameTheTargetAndItsCluster(t *testing.T) {
	r := policytest.MustParse(t, "pay", policytest.WavesYAML("pay"))
	sub := r.ForTarget("us")
	vars := VarsOf(sub, policy.State{Release: "2.0.0", Stable: "1.0.0", Step: 2})
	if vars.Rollout != "pay" || vars.Target != "us" || vars.Cluster != "" {
		t.Fatalf("vars: %+v", vars)
	}
	vars.Version = vars.Release
	q, err := RenderQuery(`up{rollout="{{.Rollout}}",target="{{.Target}}",cluster="{{.Cluster}}",version="{{.Version}}"}`, vars)
	if err != nil || q != `up{rollout="pay",target="us",cluster="",version="2.0.0"}` {
		t.Fatalf("query: %s, %v", q, err)
	}
	spec := strings.Replace(policytest.WavesYAML("pay"), "      kustomizations: [{name: pay, namespace: flux-system, cluster: us}]\n",
		"      cluster: us-east\n      kustomizations: [{name: pay, namespace: flux-system}]\n", 1)
	sub = policytest.MustParse(t, "pay", spec).ForTarget("us")
	if v := VarsOf(sub, policy.State{}); v.Cluster != "us-east" {
		t.Errorf("the target's cluster: %+v", v)
	}
	if k := sub.Spec.Kustomizations[0]; k.Cluster != "us-east" {
		t.Errorf("a kustomization without a cluster is in its target's: %+v", k)
	}
}

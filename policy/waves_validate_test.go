package policy_test

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

const wavesFile = "releases/pay/rollout.yaml"

func TestValidateAcceptsWaves(t *testing.T) {
	for name, spec := range map[string]string{
		"three targets in two waves": policytest.WavesYAML("pay"),
		"onFailure, wave gates and a wave approval": replace("    - {name: rest, targets: [us, ap]}",
			"    - {name: rest, targets: [us, ap], approval: {group: sre}}")(replace("soak: 30m}", "soak: 30m, gates: [error-rate]}")(
			policytest.WavesYAML("pay", "  onFailure: {stopWaves: false, rollbackCompletedWaves: true}"))),
		"a target with its own strategy and Prometheus": replace("      kustomizations: [{name: pay, namespace: flux-system, cluster: ap}]\n",
			"      kustomizations: [{name: pay, namespace: flux-system}]\n      cluster: ap\n      prometheus: http://prometheus.ap.example:9090\n      strategy: {canary: {steps: [{setWeight: 50}, {setWeight: 100}]}}\n")(policytest.WavesYAML("pay")),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := policy.Parse(wavesFile, []byte(spec))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if errs := policy.Validate(r, policy.DefaultGuardrails()); errs != nil {
				t.Errorf("Validate:\n%v", errs)
			}
		})
	}
}

func TestValidateRejectsWaves(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []string // without the "releases/pay/rollout.yaml:" prefix
	}{
		{name: "an unknown target in a wave",
			spec: replace("targets: [us, ap]}", "targets: [us, ap, mars]}")(policytest.WavesYAML("pay")),
			want: []string{`26: spec.waves[1].targets[2]: unknown target "mars" (targets: eu, us, ap)`}},
		{name: "a target in two waves",
			spec: replace("targets: [us, ap]}", "targets: [us, ap, eu]}")(policytest.WavesYAML("pay")),
			want: []string{`26: spec.waves[1].targets[2]: target "eu" is already in wave "first" (spec.waves[0]); a target is in one wave`}},
		{name: "a target in no wave",
			spec: replace("targets: [us, ap]}", "targets: [us]}")(policytest.WavesYAML("pay")),
			want: []string{`19: spec.targets[2].name: target "ap" is in no wave; add it to one of spec.waves`}},
		{name: "duplicate target names",
			spec: replace("    - name: ap\n", "    - name: us\n")(policytest.WavesYAML("pay")),
			want: []string{`19: spec.targets[2].name: "us" is already the name of spec.targets[1]`,
				`26: spec.waves[1].targets[1]: unknown target "ap" (targets: eu, us, us)`}},
		{name: "duplicate wave names",
			spec: replace("{name: rest,", "{name: first,")(policytest.WavesYAML("pay")),
			want: []string{`26: spec.waves[1].name: "first" is already the name of spec.waves[0]`}},
		{name: "two targets share a route file",
			spec: replace("file: clusters/ap/pay/route.yaml", "file: clusters/us/pay/route.yaml")(policytest.WavesYAML("pay")),
			want: []string{`22: spec.targets[2].target.httpRoute.file: clusters/us/pay/route.yaml is also spec.targets[1].target.httpRoute.file; targets must not share files (a commit for one would change the other)`}},
		{name: "a target's release file is spec.release's",
			spec: replace("release: {file: clusters/eu/pay/canary/kustomization.yaml, path: \"images[name=pay].newTag\"}", "release: {file: releases/pay/release.yaml, path: eu}")(policytest.WavesYAML("pay")),
			want: []string{`10: spec.targets[0].release.file: releases/pay/release.yaml is also spec.release.file; targets must not share files (a commit for one would change the other)`}},
		{name: "a target's own field problem names the target",
			spec: replace("stableBackend: pay-stable, canaryBackend: pay-canary}}\n      kustomizations: [{name: pay, namespace: flux-system, cluster: us}]",
				"stableBackend: pay-stable, canaryBackend: pay-stable}}\n      kustomizations: [{name: pay, namespace: flux-system, cluster: us}]")(policytest.WavesYAML("pay")),
			want: []string{`17: spec.targets[1].target.httpRoute.canaryBackend: "pay-stable" is also the stableBackend; they must differ`}},
		{name: "a shared problem is reported once",
			spec: replace("  owner: team-pay\n", "")(policytest.WavesYAML("pay")),
			want: []string{`5: spec.owner: required: the team that owns this rollout`}},
		{name: "spec.stable beside targets",
			spec: replace("  targets:\n", "  stable: {file: a.yaml, path: x}\n  targets:\n")(policytest.WavesYAML("pay")),
			want: []string{`8: spec.stable: with spec.targets, each target has its own stable (spec.targets[].stable)`}},
		{name: "waves without targets",
			spec: replace("  waves:\n", "  waves: []\n  x:\n")(policytest.WavesYAML("pay")),
			want: nil}, // a parse error, checked below
		{name: "no waves",
			spec: replace("  waves:\n    - {name: first, targets: [eu], soak: 30m}\n    - {name: rest, targets: [us, ap]}\n", "")(policytest.WavesYAML("pay")),
			want: []string{`5: spec.waves: required with spec.targets: the order in which the targets take a release, e.g. [{name: first, targets: [eu]}]`}},
		{name: "wave gates without a soak and an unknown gate",
			spec: replace("{name: rest, targets: [us, ap]}", "{name: rest, targets: [us, ap], gates: [latency]}")(policytest.WavesYAML("pay")),
			want: []string{`26: spec.waves[1].gates[0]: "latency" is not a gate defined in spec.gates`,
				`26: spec.waves[1].gates: are judged over the soak: set a soak of the wave, e.g. soak: 30m`}},
		{name: "a wave approval by ramp's own group",
			spec: replace("{name: rest, targets: [us, ap]}", "{name: rest, targets: [us, ap], approval: {group: ramp}}")(policytest.WavesYAML("pay")),
			want: []string{`26: spec.waves[1].approval.group: "ramp" is ramp's own key group; name a group of people`}},
		{name: "stopWaves on a single-target rollout",
			spec: policytest.SpecYAML("pay") + "  onFailure: {stopWaves: true}\n",
			want: []string{`22: spec.onFailure.stopWaves: only for a rollout with spec.targets and spec.waves`}},
		{name: "a cluster on a single-target rollout's kustomization",
			spec: replace("namespace: flux-system}", "namespace: flux-system, cluster: eu}")(policytest.SpecYAML("pay")),
			want: []string{`11: spec.kustomizations[0].cluster: only for the kustomizations of a target (spec.targets[].kustomizations); a single-target rollout is applied in ramp's own cluster`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := policy.Parse(wavesFile, []byte(tt.spec))
			if tt.want == nil {
				if err == nil {
					t.Fatal("Parse accepted a spec with an unknown field")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			errs := policy.Validate(r, policy.DefaultGuardrails())
			var got []string
			for _, e := range errs {
				got = append(got, strings.TrimPrefix(e.Error(), wavesFile+":"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

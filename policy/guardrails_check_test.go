package policy_test

import (
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// TestParseGuardrailsRefusesValuesThatWeakenThem: a value that would make
// a guardrail weaker than it reads, or mean nothing, is refused at its
// file:line and field; nothing falls back silently.
func TestParseGuardrailsRefusesValuesThatWeakenThem(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"a resume count of 0", "maxWeightStep: 25\nrequireDigest: true\ncommands:\n  resume: {count: 0}\n",
			"guardrails.yaml:4: commands.resume.count: 0 is below 1: resuming over a hold takes this many people (leave it out for 2)"},
		{"a negative resume count", "commands:\n  resume:\n    count: -1\n",
			"guardrails.yaml:3: commands.resume.count: -1 is below 1: resuming over a hold takes this many people (leave it out for 2)"},
		{"a count that is not a number", "commands:\n  resume: {count: two}\n",
			`guardrails.yaml:2: commands.resume.count: "two" is not an integer`},
		{"a weight step above 100", "maxWeightStep: 101\n", "guardrails.yaml:1: maxWeightStep: 101 is not between 1 and 100"},
		{"a weight step that is not a number", "maxWeightStep: 25%\n", `guardrails.yaml:1: maxWeightStep: "25%" is not an integer`},
		{"a tier's weight step of 0", "riskTiers:\n  high: {maxWeightStep: 0}\n",
			"guardrails.yaml:2: riskTiers.high.maxWeightStep: 0 is not between 1 and 100 (leave it out for the guardrails' maxWeightStep)"},
		{"a tier's negative weight step", "riskTiers:\n  low: {maxWeightStep: -5}\n",
			"guardrails.yaml:2: riskTiers.low.maxWeightStep: -5 is not between 1 and 100 (leave it out for the guardrails' maxWeightStep)"},
		{"a minimum bake of 0", "riskTiers:\n  high:\n    minBake: 0s\n",
			"guardrails.yaml:3: riskTiers.high.minBake: 0s is not a positive duration, e.g. 30m (leave it out for no minimum bake)"},
		{"a negative minimum bake", "riskTiers:\n  medium: {minBake: -30m}\n",
			"guardrails.yaml:2: riskTiers.medium.minBake: -30m is not a positive duration, e.g. 30m (leave it out for no minimum bake)"},
		{"a minimum bake that is not a duration", "riskTiers:\n  high: {minBake: 30}\n",
			`guardrails.yaml:2: riskTiers.high.minBake: "30" is not a duration (write it like 30s, 5m or 1h30m)`},
		{"a required gate with no name", "riskTiers:\n  high: {requireGates: [\"\", error-rate, error-rate]}\n",
			"guardrails.yaml:2: riskTiers.high.requireGates[0]: \"\" is not a gate name (lowercase letters, digits and '-')\n" +
				"guardrails.yaml:2: riskTiers.high.requireGates[2]: \"error-rate\" is listed twice"},
		{"ramp's own group gives a command", "commands:\n  approve: {groups: [sre, ramp]}\n",
			`guardrails.yaml:2: commands.approve.groups[1]: "ramp" is ramp's own key group; name a group of people`},
		{"a group that is not a name", "freeze:\n  exceptionGroups: [CAB]\n",
			`guardrails.yaml:2: freeze.exceptionGroups[0]: "CAB" is not a group name (lowercase letters, digits and '-')`},
		{"an empty group", "engineerGroups: [dev, \"\"]\n",
			`guardrails.yaml:1: engineerGroups[1]: "" is not a group name (lowercase letters, digits and '-')`},
		{"a group twice", "migrations:\n  paths: [db/**]\n  expandGroups: [dba, dba]\n",
			`guardrails.yaml:3: migrations.expandGroups[1]: "dba" is listed twice`},
		{"a freeze calendar outside the repository", "freeze: {file: ../../etc/freeze.yaml}\n",
			`guardrails.yaml:1: freeze.file: "../../etc/freeze.yaml" is not a clean relative path of a file in the repository (leave it out for freeze.yaml)`},
		{"an unknown field", "commands:\n  resume: {cout: 3}\n",
			`guardrails.yaml:2: commands.resume.cout: unknown field (did you mean "count"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.ParseGuardrails("guardrails.yaml", []byte(tt.yaml))
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseGuardrails(%q):\n%v\nwant:\n%s", tt.yaml, err, tt.want)
			}
		})
	}
}

// TestCheckGroupsNamesEveryGroupWithoutTrustedKeys: a group the
// guardrails require that no trusted key is in is named at file:line; the
// groups of the keys pass.
func TestCheckGroupsNamesEveryGroupWithoutTrustedKeys(t *testing.T) {
	g := mustGuardrails(t, "engineerGroups: [dev]\ncommands:\n  approve: {groups: [sre]}\n  resume: {groups: [sre, leads], count: 2}\n"+
		"freeze: {exceptionGroups: [cab]}\nmigrations:\n  paths: [db/**]\n  expandGroups: [dba]\n")
	errs := g.CheckGroups([]string{"dev", "ramp", "sre"})
	want := "guardrails.yaml:4: commands.resume.groups[1]: \"leads\" is not a group of the trusted keys (groups with keys: dev, sre)\n" +
		"guardrails.yaml:5: freeze.exceptionGroups[0]: \"cab\" is not a group of the trusted keys (groups with keys: dev, sre)\n" +
		"guardrails.yaml:8: migrations.expandGroups[0]: \"dba\" is not a group of the trusted keys (groups with keys: dev, sre)"
	if errs.Err() == nil || errs.Error() != want {
		t.Errorf("CheckGroups:\n%v\nwant:\n%s", errs, want)
	}
	if errs := g.CheckGroups([]string{"cab", "dba", "dev", "leads", "ramp", "sre"}); errs != nil {
		t.Errorf("CheckGroups with every group: %v", errs)
	}
	if errs := policy.DefaultGuardrails().CheckGroups(nil); errs != nil {
		t.Errorf("CheckGroups of the defaults, which name no group: %v", errs)
	}
}

// TestParseRefusesAZeroThatWouldMeanSomethingElse: in a spec, a count or
// duration written as 0 where 0 stands for "not written" is refused at its
// line, saying what to write, instead of meaning a default silently.
func TestParseRefusesAZeroThatWouldMeanSomethingElse(t *testing.T) {
	tests := []struct{ name, spec, want string }{
		{"an approval count of 0", replace("- approval: {group: sre}", "- approval: {group: sre, count: 0}")(policytest.Valid()),
			"18: spec.strategy.canary.steps[1].approval.count: 0 is not a number of approvals (1 or more; leave it out for 1)"},
		{"a pause of 0s", replace("- pause: {duration: 2m}", "- pause: {duration: 0s}")(policytest.Valid()),
			"21: spec.strategy.canary.steps[4].pause.duration: 0s is not a pause: write pause: {} to wait for a person, or a positive duration"},
		{"a gate interval of 0s", replace("      prometheus: {query:", "      interval: 0m\n      prometheus: {query:")(policytest.Valid()),
			"25: spec.gates[0].interval: 0s is not an interval between measurements (leave it out for the default)"},
		{"a wave approval count of 0", replace("{name: rest, targets: [us, ap]}", "{name: rest, targets: [us, ap], approval: {group: sre, count: 0}}")(policytest.WavesYAML("pay")),
			"26: spec.waves[1].approval.count: 0 is not a number of approvals (1 or more; leave it out for 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse("releases/demo/rollout.yaml", []byte(tt.spec))
			if err == nil || err.Error() != "releases/demo/rollout.yaml:"+tt.want {
				t.Errorf("Parse:\n%v\nwant:\nreleases/demo/rollout.yaml:%s", err, tt.want)
			}
		})
	}
	// Negative values are Validate's, as before.
	r, err := policy.Parse("releases/demo/rollout.yaml", []byte(replace("- pause: {duration: 2m}", "- pause: {duration: -2m}")(policytest.Valid())))
	if err != nil {
		t.Fatal(err)
	}
	if errs := policy.Validate(r, policy.DefaultGuardrails()); errs == nil || !strings.Contains(errs.Error(), "steps[4].pause.duration: -2m is negative") {
		t.Errorf("Validate of a negative pause: %v", errs)
	}
}

// TestParseRefusesAGateBoundThatIsNotANumber: a bound written as a string,
// NaN or infinity is refused at its line, never read as no bound.
func TestParseRefusesAGateBoundThatIsNotANumber(t *testing.T) {
	for bound, want := range map[string]string{
		`max: "0.01"`: `"0.01" is not a finite number`,
		`max: .nan`:   `".nan" is not a finite number`,
		`min: -.inf`:  `"-.inf" is not a finite number`,
		`max: 1%`:     `"1%" is not a finite number`,
	} {
		spec := replace("max: 0.01}", bound+"}")(policytest.Valid())
		field := "spec.gates[0].prometheus." + bound[:3]
		_, err := policy.Parse("releases/demo/rollout.yaml", []byte(spec))
		if err == nil || err.Error() != "releases/demo/rollout.yaml:25: "+field+": "+want {
			t.Errorf("Parse with %s: %v, want line 25 %s: %s", bound, err, field, want)
		}
	}
}

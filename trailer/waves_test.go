package trailer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

func TestWaveEntriesNameTheWaveAndTargets(t *testing.T) {
	start := policy.Entry{Rollout: "pay", Release: "2.0.0", Action: policy.ActionStartWave, Wave: "first", Targets: []string{"us", "ap"},
		Reason: "wave 2/2 rest: release 2.0.0 goes to us, ap"}
	step := policy.Entry{Rollout: policy.TargetRollout("pay", "us"), Release: "2.0.0", Step: 1, Steps: 2, Action: policy.ActionSetWeight, Weight: 50, Wave: "rest"}
	var msg strings.Builder
	msg.WriteString("ramp: pay\n\n")
	for _, e := range []policy.Entry{start, step} {
		for _, tr := range ForEntry(e) {
			msg.WriteString(tr.Key + ": " + tr.Value + "\n")
		}
	}
	want := `ramp: pay

Ramp-Rollout: pay
Ramp-Wave: first
Ramp-Target: us
Ramp-Target: ap
Ramp-Release: 2.0.0
Ramp-Action: start-wave
Ramp-Weight: 0
Ramp-Reason: wave 2/2 rest: release 2.0.0 goes to us, ap
Ramp-Rollout: pay
Ramp-Wave: rest
Ramp-Target: us
Ramp-Release: 2.0.0
Ramp-Step: 1/2
Ramp-Action: set-weight
Ramp-Weight: 50
`
	if msg.String() != want {
		t.Fatalf("trailers:\n%s\nwant:\n%s", msg.String(), want)
	}
	entries, _, malformed := ParseRecord(Parse(msg.String()))
	if len(malformed) > 0 {
		t.Fatalf("malformed: %q", malformed)
	}
	if !reflect.DeepEqual(entries, []policy.Entry{start, step}) {
		t.Errorf("entries:\n got %+v\nwant %+v", entries, []policy.Entry{start, step})
	}
}

func TestWaveCommandsNameTheTargetOrTheWave(t *testing.T) {
	for _, c := range []policy.Command{
		{Kind: policy.CommandApprove, Rollout: policy.TargetRollout("pay", "eu"), Release: "2.0.0", Step: 2},
		{Kind: policy.CommandApprove, Rollout: "pay", Release: "2.0.0", Wave: "rest"},
		{Kind: policy.CommandAbort, Rollout: "pay", Release: "2.0.0", Reason: "p99"},
	} {
		tr := ForCommand(c)
		_, cs, malformed := ParseRecord([]Trailer{tr})
		if len(malformed) > 0 || len(cs) != 1 || !reflect.DeepEqual(cs[0], c) {
			t.Errorf("%s: %s read back as %+v (malformed %q), want %+v", tr.Key, tr.Value, cs, malformed, c)
		}
	}
	if got := ForCommand(policy.Command{Kind: policy.CommandApprove, Rollout: policy.TargetRollout("pay", "eu"), Release: "2.0.0", Step: 2}).Value; got != "rollout=pay target=eu release=2.0.0 step=2" {
		t.Errorf("approval of a target's step: %s", got)
	}
}

func TestWaveTrailersRejectMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   []Trailer
		want string
	}{
		{"two targets on a step", []Trailer{{"Ramp-Rollout", "pay"}, {"Ramp-Target", "eu"}, {"Ramp-Target", "us"}, {"Ramp-Release", "1"}, {"Ramp-Action", "set-weight"}, {"Ramp-Weight", "5"}},
			`Ramp-Rollout: "pay": more than one Ramp-Target in a set-weight entry`},
		{"a separator in a rollout name", []Trailer{{"Ramp-Rollout", "pay/eu"}, {"Ramp-Release", "1"}, {"Ramp-Action", "set-weight"}, {"Ramp-Weight", "5"}},
			`Ramp-Rollout: "pay/eu": a rollout name has no /; name the target in Ramp-Target`},
		{"a wave approval of one target", []Trailer{{"Ramp-Approve", "rollout=pay target=eu release=1 wave=rest"}},
			`Ramp-Approve: "rollout=pay target=eu release=1 wave=rest": wave= approves a wave of the rollout, not of one target: leave out target=`},
	} {
		es, cs, malformed := ParseRecord(tc.ts)
		if len(es) != 0 || len(cs) != 0 || strings.Join(malformed, "\n") != tc.want {
			t.Errorf("%s: entries %v commands %v malformed %q, want %q", tc.name, es, cs, malformed, tc.want)
		}
	}
}

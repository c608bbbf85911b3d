package policy_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// fleet is a pure simulation of a release repository for a rollout with
// targets: records are what commits would be, folded by FoldFleet; ramp's
// commits are made from PlanFleet's decisions as the committer makes
// them (one entry, the fields SetRelease/SetStable name).
type fleet struct {
	t    *testing.T
	r    *policy.Rollout
	g    policy.Guardrails
	now  time.Time
	recs []*policy.Record
	fs   policy.FleetState
	// gates are the verdicts each target's analysis gates give, and
	// wave the verdicts of the waves' gates; missing: pass.
	gates map[string]policy.Verdict
	wave  map[string]policy.Verdict
	// unreachable is why a target's cluster cannot be read, by target.
	unreachable map[string]string
	// freeze is the freeze calendar every evidence carries (nil: none).
	freeze *policy.FreezeCalendar
	n      int
}

var rampSigner = &policy.Signer{Principal: "ramp@example.com", Key: "SHA256:ramp", Groups: []string{policy.RampGroup}}

func newFleet(t *testing.T, spec string) *fleet {
	t.Helper()
	r := policytest.MustParse(t, "pay", spec)
	f := &fleet{t: t, r: r, g: policy.DefaultGuardrails(), now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC),
		gates: map[string]policy.Verdict{}, wave: map[string]policy.Verdict{}}
	targets := map[string]policy.State{}
	for _, ts := range r.Spec.Targets {
		targets[ts.Name] = policy.Base(policy.TargetRollout("pay", ts.Name), "1.0.0", "1.0.0", 0)
	}
	f.fs = policy.FleetBase(r, "1.0.0", targets)
	return f
}

func (f *fleet) commit(rec *policy.Record) {
	f.n++
	rec.Commit = fmt.Sprintf("%040d", f.n)
	rec.Time = f.now
	if rec.Changes == nil {
		rec.Changes = map[string]policy.Change{}
	}
	f.recs = append(f.recs, rec)
	f.fs = policy.FoldFleet(f.fs, f.r, rec, f.g)
}

// release is an engineer's merge changing spec.release.
func (f *fleet) release(v string) {
	f.commit(&policy.Record{Author: "dev@example.com", Signer: &policy.Signer{Principal: "dev@example.com", Key: "SHA256:dev", Groups: []string{"dev"}},
		Changes: map[string]policy.Change{"pay": {Release: &v}}})
}

// command is a person's signed command.
func (f *fleet) command(who string, groups []string, c policy.Command) {
	f.commit(&policy.Record{Author: who, Signer: &policy.Signer{Principal: who, Key: "SHA256:" + who, Groups: groups}, Commands: []policy.Command{c}})
}

func (f *fleet) evidence() policy.FleetEvidence {
	ev := policy.FleetEvidence{Targets: map[string]policy.Evidence{}, Waves: map[string]map[string]policy.GateResult{}}
	for _, ts := range f.r.Spec.Targets {
		v, ok := f.gates[ts.Name]
		if !ok {
			v = policy.Pass
		}
		ev.Targets[ts.Name] = policy.Evidence{AppliedUnknown: true, Gates: map[string]policy.GateResult{"error-rate": {Name: "error-rate", Verdict: v}},
			Unreachable: f.unreachable[ts.Name], Freeze: f.freeze}
	}
	ev.Freeze = f.freeze
	for _, w := range f.r.Spec.Waves {
		v, ok := f.wave[w.Name]
		if !ok {
			v = policy.Pass
		}
		ev.Waves[w.Name] = map[string]policy.GateResult{"error-rate": {Name: "error-rate", Verdict: v}}
	}
	return ev
}

func (f *fleet) plan() policy.Decision {
	return policy.PlanFleet(f.r, f.fs, f.evidence(), f.now, f.g)
}

// apply commits decision d as ramp's committer would.
func (f *fleet) apply(d policy.Decision) {
	f.t.Helper()
	if d.Holds() {
		f.t.Fatalf("apply of a hold: %s", d.Reason)
	}
	rec := &policy.Record{Author: "ramp@example.com", Signer: rampSigner, Changes: map[string]policy.Change{}}
	if d.Action == policy.ActionStartWave {
		rec.Entries = []policy.Entry{{Rollout: "pay", Release: d.Release, Action: d.Action, Wave: d.Wave, Targets: d.Targets, Reason: d.Reason}}
		for _, t := range d.Targets {
			v := d.SetRelease
			rec.Changes[policy.TargetRollout("pay", t)] = policy.Change{Release: &v}
		}
	} else {
		name := policy.TargetRollout("pay", d.Targets[0])
		rec.Entries = []policy.Entry{{Rollout: name, Release: d.Release, Step: d.Step, Steps: d.Steps, Action: d.Action, Weight: d.Weight, Reason: d.Reason, Wave: d.Wave, Gates: d.Gates}}
		ch := policy.Change{Target: true}
		if d.SetRelease != "" {
			v := d.SetRelease
			ch.Release = &v
		}
		if d.SetStable != "" {
			v := d.SetStable
			ch.Stable = &v
		}
		rec.Changes[name] = ch
	}
	f.commit(rec)
}

// step plans and applies one decision and returns it as a line:
// "action wave target(s) [weight]".
func (f *fleet) step() string {
	f.t.Helper()
	d := f.plan()
	if d.Holds() {
		return "hold: " + d.Reason
	}
	f.apply(d)
	return line(d)
}

func line(d policy.Decision) string {
	s := string(d.Action) + " " + d.Wave + " " + strings.Join(d.Targets, ",")
	switch {
	case d.Action == policy.ActionSetWeight:
		s += fmt.Sprintf(" %d", d.Weight)
	case d.SetRelease != "" && d.Action != policy.ActionStartWave || d.SetStable != "":
		s += " ->" + d.SetRelease + "/" + d.SetStable
	}
	return s
}

// run steps until a hold and returns the lines, and the hold.
func (f *fleet) run() ([]string, policy.Decision) {
	f.t.Helper()
	var out []string
	for range 100 {
		d := f.plan()
		if d.Holds() {
			return out, d
		}
		f.apply(d)
		out = append(out, line(d))
	}
	f.t.Fatal("no hold after 100 decisions")
	return nil, policy.Decision{}
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got: %s\nwant: %s", what, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func TestPlanFleetHandsTheReleaseWaveByWaveAfterTheSoak(t *testing.T) {
	f := newFleet(t, policytest.WavesYAML("pay"))
	f.release("2.0.0")
	got, hold := f.run()
	eq(t, "first wave", got, []string{
		"start-wave first eu",
		"set-weight first eu 50",
		"analysis first eu",
		"promote first eu ->/2.0.0",
		"complete first eu",
	})
	if !strings.Contains(hold.Reason, "wave first soaks 30m since its last promotion (30m0s left) before wave rest starts") ||
		!hold.Wake.Equal(f.now.Add(30*time.Minute)) {
		t.Fatalf("soak not yet passed: %q wake %v", hold.Reason, hold.Wake)
	}
	f.now = f.now.Add(29 * time.Minute)
	if d := f.plan(); !d.Holds() || !strings.Contains(d.Reason, "(1m0s left)") {
		t.Fatalf("a minute before the soak ends: %s %q", d.Action, d.Reason)
	}
	f.now = f.now.Add(time.Minute)
	got, hold = f.run()
	eq(t, "second wave", got, []string{
		"start-wave rest us,ap",
		"set-weight rest us 50",
		"set-weight rest ap 50",
		"analysis rest us",
		"analysis rest ap",
		"promote rest us ->/2.0.0",
		"promote rest ap ->/2.0.0",
		"complete rest us",
		"complete rest ap",
	})
	if hold.Reason != "release 2.0.0 runs in every wave (first, rest)" {
		t.Errorf("final hold: %q", hold.Reason)
	}
	for _, tg := range []string{"eu", "us", "ap"} {
		if s := f.fs.Targets[tg]; s.Release != "2.0.0" || s.Stable != "2.0.0" || s.Phase != policy.PhaseStable {
			t.Errorf("target %s: %+v", tg, s)
		}
	}
	if !strings.Contains(f.recs[len(f.recs)-9].Entries[0].Reason, "wave first soaked 30m; wave 2/2 rest: release 2.0.0 goes to us, ap") {
		t.Errorf("hand-over reason: %q", f.recs[len(f.recs)-9].Entries[0].Reason)
	}
}

// toRest runs a release through the first wave and its soak and hands it
// to wave rest.
func toRest(t *testing.T, f *fleet) {
	t.Helper()
	f.release("2.0.0")
	f.run()
	f.now = f.now.Add(30 * time.Minute)
	if got := f.step(); got != "start-wave rest us,ap" {
		t.Fatalf("hand-over: %s", got)
	}
}

func TestPlanFleetDecisions(t *testing.T) {
	tests := []struct {
		name  string
		extra []string // spec lines
		edit  func(string) string
		setup func(t *testing.T, f *fleet)
		want  []string // the decisions up to the hold
		hold  string   // a part of the hold's reason
	}{
		{name: "one target of a parallel wave fails: the others in the wave go back, traffic first, then the release field",
			setup: func(t *testing.T, f *fleet) {
				toRest(t, f)
				f.gates["us"] = policy.Fail
			},
			want: []string{
				"set-weight rest us 50",
				"set-weight rest ap 50",
				"analysis rest us",
				"abort rest us",
				"abort rest ap",
				"rollback rest us ->1.0.0/",
				"rollback rest ap ->1.0.0/",
			},
			hold: "release 2.0.0 stopped: wave rest: target us failed: gate error-rate fail"},
		{name: "rollbackCompletedWaves: the promoted first wave goes back too, release and stable fields",
			extra: []string{"  onFailure: {rollbackCompletedWaves: true}"},
			setup: func(t *testing.T, f *fleet) {
				toRest(t, f)
				f.gates["us"] = policy.Fail
			},
			want: []string{
				"set-weight rest us 50",
				"set-weight rest ap 50",
				"analysis rest us",
				"abort rest us",
				"abort rest ap",
				"rollback rest us ->1.0.0/",
				"rollback rest ap ->1.0.0/",
				"rollback first eu ->1.0.0/1.0.0",
			},
			hold: "later waves stop (onFailure.stopWaves); merge a new release"},
		{name: "stopWaves false: the failed target goes back alone, its wave-mate is promoted",
			extra: []string{"  onFailure: {stopWaves: false}"},
			setup: func(t *testing.T, f *fleet) {
				toRest(t, f)
				f.gates["us"] = policy.Fail
			},
			want: []string{
				"set-weight rest us 50",
				"set-weight rest ap 50",
				"analysis rest us",
				"abort rest us",
				"rollback rest us ->1.0.0/",
				"analysis rest ap",
				"promote rest ap ->/2.0.0",
				"complete rest ap",
			},
			hold: "release 2.0.0 runs in every wave"},
		{name: "the first wave fails: later waves never see the release",
			setup: func(t *testing.T, f *fleet) {
				f.gates["eu"] = policy.Fail
				f.release("2.0.0")
			},
			want: []string{
				"start-wave first eu",
				"set-weight first eu 50",
				"analysis first eu",
				"abort first eu",
				"rollback first eu ->1.0.0/",
			},
			hold: "release 2.0.0 stopped: wave first: target eu failed"},
		{name: "a per-wave approval holds the hand-over until given; the release's author cannot give it",
			edit: replace("{name: rest, targets: [us, ap]}", "{name: rest, targets: [us, ap], approval: {group: sre}}"),
			setup: func(t *testing.T, f *fleet) {
				f.release("2.0.0")
				f.run()
				f.now = f.now.Add(30 * time.Minute)
				if d := f.plan(); !d.Holds() || d.Reason != "wave rest needs 1 approval(s) from group sre before it starts, has 0" ||
					d.WaitingFor != "1 approval(s) of wave rest from sre (Ramp-Approve: rollout=pay release=2.0.0 wave=rest)" {
					t.Fatalf("before the approval: %s %q waiting for %q", d.Action, d.Reason, d.WaitingFor)
				}
				f.command("dev@example.com", []string{"dev", "sre"}, policy.Command{Kind: policy.CommandApprove, Rollout: "pay", Release: "2.0.0", Wave: "rest"})
				if r := f.fs.Rejected; len(r) != 1 || !strings.Contains(r[0].Reason, "signed the start of release 2.0.0 and cannot approve it") {
					t.Fatalf("the author's approval: %+v", r)
				}
				f.command("eve@example.com", []string{"sre"}, policy.Command{Kind: policy.CommandApprove, Rollout: "pay", Release: "2.0.0", Wave: "rest"})
				f.gates["us"], f.gates["ap"] = policy.Inconclusive, policy.Inconclusive
			},
			want: []string{
				"start-wave rest us,ap",
				"set-weight rest us 50",
				"set-weight rest ap 50",
				"analysis rest us",
				"analysis rest ap",
			},
			hold: "wave 2/2 rest: target us: gate error-rate inconclusive; target ap: gate error-rate inconclusive"},
		{name: "wave gates fail over the soak: the wave goes back and the next never starts",
			edit: replace("soak: 30m}", "soak: 30m, gates: [error-rate]}"),
			setup: func(t *testing.T, f *fleet) {
				f.release("2.0.0")
				f.run()
				f.now = f.now.Add(10 * time.Minute)
				f.wave["first"] = policy.Fail
			},
			want: []string{
				"rollback first eu ->1.0.0/1.0.0",
			},
			hold: "release 2.0.0 stopped: wave first: target eu failed: wave first failed its gates over the soak: soak gate error-rate fail"},
		{name: "supersede mid-wave: targets still on the old release go back first",
			setup: func(t *testing.T, f *fleet) {
				f.release("2.0.0")
				f.step() // start-wave first eu
				f.step() // set-weight 50
				f.release("3.0.0")
			},
			want: []string{
				"abort first eu",
				"rollback first eu ->1.0.0/",
				"start-wave first eu",
				"set-weight first eu 50",
				"analysis first eu",
				"promote first eu ->/3.0.0",
				"complete first eu",
			},
			hold: "wave first soaks 30m"},
		{name: "a Ramp-Abort mid-wave stops all waves",
			setup: func(t *testing.T, f *fleet) {
				toRest(t, f)
				f.step() // set-weight us
				f.command("eve@example.com", []string{"sre"}, policy.Command{Kind: policy.CommandAbort, Rollout: "pay", Release: "2.0.0", Reason: "p99"})
			},
			want: []string{
				"abort rest us",
				"rollback rest us ->1.0.0/",
				"rollback rest ap ->1.0.0/",
			},
			hold: "release 2.0.0 stopped: aborted by eve@example.com: p99 (commit"},
		{name: "an abort of one target's step by its own Ramp-Abort fails the wave",
			setup: func(t *testing.T, f *fleet) {
				toRest(t, f)
				f.step() // set-weight us
				f.step() // set-weight ap
				f.gates["us"], f.gates["ap"] = policy.Inconclusive, policy.Inconclusive
				f.command("eve@example.com", []string{"sre"}, policy.Command{Kind: policy.CommandAbort, Rollout: policy.TargetRollout("pay", "ap"), Release: "2.0.0", Reason: "ap only"})
			},
			want: []string{
				"abort rest ap",
				"abort rest us",
				"rollback rest ap ->1.0.0/",
				"rollback rest us ->1.0.0/",
			},
			hold: "wave rest: target ap failed: aborted by eve@example.com: ap only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := policytest.WavesYAML("pay", tt.extra...)
			if tt.edit != nil {
				spec = tt.edit(spec)
			}
			f := newFleet(t, spec)
			tt.setup(t, f)
			got, hold := f.run()
			eq(t, "decisions", got, tt.want)
			if !strings.Contains(hold.Reason, tt.hold) {
				t.Errorf("hold: %q\nwant it to contain %q", hold.Reason, tt.hold)
			}
		})
	}
}

// A restart at any point continues from git: the state folded from the
// records up to any commit, with no memory of the run, plans what the
// running fleet planned there.
func TestFoldFleetFromScratchPlansAsTheRunningLoop(t *testing.T) {
	f := newFleet(t, policytest.WavesYAML("pay", "  onFailure: {rollbackCompletedWaves: true}"))
	f.release("2.0.0")
	f.run()
	f.now = f.now.Add(30 * time.Minute)
	f.step()
	f.step()
	f.release("3.0.0") // supersede mid-wave
	f.gates["eu"] = policy.Fail
	type point struct {
		state    []byte
		decision policy.Decision
	}
	var points []point
	for range 100 {
		d := f.plan()
		b, _ := json.Marshal(f.fs)
		points = append(points, point{b, d})
		if d.Holds() {
			break
		}
		f.apply(d)
	}
	if len(points) < 5 {
		t.Fatalf("only %d decisions", len(points))
	}
	base := newFleet(t, policytest.WavesYAML("pay", "  onFailure: {rollbackCompletedWaves: true}")).fs
	start := len(f.recs) - len(points) + 1
	for i, pt := range points {
		fs := base
		for _, rec := range f.recs[:start+i] {
			fs = policy.FoldFleet(fs, f.r, rec, f.g)
		}
		if b, _ := json.Marshal(fs); string(b) != string(pt.state) {
			t.Fatalf("after %d commits: cold fold differs:\n cold %s\n  run %s", start+i, b, pt.state)
		}
		if d := policy.PlanFleet(f.r, fs, f.evidence(), f.now, f.g); !reflect.DeepEqual(d, pt.decision) {
			t.Fatalf("after %d commits: cold plan %+v, running plan %+v", start+i, d, pt.decision)
		}
	}
}

func TestWavesReportEachWaveAndTarget(t *testing.T) {
	f := newFleet(t, policytest.WavesYAML("pay"))
	f.release("2.0.0")
	f.run()
	f.now = f.now.Add(30 * time.Minute)
	f.step() // start-wave rest
	f.step() // us 50
	got := fmt.Sprintf("%+v", policy.Waves(f.r, f.fs))
	want := "[{Name:first State:done Targets:[{Name:eu Release:2.0.0 Stable:2.0.0 Phase:Stable Step:0 Steps:0 Weight:0 Failed:false}]} " +
		"{Name:rest State:progressing Targets:[{Name:us Release:2.0.0 Stable:1.0.0 Phase:Progressing Step:1 Steps:2 Weight:50 Failed:false} " +
		"{Name:ap Release:2.0.0 Stable:1.0.0 Phase:Progressing Step:0 Steps:0 Weight:0 Failed:false}]}]"
	if got != want {
		t.Errorf("Waves:\n got %s\nwant %s", got, want)
	}
}

func TestPlanFleetHoldsATargetWhoseClusterCannotBeReached(t *testing.T) {
	f := newFleet(t, policytest.WavesYAML("pay"))
	f.unreachable = map[string]string{"eu": "cluster eu: Get \"https://10.0.0.1:6443\": connection refused"}
	f.release("2.0.0")
	got, hold := f.run()
	eq(t, "decisions", got, []string{"start-wave first eu", "set-weight first eu 50"})
	if hold.Reason != `wave 1/2 first: target eu: step 1/2 cannot be confirmed applied: cluster eu: Get "https://10.0.0.1:6443": connection refused` ||
		hold.WaitingFor != "target eu: the cluster to be reachable" {
		t.Fatalf("hold: %q waiting for %q", hold.Reason, hold.WaitingFor)
	}
	delete(f.unreachable, "eu") // back
	got, _ = f.run()
	eq(t, "decisions once it is back", got, []string{"analysis first eu", "promote first eu ->/2.0.0", "complete first eu"})
}

func TestPlanFleetReleasingWhatALaterWaveRunsNeedsNoHandOverThere(t *testing.T) {
	f := newFleet(t, policytest.WavesYAML("pay"))
	f.gates["us"] = policy.Fail
	toRest(t, f)
	f.run() // rest fails and goes back to 1.0.0; eu runs 2.0.0
	delete(f.gates, "us")
	f.release("1.0.0") // what rest runs: eu goes back to it, rest has nothing to do
	got, hold := f.run()
	eq(t, "decisions", got, []string{"start-wave first eu", "set-weight first eu 50", "analysis first eu", "promote first eu ->/1.0.0", "complete first eu"})
	if hold.Reason != "release 1.0.0 runs in every wave (first, rest)" {
		t.Fatalf("hold: %q", hold.Reason)
	}
}

package controllers

import (
	"fmt"
	"strconv"
	"strings"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// maxRejected bounds the rejections listed per rollout (the newest).
const maxRejected = 10

// rolloutStatuses mirrors a pass in the status: each rollout's state as
// derived after the pass's commits, and the decision's reason. Gate
// verdicts of a release are kept from prev until new ones are judged.
func rolloutStatuses(prev []rampv1.RolloutStatus, outcomes []gitsync.Outcome, states map[string]policy.State) (out []rampv1.RolloutStatus, progressing int) {
	before := map[string]rampv1.RolloutStatus{}
	for _, p := range prev {
		before[p.Name] = p
	}
	for _, o := range outcomes {
		if o.Fleet != nil && o.Invalid == nil && len(o.Waves) > 0 {
			rows, inProgress := fleetStatuses(before, o, states)
			out = append(out, rows...)
			if inProgress {
				progressing++
			}
			continue
		}
		d := o.Decision
		st := rampv1.RolloutStatus{Name: o.Rollout, Message: d.Reason, WaitingFor: d.WaitingFor, Steps: d.Steps}
		s, ok := states[o.Rollout]
		if o.Invalid != nil || !ok {
			out = append(out, st)
			continue
		}
		if s.InProgress() {
			progressing++
		}
		st.SeparationOfDuties = d.SeparationOfDuties
		out = append(out, stateStatus(st, s, d.Gates, before))
	}
	return out, progressing
}

// stateStatus fills st from state s: release, phase, step, weight, the
// gates of the decision (or, with none, those before held for the same
// release) and the newest rejections.
func stateStatus(st rampv1.RolloutStatus, s policy.State, gates []policy.GateResult, before map[string]rampv1.RolloutStatus) rampv1.RolloutStatus {
	st.Release, st.Stable, st.Phase = s.Release, s.Stable, string(s.Phase)
	st.Step, st.Weight, st.LastCommit = s.Step, s.LiveWeight(), s.LastCommit
	if len(gates) > 0 {
		st.LastGates = gateStatuses(gates)
	} else if p, ok := before[st.Name]; ok && p.Release == s.Release {
		st.LastGates = p.LastGates
	}
	st.Rejected = rejections(s.Rejected)
	return st
}

func rejections(rej []policy.Rejection) []rampv1.RejectionStatus {
	if len(rej) > maxRejected {
		rej = rej[len(rej)-maxRejected:]
	}
	var out []rampv1.RejectionStatus
	for _, r := range rej {
		out = append(out, rampv1.RejectionStatus{Commit: r.Commit, Author: r.Author, Reason: r.Reason})
	}
	return out
}

// fleetStatuses are the rows of a rollout with targets: one for the
// rollout (the release its waves carry, the waves summed up as its phase,
// e.g. "Wave 2/2 rest progressing", the decision's reason when it is
// about the rollout, e.g. a hand-over) and one per target, in wave order,
// named rollout/target with the target's own state; the decision's reason
// goes on the row it is about, the other targets say where their wave
// stands. inProgress: the waves are neither done nor stopped.
func fleetStatuses(before map[string]rampv1.RolloutStatus, o gitsync.Outcome, states map[string]policy.State) (rows []rampv1.RolloutStatus, inProgress bool) {
	d, fs := o.Decision, o.Fleet
	name, _ := policy.SplitTarget(o.Rollout)
	phase := policy.WavesPhase(o.Waves)
	top := rampv1.RolloutStatus{Name: name, Release: fs.Release, Phase: phase, Message: d.Reason, WaitingFor: d.WaitingFor,
		Rejected: rejections(fs.Rejected), SeparationOfDuties: d.SeparationOfDuties}
	about := ""
	if len(d.Targets) == 1 && d.Action != policy.ActionStartWave {
		about = policy.TargetRollout(name, d.Targets[0])
	}
	if about == "" && len(d.Gates) > 0 {
		top.LastGates = gateStatuses(d.Gates)
	} else if p, ok := before[name]; ok && p.Release == fs.Release {
		top.LastGates = p.LastGates
	}
	rows = append(rows, top)
	for i, w := range o.Waves {
		for _, t := range w.Targets {
			tn := policy.TargetRollout(name, t.Name)
			st := rampv1.RolloutStatus{Name: tn, Steps: t.Steps}
			s, ok := states[tn]
			if !ok {
				s = fs.Targets[t.Name]
			}
			var gates []policy.GateResult
			if tn == about {
				st.Message, st.WaitingFor, st.Steps, gates = d.Reason, d.WaitingFor, d.Steps, d.Gates
			} else {
				st.Message = fmt.Sprintf("wave %d/%d %s %s", i+1, len(o.Waves), w.Name, w.State)
			}
			rows = append(rows, stateStatus(st, s, gates, before))
		}
	}
	return rows, phase != "Done" && !strings.HasPrefix(phase, "Stopped")
}

func gateStatuses(gates []policy.GateResult) []rampv1.GateStatus {
	out := make([]rampv1.GateStatus, 0, len(gates))
	for _, g := range gates {
		gs := rampv1.GateStatus{Name: g.Name, Verdict: string(g.Verdict), Bound: g.Bound, Scope: g.Scope}
		if g.HasValue {
			gs.Value = strconv.FormatFloat(g.Value, 'g', 6, 64)
		}
		out = append(out, gs)
	}
	return out
}

// revision is a branch tip as Flux writes revisions: main@sha1:<sha>.
func revision(branch, sha string) string { return branch + "@sha1:" + sha }

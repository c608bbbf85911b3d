package controllers

import (
	"strconv"

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
		d := o.Decision
		st := rampv1.RolloutStatus{Name: o.Rollout, Message: d.Reason, WaitingFor: d.WaitingFor, Steps: d.Steps}
		s, ok := states[o.Rollout]
		if o.Invalid != nil || !ok {
			out = append(out, st)
			continue
		}
		st.Release, st.Stable, st.Phase = s.Release, s.Stable, string(s.Phase)
		st.Step, st.Weight, st.LastCommit = s.Step, s.LiveWeight(), s.LastCommit
		if s.InProgress() {
			progressing++
		}
		if len(d.Gates) > 0 {
			st.LastGates = gateStatuses(d.Gates)
		} else if p, ok := before[o.Rollout]; ok && p.Release == s.Release {
			st.LastGates = p.LastGates
		}
		rej := s.Rejected
		if len(rej) > maxRejected {
			rej = rej[len(rej)-maxRejected:]
		}
		for _, r := range rej {
			st.Rejected = append(st.Rejected, rampv1.RejectionStatus{Commit: r.Commit, Author: r.Author, Reason: r.Reason})
		}
		out = append(out, st)
	}
	return out, progressing
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

package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Plan decides the next action for one rollout from its spec, the state
// derived from git, the evidence gathered for the current step and the
// time. It never fails: when something is missing it holds and says why.
// A spec that does not validate holds the rollout; so does a branch tip
// that is not trusted, for any decision that would commit on top of it.
// A hold says when to look at it again (Wake): when a pause ends, or while
// an analysis step runs, when its next measurement is due.
func Plan(r *Rollout, s State, ev Evidence, now time.Time, g Guardrails) Decision {
	if ev.SpecError != nil || r == nil {
		why := "no spec"
		if ev.SpecError != nil {
			why = ev.SpecError.Error()
		}
		return Decision{Reason: "spec does not validate: " + why, WaitingFor: "a valid spec"}
	}
	d := plan(r, &s, ev, now, g)
	d.Exposure = exposureOf(r, d)
	if ev.UntrustedTip != "" && !d.Holds() {
		d = Decision{Step: s.Step, Steps: d.Steps, Weight: s.Weight, Release: s.Release,
			Reason:     ev.UntrustedTip + "; ramp will not build on it (next: " + string(d.Action) + ")",
			WaitingFor: "a signed commit at the branch tip"}
	}
	d.SeparationOfDuties = SeparationOfDuties(s, g)
	if d.Holds() {
		wake := func(every time.Duration) {
			if next := now.Add(every); d.Wake.IsZero() || next.Before(d.Wake) {
				d.Wake = next
			}
		}
		if a := NeedsAnalysis(r, &s); a != nil {
			wake(nextMeasurement(r, a))
		}
		if b := NeedsBackground(r, &s); b != nil {
			wake(nextBackground(r, b))
		}
		if pf := NeedsPreflight(r, &s); pf != nil {
			wake(nextPreflight(r, pf))
		}
	}
	return d
}

// plan is Plan for a valid spec and a trusted tip. Every decision taken
// while background gates guard the release carries their results.
func plan(r *Rollout, s *State, ev Evidence, now time.Time, g Guardrails) Decision {
	p := planner{r: r, s: s, ev: ev, now: now, steps: r.Steps()}
	if b := NeedsBackground(r, s); b != nil {
		bg := p.judge(b.Gates, ev.Background, ScopeBackground)
		p.bg = &bg
	}
	d := p.decide(g)
	if p.bg != nil && !slices.ContainsFunc(d.Gates, func(r GateResult) bool { return r.Scope == ScopeBackground }) {
		d.Gates = append(d.Gates, p.bg.results...)
	}
	return d
}

// decide is plan's decision.
func (p *planner) decide(g Guardrails) Decision {
	r, s, steps := p.r, p.s, p.steps
	if s.Drifted() {
		return p.drift(g)
	}
	switch s.Phase {
	case PhaseStable:
		if s.Weight > 0 {
			return p.act(ActionComplete, 0, 0, "the canary runs the stable version "+s.Stable+"; traffic returns to stable")
		}
		return p.hold("", "no release in progress; stable is "+s.Stable)
	case PhaseAborted:
		if r.Spec.OnFailure.RevertRelease && s.Release != s.Stable {
			d := p.act(ActionRollback, 0, 0, fmt.Sprintf("onFailure.revertRelease: release field goes back from %s to stable %s", s.Release, s.Stable))
			d.SetRelease = s.Stable
			return d
		}
		why := "release " + s.Release + " was aborted"
		if s.LastCommit != "" {
			why += " at " + short(s.LastCommit) // the abort, also after a checkpoint
		}
		if s.LastReason != "" {
			why += ": " + s.LastReason
		}
		return p.hold("a new release", why+"; merge a new release to continue")
	case PhasePromoted:
		if live, d := p.live(); !live {
			return d
		}
		if b := baking(r, s); b != nil {
			return p.bake(b)
		}
		return p.act(ActionComplete, 0, 0, "stable runs "+s.Release+"; all traffic returns to stable")
	}

	if s.Superseded != "" && s.Weight > 0 {
		d := p.act(ActionRollback, 0, 0, fmt.Sprintf("release %s superseded by %s: its traffic returns to stable before %s starts", s.Superseded, s.Release, s.Release))
		d.Release = s.Superseded
		return d
	}
	if s.AbortBy != nil {
		reason := "aborted by " + s.AbortBy.Author
		if s.AbortBy.Command != nil && s.AbortBy.Command.Reason != "" {
			reason += ": " + s.AbortBy.Command.Reason
		}
		return p.act(ActionAbort, s.Step, 0, reason+" (commit "+short(s.AbortBy.Commit)+")")
	}
	if p.bg != nil && len(p.bg.fails) > 0 {
		d := p.act(ActionAbort, s.Step, 0, strings.Join(p.bg.fails, "; "))
		d.Gates = p.bg.results
		return d
	}
	if err := CheckRelease(r, g, s.Release); err != nil {
		return p.hold("a release that meets the guardrails", err.Error())
	}
	if g.RequireSignedStart && s.StartUnverified != "" {
		return p.hold("a release started by signed commits", unsignedStartHold(s))
	}
	if len(s.Holds) > 0 {
		var rs []string
		for _, h := range s.Holds {
			rs = append(rs, h.Reason)
		}
		need := max(g.Commands.Resume.Count, 1)
		waiting := fmt.Sprintf("a signed Ramp-Resume or Ramp-Abort (resuming takes %d people", need)
		if g.Commands.Resume.RequireReason {
			waiting += " with reason="
		}
		return p.hold(waiting+fmt.Sprintf(", %d so far)", len(s.Resumes)), strings.Join(rs, "; "))
	}
	if s.Phase == PhasePaused {
		who := "a person"
		if s.PausedBy != nil {
			who = s.PausedBy.Author + " (commit " + short(s.PausedBy.Commit) + ")"
		}
		return p.hold("a signed Ramp-Resume", "paused by "+who)
	}
	if s.Step == 0 {
		migration, d, held := p.migration(g)
		if held {
			return d
		}
		if d, closed := p.changeWindowClosed(nil); closed {
			return d
		}
		exc, d, frozen := p.freeze(1, nil)
		if frozen {
			return d
		}
		preflight, d, held := p.preflight()
		if held {
			return d
		}
		why := "release " + s.Release + " started by " + s.StartAuthor + exceptionNote(exc)
		if len(migration) > 0 {
			why += "; expand migration approved by " + principals(migration)
		}
		return p.releaseJobs(p.enter(1, preflight, append(migration, exc...), why+preflightNote(preflight)))
	}
	if s.Step > len(steps) {
		return p.next(nil, nil, fmt.Sprintf("the spec has %d steps, the release is past them", len(steps)))
	}
	return p.current()
}

// drift answers a traffic target changed by someone else while no release
// was in flight: ramp restores its weight (spec.onDrift: restore) or holds
// until people resume over the change; a new release waits as well.
func (p *planner) drift(g Guardrails) Decision {
	var rs []string
	for _, h := range p.s.Holds {
		rs = append(rs, h.Reason)
	}
	why := strings.Join(rs, "; ")
	if p.r.Spec.OnDrift == OnDriftRestore {
		return p.restoreDecision(why)
	}
	need := max(g.Commands.Resume.Count, 1)
	return p.hold(fmt.Sprintf("a signed Ramp-Resume accepting the change (resuming takes %d people, %d so far), or spec.onDrift: restore", need, len(p.s.Resumes)), why)
}

type planner struct {
	r     *Rollout
	s     *State
	ev    Evidence
	now   time.Time
	steps []Step
	// bg is the judgement of the background gates while they guard.
	bg *judgement
}

func (p *planner) hold(waitingFor, reason string) Decision {
	return Decision{Action: ActionNone, Step: p.s.Step, Steps: len(p.steps), Weight: p.s.Weight,
		Release: p.s.Release, Reason: reason, WaitingFor: waitingFor}
}

func (p *planner) act(a Action, step, weight int, reason string) Decision {
	return Decision{Action: a, Step: step, Steps: len(p.steps), Weight: weight, Release: p.s.Release, Reason: reason}
}

// live reports whether the current step's commit is applied, and the hold
// decision when it is not.
func (p *planner) live() (bool, Decision) {
	switch {
	case p.ev.Unreachable != "":
		return false, p.hold("the cluster to be reachable", "step "+p.stepName(p.s.Step)+" cannot be confirmed applied: "+p.ev.Unreachable)
	case p.ev.ApplyFailed != "":
		return false, p.hold("a fix", "Flux failed to apply commit "+short(p.s.StepCommit)+": "+p.ev.ApplyFailed)
	case p.ev.AppliedUnknown || !p.ev.Applied.IsZero():
		return true, Decision{}
	}
	return false, p.hold("Flux to apply commit "+short(p.s.StepCommit), "step "+p.stepName(p.s.Step)+" is committed but not applied yet")
}

// LiveAt is when the current step of state s went live: its commit time,
// or when Flux applied it (as ev reports), whichever is later. Gates are
// measured from then.
func LiveAt(s State, ev Evidence) time.Time {
	if !ev.AppliedUnknown && ev.Applied.After(s.StepAt) {
		return ev.Applied
	}
	return s.StepAt
}

// current judges the current step once it is live: first whether traffic
// reaches the canary as weighted (the routing check), then whether the
// step is done.
func (p *planner) current() Decision {
	s := p.s
	if p.ev.ApplyFailed != "" {
		return p.act(ActionAbort, s.Step, 0, "Flux failed to apply step "+p.stepName(s.Step)+": "+p.ev.ApplyFailed)
	}
	if live, d := p.live(); !live {
		return d
	}
	routing, hold := p.routing()
	if hold != nil {
		return *hold
	}
	d := p.step()
	if routing != nil {
		d.Gates = append([]GateResult{*routing}, d.Gates...)
	}
	return d
}

// step judges whether the current step, live and routed as weighted, is
// done, and moves on if so.
func (p *planner) step() Decision {
	s := p.s
	st := p.steps[s.Step-1]
	switch {
	case st.SetWeight != nil:
		return p.next(nil, nil, fmt.Sprintf("weight %d%% is live", s.Weight))
	case st.Pause != nil && st.Pause.Duration.Duration > 0:
		until := LiveAt(*p.s, p.ev).Add(st.Pause.Duration.Duration)
		if p.now.Before(until) {
			d := p.hold("pause to end at "+until.UTC().Format(time.RFC3339),
				fmt.Sprintf("pausing %s (%s left)", st.Pause.Duration.Duration, until.Sub(p.now).Round(time.Second)))
			d.Wake = until
			return d
		}
		return p.next(nil, nil, "pause of "+st.Pause.Duration.Duration.String()+" ended")
	case st.Pause != nil:
		as := p.approvals(s.Step, "")
		if len(as) == 0 {
			return p.hold("an approval of step "+p.stepName(s.Step), "paused until someone approves step "+p.stepName(s.Step))
		}
		return p.next(nil, as, "approved by "+principals(as))
	case st.Approval != nil:
		as := p.approvals(s.Step, st.Approval.Group)
		need := max(st.Approval.Count, 1)
		if len(as) < need {
			return p.hold(fmt.Sprintf("%d approval(s) from %s", need-len(as), st.Approval.Group),
				fmt.Sprintf("step %s needs %d approval(s) from group %s, has %d", p.stepName(s.Step), need, st.Approval.Group, len(as)))
		}
		return p.next(nil, as[:need], "approved by "+principals(as[:need]))
	case st.Analysis != nil:
		return p.analysis(st.Analysis)
	case st.SetHeaderRoute != nil || st.SetMirrorRoute != nil:
		return p.next(nil, nil, "step "+p.stepName(s.Step)+" is live")
	}
	return p.hold("a valid spec", "step "+p.stepName(s.Step)+" has no action")
}

// next enters the step after the current one, or promotes after the last;
// it holds while a background gate is inconclusive.
func (p *planner) next(gates []GateResult, as []Approval, why string) Decision {
	if p.bg != nil && len(p.bg.waits) > 0 {
		d := p.hold("conclusive background gates", why+"; background: "+strings.Join(p.bg.waits, "; "))
		d.Gates = append(gates, p.bg.results...)
		return d
	}
	if p.bg != nil {
		gates = append(gates, p.bg.results...)
	}
	if d, closed := p.changeWindowClosed(gates); closed {
		return d
	}
	exc, d, frozen := p.freeze(p.s.Step+1, gates)
	if frozen {
		return d
	}
	if p.s.Step >= len(p.steps) {
		d := p.promote(gates, append(as, exc...))
		d.Reason += exceptionNote(exc)
		return d
	}
	return p.enter(p.s.Step+1, gates, append(as, exc...), why+exceptionNote(exc))
}

// freeze holds entering step k (k past the last step: the promote) when
// it raises exposure while a freeze of the calendar is in force, unless
// the release has an exception to that freeze: then it returns the
// exception's approvals, to be recorded. A calendar that cannot be read
// holds such a step as a freeze does.
func (p *planner) freeze(k int, gates []GateResult) (exc []Approval, d Decision, frozen bool) {
	raises := k > len(p.steps) || (p.steps[k-1].SetWeight != nil && *p.steps[k-1].SetWeight > p.s.Weight)
	if !raises {
		return nil, Decision{}, false
	}
	if p.ev.FreezeError != nil {
		d = p.hold("a freeze calendar that parses", "freeze calendar: "+p.ev.FreezeError.Error()+"; nothing raises exposure until it parses")
		d.Gates = gates
		return nil, d, true
	}
	f := p.ev.Freeze.Active(p.now)
	if f == nil {
		return nil, Decision{}, false
	}
	for _, a := range p.s.Approvals {
		if a.Freeze == f.Name {
			exc = append(exc, a)
		}
	}
	if len(exc) > 0 {
		return exc, Decision{}, false
	}
	d = p.hold(fmt.Sprintf("freeze %s to end at %s %s, or an exception (Ramp-Approve: rollout=%s release=%s freeze=%s)",
		f.Name, f.End, f.TimeZone, p.r.Name(), p.s.Release, f.Name),
		fmt.Sprintf("freeze %s until %s %s: %s; no step raises exposure", f.Name, f.End, f.TimeZone, f.Reason))
	d.Gates, d.Wake = gates, f.Until()
	return nil, d, true
}

// exceptionNote says which freeze exception a move goes ahead by.
func exceptionNote(exc []Approval) string {
	if len(exc) == 0 {
		return ""
	}
	return fmt.Sprintf("; during freeze %s by exception of %s", exc[0].Freeze, principals(exc))
}

// changeWindowClosed holds a move forward (entering a step, the first
// included, or promoting) while now lies outside the change window of any
// schedule gate of the spec, and says when it opens. Aborts, rollbacks and
// complete are never held.
func (p *planner) changeWindowClosed(gates []GateResult) (Decision, bool) {
	for _, g := range p.r.Spec.Gates {
		if g.Schedule == nil {
			continue
		}
		open, next, err := InWindow(*g.Schedule, p.now)
		if open {
			continue
		}
		what := fmt.Sprintf("change window %s to open", g.Name)
		why := fmt.Sprintf("outside change window %s", g.Name)
		if err != nil {
			why += ": " + err.Error()
		} else if loc, lerr := scheduleLocation(*g.Schedule); lerr == nil {
			why += "; next opens " + next.In(loc).Format("Mon 2006-01-02 15:04") + " " + loc.String()
		}
		d := p.hold(what, why)
		d.Gates, d.Wake = gates, next
		return d, true
	}
	return Decision{}, false
}

func (p *planner) enter(k int, gates []GateResult, as []Approval, why string) Decision {
	st := p.steps[k-1]
	d := p.act(ActionPause, k, p.s.Weight, why)
	switch {
	case st.SetWeight != nil:
		d.Action, d.Weight = ActionSetWeight, *st.SetWeight
		d.Reason = fmt.Sprintf("%s; step %s sets weight %d%%", why, p.stepName(k), *st.SetWeight)
	case st.IsBake():
		d.Action = ActionAnalysis
		d.Reason = fmt.Sprintf("%s; step %s bakes: %s over %s while the old side is kept", why, p.stepName(k), strings.Join(st.Analysis.Gates, ", "), st.Analysis.Window)
	case st.Analysis != nil:
		d.Action = ActionAnalysis
		d.Reason = fmt.Sprintf("%s; step %s analyses %s over %s", why, p.stepName(k), strings.Join(st.Analysis.Gates, ", "), st.Analysis.Window.Duration)
	case st.Approval != nil:
		d.Reason = fmt.Sprintf("%s; step %s waits for approval by %s", why, p.stepName(k), st.Approval.Group)
	case st.SetHeaderRoute != nil || st.SetMirrorRoute != nil:
		d.Action, d.Shadow = ActionSetHeaderRoute, p.r.shadowRecord(st)
		if st.SetMirrorRoute != nil {
			d.Action = ActionSetMirrorRoute
		}
		d.Reason = fmt.Sprintf("%s; step %s %s", why, p.stepName(k), describeExposureStep(st))
	default:
		d.Reason = fmt.Sprintf("%s; step %s pauses", why, p.stepName(k))
	}
	d.Gates, d.Approved = gates, refs(as)
	return d
}

func (p *planner) promote(gates []GateResult, as []Approval) Decision {
	d := p.act(ActionPromote, 0, p.s.Weight, fmt.Sprintf("all %d steps passed; stable becomes %s", len(p.steps), p.s.Release))
	d.SetStable = p.s.Release
	d.Gates, d.Approved = gates, refs(as)
	return d
}

// approvals returns the accepted approvals of step k (by group, if set),
// one per key, in commit order.
func (p *planner) approvals(k int, group string) []Approval {
	var out []Approval
	for _, a := range p.s.Approvals {
		if a.Step != k {
			continue
		}
		if group != "" && !contains(a.Groups, group) {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (p *planner) stepName(k int) string { return fmt.Sprintf("%d/%d", k, len(p.steps)) }

func refs(as []Approval) []ApprovalRef {
	var out []ApprovalRef
	for _, a := range as {
		out = append(out, ApprovalRef{Principal: a.Principal, Key: a.Key, Commit: a.Commit})
	}
	return out
}

func principals(as []Approval) string {
	var ps []string
	for _, a := range as {
		ps = append(ps, a.Principal)
	}
	sort.Strings(ps)
	return strings.Join(ps, ", ")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

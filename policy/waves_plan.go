package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ScopeSoak marks the result of a wave's gate, judged over its soak.
const ScopeSoak = "soak"

// FleetEvidence is what the shell gathered for a rollout with targets.
type FleetEvidence struct {
	// Targets is each target's evidence, by target name, as Plan takes
	// it for the target's own rollout; a target missing here has none
	// (nothing applied, no gate result), which never passes.
	Targets map[string]Evidence
	// Waves holds the results of a wave's gates over its soak, by wave
	// and gate name (see WaveSoak); a gate missing is inconclusive.
	Waves map[string]map[string]GateResult
	// SpecError and UntrustedTip as in Evidence.
	SpecError    error
	UntrustedTip string
	// Freeze and FreezeError as in Evidence: the freeze calendar holds a
	// hand-over (start-wave) as it holds a step that raises exposure.
	Freeze      *FreezeCalendar
	FreezeError error
}

// WaveSoak returns the wave whose soak the next hand-over waits on, and
// the soak's window (from the last promotion of the wave's targets to
// the end of its soak), when it has gates to judge over it; ok is false
// otherwise. The shell queries the wave's gates over [from, to] (up to
// now while the soak runs).
func WaveSoak(r *Rollout, fs FleetState) (wave int, from, to time.Time, ok bool) {
	for i := range r.Spec.Waves {
		if fs.HasWave(r, i) {
			continue
		}
		if i == 0 {
			return 0, time.Time{}, time.Time{}, false
		}
		prev := r.Spec.Waves[i-1]
		start, known := soakStart(r, fs, i-1)
		if len(prev.Gates) == 0 || !known {
			return 0, time.Time{}, time.Time{}, false
		}
		return i - 1, start, start.Add(prev.Soak.Duration), true
	}
	return 0, time.Time{}, time.Time{}, false
}

// soakStart is the last promotion of the release among the targets of
// wave i it was handed to that did not fail (a target that already ran
// the release has nothing to soak); known is false when a target's
// promotion is not in the state.
func soakStart(r *Rollout, fs FleetState, i int) (start time.Time, known bool) {
	for _, t := range r.Spec.Waves[i].Targets {
		if _, handed := fs.Before[t]; !handed || fs.failedIn(t) {
			continue // ran the release before it started, or left behind
		}
		at, ok := fs.Promoted[t]
		if !ok {
			return time.Time{}, false
		}
		if at.After(start) {
			start = at
		}
	}
	return start, true
}

// failedIn reports whether target was handed the release and failed it:
// it aborted it, or went back to its earlier version.
func (fs *FleetState) failedIn(target string) bool {
	s := fs.Targets[target]
	if _, handed := fs.Before[target]; !handed {
		return false
	}
	return s.Release != fs.Release || s.Phase == PhaseAborted
}

// done reports whether target runs the release as its stable version,
// with no traffic split.
func (fs *FleetState) done(target string) bool {
	s := fs.Targets[target]
	return s.Release == fs.Release && s.Stable == fs.Release && s.Phase == PhaseStable
}

// PlanFleet decides the next action of a rollout with targets, in this
// order: targets still on an older release go back to their stable
// version first (a supersede); a person's abort, or a failed target,
// stops the waves and rolls back the failed wave's targets (traffic
// first, then the release field) and, with rollbackCompletedWaves, the
// earlier waves' too; otherwise the first wave not yet done moves: its
// targets each by Plan, or, once the previous wave is promoted, has
// soaked and passed its gates over the soak, and the wave's approval is
// given, the hand-over (ActionStartWave). One decision, one commit; every
// decision names its wave and target(s) and says why.
func PlanFleet(r *Rollout, fs FleetState, ev FleetEvidence, now time.Time, g Guardrails) Decision {
	if ev.SpecError != nil || r == nil || !r.HasTargets() {
		why := "no spec with targets"
		if ev.SpecError != nil {
			why = ev.SpecError.Error()
		}
		return Decision{Reason: "spec does not validate: " + why, WaitingFor: "a valid spec"}
	}
	p := &fleetPlanner{r: r, fs: &fs, ev: ev, now: now, g: g}
	d := p.decide()
	if ev.UntrustedTip != "" && !d.Holds() {
		d = Decision{Release: fs.Release, Wave: d.Wave, Targets: d.Targets,
			Reason:     ev.UntrustedTip + "; ramp will not build on it (next: " + string(d.Action) + ")",
			WaitingFor: "a signed commit at the branch tip"}
	}
	if d.SeparationOfDuties == "" {
		d.SeparationOfDuties = fleetSeparationOfDuties(fs, g)
	}
	return d
}

type fleetPlanner struct {
	r   *Rollout
	fs  *FleetState
	ev  FleetEvidence
	now time.Time
	g   Guardrails
}

func (p *fleetPlanner) decide() Decision {
	r, fs := p.r, p.fs
	// A supersede: targets still on an older release go back first.
	for _, t := range r.Spec.Targets {
		s := fs.Targets[t.Name]
		if s.Release == fs.Release || (s.Release == s.Stable && s.Weight == 0) {
			continue
		}
		if _, handed := fs.Before[t.Name]; handed {
			continue // failed the current release: below
		}
		why := fmt.Sprintf("release %s superseded by %s: target %s goes back to stable %s before %s continues", s.Release, fs.Release, t.Name, s.Stable, fs.Release)
		if d, ok := p.retreat(t.Name, s.Stable, why); ok {
			return d
		}
	}
	if d, stop := p.failure(); stop {
		return d
	}
	for i := range r.Spec.Waves {
		if !fs.HasWave(r, i) {
			return p.handOver(i)
		}
		if d, busy := p.wave(i); busy {
			return d
		}
	}
	return p.hold("a new release", "", nil, fmt.Sprintf("release %s runs in every wave (%s)", fs.Release, strings.Join(p.waveNames(), ", ")))
}

// failure handles a person's abort and failed targets. It returns the
// decision and true when the waves stop (or a failed target still has to
// go back).
func (p *fleetPlanner) failure() (Decision, bool) {
	r, fs := p.r, p.fs
	var why string
	wave := -1
	var back []string // the targets that go back, in order
	switch {
	case fs.AbortBy != nil:
		why = "aborted by " + fs.AbortBy.Author
		if c := fs.AbortBy.Command; c != nil && c.Reason != "" {
			why += ": " + c.Reason
		}
		why += " (commit " + short(fs.AbortBy.Commit) + "); every wave stops"
		for i := range r.Spec.Waves {
			if slices.Contains(fs.Started, r.Spec.Waves[i].Name) {
				wave = i
			}
		}
		if wave >= 0 {
			back = slices.Clone(r.Spec.Waves[wave].Targets)
		}
	default:
		var failed []string
		for _, t := range r.Spec.Targets {
			if fs.failedIn(t.Name) {
				failed = append(failed, t.Name)
			}
		}
		if len(failed) == 0 {
			return Decision{}, false
		}
		f := fs.Failed
		if f == nil {
			f = &WaveFailure{Target: failed[0], Wave: r.Spec.Waves[r.WaveOf(failed[0])].Name, Reason: "its release field changed"}
		}
		wave = slices.IndexFunc(r.Spec.Waves, func(w Wave) bool { return w.Name == f.Wave })
		why = fmt.Sprintf("wave %s: target %s failed: %s", f.Wave, f.Target, f.Reason)
		if !r.Spec.OnFailure.Stops() {
			// onFailure.stopWaves: false: each failed target goes back
			// alone; the others go on.
			for _, t := range failed {
				d, ok := p.retreat(t, p.before(t), fmt.Sprintf("wave %s: target %s failed (onFailure.stopWaves: false: the other targets go on)", r.Spec.Waves[r.WaveOf(t)].Name, t))
				if ok {
					return d, true
				}
			}
			return Decision{}, false
		}
		why += "; later waves stop (onFailure.stopWaves)"
		back = slices.Clone(r.Spec.Waves[wave].Targets)
		// The failed target first, then its wave-mates.
		slices.SortStableFunc(back, func(a, b string) int {
			return boolRank(a != f.Target) - boolRank(b != f.Target)
		})
	}
	if wave >= 0 && r.Spec.OnFailure.RollbackCompletedWaves {
		for i := wave - 1; i >= 0; i-- {
			back = append(back, r.Spec.Waves[i].Targets...)
		}
	}
	// Traffic first: every target's weight to 0, then the fields.
	for _, trafficOnly := range []bool{true, false} {
		for _, t := range back {
			if _, handed := fs.Before[t]; !handed || (trafficOnly && fs.Targets[t].Weight == 0) {
				continue
			}
			reason := why
			if r.WaveOf(t) < wave {
				reason += "; target " + t + " of completed wave " + r.Spec.Waves[r.WaveOf(t)].Name + " goes back too (onFailure.rollbackCompletedWaves)"
			}
			if d, ok := p.retreat(t, p.before(t), reason); ok {
				return d, true
			}
		}
	}
	d := p.hold("a new release", "", nil, "release "+fs.Release+" stopped: "+why+"; merge a new release to continue")
	if wave >= 0 {
		d.Wave = r.Spec.Waves[wave].Name
	}
	return d, true
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// before is the version target goes back to: what it ran before it took
// the release.
func (p *fleetPlanner) before(t string) string {
	if v, ok := p.fs.Before[t]; ok && v != "" {
		return v
	}
	return p.fs.Targets[t].Stable
}

// retreat is the next commit that takes target back to version to:
// first its traffic (an abort to weight 0), then its release field (and
// stable field, for a promoted target) in a rollback; ok is false when
// the target is back already.
func (p *fleetPlanner) retreat(t, to, why string) (Decision, bool) {
	s := p.fs.Targets[t]
	base := Decision{Release: s.Release, Wave: p.waveName(t), Targets: []string{t}, Steps: len(p.r.ForTarget(t).Steps())}
	switch {
	case s.Weight > 0:
		d := base
		d.Action, d.Step = ActionAbort, s.Step
		d.Reason = fmt.Sprintf("%s; traffic of target %s returns to stable (weight 0), then its release field goes back to %s", why, t, to)
		return d, true
	case s.Release != to || s.Stable != to:
		d := base
		d.Action = ActionRollback
		var fields []string
		if s.Release != to {
			d.SetRelease = to
			fields = append(fields, "release")
		}
		if s.Stable != to {
			d.SetStable = to
			fields = append(fields, "stable")
		}
		d.Reason = fmt.Sprintf("%s; target %s's %s goes back to %s", why, t, strings.Join(fields, " and ")+map[bool]string{true: " fields", false: " field"}[len(fields) > 1], to)
		return d, true
	}
	return Decision{}, false
}

// wave moves the targets of started wave i, each by its own Plan. busy
// is false when every target of the wave is done (or failed and left
// behind, onFailure.stopWaves: false).
func (p *fleetPlanner) wave(i int) (Decision, bool) {
	r, fs := p.r, p.fs
	w := r.Spec.Waves[i]
	var holds []string
	var wake time.Time
	var first, move *Decision
	moveRank := 0
	for _, t := range w.Targets {
		if fs.done(t) || fs.failedIn(t) {
			continue
		}
		sub := r.ForTarget(t)
		d := Plan(sub, fs.Targets[t], p.ev.Targets[t], p.now, p.g)
		d.Wave, d.Targets = w.Name, []string{t}
		if d.Action == ActionNone && d.Reason != "" {
			d.Reason = "target " + t + ": " + d.Reason
		}
		if d.WaitingFor != "" {
			d.WaitingFor = "target " + t + ": " + d.WaitingFor
		}
		if !d.Holds() {
			// The targets of a wave move together: the one furthest
			// behind moves first (then the first in the wave).
			rank := progress(fs.Targets[t], len(sub.Steps()))
			if d.Action == ActionAbort || d.Action == ActionRollback {
				rank = -1 // going back comes before going on
			}
			if move == nil || rank < moveRank {
				move, moveRank = &d, rank
			}
			continue
		}
		holds = append(holds, d.Reason)
		if !d.Wake.IsZero() && (wake.IsZero() || d.Wake.Before(wake)) {
			wake = d.Wake
		}
		if first == nil {
			first = &d
		}
	}
	if move != nil {
		return *move, true
	}
	if first == nil {
		return Decision{}, false
	}
	d := *first
	d.Reason = fmt.Sprintf("wave %d/%d %s: %s", i+1, len(r.Spec.Waves), w.Name, strings.Join(holds, "; "))
	d.Wake = wake
	return d, true
}

// handOver decides whether wave i may take the release: the previous
// wave done, its soak over and its gates passed over the soak, and the
// wave's approval given.
func (p *fleetPlanner) handOver(i int) Decision {
	r, fs := p.r, p.fs
	w := r.Spec.Waves[i]
	var why []string
	var gates []GateResult
	if i > 0 {
		prev := r.Spec.Waves[i-1]
		start, known := soakStart(r, *fs, i-1)
		switch {
		case !known && prev.Soak.Duration > 0:
			return p.hold("the promotion of every target of wave "+prev.Name+" in the history", w.Name, nil,
				fmt.Sprintf("wave %s cannot start: when wave %s's targets were promoted is not in the history, so its soak of %s cannot be timed", w.Name, prev.Name, prev.Soak))
		case prev.Soak.Duration > 0 && p.now.Before(start.Add(prev.Soak.Duration)):
			end := start.Add(prev.Soak.Duration)
			d := p.hold("the soak of wave "+prev.Name+" to end at "+end.UTC().Format(time.RFC3339), w.Name, nil,
				fmt.Sprintf("wave %s soaks %s since its last promotion (%s left) before wave %s starts", prev.Name, prev.Soak, end.Sub(p.now).Round(time.Second), w.Name))
			d.Wake = end
			if len(prev.Gates) > 0 {
				pl := planner{r: r}
				j := pl.judge(prev.Gates, p.ev.Waves[prev.Name], ScopeSoak)
				if len(j.fails) > 0 {
					return p.soakFailed(i-1, j)
				}
				d.Gates = j.results
			}
			return d
		case prev.Soak.Duration > 0:
			why = append(why, fmt.Sprintf("wave %s soaked %s", prev.Name, prev.Soak))
		default:
			why = append(why, "wave "+prev.Name+" is promoted")
		}
		if len(prev.Gates) > 0 {
			pl := planner{r: r}
			j := pl.judge(prev.Gates, p.ev.Waves[prev.Name], ScopeSoak)
			if len(j.fails) > 0 {
				return p.soakFailed(i-1, j)
			}
			if len(j.waits) > 0 {
				d := p.hold("conclusive results of wave "+prev.Name+"'s gates over its soak", w.Name, nil, strings.Join(j.waits, "; "))
				d.Gates = j.results
				return d
			}
			gates = j.results
			why = append(why, "its gates passed over the soak: "+strings.Join(prev.Gates, ", "))
		}
	}
	var approved []Approval
	if a := w.Approval; a != nil {
		for _, ap := range fs.Approvals {
			if ap.Wave == w.Name && contains(ap.Groups, a.Group) {
				approved = append(approved, ap)
			}
		}
		need := max(a.Count, 1)
		if len(approved) < need {
			d := p.hold(fmt.Sprintf("%d approval(s) of wave %s from %s (Ramp-Approve: rollout=%s release=%s wave=%s)", need-len(approved), w.Name, a.Group, r.Name(), fs.Release, w.Name),
				w.Name, nil, fmt.Sprintf("wave %s needs %d approval(s) from group %s before it starts, has %d", w.Name, need, a.Group, len(approved)))
			d.Gates = gates
			return d
		}
		approved = approved[:need]
		why = append(why, "approved by "+principals(approved))
	}
	exc, held, closed := p.handOverHeld(i, gates)
	if closed {
		return held
	}
	if i == 0 {
		why = append([]string{"release " + fs.Release + " started by " + fs.StartAuthor}, why...)
	}
	if len(exc) > 0 {
		why = append(why, fmt.Sprintf("during freeze %s by exception of %s", exc[0].Freeze, principals(exc)))
		approved = append(approved, exc...)
	}
	d := Decision{Action: ActionStartWave, Release: fs.Release, SetRelease: fs.Release, Wave: w.Name, Targets: slices.Clone(w.Targets),
		Gates: gates, Approved: refs(approved),
		Reason: fmt.Sprintf("%s; wave %d/%d %s: release %s goes to %s", strings.Join(why, "; "), i+1, len(r.Spec.Waves), w.Name, fs.Release, strings.Join(w.Targets, ", "))}
	return d
}

// handOverHeld holds the hand-over to wave i as a step that raises
// exposure is held: outside a change window of the spec's schedule gates,
// during a freeze of the calendar (unless the release has an exception to
// it for the rollout: Ramp-Approve: rollout=… release=… freeze=…, whose
// approvals it returns), and while the calendar cannot be read.
func (p *fleetPlanner) handOverHeld(i int, gates []GateResult) (exc []Approval, d Decision, held bool) {
	w := p.r.Spec.Waves[i]
	var freezeApprovals []Approval
	for _, a := range p.fs.Approvals {
		if a.Freeze != "" {
			freezeApprovals = append(freezeApprovals, a)
		}
	}
	pl := &planner{r: p.r, s: &State{Rollout: p.r.Name(), Release: p.fs.Release, Approvals: freezeApprovals},
		ev: Evidence{Freeze: p.ev.Freeze, FreezeError: p.ev.FreezeError}, now: p.now}
	d, closed := pl.changeWindowClosed(gates)
	if !closed {
		exc, d, closed = pl.freeze(1, gates)
	}
	if !closed {
		return exc, Decision{}, false
	}
	d.Step, d.Steps, d.Weight = 0, 0, 0
	d.Wave = w.Name
	d.Reason = fmt.Sprintf("wave %d/%d %s cannot start: %s", i+1, len(p.r.Spec.Waves), w.Name, d.Reason)
	return nil, d, true
}

// soakFailed stops the waves when wave i's gates failed over its soak: its
// targets go back, the first of them in this decision.
func (p *fleetPlanner) soakFailed(i int, j judgement) Decision {
	w := p.r.Spec.Waves[i]
	why := fmt.Sprintf("wave %s failed its gates over the soak: %s; later waves stop", w.Name, strings.Join(j.fails, "; "))
	for _, t := range w.Targets {
		if d, ok := p.retreat(t, p.before(t), why); ok {
			d.Gates = j.results
			return d
		}
	}
	d := p.hold("a new release", w.Name, nil, why)
	d.Gates = j.results
	return d
}

func (p *fleetPlanner) hold(waitingFor, wave string, targets []string, reason string) Decision {
	return Decision{Release: p.fs.Release, Wave: wave, Targets: targets, Reason: reason, WaitingFor: waitingFor}
}

func (p *fleetPlanner) waveName(t string) string {
	if i := p.r.WaveOf(t); i >= 0 {
		return p.r.Spec.Waves[i].Name
	}
	return ""
}

func (p *fleetPlanner) waveNames() []string {
	var out []string
	for _, w := range p.r.Spec.Waves {
		out = append(out, w.Name)
	}
	return out
}

// progress ranks how far a target's release has come: its step, past the
// steps once promoted.
func progress(s State, steps int) int {
	if s.Phase == PhasePromoted {
		return steps + 1
	}
	return s.Step
}

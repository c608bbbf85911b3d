package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Base is the state a rollout is in before the first record a derive
// folds: the values its fields had at that point, with no history. A
// rollout whose release equals its stable version and whose canary has
// no traffic is Stable; otherwise an earlier release was in flight.
func Base(name, release, stable string, weight int) State {
	s := State{Rollout: name, Release: release, Stable: stable, Weight: weight, Phase: PhaseStable}
	if release != stable || weight != 0 {
		s.Phase = PhaseProgressing
	}
	return s
}

// Fold returns the state after one commit of the release branch. Records
// are folded oldest first; the same records always give the same state,
// so a restarted ramp derives exactly what it had.
func Fold(s State, r *Rollout, rec *Record) State {
	name := r.Name()
	ch := rec.Changes[name]
	isRamp := rec.Signer.In(RampGroup)
	var entries []Entry
	for _, e := range rec.Entries {
		if e.Rollout == name {
			entries = append(entries, e)
		}
	}
	if len(entries) > 0 && !isRamp {
		s.Rejected = append(s.Rejected, Rejection{Commit: rec.Commit, Author: rec.Author,
			Reason: "Ramp-* trailers in a commit not signed by ramp's key (" + signatureProblem(rec) + ")"})
		entries = nil
	}
	if len(entries) > 0 || mentions(rec, name) {
		s.Malformed = append(s.Malformed, rec.Malformed...)
	}

	if ch.Stable != nil && *ch.Stable != s.Stable {
		if !isRamp && s.InProgress() {
			s.Holds = append(s.Holds, Hold{Commit: rec.Commit, Reason: fmt.Sprintf(
				"commit %s by %s changed the stable field %s by hand", short(rec.Commit), rec.Author, r.Spec.Stable.File)})
		}
		s.Stable = *ch.Stable
	}
	started := false
	if ch.Release != nil && *ch.Release != s.Release {
		if isRamp && hasAction(entries, ActionRollback) {
			// ramp put the release field back to the stable version.
			s.Release = *ch.Release
			if s.Release == s.Stable {
				s.Phase = PhasePromoted
				if s.Weight == 0 {
					s = settle(s)
				}
			}
		} else {
			s = start(s, rec, *ch.Release)
			started = true
		}
	}
	if ch.Target && !isRamp && s.InProgress() && !started {
		s.Holds = append(s.Holds, Hold{Commit: rec.Commit, Reason: fmt.Sprintf(
			"commit %s by %s edited the traffic target %s without ramp's signature", short(rec.Commit), rec.Author, r.TargetFile())})
	}
	if ch.Spec && !isRamp && s.InProgress() && !started {
		s.Holds = append(s.Holds, Hold{Commit: rec.Commit, Reason: fmt.Sprintf(
			"commit %s by %s edited %s while release %s is in progress; a signed Ramp-Resume accepts the new spec",
			short(rec.Commit), rec.Author, r.Path, s.Release)})
	}
	for _, e := range entries {
		s = apply(s, rec, e)
	}
	for _, c := range rec.Commands {
		if c.Rollout == name {
			s = command(s, r, rec, c)
		}
	}
	return s
}

// start begins a new release at rec.
func start(s State, rec *Record, release string) State {
	if s.InProgress() && s.Weight > 0 && s.Release != s.Stable {
		s.Superseded = s.Release
	}
	prev := s
	s = State{Rollout: prev.Rollout, Release: release, Stable: prev.Stable, Weight: prev.Weight,
		Superseded: prev.Superseded, StartCommit: rec.Commit, StartAuthor: rec.Author, StartedAt: rec.Time}
	switch {
	case release != s.Stable:
		s.Phase = PhaseProgressing
	case s.Weight > 0:
		// Put back to the stable version by hand while traffic was split:
		// only the traffic has to return.
		s.Phase = PhasePromoted
	default:
		s = settle(s)
	}
	return s
}

// apply folds one of ramp's own entries.
func apply(s State, rec *Record, e Entry) State {
	if e.Release != s.Release {
		if e.Release == s.Superseded && (e.Action == ActionRollback || e.Action == ActionAbort) {
			s.Superseded = ""
			s.Weight = e.Weight
			s.LastCommit, s.LastAction = rec.Commit, e.Action
		}
		return s
	}
	s.Weight = e.Weight
	s.LastCommit, s.LastAction, s.LastReason = rec.Commit, e.Action, e.Reason
	switch e.Action {
	case ActionSetWeight, ActionPause, ActionAnalysis:
		s.Step, s.StepCommit, s.StepAt = e.Step, rec.Commit, rec.Time
		if s.Phase != PhasePaused {
			s.Phase = PhaseProgressing
		}
	case ActionPromote:
		s.Phase = PhasePromoted
		s.Stable = e.Release
		s.StepCommit, s.StepAt = rec.Commit, rec.Time
	case ActionComplete:
		s = settle(s)
	case ActionAbort:
		s.Phase = PhaseAborted
		s.AbortBy, s.PausedBy, s.Holds = nil, nil, nil
	case ActionRollback:
		if s.Release == s.Stable && s.Weight == 0 {
			s = settle(s)
		}
	}
	return s
}

// settle returns the state of a rollout with no release in flight: the
// same state a derive from scratch gives it, without history.
func settle(s State) State {
	return Base(s.Rollout, s.Release, s.Stable, s.Weight)
}

// command folds one command a person gave, accepting or rejecting it.
func command(s State, r *Rollout, rec *Record, c Command) State {
	reject := func(why string) State {
		cc := c
		s.Rejected = append(s.Rejected, Rejection{Commit: rec.Commit, Author: rec.Author, Command: &cc, Reason: why})
		return s
	}
	if rec.Signer == nil {
		return reject(signatureProblem(rec))
	}
	groups := slices.DeleteFunc(slices.Clone(rec.Signer.Groups), func(g string) bool { return g == RampGroup })
	if len(groups) == 0 {
		return reject(fmt.Sprintf("key %s is in no approver group", rec.Signer.Key))
	}
	if c.Release != s.Release {
		return reject(fmt.Sprintf("names release %s but the current release is %s", c.Release, s.Release))
	}
	if !s.InProgress() {
		return reject(fmt.Sprintf("release %s is not in progress (phase %s)", s.Release, s.Phase))
	}
	by := &Rejection{Commit: rec.Commit, Author: rec.Author, Command: &c}
	switch c.Kind {
	case CommandApprove:
		steps := r.Steps()
		if c.Step < 1 || c.Step > len(steps) {
			return reject(fmt.Sprintf("step %d does not exist (the rollout has %d steps)", c.Step, len(steps)))
		}
		st := steps[c.Step-1]
		switch {
		case st.Approval != nil:
			if !rec.Signer.In(st.Approval.Group) {
				return reject(fmt.Sprintf("key %s (%s) is not in group %s, which approves step %d",
					rec.Signer.Key, rec.Signer.Principal, st.Approval.Group, c.Step))
			}
		case st.Pause != nil && st.Pause.Duration.Duration == 0:
		default:
			return reject(fmt.Sprintf("step %d is not an approval step", c.Step))
		}
		if sameperson(s.StartAuthor, rec.Author, rec.Signer.Principal) {
			return reject(fmt.Sprintf("%s authored the start of release %s and cannot approve it", s.StartAuthor, s.Release))
		}
		for _, a := range s.Approvals {
			if a.Step == c.Step && a.Key == rec.Signer.Key {
				return s // the same key counts once
			}
		}
		s.Approvals = append(s.Approvals, Approval{Step: c.Step, Principal: rec.Signer.Principal,
			Key: rec.Signer.Key, Groups: groups, Commit: rec.Commit})
	case CommandAbort:
		s.AbortBy = by
	case CommandPause:
		s.PausedBy = by
		s.Phase = PhasePaused
	case CommandResume:
		s.PausedBy, s.Holds = nil, nil
		if s.Phase == PhasePaused {
			s.Phase = PhaseProgressing
		}
	default:
		return reject("unknown command " + string(c.Kind))
	}
	return s
}

// sameperson reports whether the author of a release's start commit is
// among the given identities (the approval commit's author and the
// signing key's principal), compared case-insensitively.
func sameperson(startAuthor string, identities ...string) bool {
	if startAuthor == "" {
		return false
	}
	for _, id := range identities {
		if strings.EqualFold(strings.TrimSpace(id), strings.TrimSpace(startAuthor)) {
			return true
		}
	}
	return false
}

func signatureProblem(rec *Record) string {
	if rec.SignatureError != "" {
		return rec.SignatureError
	}
	return "no trusted signature"
}

func hasAction(es []Entry, a Action) bool {
	for _, e := range es {
		if e.Action == a {
			return true
		}
	}
	return false
}

func mentions(rec *Record, name string) bool {
	for _, c := range rec.Commands {
		if c.Rollout == name {
			return true
		}
	}
	return false
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}

// TargetFile is the file holding the rollout's traffic weights.
func (r *Rollout) TargetFile() string {
	if r.Spec.Target.HTTPRoute != nil {
		return r.Spec.Target.HTTPRoute.File
	}
	if r.Spec.Target.Field != nil {
		return r.Spec.Target.Field.File
	}
	return ""
}

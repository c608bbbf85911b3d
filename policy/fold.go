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

// Fold returns the state after one commit of the release branch, with the
// guardrails' rules on who may give which command. Records are folded
// oldest first; the same records always give the same state, so a
// restarted ramp derives exactly what it had.
func Fold(s State, r *Rollout, rec *Record, g Guardrails) State {
	name := r.Name()
	ch := rec.Changes[name]
	before := s
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
		if isRamp && hasAction(entries, ActionPromote) {
			// The version a failed bake goes back to.
			s.PreviousStable = s.Stable
		}
		if !isRamp && s.InProgress() {
			s = hold(s, rec, fmt.Sprintf(
				"commit %s by %s changed the stable field %s by hand", short(rec.Commit), rec.Author, r.Spec.Stable.File))
		}
		s.Stable = *ch.Stable
	}
	started := false
	if ch.Release != nil && *ch.Release != s.Release {
		if isRamp && hasAction(entries, ActionRollback) {
			// ramp put the release field back to the stable version (after
			// a failed bake, with the traffic in the same commit).
			s.Release = *ch.Release
			for _, e := range entries {
				if e.Action == ActionRollback {
					s.Weight = e.Weight
					s.LastCommit, s.LastAction, s.LastReason = rec.Commit, e.Action, e.Reason
				}
			}
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
	if ch.Target && !isRamp && s.InProgress() {
		what := "edited the traffic target"
		if started {
			what = "started release " + s.Release + " and also edited the traffic target"
		}
		s = hold(s, rec, fmt.Sprintf(
			"commit %s by %s %s %s without ramp's signature", short(rec.Commit), rec.Author, what, r.TargetFile()))
	}
	if ch.Target && !isRamp && !s.InProgress() && !started {
		s = drift(s, r, rec, ch)
	}
	s = driftFields(before, s, r, rec, ch)
	if ch.Spec && !isRamp && s.InProgress() && !started {
		s = hold(s, rec, fmt.Sprintf(
			"commit %s by %s edited %s while release %s is in progress; a signed Ramp-Resume accepts the new spec",
			short(rec.Commit), rec.Author, r.Path, s.Release))
	}
	s = foldJobs(s, r, rec, isRamp, started)
	for _, e := range entries {
		s = apply(s, rec, e)
	}
	s = commands(s, r, rec, g)
	for _, m := range rec.Merged {
		s = commands(s, r, m, g)
	}
	return s
}

// Rollouts returns the name of every rollout rec concerns, once each:
// those it changes, has entries for, or gives commands to (its own or
// merged ones). Fold(s, r, rec, g) is s for any other rollout r, so a
// caller folding many records into many rollouts may fold each record
// into these only.
func (rec *Record) Rollouts() []string {
	var names []string
	add := func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for name := range rec.Changes {
		add(name)
	}
	for name := range rec.Jobs {
		add(name)
	}
	for _, e := range rec.Entries {
		add(e.Rollout)
	}
	for _, c := range rec.Commands {
		add(c.Rollout)
	}
	for _, m := range rec.Merged {
		for _, c := range m.Commands {
			add(c.Rollout)
		}
	}
	return names
}

// commands folds the commands of rec for r.
func commands(s State, r *Rollout, rec *Record, g Guardrails) State {
	for _, c := range rec.Commands {
		if c.Rollout == r.Name() {
			s = command(s, r, rec, c, g)
		}
	}
	return s
}

// start begins a new release at rec.
func start(s State, rec *Record, release string) State {
	if s.InProgress() && s.Weight > 0 && (s.Release != s.Stable || s.PreviousStable != "") {
		// A release in flight, or a promoted one baking: its traffic
		// returns to stable before the new release's first step.
		s.Superseded = s.Release
	}
	prev := s
	s = State{Rollout: prev.Rollout, Release: release, Stable: prev.Stable, Weight: prev.Weight,
		Superseded: prev.Superseded, StartCommit: rec.Commit, StartAuthor: rec.Author, StartedAt: rec.Time}
	s = keepDrift(s, prev)
	s.StartSigners, s.StartUnverified = startSigners(rec)
	s.Migration, s.MigrationPaths = rec.Migration, rec.MigrationPaths
	// Only what a derive from scratch also knows (Base): the same records
	// give the same state.
	switch {
	case prev.InProgress() && prev.Weight > 0:
		s.StartedInFlight = fmt.Sprintf("release %s still had %d%% of traffic (or a bake or rollback window open) when %s started", prev.Release, prev.Weight, release)
	case prev.InProgress():
		s.StartedInFlight = fmt.Sprintf("release %s was still in flight when %s started", prev.Release, release)
	}
	switch {
	case release != s.Stable:
		s.Phase = PhaseProgressing
	case s.Weight > 0:
		// Put back to the stable version by hand while traffic was split:
		// only the traffic has to return.
		s.Phase = PhasePromoted
	default:
		s = keepDrift(settle(s), prev)
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
	if e.Action == ActionCheckpoint {
		return checkpointed(s, rec, e)
	}
	s.Weight = e.Weight
	s.LastCommit, s.LastAction, s.LastReason = rec.Commit, e.Action, e.Reason
	if EntersStep(e.Action) {
		s.Step, s.StepCommit, s.StepAt = e.Step, rec.Commit, rec.Time
		if s.Phase != PhasePaused {
			s.Phase = PhaseProgressing
		}
	}
	switch e.Action {
	case ActionPromote:
		s.Phase = PhasePromoted
		s.Stable = e.Release
		s.StepCommit, s.StepAt = rec.Commit, rec.Time
	case ActionComplete:
		s = settle(s)
	case ActionAbort:
		s = anchor(s, rec, e)
	case ActionRollback:
		switch {
		case s.Release == s.Stable && s.Weight == 0:
			s = settle(s)
		case s.Release != s.Stable:
			// A failed bake put stable back and kept the release field.
			s = anchor(s, rec, e)
		}
	case ActionRestore:
		s = restored(s, rec)
	}
	return s
}

// anchor returns the state after ramp's commit rec ended release
// s.Release with entry e (an abort, or a rollback that kept the release
// field): Aborted, with only what the commit itself and the field values
// at it say. Nothing from before the commit is kept (the release's start,
// its steps' commits, its rejections), so a derive from scratch can start
// at this commit instead of walking back to the release's start; the
// same records always give the same state (Anchors).
func anchor(s State, rec *Record, e Entry) State {
	return State{Rollout: s.Rollout, Phase: PhaseAborted, Release: s.Release, Stable: s.Stable,
		Weight: e.Weight, Step: e.Step, LastCommit: rec.Commit, LastAction: e.Action, LastReason: e.Reason}
}

// Anchors reports whether folding rec for rollout name, whose release,
// stable and canary weight fields hold release, stable and weight at rec's
// commit, sets the state to one that does not depend on any earlier record
// (anchor): ramp's signed abort of that release, its rollback that kept the
// release field, or its checkpoint restating such a state (Checkpoint) of
// that release and weight. A derive from scratch starts such a rollout at
// its newest anchor, from the field values just before it (Base).
func Anchors(rec *Record, name, release, stable string, weight int) bool {
	if !rec.Signer.In(RampGroup) || rec.Changes[name].Release != nil {
		return false
	}
	for _, e := range rec.Entries {
		if e.Rollout != name || e.Release != release {
			continue
		}
		if e.Action == ActionAbort || e.Action == ActionRollback && release != stable {
			return true
		}
		if e.Action == ActionCheckpoint && checkpointFits(rec, e, release, weight) {
			return true
		}
	}
	return false
}

// drift folds a change of the traffic target that ramp did not make while
// no release is in flight: a weight other than the one ramp wrote holds
// the rollout until people resume over it (or ramp restores it); one that
// puts ramp's weight back ends the drift.
func drift(s State, r *Rollout, rec *Record, ch Change) State {
	switch {
	case ch.Weight == nil:
		return hold(s, rec, fmt.Sprintf("commit %s by %s edited the traffic target %s without ramp's signature, and its weight cannot be read",
			short(rec.Commit), rec.Author, r.TargetFile()))
	case *ch.Weight == s.Weight:
		if s.DriftWeight = nil; len(s.Drift) == 0 {
			s.Holds, s.Resumes = nil, nil
		}
		return s
	}
	w := *ch.Weight
	s.DriftWeight = &w
	return hold(s, rec, fmt.Sprintf("commit %s by %s set the canary weight in %s to %d%% without ramp's signature (ramp's weight is %d%%)",
		short(rec.Commit), rec.Author, r.TargetFile(), w, s.Weight))
}

// settle returns the state of a rollout with no release in flight: the
// same state a derive from scratch gives it, without history.
func settle(s State) State {
	return Base(s.Rollout, s.Release, s.Stable, s.Weight)
}

// hold adds a hold caused by rec; resumes given before it do not cover it.
func hold(s State, rec *Record, reason string) State {
	h := Hold{Commit: rec.Commit, Reason: reason}
	if rec.Signer != nil {
		h.By = rec.Signer.Principal
	}
	s.Holds = append(s.Holds, h)
	s.Resumes = nil
	return s
}

// command folds one command a person gave, accepting or rejecting it.
func command(s State, r *Rollout, rec *Record, c Command, g Guardrails) State {
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
	if !s.InProgress() && !(c.Kind == CommandResume && s.Drifted()) {
		return reject(fmt.Sprintf("release %s is not in progress (phase %s)", s.Release, s.Phase))
	}
	if why := foreign(s, rec, c); why != "" {
		return rejectForeign(s, rec, c, why)
	}
	by := &Rejection{Commit: rec.Commit, Author: rec.Author, Command: &c}
	switch c.Kind {
	case CommandApprove:
		if c.Freeze != "" {
			return freezeException(s, rec, c, groups, g, reject)
		}
		if c.Migration != "" {
			return migrationApproval(s, rec, c, groups, g, reject)
		}
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
			if why := g.Commands.Approve.refuses(rec.Signer); why != "" {
				return reject(why + ", which approves pause steps")
			}
		default:
			return reject(fmt.Sprintf("step %d is not an approval step", c.Step))
		}
		if samePrincipal(s.StartSigners, rec.Signer.Principal) {
			return reject(fmt.Sprintf("%s signed the start of release %s and cannot approve it", rec.Signer.Principal, s.Release))
		}
		for _, a := range s.Approvals {
			if a.Step == c.Step && (a.Key == rec.Signer.Key || samePrincipal([]string{a.Principal}, rec.Signer.Principal)) {
				return s // a person counts once, whatever keys they hold
			}
		}
		s.Approvals = append(s.Approvals, Approval{Step: c.Step, Principal: rec.Signer.Principal,
			Key: rec.Signer.Key, Groups: groups, Commit: rec.Commit})
	case CommandAbort:
		if why := g.Commands.Abort.refuses(rec.Signer); why != "" {
			return reject(why + ", which may abort")
		}
		s.AbortBy = by
	case CommandPause:
		if why := g.Commands.Pause.refuses(rec.Signer); why != "" {
			return reject(why + ", which may pause")
		}
		s.PausedBy = by
		s.Phase = PhasePaused
	case CommandResume:
		if why := (CommandRule{Groups: g.Commands.Resume.Groups}).refuses(rec.Signer); why != "" {
			return reject(why + ", which may resume")
		}
		if len(s.Holds) > 0 {
			var why string
			if s, why = resumeOverHolds(s, rec, c, g); why != "" {
				return reject(why)
			}
			if len(s.Holds) > 0 {
				return s // more people must resume
			}
			// The edit is accepted: what the files hold is ramp's.
			s = acceptDrift(s)
		}
		s.PausedBy = nil
		if s.Phase == PhasePaused {
			s.Phase = PhaseProgressing
		}
	default:
		return reject("unknown command " + string(c.Kind))
	}
	return s
}

// freezeException folds an approval that makes an exception to a freeze
// for the release, by a group the guardrails name (freeze.exceptionGroups).
func freezeException(s State, rec *Record, c Command, groups []string, g Guardrails, reject func(string) State) State {
	return grant(s, rec, Approval{Freeze: c.Freeze}, groups, g.Freeze.ExceptionGroups,
		"grant freeze exceptions", "freeze.exceptionGroups", reject)
}

// grant folds an approval that is not of a step (a freeze exception, an
// expand migration), filled in from rec: signed by a key of one of the
// allowed groups (none named in the guardrails' rule: nobody may), by someone who did not sign
// the release's start. A person counts once.
func grant(s State, rec *Record, a Approval, groups, allowed []string, what, rule string, reject func(string) State) State {
	if len(allowed) == 0 {
		return reject(fmt.Sprintf("no group may %s (guardrails %s names none)", what, rule))
	}
	if why := (CommandRule{Groups: allowed}).refuses(rec.Signer); why != "" {
		return reject(why + ", which may " + what)
	}
	if samePrincipal(s.StartSigners, rec.Signer.Principal) {
		return reject(fmt.Sprintf("%s signed the start of release %s and cannot %s for it", rec.Signer.Principal, s.Release, what))
	}
	for _, b := range s.Approvals {
		if b.Freeze == a.Freeze && b.Migration == a.Migration && b.Step == 0 && samePrincipal([]string{b.Principal}, rec.Signer.Principal) {
			return s
		}
	}
	a.Principal, a.Key, a.Groups, a.Commit = rec.Signer.Principal, rec.Signer.Key, groups, rec.Commit
	s.Approvals = append(s.Approvals, a)
	return s
}

// resumeOverHolds counts a resume over the current holds: by someone in a
// group other than the engineers', who signed none of the commits that
// caused them, with a reason when the rule asks for one. Once Count
// distinct people have resumed, the holds are cleared. It returns why a
// resume is refused, or "".
func resumeOverHolds(s State, rec *Record, c Command, g Guardrails) (State, string) {
	rule := g.Commands.Resume
	reviewer := slices.ContainsFunc(rec.Signer.Groups, func(gr string) bool {
		return gr != RampGroup && !slices.Contains(g.EngineerGroups, gr) && (len(rule.Groups) == 0 || slices.Contains(rule.Groups, gr))
	})
	if !reviewer {
		return s, fmt.Sprintf("key %s (%s) is only in engineer groups %s and cannot resume over a hold",
			rec.Signer.Key, rec.Signer.Principal, strings.Join(g.EngineerGroups, ", "))
	}
	for _, h := range s.Holds {
		if h.By != "" && samePrincipal([]string{h.By}, rec.Signer.Principal) {
			return s, fmt.Sprintf("%s signed commit %s that caused the hold and cannot resume over it", rec.Signer.Principal, short(h.Commit))
		}
	}
	if rule.RequireReason && strings.TrimSpace(c.Reason) == "" {
		return s, "resuming over a hold needs reason=\"…\" (why the edit is accepted)"
	}
	for _, a := range s.Resumes {
		if samePrincipal([]string{a.Principal}, rec.Signer.Principal) {
			return s, "" // a person counts once
		}
	}
	s.Resumes = append(s.Resumes, Approval{Principal: rec.Signer.Principal, Key: rec.Signer.Key, Groups: rec.Signer.Groups, Commit: rec.Commit})
	if len(s.Resumes) >= max(rule.Count, 1) {
		s.Holds, s.Resumes = nil, nil
	}
	return s, ""
}

// refuses says why signer may not give a command this rule governs, or "".
func (cr CommandRule) refuses(signer *Signer) string {
	if len(cr.Groups) == 0 || slices.ContainsFunc(cr.Groups, signer.In) {
		return ""
	}
	return fmt.Sprintf("key %s (%s) is in none of the groups %s", signer.Key, signer.Principal, strings.Join(cr.Groups, ", "))
}

// startSigners are the verified principals of a release's start commit
// and of the commits it merged in, and which of those commits are not
// signed by a trusted key.
func startSigners(rec *Record) (signers []string, unverified string) {
	var missing []string
	if rec.Signer != nil {
		signers = append(signers, rec.Signer.Principal)
	} else {
		missing = append(missing, fmt.Sprintf("start commit %s by %s (%s)", short(rec.Commit), rec.Author, signatureProblem(rec)))
	}
	for _, p := range rec.MergedSigners {
		if !slices.Contains(signers, p) {
			signers = append(signers, p)
		}
	}
	missing = append(missing, rec.MergedUnverified...)
	if len(missing) > 0 {
		unverified = "not signed by a trusted key: " + strings.Join(missing, "; ")
	}
	return signers, unverified
}

// samePrincipal reports whether p is among principals, compared
// case-insensitively.
func samePrincipal(principals []string, p string) bool {
	for _, q := range principals {
		if strings.EqualFold(strings.TrimSpace(q), strings.TrimSpace(p)) {
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

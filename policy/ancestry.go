package policy

import (
	"fmt"
	"strings"
)

// Ancestry is what the shell established about where the commit of a
// record that is not on the release branch's first-parent history lies:
// a commit a merge brought in (Record.Merged) or one on the commands ref.
// A command counts only in this repository's history: its commit must
// descend from the commit that started the release on the release branch,
// and a step approval's from ramp's commit that entered the step
// (CommandBases). A record without Ancestry is on the first-parent history
// after every record folded before it, so it descends from each of them.
type Ancestry struct {
	// Descends holds, for commits of the release branch (by hash), whether
	// the record's commit descends from (or is) that commit. A commit not
	// in it is unknown, and a command that needs it is rejected.
	Descends map[string]bool
	// Unknown says why an ancestry could not be established (a walk's
	// bound, a missing object), when the shell knows.
	Unknown string
}

// CommandBases are the commits of the release branch a command for a
// rollout in state s must descend from to count: the release's start,
// ramp's commit that entered the step in progress, and the commit of the
// newest hold (a resume over a drift names no release in flight). The
// shell establishes the ancestry of off-line records against these
// (Ancestry) before Fold.
func CommandBases(s State) []string {
	var out []string
	for _, h := range []string{s.StartCommit, s.StepCommit} {
		if h != "" {
			out = append(out, h)
		}
	}
	if n := len(s.Holds); n > 0 && s.Holds[n-1].Commit != "" {
		out = append(out, s.Holds[n-1].Commit)
	}
	return out
}

// FleetCommandBases are CommandBases for a rollout with targets: the
// commit that changed spec.release, and each target's.
func FleetCommandBases(fs FleetState) []string {
	var out []string
	if fs.StartCommit != "" {
		out = append(out, fs.StartCommit)
	}
	for _, s := range fs.Targets {
		out = append(out, CommandBases(s)...)
	}
	return out
}

// OffLine reports whether rec is not on the release branch's first-parent
// history: its commands count only where its Ancestry shows it descends
// from the commits they must.
func (rec *Record) OffLine() bool { return rec.Ancestry != nil }

// descends reports whether rec's commit is shown to descend from commit
// of the release branch, and when not, why: "" when it does. A record on
// the first-parent history descends from every commit folded before it.
func (rec *Record) descends(commit string) (bool, string) {
	if rec.Ancestry == nil {
		return true, ""
	}
	if commit == "" {
		return false, "the commit it must descend from is not in the history ramp read"
	}
	known, ok := rec.Ancestry.Descends[commit]
	switch {
	case ok && known:
		return true, ""
	case ok:
		return false, ""
	case rec.Ancestry.Unknown != "":
		return false, "its ancestry could not be established: " + rec.Ancestry.Unknown
	default:
		return false, "its ancestry was not established"
	}
}

// foreign says why command c of rec does not count for a rollout in state
// s because rec's commit does not descend from the commit it must (the
// release's start; for a step approval, ramp's commit that entered the
// step; for a resume over a drift, the commit that caused the hold), or
// "". The rejection it makes is a finding of the audit.
func foreign(s State, rec *Record, c Command) string {
	if !rec.OffLine() {
		return ""
	}
	what := fmt.Sprintf("%s commit %s", c.Kind, short(rec.Commit))
	if !s.InProgress() {
		// A resume over a drift: no release in flight.
		h := ""
		if n := len(s.Holds); n > 0 {
			h = s.Holds[n-1].Commit
		}
		return notBelow(rec, h, fmt.Sprintf("%s does not descend from commit %s that caused the hold", what, short(h)), inThisRepository)
	}
	if why := notBelow(rec, s.StartCommit, fmt.Sprintf("%s does not descend from the start of release %s (%s) on the release branch",
		what, s.Release, short(s.StartCommit)), inThisRepository); why != "" {
		return why
	}
	if c.Kind != CommandApprove || c.Freeze != "" || c.Migration != "" || c.Wave != "" {
		return ""
	}
	if c.Step != s.Step || s.StepCommit == "" {
		return fmt.Sprintf("%s approves step %d, which is not the step in progress of release %s (step %d): "+
			"an approval off the release branch counts only for the step in progress, from a commit that descends from ramp's commit that entered it",
			what, c.Step, s.Release, s.Step)
	}
	return notBelow(rec, s.StepCommit, fmt.Sprintf("%s does not descend from ramp's commit %s that entered step %d of release %s",
		what, short(s.StepCommit), s.Step, s.Release), "a step approval counts only from a commit made after the step was entered")
}

// fleetForeign is foreign for a command for a whole rollout with targets
// (a wave's approval, an abort): it must descend from the commit that
// changed spec.release.
func fleetForeign(fs FleetState, rec *Record, c Command) string {
	if !rec.OffLine() {
		return ""
	}
	return notBelow(rec, fs.StartCommit, fmt.Sprintf("%s commit %s does not descend from the start of release %s (%s) on the release branch",
		c.Kind, short(rec.Commit), fs.Release, short(fs.StartCommit)), inThisRepository)
}

// inThisRepository is the rule a command off the release branch breaks
// when its commit does not descend from the release's start.
const inThisRepository = "a command counts only in this repository's history"

// notBelow returns "" when rec descends from commit, else the rejection
// reason: what, why the ancestry is not known (if so), and the rule.
func notBelow(rec *Record, commit, what, rule string) string {
	ok, why := rec.descends(commit)
	if ok {
		return ""
	}
	if why != "" {
		what = strings.Replace(what, "does not descend", "is not shown to descend", 1) + " (" + why + ")"
	}
	return what + ": " + rule
}

// foreignRejection is the rejection of command c of rec for the reason
// foreign gave: a finding of the audit.
func foreignRejection(rec *Record, c Command, why string) Rejection {
	return Rejection{Commit: rec.Commit, Author: rec.Author, Command: &c, Reason: why, Foreign: true}
}

// rejectForeign returns s with command c of rec rejected for the reason
// foreign gave.
func rejectForeign(s State, rec *Record, c Command, why string) State {
	s.Rejected = append(s.Rejected, foreignRejection(rec, c, why))
	return s
}

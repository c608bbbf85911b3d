package policy

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// FleetState is the state of a rollout with targets, derived from git
// alone: the release spec.release holds, how far it came through the
// waves, and each target's own state (folded by Fold as a rollout of its
// own, ForTarget).
type FleetState struct {
	Rollout string `json:"rollout"`
	// Release is spec.release's value: the release the waves carry.
	Release string `json:"release"`
	// StartCommit is where spec.release last changed; StartAuthor,
	// StartSigners and StartUnverified are of that commit (and the
	// commits it merged in) and count for every target: who started a
	// release approves no step of it in any target.
	StartCommit     string    `json:"startCommit,omitempty"`
	StartAuthor     string    `json:"startAuthor,omitempty"`
	StartedAt       time.Time `json:"startedAt,omitzero"`
	StartSigners    []string  `json:"startSigners,omitempty"`
	StartUnverified string    `json:"startUnverified,omitempty"`
	// Started are the waves ramp handed Release to, in order.
	Started []string `json:"started,omitempty"`
	// Before is, per target handed Release, the stable version it ran
	// until then: what a rollback of the target returns it to.
	Before map[string]string `json:"before,omitempty"`
	// Promoted is when ramp promoted Release on each target; a wave's
	// soak runs from the last promotion of its targets.
	Promoted map[string]time.Time `json:"promoted,omitempty"`
	// Failed is the first failure of Release in a target it was handed
	// to: the waves stop (spec.onFailure).
	Failed *WaveFailure `json:"failed,omitempty"`
	// AbortBy is a person's accepted Ramp-Abort of the rollout: every
	// wave stops.
	AbortBy *Rejection `json:"abortBy,omitempty"`
	// Approvals are accepted approvals of waves (Approval.Wave).
	Approvals []Approval  `json:"approvals,omitempty"`
	Rejected  []Rejection `json:"rejected,omitempty"`
	// Targets are the targets' own states, by target name.
	Targets map[string]State `json:"targets"`
}

// WaveFailure is the failure of a release in one target.
type WaveFailure struct {
	Wave   string `json:"wave"`
	Target string `json:"target"`
	Reason string `json:"reason"`
	Commit string `json:"commit"`
}

// FleetBase is the state of rollout r before the first record a derive
// folds: spec.release holds release and each target is in the state
// given (Base of its own fields); targets missing get Base("", "", 0).
// When every target already runs release, every wave counts as started.
func FleetBase(r *Rollout, release string, targets map[string]State) FleetState {
	fs := FleetState{Rollout: r.Name(), Release: release, Targets: map[string]State{}, Before: map[string]string{}, Promoted: map[string]time.Time{}}
	for _, t := range r.Spec.Targets {
		s, ok := targets[t.Name]
		if !ok {
			s = Base(TargetRollout(r.Name(), t.Name), "", "", 0)
		}
		fs.Targets[t.Name] = s
	}
	return fs
}

// HasWave reports whether ramp handed the release to wave (or every
// target of the wave already runs it).
func (fs *FleetState) HasWave(r *Rollout, wave int) bool {
	w := r.Spec.Waves[wave]
	if slices.Contains(fs.Started, w.Name) {
		return true
	}
	for _, t := range w.Targets {
		s := fs.Targets[t]
		if s.Release != fs.Release || s.Stable != fs.Release {
			return false
		}
	}
	return true
}

// handed reports whether target was handed the current release.
func (fs *FleetState) handed(r *Rollout, target string) bool {
	i := r.WaveOf(target)
	return i >= 0 && slices.Contains(fs.Started, r.Spec.Waves[i].Name)
}

// FoldFleet returns the state of rollout r (with targets) after one commit
// of the release branch: spec.release changing starts a release; ramp's
// start-wave entries hand it to a wave; each target's state is folded
// by Fold; a target's promote, abort or rollback of the release is noted
// for the soak and the waves' failure; people's commands for the whole
// rollout (a wave's approval, an abort) are judged here.
func FoldFleet(fs FleetState, r *Rollout, rec *Record, g Guardrails) FleetState {
	name := r.Name()
	isRamp := rec.Signer.In(RampGroup)
	fs.Targets = maps.Clone(fs.Targets)
	if fs.Targets == nil {
		fs.Targets = map[string]State{}
	}
	if ch := rec.Changes[name]; ch.Release != nil && *ch.Release != fs.Release {
		fs = FleetState{Rollout: name, Release: *ch.Release, Targets: fs.Targets,
			StartCommit: rec.Commit, StartAuthor: rec.Author, StartedAt: rec.Time}
		fs.StartSigners, fs.StartUnverified = startSigners(rec)
	}
	fs.Before, fs.Promoted = maps.Clone(fs.Before), maps.Clone(fs.Promoted)
	if fs.Before == nil {
		fs.Before = map[string]string{}
	}
	if fs.Promoted == nil {
		fs.Promoted = map[string]time.Time{}
	}
	handedNow := map[string]bool{}
	for _, e := range rec.Entries {
		if e.Rollout != name {
			continue
		}
		if !isRamp {
			fs.Rejected = append(fs.Rejected, Rejection{Commit: rec.Commit, Author: rec.Author,
				Reason: "Ramp-* trailers in a commit not signed by ramp's key (" + signatureProblem(rec) + ")"})
			break
		}
		if e.Action == ActionStartWave && e.Release == fs.Release && !slices.Contains(fs.Started, e.Wave) {
			fs.Started = append(fs.Started, e.Wave)
			for _, t := range e.Targets {
				handedNow[t] = true
			}
		}
	}
	for _, t := range r.Spec.Targets {
		sub := r.ForTarget(t.Name)
		prev := fs.Targets[t.Name]
		if prev.Rollout == "" {
			prev = Base(sub.Name(), "", "", 0)
		}
		s := Fold(prev, sub, rec, g)
		if handedNow[t.Name] {
			fs.Before[t.Name] = prev.Stable
			if s.StartCommit == rec.Commit {
				// The release started with the commit that changed
				// spec.release, not with ramp's hand-over.
				s.StartAuthor, s.StartSigners, s.StartUnverified = fs.StartAuthor, fs.StartSigners, fs.StartUnverified
			}
		}
		if isRamp && fs.handed(r, t.Name) {
			for _, e := range rec.Entries {
				if e.Rollout != sub.Name() || e.Release != fs.Release {
					continue
				}
				switch e.Action {
				case ActionPromote:
					fs.Promoted[t.Name] = rec.Time
				case ActionAbort, ActionRollback:
					if fs.Failed == nil {
						fs.Failed = &WaveFailure{Wave: r.Spec.Waves[r.WaveOf(t.Name)].Name, Target: t.Name, Reason: e.Reason, Commit: rec.Commit}
					}
				}
			}
		}
		fs.Targets[t.Name] = s
	}
	for _, recs := range append([]*Record{rec}, rec.Merged...) {
		for _, c := range recs.Commands {
			if c.Rollout == name {
				fs = fleetCommand(fs, r, recs, c, g)
			}
		}
	}
	return fs
}

// fleetCommand folds a command for the whole rollout: the approval of a
// wave, or an abort of every wave.
func fleetCommand(fs FleetState, r *Rollout, rec *Record, c Command, g Guardrails) FleetState {
	reject := func(why string) FleetState {
		cc := c
		fs.Rejected = append(fs.Rejected, Rejection{Commit: rec.Commit, Author: rec.Author, Command: &cc, Reason: why})
		return fs
	}
	if rec.Signer == nil {
		return reject(signatureProblem(rec))
	}
	groups := slices.DeleteFunc(slices.Clone(rec.Signer.Groups), func(g string) bool { return g == RampGroup })
	if len(groups) == 0 {
		return reject(fmt.Sprintf("key %s is in no approver group", rec.Signer.Key))
	}
	if c.Release != fs.Release {
		return reject(fmt.Sprintf("names release %s but the current release is %s", c.Release, fs.Release))
	}
	if why := fleetForeign(fs, rec, c); why != "" {
		fs.Rejected = append(fs.Rejected, foreignRejection(rec, c, why))
		return fs
	}
	switch c.Kind {
	case CommandApprove:
		if c.Freeze != "" && c.Wave == "" {
			// An exception to a freeze for the hand-overs of the release.
			var why string
			tmp := State{Release: fs.Release, StartSigners: fs.StartSigners, Approvals: fs.Approvals}
			tmp = freezeException(tmp, rec, c, groups, g, func(w string) State { why = w; return tmp })
			if why != "" {
				return reject(why)
			}
			fs.Approvals = tmp.Approvals
			return fs
		}
		if c.Wave == "" {
			return reject(fmt.Sprintf("rollout %s has targets: approve a step of one target (target=), a wave (wave=) or a freeze exception (freeze=)", r.Name()))
		}
		i := slices.IndexFunc(r.Spec.Waves, func(w Wave) bool { return w.Name == c.Wave })
		if i < 0 {
			return reject(fmt.Sprintf("wave %s does not exist", c.Wave))
		}
		a := r.Spec.Waves[i].Approval
		if a == nil {
			return reject(fmt.Sprintf("wave %s needs no approval", c.Wave))
		}
		if !rec.Signer.In(a.Group) {
			return reject(fmt.Sprintf("key %s (%s) is not in group %s, which approves wave %s", rec.Signer.Key, rec.Signer.Principal, a.Group, c.Wave))
		}
		if samePrincipal(fs.StartSigners, rec.Signer.Principal) {
			return reject(fmt.Sprintf("%s signed the start of release %s and cannot approve it", rec.Signer.Principal, fs.Release))
		}
		for _, b := range fs.Approvals {
			if b.Wave == c.Wave && samePrincipal([]string{b.Principal}, rec.Signer.Principal) {
				return fs // a person counts once
			}
		}
		fs.Approvals = append(fs.Approvals, Approval{Wave: c.Wave, Principal: rec.Signer.Principal, Key: rec.Signer.Key, Groups: groups, Commit: rec.Commit})
	case CommandAbort:
		if why := g.Commands.Abort.refuses(rec.Signer); why != "" {
			return reject(why + ", which may abort")
		}
		if fs.AbortBy == nil {
			fs.AbortBy = &Rejection{Commit: rec.Commit, Author: rec.Author, Command: &c}
		}
	default:
		return reject(fmt.Sprintf("%s of rollout %s with targets: give it for one target (target=)", c.Kind, r.Name()))
	}
	return fs
}

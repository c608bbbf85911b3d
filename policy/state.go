package policy

import "time"

// Phase is where a rollout stands.
type Phase string

const (
	// PhaseStable: no release in progress; stable and release agree and
	// the canary has no traffic.
	PhaseStable Phase = "Stable"
	// PhaseProgressing: a release is being exposed step by step.
	PhaseProgressing Phase = "Progressing"
	// PhasePaused: a person paused the release.
	PhasePaused Phase = "Paused"
	// PhaseAborted: traffic went back to stable; the release field still
	// names the aborted version until a new release or a revert.
	PhaseAborted Phase = "Aborted"
	// PhasePromoted: stable runs the release; traffic still has to return
	// to stable (the complete step).
	PhasePromoted Phase = "Promoted"
)

// Action is what a ramp commit did, as written in the Ramp-Action trailer.
type Action string

const (
	ActionNone      Action = ""
	ActionSetWeight Action = "set-weight"
	ActionPause     Action = "pause" // entering a pause or approval step
	ActionAnalysis  Action = "analysis"
	ActionPromote   Action = "promote"
	ActionComplete  Action = "complete"
	ActionAbort     Action = "abort"
	ActionRollback  Action = "rollback"
	// ActionRestore puts back the weight ramp last wrote after a change
	// ramp did not make (spec.onDrift: restore).
	ActionRestore Action = "restore"
	// ActionSetHeaderRoute and ActionSetMirrorRoute enter a cohort or a
	// mirror step.
	ActionSetHeaderRoute Action = "set-header-route"
	ActionSetMirrorRoute Action = "set-mirror-route"
	// ActionStartWave hands a rollout's release to the targets of a
	// wave: it writes the release into each target's release field.
	ActionStartWave Action = "start-wave"
	// ActionCheckpoint restates, at the tip, an aborted state whose abort
	// lies deep in history (Checkpoint): a derive from scratch starts
	// there instead of walking down to the abort. It changes no file.
	ActionCheckpoint Action = "checkpoint"
)

// EntersStep reports whether a commit with action a enters a step.
func EntersStep(a Action) bool {
	switch a {
	case ActionSetWeight, ActionPause, ActionAnalysis, ActionSetHeaderRoute, ActionSetMirrorRoute:
		return true
	}
	return false
}

// CommandKind is a command a person gives in a signed commit's trailers.
type CommandKind string

const (
	CommandApprove CommandKind = "Ramp-Approve"
	CommandAbort   CommandKind = "Ramp-Abort"
	CommandPause   CommandKind = "Ramp-Pause"
	CommandResume  CommandKind = "Ramp-Resume"
)

// Command is one command trailer: Ramp-Approve: rollout=x release=y step=4.
type Command struct {
	Kind    CommandKind `json:"kind"`
	Rollout string      `json:"rollout"`
	Release string      `json:"release"`
	Step    int         `json:"step,omitempty"` // 1-based, approvals only
	Reason  string      `json:"reason,omitempty"`
	// Freeze names the freeze an approval makes an exception to, and
	// Migration the migration it approves (expand), instead of a step.
	Freeze    string `json:"freeze,omitempty"`
	Migration string `json:"migration,omitempty"`
	// Wave names the wave an approval lets start (waves[].approval).
	Wave string `json:"wave,omitempty"`
}

// Signer is who signed a commit, as established by signature verification.
type Signer struct {
	// Principal is the allowed-signers principal or the OpenPGP user id.
	Principal string `json:"principal"`
	// Key is the key's fingerprint (SHA256:… for SSH, hex for OpenPGP).
	Key string `json:"key"`
	// Groups are the approver groups holding the key; "ramp" means the
	// operator's own key.
	Groups []string `json:"groups"`
}

// RampGroup is the key group of ramp's own commits.
const RampGroup = "ramp"

// In reports whether the signer's key belongs to group.
func (s *Signer) In(group string) bool {
	if s == nil {
		return false
	}
	for _, g := range s.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// Entry is what one ramp commit records for one rollout (its trailers).
type Entry struct {
	Rollout  string        `json:"rollout"`
	Release  string        `json:"release"`
	Step     int           `json:"step"` // 1-based step entered; 0 for none
	Steps    int           `json:"steps"`
	Action   Action        `json:"action"`
	Weight   int           `json:"weight"`
	Reason   string        `json:"reason,omitempty"`
	Gates    []GateResult  `json:"gates,omitempty"`
	Approved []ApprovalRef `json:"approved,omitempty"`
	ChangeID string        `json:"changeId,omitempty"`
	// Shadow is the mirror a set-mirror-route commit set and the spec's
	// shadow declaration (Ramp-Shadow).
	Shadow *ShadowRecord `json:"shadow,omitempty"`
	// Wave is the wave of a rollout with targets the commit is part of
	// (Ramp-Wave); Targets are the targets a start-wave commit hands the
	// release to (one Ramp-Target each). The entry of one target's step
	// has Rollout rollout/target (TargetRollout) and one Ramp-Target.
	Wave    string   `json:"wave,omitempty"`
	Targets []string `json:"targets,omitempty"`
	// Migrate are the migration Jobs the commit released (Ramp-Migrate).
	Migrate []MigrateRef `json:"migrate,omitempty"`
	// Anchor is the commit a checkpoint entry restates (Ramp-Anchor):
	// ramp's abort, or its rollback that kept the release field.
	Anchor *AnchorRef `json:"anchor,omitempty"`
}

// AnchorRef names the commit that anchored an aborted state, and the
// action it carried (abort, or rollback after a failed bake).
type AnchorRef struct {
	Commit string `json:"commit"`
	Action Action `json:"action"`
}

// ApprovalRef is an approval a step commit accepted (Ramp-Approved-By).
type ApprovalRef struct {
	Principal string `json:"principal"`
	Key       string `json:"key"`
	Commit    string `json:"commit"`
}

// Change is what a commit changed in the files one rollout manages,
// relative to its first parent.
type Change struct {
	// Release is the release field's new value when it changed.
	Release *string
	// Stable is the stable field's new value when it changed.
	Stable *string
	// Target is set when the traffic target file changed.
	Target bool
	// Spec is set when releases/<name>/rollout.yaml changed.
	Spec bool
	// Weight is the canary weight in the target file when Target is set
	// and it can be read.
	Weight *int
	// Fields are the other managed fields the commit changed, with their
	// old and new values (drift.go); nil when none.
	Fields *FieldChanges
}

// Record is one commit of the release branch, read by the shell and
// folded into rollout states by Fold.
type Record struct {
	Commit string
	Author string // author e-mail
	Time   time.Time
	// Signer is nil when the commit is unsigned or its signature did not
	// verify against any trusted key; SignatureError then says why.
	Signer         *Signer
	SignatureError string
	// For a merge that starts a release: the principals who signed the
	// commits it brings in, and those commits that did not verify.
	MergedSigners    []string
	MergedUnverified []string
	// Migration is what the commit's Ramp-Migration trailer declares,
	// and MigrationPaths the guardrails' migration paths it changes (for
	// a commit that starts a release).
	Migration      string
	MigrationPaths []string
	// Jobs are, per rollout, what the commit did to its migration Jobs
	// (spec.migrations): each Job file it changed, and for a commit that
	// starts the rollout's release, every Job file (migration_jobs.go).
	Jobs map[string][]JobFact
	// Merged are the records of the commits a merge brought in that give
	// commands (an approval made in a pull request), oldest first. Their
	// commands count as if given right after the merge.
	Merged []*Record
	// Ancestry is set on a record off the release branch's first-parent
	// history (merged in, or on the commands ref): its commands count only
	// where it descends from the commits they must (ancestry.go).
	Ancestry *Ancestry
	// Entries are the Ramp-* entries of the commit, when it has any.
	Entries []Entry
	// Commands are the command trailers of the commit.
	Commands []Command
	// Malformed lists trailer errors ("Ramp-Step: x: not N/M").
	Malformed []string
	// Changes are per rollout name.
	Changes map[string]Change
}

// Rejection is a command or commit that was not accepted, with why.
type Rejection struct {
	Commit  string   `json:"commit"`
	Author  string   `json:"author"`
	Command *Command `json:"command,omitempty"`
	Reason  string   `json:"reason"`
	// Foreign is set for a command whose commit does not descend from the
	// commit it must (ancestry.go): an audit finding.
	Foreign bool `json:"foreign,omitempty"`
}

// Approval is an accepted approval of one step of one release.
type Approval struct {
	Step int `json:"step"` // 1-based; 0 for a freeze exception
	// Freeze is the freeze an exception approval is for; Migration the
	// migration an approval is of.
	Freeze    string   `json:"freeze,omitempty"`
	Migration string   `json:"migration,omitempty"`
	Principal string   `json:"principal"`
	Key       string   `json:"key"`
	Groups    []string `json:"groups"`
	Commit    string   `json:"commit"`
	// Wave is the wave an approval lets start (waves[].approval).
	Wave string `json:"wave,omitempty"`
}

// State is a rollout's state, derived from git history alone.
type State struct {
	Rollout string `json:"rollout"`
	Phase   Phase  `json:"phase"`
	// Release is the release field's value; Stable the stable field's.
	Release string `json:"release"`
	Stable  string `json:"stable"`
	// Step is the 1-based step ramp last entered; 0 before the first.
	Step int `json:"step"`
	// Weight is the canary weight ramp last wrote.
	Weight int `json:"weight"`
	// DriftWeight is the canary weight in the target file when a commit
	// ramp did not make changed it while no release was in flight.
	DriftWeight *int `json:"driftWeight,omitempty"`
	// Drift are the other managed fields changed outside ramp's decisions
	// while no release was in flight (drift.go).
	Drift []FieldDrift `json:"drift,omitempty"`

	StartCommit string    `json:"startCommit,omitempty"`
	StartAuthor string    `json:"startAuthor,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitempty"`
	// StartSigners are the verified principals who signed the start
	// commit and the commits it merged in: none of them may approve the
	// release. StartUnverified says which of those commits are not signed
	// by a trusted key, so that separation of duties cannot be verified.
	StartSigners    []string `json:"startSigners,omitempty"`
	StartUnverified string   `json:"startUnverified,omitempty"`
	// Migration is what the start commit declares of its migrations
	// (Ramp-Migration), MigrationPaths the migration paths it changes,
	// and StartedInFlight why another release was still in flight when
	// it started (an older version serving traffic, a bake or rollback
	// window open): a contract migration is refused then.
	Migration       string   `json:"migration,omitempty"`
	MigrationPaths  []string `json:"migrationPaths,omitempty"`
	StartedInFlight string   `json:"startedInFlight,omitempty"`
	// MigrationJobs are the migration Jobs the release ships: those of
	// spec.migrations committed suspended at its start. ramp's step-1
	// commit releases them.
	MigrationJobs []string `json:"migrationJobs,omitempty"`
	// StepCommit is ramp's commit that entered Step, and StepAt its time.
	StepCommit string    `json:"stepCommit,omitempty"`
	StepAt     time.Time `json:"stepAt,omitempty"`
	// LastCommit is ramp's last commit for this rollout.
	LastCommit string `json:"lastCommit,omitempty"`
	LastAction Action `json:"lastAction,omitempty"`
	// LastReason is the reason ramp gave in its last commit, if any.
	LastReason string `json:"lastReason,omitempty"`

	// PreviousStable is the stable version ramp's promote replaced, while
	// the promoted release bakes: a failed bake puts it back.
	PreviousStable string `json:"previousStable,omitempty"`

	// Superseded is the release an in-progress release replaced while it
	// still had traffic; ramp returns its traffic first.
	Superseded string `json:"superseded,omitempty"`

	Approvals []Approval `json:"approvals,omitempty"`
	PausedBy  *Rejection `json:"pausedBy,omitempty"` // who paused (Reason empty)
	// AbortBy is a person's accepted abort that ramp has not yet carried out.
	AbortBy *Rejection `json:"abortBy,omitempty"`
	// Holds are reasons ramp must not move on: hand edits of managed
	// files, a spec edited mid-release. A signed Ramp-Resume clears them.
	Holds []Hold `json:"holds,omitempty"`
	// Resumes are the accepted resumes over the current holds so far, one
	// per person, until there are enough to clear them.
	Resumes  []Approval  `json:"resumes,omitempty"`
	Rejected []Rejection `json:"rejected,omitempty"`
	// Malformed lists unreadable ramp trailers (not from ramp's key they
	// are rejected instead).
	Malformed []string `json:"malformed,omitempty"`
}

// Hold is a reason found in history to stop until people resume.
type Hold struct {
	Commit string `json:"commit"`
	Reason string `json:"reason"`
	// By is who signed the commit that caused the hold, if anyone did:
	// they cannot resume over it.
	By string `json:"by,omitempty"`
}

// LiveWeight is the canary weight the target file holds as far as history
// tells: the drifted weight when someone else changed it, else ramp's.
func (s *State) LiveWeight() int {
	if s.DriftWeight != nil {
		return *s.DriftWeight
	}
	return s.Weight
}

// InProgress reports whether a release is being exposed.
func (s *State) InProgress() bool {
	return s.Phase == PhaseProgressing || s.Phase == PhasePaused || s.Phase == PhasePromoted
}

package policy

import "time"

// Verdict is a gate's judgement.
type Verdict string

const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
)

// GateResult is the evidence of one gate over one window, as recorded in a
// Ramp-Gate trailer.
type GateResult struct {
	Name        string   `json:"name"`
	Verdict     Verdict  `json:"verdict"`
	Value       float64  `json:"value"`
	HasValue    bool     `json:"hasValue"`
	Bound       string   `json:"bound,omitempty"`    // e.g. ">=0.995", "<=1.2x stable"
	Baseline    float64  `json:"baseline,omitempty"` // the stable version's value, when compared
	HasBaseline bool     `json:"hasBaseline,omitempty"`
	Samples     float64  `json:"samples,omitempty"`
	Window      Duration `json:"window,omitempty"`
	Query       string   `json:"query,omitempty"` // stable hash of the query text (q-xxxxxxxx)
	Severity    string   `json:"severity,omitempty"`
	// Failures and Inconclusives count measurements over the window.
	Failures      int    `json:"failures,omitempty"`
	Inconclusives int    `json:"inconclusives,omitempty"`
	Reason        string `json:"reason,omitempty"`
	// Scope says where the gate was judged: "" for an analysis step,
	// ScopeBackground, ScopeBake or ScopePreflight.
	Scope string `json:"scope,omitempty"`
}

// Scopes of a gate result besides an analysis step's.
const (
	// ScopeBackground: a background gate, judged at every step.
	ScopeBackground = "background"
	// ScopeBake: a bake gate, judged once the release took all traffic.
	ScopeBake = "bake"
)

// Evidence is what the shell gathered for the current step.
type Evidence struct {
	// Gates holds results of the current analysis step's gates (or the
	// bake's), by name. A gate missing here is inconclusive.
	Gates map[string]GateResult
	// Background holds results of the background gates, by name, while
	// NeedsBackground names any. A gate missing here is inconclusive.
	Background map[string]GateResult
	// Preflight holds results of the preflight gates, by name, while
	// NeedsPreflight names any. A gate missing here is inconclusive.
	Preflight map[string]GateResult
	// Applied is when the step's commit was seen applied by every Flux
	// Kustomization (the analysis window starts then). Zero means not
	// applied yet; AppliedUnknown means nothing reports applies (ramp run
	// without Flux): the step counts as live at its commit time.
	Applied        time.Time
	AppliedUnknown bool
	// ApplyFailed says Flux failed to apply the step's commit, and why.
	ApplyFailed string
	// Unreachable says why whether the step's commit is applied cannot
	// be read (a target's cluster that cannot be reached, or that the
	// ReleaseRepository does not define): the step never counts as
	// applied, and the rollout holds naming it.
	Unreachable string
	// Traffic is the routing check's measurement of the current step,
	// when the spec has a trafficCheck and the step's window has passed.
	Traffic *TrafficSample
	// SpecError is why the rollout's spec at the branch tip does not parse
	// or validate: the rollout holds until it does.
	SpecError error
	// Freeze is the release repository's freeze calendar at the branch
	// tip (nil: none); FreezeError says why it could not be read, which
	// holds every step that raises exposure, as a freeze does.
	Freeze      *FreezeCalendar
	FreezeError error
	// UntrustedTip says why the branch tip is not signed by a trusted key,
	// when ramp must not build on such a tip ("" when it may): Flux
	// verifies only HEAD, so a commit on top would lend it a trusted HEAD.
	UntrustedTip string
}

// Decision is the planner's answer: one action and the reason for it.
type Decision struct {
	Action Action `json:"action"`
	// Step is the 1-based step the action enters (0 when not a step).
	Step   int `json:"step"`
	Steps  int `json:"steps"`
	Weight int `json:"weight"`
	// Release is the release the action is about (for a supersede
	// rollback: the old release).
	Release string `json:"release"`
	// SetStable and SetRelease are new values for the stable and release
	// fields, when the action changes them.
	SetStable  string `json:"setStable,omitempty"`
	SetRelease string `json:"setRelease,omitempty"`
	// Reason says why, in words a person reads; WaitingFor is set when
	// the rollout holds.
	Reason     string        `json:"reason"`
	WaitingFor string        `json:"waitingFor,omitempty"`
	Gates      []GateResult  `json:"gates,omitempty"`
	Approved   []ApprovalRef `json:"approved,omitempty"`
	// Exposure is the cohorts and mirror the action's commit writes
	// besides the weight; Shadow the record of a mirror step it enters.
	Exposure Exposure      `json:"exposure,omitzero"`
	Shadow   *ShadowRecord `json:"shadow,omitempty"`
	// Migrate are the migration Jobs the action's commit releases
	// (spec.suspend: false), with the migration they run.
	Migrate []MigrateRef `json:"migrate,omitempty"`
	// Wake is when a hold should be looked at again, if it ends by time.
	Wake time.Time `json:"wake,omitempty"`
	// Wave and Targets, for a rollout with targets (PlanFleet): the wave
	// the decision is part of, and the targets its commit writes (one for
	// a target's step; every target of the wave for ActionStartWave, whose
	// SetRelease goes into each target's release field).
	Wave    string   `json:"wave,omitempty"`
	Targets []string `json:"targets,omitempty"`
	// SeparationOfDuties notes a release whose start is unverified while
	// guardrail requireSignedStart is off (SeparationOfDuties()).
	SeparationOfDuties string `json:"separationOfDuties,omitempty"`
}

// Holds reports whether the decision makes no commit.
func (d Decision) Holds() bool { return d.Action == ActionNone }

// ReducesExposure reports whether d, taken in state s, takes traffic away
// from a release: an abort, a rollback, or any commit that leaves the
// canary a lower weight than the target file holds now (a restore of a
// drifted weight included), except complete, which moves the traffic to
// the stable side once it runs the release. The shell pushes such a
// decision first, in its own push, without waiting for the rest of a
// pass.
func (d Decision) ReducesExposure(s State) bool {
	switch d.Action {
	case ActionNone, ActionComplete:
		return false
	case ActionAbort, ActionRollback:
		return true
	}
	return d.Weight < s.LiveWeight()
}

// NeedsAnalysis returns the analysis the planner needs evidence for at
// state s, or nil: the shell calls it before Plan to know which gates to
// query and over which window.
// A canary's bake is the analysis of the bake's gates over its duration.
func NeedsAnalysis(r *Rollout, s *State) *Analysis {
	if b := baking(r, s); b != nil {
		return &Analysis{Gates: b.Gates, Window: b.Duration}
	}
	steps := r.Steps()
	if !s.InProgress() || s.Phase == PhasePromoted || s.Step < 1 || s.Step > len(steps) {
		return nil
	}
	return steps[s.Step-1].Analysis
}

// NeedsBackground returns the background gates the planner needs evidence
// for at state s, or nil: from step 1 of a release until it is promoted,
// and through a canary's bake. During that bake stable runs the release
// too, so gates that compare with stable are left out.
func NeedsBackground(r *Rollout, s *State) *Background {
	b := r.Background()
	switch {
	case b == nil || s.Superseded != "":
		return nil
	case (s.Phase == PhaseProgressing || s.Phase == PhasePaused) && s.Step >= 1:
		return b
	case baking(r, s) != nil:
		out := &Background{Interval: b.Interval}
		for _, name := range b.Gates {
			if g := r.Gate(name); g == nil || g.Prometheus == nil || !comparesWithStable(g.Prometheus) {
				out.Gates = append(out.Gates, name)
			}
		}
		if len(out.Gates) > 0 {
			return out
		}
	}
	return nil
}

// baking returns the bake a canary's promoted release is in, or nil:
// after ramp's promote, until complete. (A blue-green bake is a step.)
func baking(r *Rollout, s *State) *Bake {
	if r.Spec.Strategy.Canary == nil || s.Phase != PhasePromoted || s.PreviousStable == "" || s.Superseded != "" {
		return nil
	}
	return r.Spec.Strategy.Canary.Bake
}

// Guardrails are the platform team's limits on every spec.
type Guardrails struct {
	// source is where ParseGuardrails read them: the file and the line of
	// each field, for CheckGroups (nil for guardrails built in code).
	source *guardrailsSource
	// MaxWeightStep is the largest weight increase one step may make.
	MaxWeightStep int `json:"maxWeightStep" yaml:"maxWeightStep"`
	// RequireDigest requires the release field to hold an image digest.
	RequireDigest bool `json:"requireDigest" yaml:"requireDigest"`
	// RequireChangeID requires spec.changeId.
	RequireChangeID bool `json:"requireChangeId" yaml:"requireChangeId"`
	// HighRiskNeedsCheck requires an analysis or approval step before the
	// final step for riskTier high.
	HighRiskNeedsCheck bool `json:"highRiskNeedsCheck" yaml:"highRiskNeedsCheck"`
	// RequireSignedStart holds a release whose start commit, or a commit
	// it merged in, is not signed by a trusted key: without signatures
	// separation of duties cannot be verified.
	RequireSignedStart bool `json:"requireSignedStart" yaml:"requireSignedStart"`
	// EngineerGroups are the key groups of the people who make changes
	// (trusted for a signed branch tip, say) as opposed to those who
	// review them: their keys do not count towards resuming over a hold.
	EngineerGroups []string `json:"engineerGroups" yaml:"engineerGroups"`
	// Commands say which key groups may give each command.
	Commands CommandRules `json:"commands" yaml:"commands"`
	// Freeze says where the freeze calendar is and who may grant an
	// exception to it.
	Freeze FreezeRules `json:"freeze" yaml:"freeze"`
	// RiskTiers are further rules for the rollouts of each riskTier.
	RiskTiers RiskTiers `json:"riskTiers" yaml:"riskTiers"`
	// Migrations mark the paths of data and schema migrations and who
	// approves an expand.
	Migrations MigrationRules `json:"migrations" yaml:"migrations"`
}

// CommandRules say who may give each command. An empty list of groups
// means any approver group (any group but ramp's own).
type CommandRules struct {
	// Approve lists the groups that may approve a `pause: {}` step (an
	// approval step names its own group).
	Approve CommandRule `json:"approve" yaml:"approve"`
	Abort   CommandRule `json:"abort" yaml:"abort"`
	Pause   CommandRule `json:"pause" yaml:"pause"`
	// Resume of a person's pause takes one key of these groups. Resuming
	// over a hold (a hand edit, a spec edited mid-release) takes Count
	// distinct people of these groups but EngineerGroups, none of whom
	// signed a commit that caused the hold, each with a reason when
	// RequireReason is set.
	Resume ResumeRule `json:"resume" yaml:"resume"`
}

// CommandRule is who may give one command.
type CommandRule struct {
	Groups []string `json:"groups" yaml:"groups"`
}

// ResumeRule is who may resume, and how many people accept a hold.
type ResumeRule struct {
	Groups        []string `json:"groups" yaml:"groups"`
	Count         int      `json:"count" yaml:"count"`
	RequireReason bool     `json:"requireReason" yaml:"requireReason"`
}

// DefaultGuardrails are used when none are configured. Resuming over a
// hold takes two people with a reason each.
func DefaultGuardrails() Guardrails {
	return Guardrails{MaxWeightStep: 50, HighRiskNeedsCheck: true,
		Commands: CommandRules{Resume: ResumeRule{Count: 2, RequireReason: true}}}
}

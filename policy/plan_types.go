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
}

// Evidence is what the shell gathered for the current step.
type Evidence struct {
	// Gates holds results of the current analysis step's gates, by name.
	// A gate missing here is inconclusive.
	Gates map[string]GateResult
	// Applied is when the step's commit was seen applied by every Flux
	// Kustomization (the analysis window starts then). Zero means not
	// applied yet; AppliedUnknown means nothing reports applies (ramp run
	// without Flux): the step counts as live at its commit time.
	Applied        time.Time
	AppliedUnknown bool
	// ApplyFailed says Flux failed to apply the step's commit, and why.
	ApplyFailed string
	// SpecError is why the rollout's spec at the branch tip does not parse
	// or validate: the rollout holds until it does.
	SpecError error
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
	// Wake is when a hold should be looked at again, if it ends by time.
	Wake time.Time `json:"wake,omitempty"`
}

// Holds reports whether the decision makes no commit.
func (d Decision) Holds() bool { return d.Action == ActionNone }

// NeedsAnalysis returns the analysis the planner needs evidence for at
// state s, or nil: the shell calls it before Plan to know which gates to
// query and over which window.
func NeedsAnalysis(r *Rollout, s *State) *Analysis {
	steps := r.Steps()
	if !s.InProgress() || s.Step < 1 || s.Step > len(steps) {
		return nil
	}
	return steps[s.Step-1].Analysis
}

// Guardrails are the platform team's limits on every spec.
type Guardrails struct {
	// MaxWeightStep is the largest weight increase one step may make.
	MaxWeightStep int `json:"maxWeightStep" yaml:"maxWeightStep"`
	// RequireDigest requires the release field to hold an image digest.
	RequireDigest bool `json:"requireDigest" yaml:"requireDigest"`
	// RequireChangeID requires spec.changeId.
	RequireChangeID bool `json:"requireChangeId" yaml:"requireChangeId"`
	// HighRiskNeedsCheck requires an analysis or approval step before the
	// final step for riskTier high.
	HighRiskNeedsCheck bool `json:"highRiskNeedsCheck" yaml:"highRiskNeedsCheck"`
}

// DefaultGuardrails are used when none are configured.
func DefaultGuardrails() Guardrails {
	return Guardrails{MaxWeightStep: 50, HighRiskNeedsCheck: true}
}

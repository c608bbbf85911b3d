package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReleaseRecord is the complete record of one release of a rollout, from
// git alone: the artifact, the version of the spec it ran under, the
// strategy with its steps and gates (thresholds and query text), what each
// step came to and on which evidence, every command people gave, how the
// release ended and why, and the change id.
type ReleaseRecord struct {
	Rollout  string   `json:"rollout"`
	Release  string   `json:"release"`
	Artifact Artifact `json:"artifact"`
	ChangeID string   `json:"changeId,omitempty"`
	// Start is the commit that set the release field.
	Start CommitRef `json:"start"`
	// SeparationOfDuties says, when a commit of the start is not signed
	// by a trusted key, that separation of duties was not verified, and
	// why.
	SeparationOfDuties string `json:"separationOfDuties,omitempty"`
	// Spec is the version of the rollout spec at the start; SpecChanges
	// are the versions committed while the release was in flight.
	Spec        SpecVersion   `json:"spec"`
	SpecChanges []SpecVersion `json:"specChanges,omitempty"`
	// Strategy and Gates are as the spec at the start defines them.
	Strategy StrategyRecord `json:"strategy"`
	Gates    []GateSpec     `json:"gates,omitempty"`
	// Steps are the results of the strategy's steps, in step order.
	Steps []StepResult `json:"steps"`
	// Overrides are the commands people gave for the release, accepted
	// or not, oldest first.
	Overrides []Override `json:"overrides,omitempty"`
	// Outcome is completed, promoted, aborted, rolled back, superseded
	// or in progress; End is ramp's commit that ended the release.
	Outcome        string     `json:"outcome"`
	End            *CommitRef `json:"end,omitempty"`
	AbortReason    string     `json:"abortReason,omitempty"`
	RollbackReason string     `json:"rollbackReason,omitempty"`
	SupersededBy   string     `json:"supersededBy,omitempty"`
	// Bake is the bake's verdict: the bake gates' results on ramp's
	// commit that ended the bake (complete, the next step, or a rollback).
	Bake []AuditGate `json:"bake,omitempty"`
	// Preflight is the preflight's verdict: the preflight gates' results
	// on step 1's commit, judged before the release was exposed.
	Preflight []AuditGate `json:"preflight,omitempty"`
	// Findings are the findings of the release's commits.
	Findings []string `json:"findings,omitempty"`
}

// Outcomes of a release.
const (
	OutcomeInProgress = "in progress"
	OutcomePromoted   = "promoted"
	OutcomeCompleted  = "completed"
	OutcomeAborted    = "aborted"
	OutcomeRolledBack = "rolled back"
	OutcomeSuperseded = "superseded"
)

// Artifact is what a release exposes: the release field's value, and the
// tag and image digest it names.
type Artifact struct {
	// Value is the release field's value: tag, tag@sha256:<hex> or sha256:<hex>.
	Value string `json:"value"`
	Tag   string `json:"tag,omitempty"`
	// Digest is the image digest the value pins (sha256:<hex>); "" for a
	// bare tag, which pins no image.
	Digest string `json:"digest,omitempty"`
	// Field is where the value is written.
	Field FieldRef `json:"field"`
}

// ParseArtifact reads a release field's value: `tag@sha256:<64 hex>` and
// `sha256:<64 hex>` pin a digest, anything else is a tag.
func ParseArtifact(value string) Artifact {
	a := Artifact{Value: value, Tag: value}
	if digestRef.MatchString(value) {
		i := strings.LastIndex(value, "sha256:")
		a.Tag, a.Digest = strings.TrimSuffix(value[:i], "@"), value[i:]
	}
	return a
}

// CommitRef names a commit: who made it, when, and who signed it.
type CommitRef struct {
	Commit string    `json:"commit"`
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Signer *Signer   `json:"signer,omitempty"`
}

// SpecVersion is the rollout spec file as it was at one commit.
type SpecVersion struct {
	Path string `json:"path"`
	// Commit is the commit whose tree was read; Blob the file's blob hash
	// there ("" when the file is absent).
	Commit string `json:"commit"`
	Blob   string `json:"blob,omitempty"`
	// ChangedIn is the commit that last changed the file.
	ChangedIn string `json:"changedIn,omitempty"`
	// Error says why the file did not parse or validate there.
	Error string `json:"error,omitempty"`
}

// StrategyRecord is a spec's strategy: its kind, its steps (a blue-green
// strategy as the steps it expands to) and what a failure does.
type StrategyRecord struct {
	Kind          string        `json:"kind,omitempty"` // canary or blueGreen
	Steps         []PlannedStep `json:"steps"`
	RevertRelease bool          `json:"revertRelease"`
	// Preflight, Background and Bake are the strategy's, when it has
	// them (Preflight: the gates judged before step 1, by default the
	// background gates).
	Preflight  *Preflight  `json:"preflight,omitempty"`
	Background *Background `json:"background,omitempty"`
	Bake       *Bake       `json:"bake,omitempty"`
}

// PlannedStep is one step of a strategy.
type PlannedStep struct {
	Step int `json:"step"` // 1-based
	// Kind is setWeight, pause, analysis or approval.
	Kind        string `json:"kind"`
	Description string `json:"description"`
	Weight      *int   `json:"weight,omitempty"`
	// Duration is a pause's; none means until an approval.
	Duration *Duration `json:"duration,omitempty"`
	Gates    []string  `json:"gates,omitempty"`
	Window   *Duration `json:"window,omitempty"`
	Group    string    `json:"group,omitempty"`
	Count    int       `json:"count,omitempty"`
}

// GateSpec is a gate as a spec defines it: its threshold and the text of
// its query (whose hash, QueryHash, the gate's results carry).
type GateSpec struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"` // prometheus, alerts, webhook or schedule
	Severity string `json:"severity"`
	// Threshold is what a measurement must meet, as results record it.
	Threshold   string  `json:"threshold"`
	Query       string  `json:"query,omitempty"`
	QueryHash   string  `json:"queryHash,omitempty"`
	SampleQuery string  `json:"sampleQuery,omitempty"`
	MinSamples  float64 `json:"minSamples,omitempty"`
	// URL is a webhook gate's; Windows a schedule gate's change windows.
	URL               string   `json:"url,omitempty"`
	Windows           []string `json:"windows,omitempty"`
	WarmUp            Duration `json:"warmUp"`
	Interval          Duration `json:"interval"`
	Count             int      `json:"count,omitempty"`
	FailureLimit      int      `json:"failureLimit"`
	InconclusiveLimit int      `json:"inconclusiveLimit"`
}

// StepResult is what one step of a release came to.
type StepResult struct {
	Step int    `json:"step"` // 1-based
	Kind string `json:"kind"` // as PlannedStep.Kind; "" when the spec is unknown
	// Result is done, passed, approved, failed, aborted, rolled back,
	// superseded, in progress or not reached.
	Result string `json:"result"`
	Weight *int   `json:"weight,omitempty"`
	// Entered is ramp's commit that entered the step, under the spec
	// version SpecBlob; Left is ramp's commit that moved past it, which
	// carries the evidence it was judged on: Gates and Approved.
	Entered  *CommitRef    `json:"entered,omitempty"`
	SpecBlob string        `json:"specBlob,omitempty"`
	Left     *CommitRef    `json:"left,omitempty"`
	Gates    []AuditGate   `json:"gates,omitempty"`
	Approved []ApprovalRef `json:"approved,omitempty"`
}

// Results of a step.
const (
	StepDone       = "done"
	StepPassed     = "passed"
	StepApproved   = "approved"
	StepFailed     = "failed"
	StepAborted    = "aborted"
	StepRolledBack = "rolled back"
	StepSuperseded = "superseded"
	StepInProgress = "in progress"
	StepNotReached = "not reached"
)

// Override is a command a person gave for a release.
type Override struct {
	Command CommandKind `json:"command"`
	Step    string      `json:"step,omitempty"` // an approval's, as k/n
	CommitRef
	// Reason is the command's reason= field; Message the commit's message.
	Reason   string `json:"reason,omitempty"`
	Message  string `json:"message,omitempty"`
	Accepted bool   `json:"accepted"`
	// Rejected says why it was not accepted.
	Rejected string `json:"rejected,omitempty"`
}

// ReleaseRecords gathers the rows of rollout name's audit, oldest first,
// into one record per release they start. specs are the parsed spec versions
// the rows name, by blob hash; a version missing from it did not parse.
// A row about a release joins that release's latest record: ramp's
// entries always, other rows while the release is in flight.
func ReleaseRecords(name string, rows []AuditRow, specs map[string]*Rollout) []ReleaseRecord {
	var recs []*releaseBuilder
	latest := map[string]*releaseBuilder{}
	var current *releaseBuilder
	for _, row := range rows {
		if row.What == "start" {
			if current != nil && current.open() {
				current.Outcome, current.SupersededBy = OutcomeSuperseded, row.Release
			}
			current = newReleaseBuilder(name, row, specs)
			recs = append(recs, current)
			latest[row.Release] = current
			continue
		}
		b := latest[row.Release]
		switch {
		case b == nil:
		case isAction(row.What):
			b.entry(row, specs)
		case b == current && b.open():
			b.other(row)
		}
	}
	out := make([]ReleaseRecord, len(recs))
	for i, b := range recs {
		out[i] = b.finish()
	}
	return out
}

// releaseBuilder collects one release's record from its rows.
type releaseBuilder struct {
	ReleaseRecord
	spec *Rollout // at the start; nil when it did not parse
	// step is the index in Steps of the step in progress, or -1.
	step int
}

func newReleaseBuilder(name string, row AuditRow, specs map[string]*Rollout) *releaseBuilder {
	b := &releaseBuilder{step: -1, ReleaseRecord: ReleaseRecord{Rollout: name, Release: row.Release,
		Artifact: ParseArtifact(row.Release), Start: commitRef(row), Outcome: OutcomeInProgress,
		Findings: slices.Clone(row.Findings)}}
	if row.StartUnverified != "" {
		b.SeparationOfDuties = "not verified: " + row.StartUnverified
	}
	if row.Spec != nil {
		b.Spec = *row.Spec
		b.spec = specs[row.Spec.Blob]
	}
	if r := b.spec; r != nil {
		b.ChangeID = r.Spec.ChangeID
		b.Artifact.Field = r.Spec.Release
		b.Strategy = strategyRecord(r)
		for i := range r.Spec.Gates {
			b.Gates = append(b.Gates, gateSpec(&r.Spec.Gates[i]))
		}
	}
	return b
}

// open reports whether the release is still in flight.
func (b *releaseBuilder) open() bool {
	return b.Outcome == OutcomeInProgress || b.Outcome == OutcomePromoted
}

// entry folds one of ramp's commits for the release.
func (b *releaseBuilder) entry(row AuditRow, specs map[string]*Rollout) {
	b.Findings = append(b.Findings, row.Findings...)
	if row.ChangeID != "" {
		b.ChangeID = row.ChangeID
	}
	ref := commitRef(row)
	for _, g := range row.Gates {
		switch g.Scope {
		case ScopeBake:
			b.Bake = append(b.Bake, g)
		case ScopePreflight:
			b.Preflight = append(b.Preflight, g)
		}
	}
	switch a := Action(row.What); {
	case EntersStep(a):
		b.leave(row, "")
		b.enter(row, specs)
	case a == ActionPromote:
		b.leave(row, "")
		b.Outcome = OutcomePromoted
	case a == ActionComplete:
		b.Outcome, b.End = OutcomeCompleted, &ref
	case a == ActionAbort:
		result := StepAborted
		for _, g := range row.Gates {
			if g.Verdict == Fail {
				result = StepFailed
			}
		}
		b.leave(row, result)
		b.Outcome, b.End, b.AbortReason = OutcomeAborted, &ref, row.Reason
	case a == ActionRollback:
		b.leave(row, StepRolledBack)
		b.Outcome, b.End, b.RollbackReason = OutcomeRolledBack, &ref, row.Reason
	}
}

// enter starts the result of the step row enters.
func (b *releaseBuilder) enter(row AuditRow, specs map[string]*Rollout) {
	var k int
	if _, err := fmt.Sscanf(row.Step, "%d/", &k); err != nil || k < 1 {
		return
	}
	ref := commitRef(row)
	res := StepResult{Step: k, Result: StepInProgress, Weight: row.Weight, Entered: &ref}
	if row.Spec != nil {
		res.SpecBlob = row.Spec.Blob
		if r := specs[row.Spec.Blob]; r != nil && k <= len(r.Steps()) {
			res.Kind = plannedStep(k, r.Steps()[k-1]).Kind
		}
	}
	b.Steps = append(b.Steps, res)
	b.step = len(b.Steps) - 1
}

// leave ends the step in progress at row, which carries the evidence it
// was judged on; result is what it came to, "" for moving on normally.
func (b *releaseBuilder) leave(row AuditRow, result string) {
	if b.step < 0 {
		return
	}
	st := &b.Steps[b.step]
	ref := commitRef(row)
	st.Left, st.Gates, st.Approved = &ref, row.Gates, row.Approved
	switch {
	case result != "":
		st.Result = result
	case st.Kind == "analysis" || st.Kind == "bake" || slices.ContainsFunc(row.Gates, func(g AuditGate) bool { return g.Scope != ScopeBackground }):
		st.Result = StepPassed
	case len(row.Approved) > 0:
		st.Result = StepApproved
	default:
		st.Result = StepDone
	}
	b.step = -1
}

// other folds a row that is not ramp's: a command, an edit, a spec change.
func (b *releaseBuilder) other(row AuditRow) {
	b.Findings = append(b.Findings, row.Findings...)
	if row.What == "spec" && row.Spec != nil {
		b.SpecChanges = append(b.SpecChanges, *row.Spec)
	}
	if !strings.HasPrefix(row.What, "Ramp-") {
		return
	}
	o := Override{Command: CommandKind(row.What), Step: row.Step, CommitRef: commitRef(row),
		Reason: row.Reason, Message: row.Message, Accepted: true}
	for _, rj := range row.Rejected {
		if rj.Command != nil && rj.Command.Kind == o.Command {
			o.Accepted, o.Rejected = false, rj.Reason
		}
	}
	b.Overrides = append(b.Overrides, o)
}

// finish closes the record: the step still in progress, and the steps of
// the strategy never reached.
func (b *releaseBuilder) finish() ReleaseRecord {
	if b.step >= 0 && b.Outcome == OutcomeSuperseded {
		b.Steps[b.step].Result = StepSuperseded
	}
	reached := map[int]bool{}
	for _, st := range b.Steps {
		reached[st.Step] = true
	}
	for _, p := range b.Strategy.Steps {
		if !reached[p.Step] {
			b.Steps = append(b.Steps, StepResult{Step: p.Step, Kind: p.Kind, Result: StepNotReached})
		}
	}
	slices.SortStableFunc(b.Steps, func(x, y StepResult) int { return x.Step - y.Step })
	return b.ReleaseRecord
}

func commitRef(row AuditRow) CommitRef {
	return CommitRef{Commit: row.Commit, Time: row.Time, Author: row.Author, Signer: row.Signer}
}

func isAction(what string) bool {
	switch a := Action(what); a {
	case ActionPromote, ActionComplete, ActionAbort, ActionRollback:
		return true
	default:
		return EntersStep(a)
	}
}

// strategyRecord describes r's strategy.
func strategyRecord(r *Rollout) StrategyRecord {
	s := StrategyRecord{RevertRelease: r.Spec.OnFailure.RevertRelease, Preflight: r.Preflight(), Background: r.Background(), Bake: r.Bake()}
	switch {
	case r.Spec.Strategy.Canary != nil:
		s.Kind = "canary"
	case r.Spec.Strategy.BlueGreen != nil:
		s.Kind = "blueGreen"
	}
	for i, st := range r.Steps() {
		s.Steps = append(s.Steps, plannedStep(i+1, st))
	}
	return s
}

// plannedStep describes step k of a strategy.
func plannedStep(k int, st Step) PlannedStep {
	p := PlannedStep{Step: k}
	switch {
	case st.SetWeight != nil:
		p.Kind, p.Weight = "setWeight", st.SetWeight
		p.Description = fmt.Sprintf("set the canary weight to %d%%", *st.SetWeight)
	case st.IsBake():
		w := st.Analysis.Window
		p.Kind, p.Gates, p.Window = "bake", st.Analysis.Gates, &w
		p.Description = fmt.Sprintf("bake: judge gates %s over %s while the old side is kept", strings.Join(st.Analysis.Gates, ", "), w)
	case st.Analysis != nil:
		w := st.Analysis.Window
		p.Kind, p.Gates, p.Window = "analysis", st.Analysis.Gates, &w
		p.Description = fmt.Sprintf("analyse gates %s over %s", strings.Join(st.Analysis.Gates, ", "), w)
	case st.Approval != nil:
		p.Kind, p.Group, p.Count = "approval", st.Approval.Group, st.Approval.Count
		p.Description = fmt.Sprintf("wait for %d approval(s) by group %s", st.Approval.Count, st.Approval.Group)
	case st.Pause != nil && st.Pause.Duration.Duration > 0:
		d := st.Pause.Duration
		p.Kind, p.Duration = "pause", &d
		p.Description = "pause for " + d.String()
	case st.Pause != nil:
		p.Kind, p.Description = "pause", "pause until an approval of this step"
	case st.SetHeaderRoute != nil:
		p.Kind, p.Description = "setHeaderRoute", describeExposureStep(st)
	case st.SetMirrorRoute != nil:
		p.Kind, p.Description = "setMirrorRoute", describeExposureStep(st)
	}
	return p
}

// gateSpec describes gate g.
func gateSpec(g *Gate) GateSpec {
	s := GateSpec{Name: g.Name, Severity: g.Severity, WarmUp: g.WarmUp, Interval: g.Interval, Count: g.Count,
		FailureLimit: g.FailureLimit, InconclusiveLimit: g.InconclusiveLimit, Query: g.QueryText()}
	if s.Query != "" {
		s.QueryHash = QueryHash(s.Query)
	}
	switch {
	case g.Prometheus != nil:
		s.Kind, s.Threshold = "prometheus", Bounds(g.Prometheus)
		s.SampleQuery, s.MinSamples = g.Prometheus.SampleQuery, g.Prometheus.MinSamples
	case g.Alerts != nil:
		s.Kind, s.Threshold = "alerts", "no alert firing"
	case g.Webhook != nil:
		s.Kind, s.Threshold, s.URL = "webhook", "2xx", g.Webhook.URL
	case g.Schedule != nil:
		s.Kind, s.Threshold = "schedule", "inside a change window"
		for _, w := range g.Schedule.Windows {
			s.Windows = append(s.Windows, fmt.Sprintf("%s %s-%s %s", strings.Join(w.Days, ","), w.Start, w.End, g.Schedule.TimeZone))
		}
	}
	return s
}

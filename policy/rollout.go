// Package policy is ramp's functional core: the rollout spec and its
// validation, guardrails, gate verdicts, the fold of git history into a
// rollout's state, and the planner. It does no I/O: no network, no git, no
// Kubernetes and no clock; time comes in as an argument.
package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// APIVersion and Kind identify a rollout spec document.
const (
	APIVersion = "ramp.dev/v1alpha1"
	Kind       = "Rollout"
)

// SpecDir is the directory of the release repository that holds one folder
// per rollout, each with a rollout.yaml.
const SpecDir = "releases"

// SpecPath returns the repository path of the spec of the named rollout.
func SpecPath(name string) string { return SpecDir + "/" + name + "/rollout.yaml" }

// Rollout is a parsed releases/<name>/rollout.yaml.
type Rollout struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`

	// Path is the repository path the spec was read from.
	Path string `yaml:"-"`

	// lines maps a field path (spec.strategy.canary.steps[2].setWeight)
	// to its line in the file at Path, as Parse read it.
	lines map[string]int
	// linePrefix is, on a target's own rollout, the path of the target in
	// the spec ("spec.targets[3]."): its field spec.x is at lines[linePrefix+"x"]
	// when that is there. The map is the parent's, shared, not copied: a
	// copy per target made every target's rollout cost as much as the spec.
	linePrefix string
	// parent, target, cluster and prometheus are set on a target's own
	// rollout (ForTarget).
	parent, target, cluster, prometheus string
}

// Name returns the rollout's name.
func (r *Rollout) Name() string { return r.Metadata.Name }

// Metadata names the rollout.
type Metadata struct {
	Name string `yaml:"name"`
}

// Spec is what a rollout manages and how it exposes a release.
type Spec struct {
	Owner    string `yaml:"owner"`
	RiskTier string `yaml:"riskTier"` // low, medium (default), high
	ChangeID string `yaml:"changeId"`

	// Release is the field an engineer's PR changes to start a release:
	// the canary's image tag or digest.
	Release FieldRef `yaml:"release"`
	// Stable is the field holding the version serving stable traffic;
	// promotion copies Release into it.
	Stable FieldRef `yaml:"stable"`
	// Target is where traffic weights are written.
	Target Target `yaml:"target"`
	// Kustomizations are the Flux Kustomizations that apply the manifests.
	Kustomizations []ObjectRef `yaml:"kustomizations"`

	Strategy  Strategy  `yaml:"strategy"`
	Gates     []Gate    `yaml:"gates"`
	OnFailure OnFailure `yaml:"onFailure"`
	// OnDrift says what a change to the traffic target that ramp did not
	// make does while no release is in flight: hold (the default) until
	// people resume over it, or restore ramp's weight.
	OnDrift string `yaml:"onDrift"`
	// Shadow declares what the canary does with mirrored requests; a
	// spec with a setMirrorRoute step needs it (see exposure.go).
	Shadow *Shadow `yaml:"shadow"`
	// TrafficCheck compares the canary's observed share of requests with
	// the weight ramp set (see traffic.go).
	TrafficCheck *TrafficCheck `yaml:"trafficCheck"`
	// Migration declares what the migrations a release ships do (expand
	// or contract), when its start commit does not (Ramp-Migration).
	Migration string `yaml:"migration"`
	// Migrations are the Jobs that run the migrations, committed
	// suspended: ramp's step-1 commit releases them (migration_jobs.go).
	Migrations []MigrationSpec `yaml:"migrations"`

	// Targets and Waves promote the release target by target (waves.go):
	// with Targets, spec.release is the one field a release changes and
	// each target has its own release, stable, target and kustomizations
	// instead of spec.stable, spec.target and spec.kustomizations.
	Targets []TargetSpec `yaml:"targets"`
	Waves   []Wave       `yaml:"waves"`
}

// What spec.onDrift may say.
const (
	OnDriftHold    = "hold"
	OnDriftRestore = "restore"
)

// FieldRef names one scalar in one YAML file of the repository, by a field
// path such as `images[name=demo].newTag` or `spec.rules[0].backendRefs[1].weight`.
type FieldRef struct {
	File string `yaml:"file" json:"file"`
	Path string `yaml:"path" json:"path"`
}

// Target is where the canary's share of traffic is written: exactly one of
// HTTPRoute and Field. The replica counts are optional (capacity.go).
type Target struct {
	HTTPRoute *HTTPRouteTarget `yaml:"httpRoute"`
	Field     *FieldTarget     `yaml:"field"`
	// CanaryReplicas is set with every weight to enough canary replicas
	// for the weight's share of StableReplicas.
	CanaryReplicas *ReplicasRef `yaml:"canaryReplicas"`
	StableReplicas *ReplicasRef `yaml:"stableReplicas"`
}

// HTTPRouteTarget writes weights into the backendRefs of a Gateway API
// HTTPRoute: the canary backend gets the weight, the stable one 100-weight.
type HTTPRouteTarget struct {
	File          string `yaml:"file"`
	StableBackend string `yaml:"stableBackend"`
	CanaryBackend string `yaml:"canaryBackend"`
	// Rule limits the edit to one rule index; nil means every rule that
	// names both backends.
	Rule *int `yaml:"rule"`
}

// FieldTarget writes the canary weight into fields of any YAML (or JSON)
// file: another router's resource, a feature flag, a worker split (see
// target.go).
type FieldTarget struct {
	File string `yaml:"file"`
	// Path is the canary's weight (or count, with Scale).
	Path string `yaml:"path"`
	// StablePath, when set, gets the rest: 100-weight (or the count's
	// rest), for routers whose weights must sum to 100.
	StablePath string `yaml:"stablePath"`
	// MirrorPath, when set, is where setMirrorRoute steps write their
	// percent (0 when no mirror is active).
	MirrorPath string `yaml:"mirrorPath"`
	// Scale turns the weight into a count of Scale.Count.
	Scale *Scale `yaml:"scale"`
}

// ObjectRef names a namespaced Kubernetes object.
type ObjectRef struct {
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace"`
	// Cluster names the cluster the object lives in (a rollout with
	// targets only): one of the ReleaseRepository's spec.clusters; ""
	// for the cluster ramp runs in.
	Cluster string `yaml:"cluster"`
}

// Strategy holds exactly one of a canary or a blue-green strategy.
type Strategy struct {
	Canary    *Canary    `yaml:"canary"`
	BlueGreen *BlueGreen `yaml:"blueGreen"`
}

// Canary exposes a release step by step.
type Canary struct {
	Steps []Step `yaml:"steps"`
	// Preflight gates are judged before step 1 (preflight.go).
	Preflight *Preflight `yaml:"preflight"`
	// Background gates guard every step from step 1 until the bake ends.
	Background *Background `yaml:"background"`
	// Bake keeps judging the new stable after promotion, before complete.
	Bake *Bake `yaml:"bake"`
}

// BlueGreen judges the idle side at weight 0, switches all traffic at once
// and keeps the old side for a rollback window before promotion.
type BlueGreen struct {
	Analysis       *Analysis    `yaml:"analysis"`
	Approval       *ApprovalReq `yaml:"approval"`
	RollbackWindow Duration     `yaml:"rollbackWindow"`
	// Preflight gates are judged before step 1 (preflight.go).
	Preflight *Preflight `yaml:"preflight"`
	// Background gates guard every step from step 1 until the bake ends.
	Background *Background `yaml:"background"`
	// Bake judges the new side after the switch, while the old side is
	// still kept: the first part of the rollback window.
	Bake *Bake `yaml:"bake"`
}

// Background names gates judged continuously on the canary from step 1
// until the bake ends, whatever the step: a critical failure aborts at
// once, an inconclusive result holds the next step.
type Background struct {
	Gates []string `yaml:"gates" json:"gates"`
	// Interval spaces the background measurements (default: each gate's
	// own interval, or 1m).
	Interval Duration `yaml:"interval" json:"interval,omitzero"`
}

// Bake keeps judging a promoted release for Duration with Gates before it
// is done; a failure rolls back to the previous stable version.
type Bake struct {
	Duration Duration `yaml:"duration" json:"duration"`
	Gates    []string `yaml:"gates" json:"gates"`
}

// Step is one step of a strategy. Exactly one member is set.
type Step struct {
	SetWeight *int         `yaml:"setWeight"`
	Pause     *Pause       `yaml:"pause"`
	Analysis  *Analysis    `yaml:"analysis"`
	Approval  *ApprovalReq `yaml:"approval"`
	// SetHeaderRoute and SetMirrorRoute expose the canary to a cohort of
	// requests, or to copies of requests (exposure.go).
	SetHeaderRoute *HeaderRoute `yaml:"setHeaderRoute"`
	SetMirrorRoute *MirrorRoute `yaml:"setMirrorRoute"`

	// Line is the step's line in the spec file, for messages.
	Line int `yaml:"-"`
	// bake marks the analysis step a blue-green strategy's bake expands to.
	bake bool
}

// IsBake reports whether the step is a blue-green strategy's bake: an
// analysis at full weight while the old side is still kept.
func (s Step) IsBake() bool { return s.bake }

// Pause holds a step for a duration, or until an approval when Duration is zero.
type Pause struct {
	Duration Duration `yaml:"duration"`
}

// Analysis holds a step until the named gates give a verdict over Window.
type Analysis struct {
	Gates  []string `yaml:"gates"`
	Window Duration `yaml:"window"`
}

// ApprovalReq holds a step until Count distinct keys of Group approved it.
type ApprovalReq struct {
	Group string `yaml:"group"`
	Count int    `yaml:"count"` // default 1
}

// OnFailure says what a failed gate, a failed apply or a human abort does.
// Traffic always returns to stable (canary weight 0); RevertRelease also
// sets the release field back to the stable version in a second commit.
type OnFailure struct {
	RevertRelease bool `yaml:"revertRelease"`
	// StopWaves (a rollout with targets; default true): a failed target
	// aborts and rolls back every target of its wave, and no later wave
	// starts. false: only the failed target goes back; the rest of its
	// wave goes on and later waves still start (tenants that fail alone).
	StopWaves *bool `yaml:"stopWaves"`
	// RollbackCompletedWaves (a rollout with targets): when a wave fails,
	// the targets of earlier, promoted waves go back to the version they
	// ran before, too.
	RollbackCompletedWaves bool `yaml:"rollbackCompletedWaves"`
}

// Stops reports whether a failed target stops the waves (spec.onFailure.stopWaves).
func (o OnFailure) Stops() bool { return o.StopWaves == nil || *o.StopWaves }

// Duration is a time.Duration written as "5m" in YAML.
type Duration struct{ time.Duration }

// String renders the duration the way a spec writes it: "5m", "1h30m", "90s".
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// parseDuration reads a duration as a spec writes it ("5m", "1h30m").
func parseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return Duration{}, fmt.Errorf("%q is not a duration (write it like 30s, 5m or 1h30m)", s)
	}
	return Duration{d}, nil
}

// UnmarshalYAML reads a duration such as "5m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration such as 5m", n.Line)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as String does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as a JSON string such as "5m".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string such as "5m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: expected a string such as \"5m\": %w", err)
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Background returns the strategy's background gates, or nil.
func (r *Rollout) Background() *Background {
	switch s := r.Spec.Strategy; {
	case s.Canary != nil:
		return s.Canary.Background
	case s.BlueGreen != nil:
		return s.BlueGreen.Background
	}
	return nil
}

// Bake returns the strategy's bake, or nil.
func (r *Rollout) Bake() *Bake {
	switch s := r.Spec.Strategy; {
	case s.Canary != nil:
		return s.Canary.Bake
	case s.BlueGreen != nil:
		return s.BlueGreen.Bake
	}
	return nil
}

// Steps returns the rollout's steps; a blue-green strategy is expanded into
// the equivalent steps: analysis at weight 0, approval if any, switch to
// 100, the bake (an analysis of the bake's gates over its duration) if
// any, and a pause for what is left of the rollback window.
func (r *Rollout) Steps() []Step {
	s := r.Spec.Strategy
	if s.Canary != nil {
		return s.Canary.Steps
	}
	if s.BlueGreen == nil {
		return nil
	}
	var steps []Step
	if s.BlueGreen.Analysis != nil {
		steps = append(steps, Step{Analysis: s.BlueGreen.Analysis})
	}
	if s.BlueGreen.Approval != nil {
		steps = append(steps, Step{Approval: s.BlueGreen.Approval})
	}
	all := 100
	steps = append(steps, Step{SetWeight: &all})
	window := s.BlueGreen.RollbackWindow.Duration
	if b := s.BlueGreen.Bake; b != nil {
		steps = append(steps, Step{Analysis: &Analysis{Gates: b.Gates, Window: b.Duration}, bake: true})
		window -= b.Duration.Duration
	}
	if window > 0 || s.BlueGreen.Bake == nil {
		steps = append(steps, Step{Pause: &Pause{Duration: Duration{window}}})
	}
	return steps
}

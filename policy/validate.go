package policy

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Risk tiers of a rollout (spec.riskTier).
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// Default fills in what a spec may leave out: riskTier medium, an
// approval count of 1 and gate severity critical. Parse calls it.
func (r *Rollout) Default() {
	if r.Spec.RiskTier == "" {
		r.Spec.RiskTier = RiskMedium
	}
	approval := func(a *ApprovalReq) {
		if a != nil && a.Count == 0 {
			a.Count = 1
		}
	}
	if c := r.Spec.Strategy.Canary; c != nil {
		for i := range c.Steps {
			approval(c.Steps[i].Approval)
		}
	}
	if bg := r.Spec.Strategy.BlueGreen; bg != nil {
		approval(bg.Approval)
	}
	for _, t := range r.Spec.Targets {
		if s := t.Strategy; s != nil && s.Canary != nil {
			for i := range s.Canary.Steps {
				approval(s.Canary.Steps[i].Approval)
			}
		}
		if s := t.Strategy; s != nil && s.BlueGreen != nil {
			approval(s.BlueGreen.Approval)
		}
	}
	for _, w := range r.Spec.Waves {
		approval(w.Approval)
	}
	for i := range r.Spec.Gates {
		if r.Spec.Gates[i].Severity == "" {
			r.Spec.Gates[i].Severity = SeverityCritical
		}
	}
}

var (
	dnsLabel       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	groupName      = regexp.MustCompile(`^[a-z0-9-]+$`)
	envName        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hhmm           = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	digestRef      = regexp.MustCompile(`(^|@)sha256:[0-9a-f]{64}$`)
	templatePrefix = regexp.MustCompile(`^template: query:\d+: `)
	templateExec   = regexp.MustCompile(`^template: query:\d+:\d+: `)
	weekdayNames   = map[string]bool{"Mon": true, "Tue": true, "Wed": true, "Thu": true, "Fri": true, "Sat": true, "Sun": true}
)

// Validate checks what Parse cannot: names, paths, the strategy's steps,
// the gates and the guardrails g. It returns every problem, each naming
// file:line and the field path, or nil when the spec is valid. A zero
// g.MaxWeightStep sets no limit on weight increases.
func Validate(r *Rollout, g Guardrails) SpecErrors {
	v := &validator{r: r, g: g, gates: map[string]bool{}, queries: map[string]string{}}
	v.metadata()
	if r.HasTargets() || len(r.Spec.Waves) > 0 {
		v.fleet()
	} else {
		v.spec()
		v.singleTarget()
	}
	v.migrationJobs()
	v.errs.sortByLine()
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

// CheckRelease checks a release field value against the guardrails: with
// RequireDigest it must pin an image digest, `name@sha256:<64 hex>` or
// `sha256:<64 hex>`.
func CheckRelease(r *Rollout, g Guardrails, value string) error {
	if !g.RequireDigest || digestRef.MatchString(value) {
		return nil
	}
	return &SpecError{
		File:  r.Spec.Release.File,
		Field: r.Spec.Release.Path,
		Msg: fmt.Sprintf("%q is not pinned by digest; guardrail requireDigest needs tag@sha256:<64 hex> or sha256:<64 hex> (rollout %s)",
			value, r.Name()),
	}
}

type validator struct {
	r     *Rollout
	g     Guardrails
	gates map[string]bool // names defined in spec.gates
	errs  SpecErrors
	// queries holds the problem of each query already checked (""
	// for none), by rollout and query text: the targets of a rollout
	// share it, so a gate's query is parsed once, not once per target.
	queries map[string]string
}

// fail records a problem of field, at the line of field or its nearest
// enclosing field. A problem is one line: line breaks in what it quotes
// (a query as rendered, a value) are written as \n.
func (v *validator) fail(field, format string, args ...any) {
	msg := oneLine.Replace(fmt.Sprintf(format, args...))
	v.errs = append(v.errs, &SpecError{File: v.r.Path, Line: v.r.Line(field), Field: field, Msg: msg})
}

var oneLine = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`)

func (v *validator) metadata() {
	name := v.r.Metadata.Name
	switch {
	case name == "":
		v.fail("metadata.name", "required")
	case !dnsLabel.MatchString(name):
		v.fail("metadata.name", "%q is not a DNS label (lowercase letters, digits and '-', at most 63)", name)
	case v.r.Path != "" && v.r.Path != SpecPath(name):
		v.fail("metadata.name", "%q must live in %s, not %s (rename the folder or the rollout)", name, SpecPath(name), v.r.Path)
	}
}

func (v *validator) spec() {
	s := &v.r.Spec
	if strings.TrimSpace(s.Owner) == "" {
		v.fail("spec.owner", "required: the team that owns this rollout")
	}
	switch s.RiskTier {
	case "", RiskLow, RiskMedium, RiskHigh:
	default:
		v.fail("spec.riskTier", "%q is not one of low, medium, high", s.RiskTier)
	}
	switch s.OnDrift {
	case "", OnDriftHold, OnDriftRestore:
	default:
		v.fail("spec.onDrift", "%q is not one of hold, restore", s.OnDrift)
	}
	switch s.Migration {
	case "", MigrationExpand, MigrationContract:
	default:
		v.fail("spec.migration", "%q is not one of expand, contract", s.Migration)
	}
	if v.g.RequireChangeID && strings.TrimSpace(s.ChangeID) == "" {
		v.fail("spec.changeId", "required by guardrail requireChangeId")
	}
	v.fieldRef("spec.release", &s.Release)
	v.fieldRef("spec.stable", &s.Stable)
	v.target(&s.Target)
	v.capacity(&s.Target)
	for i, k := range s.Kustomizations {
		f := fmt.Sprintf("spec.kustomizations[%d]", i)
		switch {
		case k.Name == "":
			v.fail(f+".name", "required: the Flux Kustomization's name")
		case !dnsName(k.Name):
			v.fail(f+".name", "%q is not a Kubernetes object name", k.Name)
		}
		switch {
		case k.Namespace == "":
			v.fail(f+".namespace", "required: the Flux Kustomization's namespace, e.g. flux-system")
		case !dnsLabel.MatchString(k.Namespace):
			v.fail(f+".namespace", "%q is not a namespace name", k.Namespace)
		}
	}
	v.shadow(s.Shadow)
	// Gates first: steps refer to them by name.
	v.gateList(s.Gates)
	v.trafficCheck(s.TrafficCheck)
	v.strategy(&s.Strategy)
	v.highRisk()
	v.tierRules()
	v.preflightTier()
}

func (v *validator) fieldRef(field string, ref *FieldRef) {
	v.file(field+".file", ref.File)
	if _, err := ParseFieldPath(ref.Path); err != nil {
		v.fail(field+".path", "%v", err)
	}
}

// file checks a repository path: relative, clean, inside the repository.
func (v *validator) file(field, p string) {
	switch {
	case p == "":
		v.fail(field, "required: a file of the release repository, e.g. apps/demo/kustomization.yaml")
	case path.IsAbs(p) || strings.Contains(p, `\`):
		v.fail(field, "%q must be a relative path with '/' separators", p)
	case p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.."):
		v.fail(field, "%q leaves the repository ('..')", p)
	case path.Clean(p) != p:
		v.fail(field, "%q is not a clean path; write %q", p, path.Clean(p))
	}
}

func (v *validator) target(t *Target) {
	switch {
	case t.HTTPRoute == nil && t.Field == nil:
		v.fail("spec.target", "needs one of httpRoute or field")
	case t.HTTPRoute != nil && t.Field != nil:
		v.fail("spec.target", "has both httpRoute and field; keep one")
	case t.Field != nil:
		v.fieldTarget("spec.target.field", t.Field)
	default:
		h, f := t.HTTPRoute, "spec.target.httpRoute"
		v.file(f+".file", h.File)
		if h.StableBackend == "" {
			v.fail(f+".stableBackend", "required: the Service that serves stable traffic")
		}
		if h.CanaryBackend == "" {
			v.fail(f+".canaryBackend", "required: the Service that serves the canary")
		}
		if h.StableBackend != "" && h.StableBackend == h.CanaryBackend {
			v.fail(f+".canaryBackend", "%q is also the stableBackend; they must differ", h.CanaryBackend)
		}
		if h.Rule != nil && *h.Rule < 0 {
			v.fail(f+".rule", "%d is not a rule index (0 or more)", *h.Rule)
		}
	}
}

func (v *validator) strategy(s *Strategy) {
	switch {
	case s.Canary == nil && s.BlueGreen == nil:
		v.fail("spec.strategy", "needs one of canary or blueGreen")
	case s.Canary != nil && s.BlueGreen != nil:
		v.fail("spec.strategy", "has both canary and blueGreen; keep one")
	case s.Canary != nil:
		v.canary(s.Canary)
		v.preflight("spec.strategy.canary.preflight", s.Canary.Preflight)
		if s.Canary.Background != nil {
			v.background("spec.strategy.canary.background", s.Canary.Background)
		}
		if s.Canary.Bake != nil {
			v.bake("spec.strategy.canary.bake", s.Canary.Bake)
		}
	default:
		bg, f := s.BlueGreen, "spec.strategy.blueGreen"
		if bg.Analysis != nil {
			v.analysis(f+".analysis", bg.Analysis)
		}
		if bg.Approval != nil {
			v.approval(f+".approval", bg.Approval)
		}
		if bg.RollbackWindow.Duration <= 0 {
			v.fail(f+".rollbackWindow", "must be a positive duration, e.g. 30m: how long the old side is kept for a rollback")
		}
		v.preflight(f+".preflight", bg.Preflight)
		if bg.Background != nil {
			v.background(f+".background", bg.Background)
		}
		if bg.Bake != nil {
			v.bake(f+".bake", bg.Bake)
		}
	}
}

func (v *validator) canary(c *Canary) {
	const f = "spec.strategy.canary.steps"
	if len(c.Steps) == 0 {
		v.fail(f, "needs at least one step")
		return
	}
	weight := 0
	var exposure Exposure
	for i, st := range c.Steps {
		sf := f + "[" + strconv.Itoa(i) + "]"
		var set []string
		if st.SetWeight != nil {
			set = append(set, "setWeight")
		}
		if st.Pause != nil {
			set = append(set, "pause")
		}
		if st.Analysis != nil {
			set = append(set, "analysis")
		}
		if st.Approval != nil {
			set = append(set, "approval")
		}
		if st.SetHeaderRoute != nil {
			set = append(set, "setHeaderRoute")
		}
		if st.SetMirrorRoute != nil {
			set = append(set, "setMirrorRoute")
		}
		if len(set) != 1 {
			v.fail(sf, "needs exactly one of setWeight, pause, analysis, approval, setHeaderRoute, setMirrorRoute; has %s", members(set))
			continue
		}
		switch {
		case st.SetHeaderRoute != nil || st.SetMirrorRoute != nil:
			exposure = v.exposureStep(sf, st, exposure)
		case st.SetWeight != nil:
			weight = v.setWeight(sf+".setWeight", weight, *st.SetWeight)
		case st.Pause != nil:
			if st.Pause.Duration.Duration < 0 {
				v.fail(sf+".pause.duration", "%s is negative", st.Pause.Duration)
			}
		case st.Analysis != nil:
			v.analysis(sf+".analysis", st.Analysis)
		default:
			v.approval(sf+".approval", st.Approval)
		}
	}
}

// setWeight checks one weight after prev and returns the weight in force.
func (v *validator) setWeight(field string, prev, w int) int {
	switch {
	case w < 0 || w > 100:
		v.fail(field, "%d is not between 0 and 100", w)
		return prev
	case w < prev:
		v.fail(field, "%d is below the previous weight %d; weights must not decrease", w, prev)
	}
	if most, rule := v.maxWeightStep(); most > 0 && w-prev > most {
		v.fail(field, "%d raises the weight by %d, above guardrail %s %d; add a step in between", w, w-prev, rule, most)
	}
	return w
}

func (v *validator) analysis(field string, a *Analysis) {
	v.gateNames(field+".gates", a.Gates)
	if a.Window.Duration <= 0 {
		v.fail(field+".window", "must be a positive duration, e.g. 5m: how long the gates measure")
	}
}

// gateNames checks a list of gate names: at least one, each defined in
// spec.gates, none twice.
func (v *validator) gateNames(field string, names []string) {
	if len(names) == 0 {
		v.fail(field, "needs at least one gate name")
	}
	seen := map[string]bool{}
	for i, name := range names {
		gf := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case seen[name]:
			v.fail(gf, "%q is listed twice", name)
		case !v.gates[name]:
			v.fail(gf, "%q is not a gate defined in spec.gates", name)
		}
		seen[name] = true
	}
}

// background checks a strategy's background gates.
func (v *validator) background(field string, b *Background) {
	v.gateNames(field+".gates", b.Gates)
	if b.Interval.Duration < 0 {
		v.fail(field+".interval", "%s is negative", b.Interval)
	}
}

// bake checks a strategy's bake: a positive duration, and gates with
// absolute bounds (once the release took all traffic no other version
// serves to compare with).
func (v *validator) bake(field string, b *Bake) {
	if b.Duration.Duration <= 0 {
		v.fail(field+".duration", "must be a positive duration, e.g. 1h: how long the promoted release is judged")
	}
	v.gateNames(field+".gates", b.Gates)
	for i, name := range b.Gates {
		if g := v.r.Gate(name); g != nil && g.Prometheus != nil && comparesWithStable(g.Prometheus) {
			v.fail(field+".gates["+strconv.Itoa(i)+"]", "gate %q compares with stable (maxRatio or maxIncrease), but during the bake no other version serves traffic; bake on a gate with min or max", name)
		}
	}
}

func (v *validator) approval(field string, a *ApprovalReq) {
	switch {
	case a.Group == "":
		v.fail(field+".group", "required: the approver group whose keys may approve")
	case !groupName.MatchString(a.Group):
		v.fail(field+".group", "%q is not a group name (lowercase letters, digits and '-')", a.Group)
	case a.Group == RampGroup:
		v.fail(field+".group", "%q is ramp's own key group; name a group of people", a.Group)
	}
	if a.Count < 1 {
		v.fail(field+".count", "%d is not a number of approvals (1 or more)", a.Count)
	}
}

// highRisk applies guardrail highRiskNeedsCheck: a high-risk rollout has
// an analysis or approval step before its final step.
func (v *validator) highRisk() {
	if !v.g.HighRiskNeedsCheck || v.r.Spec.RiskTier != RiskHigh {
		return
	}
	steps := v.r.Steps()
	if len(steps) == 0 {
		return // reported by strategy
	}
	for _, st := range steps[:len(steps)-1] {
		if st.Analysis != nil || st.Approval != nil {
			return
		}
	}
	field := "spec.strategy.canary.steps"
	if v.r.Spec.Strategy.Canary == nil {
		field = "spec.strategy.blueGreen"
	}
	v.fail(field, "riskTier high needs an analysis or approval step before the final step (guardrail highRiskNeedsCheck)")
}

// dnsName reports whether s is a Kubernetes object name (RFC 1123 subdomain).
func dnsName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !dnsLabel.MatchString(label) {
			return false
		}
	}
	return true
}

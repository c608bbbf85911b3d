package policy

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The planner's judgement of gates: an analysis step's, a bake's and the
// background gates', and when to look at them again.

// nextBackground is how soon the background gates are measured again.
func nextBackground(r *Rollout, b *Background) time.Duration {
	var every time.Duration
	for _, name := range b.Gates {
		if g := r.Gate(name); g != nil {
			if i := BackgroundInterval(b, *g); every == 0 || i < every {
				every = i
			}
		}
	}
	if every == 0 {
		every = DefaultInterval
	}
	return every
}

// nextMeasurement is how soon an analysis step looks at its gates again:
// the shortest measurement interval of its gates.
func nextMeasurement(r *Rollout, a *Analysis) time.Duration {
	var every time.Duration
	for _, name := range a.Gates {
		if g := r.Gate(name); g != nil {
			if i := MeasurementInterval(*g, a.Window.Duration); every == 0 || i < every {
				every = i
			}
		}
	}
	if every == 0 {
		every = DefaultInterval
	}
	return every
}

// judgement is the verdict over a set of gates: their results, the
// critical failures (an inconclusive past its limit counts as one), and
// what holds.
type judgement struct {
	results      []GateResult
	fails, waits []string
}

// judge judges the named gates on their results in got; a gate missing
// there is inconclusive, never a pass.
func (p *planner) judge(names []string, got map[string]GateResult, scope string) judgement {
	var j judgement
	for _, name := range names {
		res, ok := got[name]
		if !ok {
			res = GateResult{Name: name, Verdict: Inconclusive, Reason: "not evaluated"}
		}
		res.Scope = scope
		gate := p.r.Gate(name)
		if res.Severity == "" && gate != nil {
			res.Severity = gate.Severity
		}
		j.results = append(j.results, res)
		switch res.Verdict {
		case Pass:
		case Fail:
			if res.Severity != SeverityWarning {
				j.fails = append(j.fails, describe(res))
			}
		default:
			if gate != nil && gate.InconclusiveLimit > 0 && res.Inconclusives > gate.InconclusiveLimit {
				j.fails = append(j.fails, fmt.Sprintf("%s inconclusive %d times (limit %d): %s", gateName(res), res.Inconclusives, gate.InconclusiveLimit, res.Reason))
				continue
			}
			j.waits = append(j.waits, describe(res))
		}
	}
	return j
}

// analysis judges the gates of the current analysis step (a blue-green
// bake is one).
func (p *planner) analysis(a *Analysis) Decision {
	scope, what := "", "gates passed: "
	if p.steps[p.s.Step-1].IsBake() {
		scope, what = ScopeBake, fmt.Sprintf("bake of %s passed: ", a.Window)
	}
	j := p.judge(a.Gates, p.ev.Gates, scope)
	if len(j.fails) > 0 {
		d := p.act(ActionAbort, p.s.Step, 0, strings.Join(j.fails, "; "))
		d.Gates = j.results
		return d
	}
	if len(j.waits) > 0 {
		d := p.hold("conclusive gate results", strings.Join(j.waits, "; "))
		d.Gates = j.results
		return d
	}
	return p.next(j.results, nil, what+strings.Join(a.Gates, ", "))
}

// bake judges a canary's promoted release: a failure of its bake or
// background gates, or a person's abort, rolls stable back to the
// version the promote replaced; once the bake's window passes, the
// release completes with the bake's verdict.
func (p *planner) bake(b *Bake) Decision {
	s := p.s
	if s.AbortBy != nil {
		reason := "aborted by " + s.AbortBy.Author
		if s.AbortBy.Command != nil && s.AbortBy.Command.Reason != "" {
			reason += ": " + s.AbortBy.Command.Reason
		}
		return p.rollbackBake(nil, reason+" (commit "+short(s.AbortBy.Commit)+")")
	}
	if p.bg != nil && len(p.bg.fails) > 0 {
		return p.rollbackBake(p.bg.results, strings.Join(p.bg.fails, "; "))
	}
	j := p.judge(b.Gates, p.ev.Gates, ScopeBake)
	if len(j.fails) > 0 {
		return p.rollbackBake(j.results, strings.Join(j.fails, "; "))
	}
	if len(j.waits) > 0 {
		d := p.hold("the bake of "+s.Release+" to pass", fmt.Sprintf("baking %s for %s: %s", s.Release, b.Duration, strings.Join(j.waits, "; ")))
		d.Gates = j.results
		return d
	}
	if p.bg != nil && len(p.bg.waits) > 0 {
		d := p.hold("conclusive background gates", "bake passed; background: "+strings.Join(p.bg.waits, "; "))
		d.Gates = j.results
		return d
	}
	d := p.act(ActionComplete, 0, 0, fmt.Sprintf("bake of %s passed: %s; all traffic returns to stable %s", b.Duration, strings.Join(b.Gates, ", "), s.Release))
	d.Gates = j.results
	return d
}

// rollbackBake puts stable back to the version before the promote and
// all traffic on it; with onFailure.revertRelease the release field too.
func (p *planner) rollbackBake(gates []GateResult, why string) Decision {
	prev := p.s.PreviousStable
	d := p.act(ActionRollback, 0, 0, fmt.Sprintf("bake of %s failed: %s; stable goes back to %s", p.s.Release, why, prev))
	d.SetStable = prev
	if p.r.Spec.OnFailure.RevertRelease {
		d.SetRelease = prev
	}
	d.Gates = gates
	return d
}

// Gate returns the spec's gate of that name, or nil.
func (r *Rollout) Gate(name string) *Gate {
	for i := range r.Spec.Gates {
		if r.Spec.Gates[i].Name == name {
			return &r.Spec.Gates[i]
		}
	}
	return nil
}

// gateName names a gate result: "gate error-rate", "background gate error-rate".
func gateName(g GateResult) string {
	if g.Scope != "" {
		return g.Scope + " gate " + g.Name
	}
	return "gate " + g.Name
}

// describe says what a gate's result means for the rollout. A failure
// says the value once, rounded, against the bound it broke, with how many
// measurements failed: "gate error-rate: 0.278 > 0.05 (1 of 1
// measurements failed)". A window still passing so far says how far it
// is: "gate error-rate: measuring 3/10 points, all within bound".
func describe(g GateResult) string {
	if g.Verdict == Fail && g.HasValue {
		if broke := BrokenBound(g); broke != "" {
			return gateName(g) + ": " + broke + failedCount(g)
		}
	}
	if g.Measuring() {
		return gateName(g) + ": " + g.Reason
	}
	s := gateName(g) + " " + string(g.Verdict)
	if g.HasValue {
		s += fmt.Sprintf(": value %.4g", g.Value)
		if g.Bound != "" {
			s += " bound " + g.Bound
		}
	}
	if g.Reason != "" {
		s += " (" + g.Reason + ")"
	}
	return s
}

// failedCountRe finds the count in a failed window's reason.
var failedCountRe = regexp.MustCompile(`\d+ of \d+ measurements failed`)

// failedCount is " (1 of 3 measurements failed)" from a failed result.
func failedCount(g GateResult) string {
	if m := failedCountRe.FindString(g.Reason); m != "" {
		return " (" + m + ")"
	}
	switch {
	case g.Failures == 1:
		return " (1 measurement failed)"
	case g.Failures > 1:
		return fmt.Sprintf(" (%d measurements failed)", g.Failures)
	}
	return ""
}

// BrokenBound says a failing value against its bound, the value rounded to
// three significant digits (more when needed to tell it from the bound):
// "0.278 > 0.05", "0.99 < 0.995", "0.8 > 1.5x stable 0.2". It is "" when
// the result has no value or more than one bound.
func BrokenBound(g GateResult) string {
	if !g.HasValue || g.Bound == "" || strings.Contains(g.Bound, " and ") {
		return ""
	}
	var op, rest string
	switch {
	case strings.HasPrefix(g.Bound, "<="):
		op, rest = ">", strings.TrimPrefix(g.Bound, "<=")
	case strings.HasPrefix(g.Bound, ">="):
		op, rest = "<", strings.TrimPrefix(g.Bound, ">=")
	default:
		return ""
	}
	limit, _, _ := strings.Cut(strings.TrimPrefix(rest, "+"), "x")
	limit, _, _ = strings.Cut(limit, " ")
	s := RoundAgainst(g.Value, limit) + " " + op + " " + rest
	if g.HasBaseline && strings.Contains(rest, "stable") {
		s += " " + RoundAgainst(g.Baseline, "")
	}
	return s
}

// RoundAgainst formats v to three significant digits, or more when that
// would make it read as bound (a number in text): 0.05004 against 0.05 is
// "0.05004", not "0.05".
func RoundAgainst(v float64, bound string) string {
	for digits := 3; digits < 17; digits++ {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if math.Abs(v) < 1e15 {
			s = strconv.FormatFloat(roundSig(v, digits), 'f', -1, 64)
		}
		if s != bound {
			return s
		}
	}
	return formatNum(v)
}

// roundSig rounds v to n significant digits.
func roundSig(v float64, n int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// maxWindowPoints bounds the points of one measured range (Prometheus
// refuses a range query of more than 11,000 points).
const maxWindowPoints = 10000

// MeasureRange is the range of points a Prometheus gate is measured over:
// Start, Start+Step, … up to End.
type MeasureRange struct {
	Start, End time.Time
	Step       time.Duration
}

// PlanWindow says what to measure of gate g over an analysis window of
// length window, for a step that went live at liveAt, at time now: the
// points MeasurementTimes places that are due by now. When no point is due
// yet it returns, instead of a range, the inconclusive result to report
// ("warming up: window opens in 20s").
func PlanWindow(g Gate, window time.Duration, liveAt, now time.Time) (MeasureRange, *GateResult) {
	start, end, step, _ := MeasurementTimes(liveAt, now, g, window)
	q := MeasureRange{Start: start, End: end, Step: step}
	if !end.Before(start) {
		return q, nil
	}
	open := liveAt.Add(g.WarmUp.Duration)
	var res GateResult
	if now.Before(open) {
		res = Unmeasured(g, window, fmt.Sprintf("warming up: window opens in %s", promDuration(open.Sub(now).Round(time.Second))))
	} else {
		res = Unmeasured(g, window, fmt.Sprintf("%s; first measurement at %s",
			elapsed(now.Sub(open), window), start.UTC().Format(time.RFC3339)))
	}
	return q, &res
}

// JudgeWindow judges the measurements ms of the range PlanWindow returned.
// A failure counts at once. Until the window has elapsed anything else is
// inconclusive ("window 3m12s of 5m elapsed; …"). Once it has elapsed and
// still lacks conclusive measurements, JudgeWindow returns the longer
// range to measure instead (extend, up to now): a window only ever gets
// longer, and its inconclusive measurements keep counting towards the
// gate's inconclusiveLimit. Judge the extended range with JudgeExtended.
func JudgeWindow(g Gate, window time.Duration, liveAt, now time.Time, ms []Measurement) (res GateResult, extend *MeasureRange) {
	start, end, step, ready := MeasurementTimes(liveAt, now, g, window)
	open := liveAt.Add(g.WarmUp.Duration)
	res = Judge(g, ms, window)
	switch {
	case res.Verdict == Fail:
		return res, nil
	case !ready:
		res.Verdict = Inconclusive
		if !misconfigured(res) {
			res.Reason = elapsed(now.Sub(open), window) + "; " + res.Reason
		}
		return res, nil
	case res.Verdict == Pass || !now.After(end):
		return res, nil
	}
	ext := now
	if limit := start.Add(maxWindowPoints * step); ext.After(limit) {
		ext = limit
	}
	return res, &MeasureRange{Start: start, End: ext, Step: step}
}

// JudgeExtended judges the measurements ms of a range JudgeWindow extended.
func JudgeExtended(g Gate, window time.Duration, liveAt time.Time, ext MeasureRange, ms []Measurement) GateResult {
	res := Judge(g, ms, window)
	if res.Verdict != Fail && !misconfigured(res) {
		open := liveAt.Add(g.WarmUp.Duration)
		res.Reason = fmt.Sprintf("window extended to %s: %s", promDuration(ext.End.Sub(open).Round(time.Second)), res.Reason)
	}
	return res
}

// misconfigured reports whether res is held by the gate's own query (see
// Measurement.ConfigError): its reason then leads with that.
func misconfigured(res GateResult) bool { return strings.HasPrefix(res.Reason, configErrorPrefix) }

// Unmeasured is gate g's result when it could not be measured, and why
// (no Prometheus, a query error, nothing due yet): inconclusive, counting
// as one inconclusive measurement at least.
func Unmeasured(g Gate, window time.Duration, reason string) GateResult {
	res := Judge(g, nil, window)
	res.Verdict = Inconclusive
	res.Reason = reason
	res.Inconclusives = max(res.Inconclusives, 1)
	return res
}

// UndefinedGate is the result of a gate an analysis names that the spec
// does not define: inconclusive and critical.
func UndefinedGate(name string) GateResult {
	return GateResult{Name: name, Verdict: Inconclusive, Severity: SeverityCritical,
		Reason: fmt.Sprintf("gate %s is not defined in spec.gates", name)}
}

// elapsed says how much of the window has passed: "window 3m12s of 5m elapsed".
func elapsed(d, window time.Duration) string {
	return fmt.Sprintf("window %s of %s elapsed", promDuration(d.Round(time.Second)), promDuration(window))
}

// promDuration writes d as Prometheus does ("1m30s", "5m").
func promDuration(d time.Duration) string { return model.Duration(d).String() }

// BackgroundInterval is the spacing of a background gate's measurements:
// the background's interval, else the gate's, else DefaultInterval.
func BackgroundInterval(b *Background, g Gate) time.Duration {
	switch {
	case b != nil && b.Interval.Duration > 0:
		return b.Interval.Duration
	case g.Interval.Duration > 0:
		return g.Interval.Duration
	}
	return DefaultInterval
}

// PlanBackground says what to measure of background gate g for a step
// that went live at liveAt, at time now: one point every step after the
// gate's warm-up, up to now (the latest maxWindowPoints of them). The
// points depend only on liveAt, so a restarted ramp measures the same
// ones. Before the first point it returns, instead of a range, the
// inconclusive result to report; it counts no inconclusive measurement.
func PlanBackground(g Gate, step time.Duration, liveAt, now time.Time) (MeasureRange, *GateResult) {
	open := liveAt.Add(g.WarmUp.Duration)
	q, due := PointsRange(g, step, liveAt, now)
	if due == 0 {
		res := newResult(g)
		res.Scope = ScopeBackground
		if now.Before(open) {
			res.Reason = "warming up: first measurement at " + open.Add(step).UTC().Format(time.RFC3339)
		} else {
			res.Reason = "first measurement at " + open.Add(step).UTC().Format(time.RFC3339)
		}
		return q, &res
	}
	return q, nil
}

// PointsRange is the range of the measurement points, one every step
// after gate g's warm-up, that have passed by now for a step that went
// live at liveAt (the latest maxWindowPoints of them), and how many have
// passed in all. With none yet, End is before Start.
func PointsRange(g Gate, step time.Duration, liveAt, now time.Time) (MeasureRange, int) {
	open := liveAt.Add(g.WarmUp.Duration)
	due := DuePoints(g, step, liveAt, now)
	first := max(1, due-maxWindowPoints+1)
	return MeasureRange{Start: open.Add(time.Duration(first) * step), End: open.Add(time.Duration(due) * step), Step: step}, due
}

// CountInconclusives counts the result of a check judged once, at now (an
// alerts, webhook or schedule gate), over the points it stood for: an
// inconclusive result counts n inconclusive measurements (at least one)
// towards the gate's inconclusiveLimit, as a Prometheus gate's points do.
func CountInconclusives(res GateResult, n int) GateResult {
	if res.Verdict == Inconclusive {
		res.Inconclusives = max(res.Inconclusives, n, 1)
	}
	return res
}

// DuePoints is how many measurement points, one every step after the
// gate's warm-up, have passed by now for a step that went live at liveAt.
func DuePoints(g Gate, step time.Duration, liveAt, now time.Time) int {
	open := liveAt.Add(g.WarmUp.Duration)
	if step <= 0 || now.Before(open) {
		return 0
	}
	return int(now.Sub(open) / step)
}

// JudgeBackground judges background gate g on the measurements ms of the
// range PlanBackground returned. More failures than FailureLimit fail it
// (a critical one aborts). Otherwise its verdict is its latest
// measurement's: pass when that passed, else inconclusive, which holds
// the next step; every inconclusive measurement counts towards
// InconclusiveLimit.
func JudgeBackground(g Gate, liveAt, now time.Time, ms []Measurement) GateResult {
	open := liveAt.Add(g.WarmUp.Duration)
	res := Judge(g, ms, now.Sub(open).Round(time.Second))
	res.Scope = ScopeBackground
	if res.Verdict == Fail || g.Prometheus == nil || len(ms) == 0 {
		if len(ms) == 0 && res.Verdict != Fail {
			res.Verdict, res.Reason = Inconclusive, "no measurement"
		}
		return res
	}
	last := judgeMeasurement(g.Prometheus, &ms[len(ms)-1])
	switch last.verdict {
	case Pass:
		res.Verdict = Pass
		res.Reason = fmt.Sprintf("latest of %d measurements passed; %d failed (failureLimit %d), %d inconclusive",
			len(ms), res.Failures, g.FailureLimit, res.Inconclusives)
	case Fail:
		res.Verdict = Inconclusive
		res.Reason = fmt.Sprintf("latest measurement failed, %d of failureLimit %d: %s", res.Failures, g.FailureLimit, last.reason)
	default:
		res.Verdict = Inconclusive
		res.Reason = fmt.Sprintf("latest measurement inconclusive (%d of %d): %s", res.Inconclusives, len(ms), last.reason)
	}
	return res
}

package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Gate verdicts are judged here from measurements the shell gathered; the
// shell never decides.
//
// A measurement (one point of a gate's query over the window) is
//   - inconclusive when MinSamples is set and the sample count is missing
//     or below it ("no sample, no signal"; named first, as it explains an
//     empty value), when it has no value (empty result, query error) or
//     its value is NaN or ±Inf, or when a comparison with stable is
//     configured and the stable baseline is missing, not finite, or (for
//     maxRatio) zero or less while the canary's value is above zero;
//   - fail when its value is below Min, above Max, more than MaxIncrease
//     over the baseline, or above MaxRatio × the baseline;
//   - pass otherwise.
//
// A window is judged on its measurements:
//   - fail as soon as more than FailureLimit measurements failed (a later
//     point cannot undo a failure, so a fail needs no complete window);
//   - pass when at least NeededMeasurements are conclusive (pass or fail)
//     and no more than FailureLimit of them failed;
//   - inconclusive otherwise: too few conclusive measurements, including
//     a window with none at all. Missing evidence is never a pass.

// DefaultInterval is the spacing of measurements when a gate sets neither
// interval nor count.
const DefaultInterval = time.Minute

// SeverityCritical and SeverityWarning are a gate's severities; a failing
// critical gate aborts, a failing warning gate is only reported.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
)

// Measurement is one point of a gate's query: the canary's value at At,
// the stable baseline of the same query, and the sample count behind it.
type Measurement struct {
	At time.Time
	// Value is the canary's value; OK is false when the query gave none
	// (empty result or error; Err then says why).
	Value float64
	OK    bool
	// Baseline is the stable version's value of the same query.
	Baseline    float64
	HasBaseline bool
	// Samples is the sample query's value.
	Samples    float64
	HasSamples bool
	// Err says why a value, baseline or sample count is missing.
	Err string
	// ConfigError says that Err is the gate's own fault, not the data's:
	// Prometheus refused its query (bad_data), a query returned more
	// than one series, or its template did not render.
	ConfigError bool
}

// configErrorPrefix starts the reason of a measurement held by the gate's
// own query.
const configErrorPrefix = "configuration error: "

// outcome is the judgement of one measurement.
type outcome struct {
	verdict Verdict
	reason  string
}

// Judge judges a Prometheus gate over the measurements of one window (see
// the rules above). The result carries the last conclusive measurement
// (on a fail: the last failing one), the gate's bounds, the query hash and
// the counts of failed and inconclusive measurements.
func Judge(g Gate, ms []Measurement, window time.Duration) GateResult {
	res := newResult(g)
	res.Window = Duration{window}
	if g.Prometheus == nil {
		res.Reason = fmt.Sprintf("gate %s has no prometheus query", g.Name)
		return res
	}
	pg := g.Prometheus
	res.Query = QueryHash(pg.Query)
	res.Bound = Bounds(pg)

	var passes int
	var lastConclusive, lastFail, lastSamples *Measurement
	var failReason, inconclusiveReason, configReason string
	for i := range ms {
		m := &ms[i]
		if m.HasSamples {
			lastSamples = m
		}
		o := judgeMeasurement(pg, m)
		switch o.verdict {
		case Pass:
			passes++
			lastConclusive = m
		case Fail:
			res.Failures++
			lastConclusive, lastFail, failReason = m, m, o.reason
		default:
			res.Inconclusives++
			inconclusiveReason = o.reason
			if m.ConfigError {
				configReason = o.reason
			}
		}
	}
	conclusive := passes + res.Failures
	needed := NeededMeasurements(g, window)

	shown := lastConclusive
	switch {
	case res.Failures > g.FailureLimit:
		res.Verdict = Fail
		shown = lastFail
		res.Reason = fmt.Sprintf("%s (%d of %d measurements failed, failureLimit %d)",
			failReason, res.Failures, len(ms), g.FailureLimit)
	case conclusive >= needed:
		res.Verdict = Pass
		res.Reason = fmt.Sprintf("%d of %d measurements passed, %d failed (failureLimit %d)",
			passes, len(ms), res.Failures, g.FailureLimit)
	case configReason != "":
		// Named first: no amount of waiting fixes the gate's own query.
		res.Reason = fmt.Sprintf("%s (%d of %d measurements)", configReason, res.Inconclusives, len(ms))
	case res.Inconclusives == 0 && conclusive > 0 && res.Failures == 0:
		// Passing so far: not a verdict yet, and nothing wrong.
		res.Reason = fmt.Sprintf("measuring %d/%d points, all within bound", conclusive, needed)
	case res.Inconclusives == 0 && conclusive > 0:
		res.Reason = fmt.Sprintf("measuring %d/%d points, %d failed (failureLimit %d)", conclusive, needed, res.Failures, g.FailureLimit)
	default:
		res.Reason = fmt.Sprintf("%d of %d needed measurements conclusive", conclusive, needed)
		if res.Inconclusives > 0 {
			res.Reason += fmt.Sprintf("; %d inconclusive, last: %s", res.Inconclusives, inconclusiveReason)
		}
	}
	if shown != nil {
		res.Value, res.HasValue = shown.Value, true
		if shown.HasBaseline && comparesWithStable(pg) {
			res.Baseline, res.HasBaseline = shown.Baseline, true
		}
		lastSamples = shown
	}
	if lastSamples != nil && lastSamples.HasSamples {
		res.Samples = lastSamples.Samples
	}
	return res
}

// Measuring reports whether a result is a window still being measured
// with nothing inconclusive so far: every point due was conclusive and
// no more failed than the failure limit allows, but the window is not
// complete. It holds like an inconclusive result, and reads as progress.
func (g GateResult) Measuring() bool {
	return g.Verdict == Inconclusive && g.Inconclusives == 0 && strings.Contains(g.Reason, "measuring ")
}

// judgeMeasurement judges one point.
func judgeMeasurement(pg *PrometheusGate, m *Measurement) outcome {
	missing := func(what string) outcome {
		if m.Err != "" {
			return outcome{Inconclusive, what + ": " + m.Err}
		}
		return outcome{Inconclusive, what}
	}
	lowSamples := pg.MinSamples > 0 && m.HasSamples && !(finite(m.Samples) && m.Samples >= pg.MinSamples)
	switch {
	case m.ConfigError:
		return outcome{Inconclusive, configErrorPrefix + m.Err}
	case lowSamples:
		// Named first: it explains an empty or NaN value on an idle canary.
		return outcome{Inconclusive, fmt.Sprintf("%s samples below minSamples %s",
			formatNum(m.Samples), formatNum(pg.MinSamples))}
	case !m.OK:
		return missing("no value")
	case !finite(m.Value):
		return outcome{Inconclusive, "value is " + formatNum(m.Value)}
	case pg.MinSamples > 0 && !m.HasSamples:
		return missing("no sample count")
	}
	if comparesWithStable(pg) {
		switch {
		case !m.HasBaseline:
			return missing("no stable baseline")
		case !finite(m.Baseline):
			return outcome{Inconclusive, "stable baseline is " + formatNum(m.Baseline)}
		}
	}
	v := m.Value
	if pg.Min != nil && v < *pg.Min {
		return outcome{Fail, fmt.Sprintf("value %s below %s", formatNum(v), minBound(*pg.Min))}
	}
	if pg.Max != nil && v > *pg.Max {
		return outcome{Fail, fmt.Sprintf("value %s above %s", formatNum(v), maxBound(*pg.Max))}
	}
	if pg.MaxIncrease != nil && v-m.Baseline > *pg.MaxIncrease {
		return outcome{Fail, fmt.Sprintf("value %s is %s over stable %s, above %s",
			formatNum(v), formatNum(v-m.Baseline), formatNum(m.Baseline), increaseBound(*pg.MaxIncrease))}
	}
	if pg.MaxRatio != nil {
		b := m.Baseline
		switch {
		case b <= 0 && v <= 0:
			// Both zero (say, no errors on either side): no worse than stable.
		case b <= 0:
			return outcome{Inconclusive, fmt.Sprintf("stable baseline is %s: ratio undefined for canary value %s",
				formatNum(b), formatNum(v))}
		case v/b > *pg.MaxRatio:
			return outcome{Fail, fmt.Sprintf("value %s is %sx stable %s, above %s",
				formatNum(v), formatNum(v/b), formatNum(b), ratioBound(*pg.MaxRatio))}
		}
	}
	return outcome{verdict: Pass}
}

// NeededMeasurements is how many conclusive measurements a window needs to
// pass: the gate's Count, or when Count is 0 every point that fits the
// window (at least one).
func NeededMeasurements(g Gate, window time.Duration) int {
	if g.Count > 0 {
		return g.Count
	}
	return windowPoints(g, window)
}

// MeasurementInterval is the spacing of a gate's measurements: Interval,
// or window/Count, or DefaultInterval.
func MeasurementInterval(g Gate, window time.Duration) time.Duration {
	switch {
	case g.Interval.Duration > 0:
		return g.Interval.Duration
	case g.Count > 0 && window/time.Duration(g.Count) > 0:
		return window / time.Duration(g.Count)
	default:
		return DefaultInterval
	}
}

// windowPoints is how many measurements fit the window: window/interval,
// at least one.
func windowPoints(g Gate, window time.Duration) int {
	n := int(window / MeasurementInterval(g, window))
	return max(n, 1)
}

// MeasurementTimes places a gate's measurements for a step that went live
// at liveAt: the window opens at liveAt+WarmUp and closes window later;
// its points lie on a grid of step that ends exactly at the close, one per
// interval (a 5m window at 1m has points at +1m … +5m after the warm-up,
// each summarising time after the warm-up). The returned range covers the
// points due by now (end is the earlier of now and the close; when end is
// before start, no point is due yet). ready reports whether the whole
// window has elapsed. The times depend only on liveAt, the gate and the
// window, so a restarted ramp measures the same points.
func MeasurementTimes(liveAt, now time.Time, g Gate, window time.Duration) (start, end time.Time, step time.Duration, ready bool) {
	step = MeasurementInterval(g, window)
	open := liveAt.Add(g.WarmUp.Duration)
	closeAt := open.Add(max(window, 0))
	start = closeAt.Add(-time.Duration(windowPoints(g, window)-1) * step)
	end = closeAt
	if now.Before(closeAt) {
		end = now
	}
	return start, end, step, !now.Before(closeAt)
}

// QueryHash is a short stable name of a query's text for the evidence
// trailers: "q-" and the first 8 hex digits of its SHA-256.
func QueryHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "q-" + hex.EncodeToString(sum[:4])
}

// Bounds renders a gate's bounds as recorded in the evidence, e.g.
// ">=0.995", "<=1.5x stable" or "<=0.01 and <=+0.005 over stable".
func Bounds(pg *PrometheusGate) string {
	var bs []string
	if pg.Min != nil {
		bs = append(bs, minBound(*pg.Min))
	}
	if pg.Max != nil {
		bs = append(bs, maxBound(*pg.Max))
	}
	if pg.MaxRatio != nil {
		bs = append(bs, ratioBound(*pg.MaxRatio))
	}
	if pg.MaxIncrease != nil {
		bs = append(bs, increaseBound(*pg.MaxIncrease))
	}
	return strings.Join(bs, " and ")
}

func minBound(v float64) string      { return ">=" + formatNum(v) }
func maxBound(v float64) string      { return "<=" + formatNum(v) }
func ratioBound(v float64) string    { return "<=" + formatNum(v) + "x stable" }
func increaseBound(v float64) string { return "<=+" + formatNum(v) + " over stable" }

// AlertsQuery is the PromQL of an alerts gate: the firing alerts matching
// the selector.
func AlertsQuery(selector string) string {
	if s := strings.TrimSpace(selector); s != "" {
		return `ALERTS{alertstate="firing", ` + s + `}`
	}
	return `ALERTS{alertstate="firing"}`
}

// JudgeAlerts judges an alerts gate from the names of the alerts firing
// (errText is set when they could not be read): none firing passes; any
// firing holds (inconclusive, naming them), and so does an error.
func JudgeAlerts(g Gate, firing []string, errText string) GateResult {
	res := newResult(g)
	res.Bound = "no alert firing"
	if g.Alerts != nil {
		res.Query = QueryHash(AlertsQuery(g.Alerts.Selector))
	}
	res.Value, res.HasValue = float64(len(firing)), errText == ""
	switch {
	case errText != "":
		res.Reason = "alerts unknown: " + errText
		res.Inconclusives = 1
	case len(firing) == 1:
		res.Reason = "alert " + firing[0] + " firing"
		res.Inconclusives = 1
	case len(firing) > 1:
		res.Reason = "alerts " + strings.Join(firing, ", ") + " firing"
		res.Inconclusives = 1
	default:
		res.Verdict = Pass
		res.Reason = "no alert firing"
	}
	return res
}

// JudgeWebhook judges a webhook gate's response: 2xx passes, 4xx and 5xx
// fail (the reason holds the status and up to 200 bytes of the body), and
// anything else holds: a transport error (errText: timeout, connection
// refused) or another status.
func JudgeWebhook(g Gate, status int, body string, errText string) GateResult {
	res := newResult(g)
	res.Bound = "2xx"
	if errText != "" {
		res.Reason = "webhook unreachable: " + errText
		res.Inconclusives = 1
		return res
	}
	res.Value, res.HasValue = float64(status), true
	if len(body) > 200 {
		body = strings.ToValidUTF8(body[:200], "")
	}
	reason := "status " + strconv.Itoa(status)
	if b := strings.TrimSpace(body); b != "" {
		reason += ": " + b
	}
	res.Reason = reason
	switch {
	case status >= 200 && status < 300:
		res.Verdict = Pass
	case status >= 400 && status < 600:
		res.Verdict = Fail
		res.Failures = 1
	default:
		res.Inconclusives = 1
	}
	return res
}

// newResult starts an inconclusive result for g.
func newResult(g Gate) GateResult {
	sev := g.Severity
	if sev == "" {
		sev = SeverityCritical
	}
	return GateResult{Name: g.Name, Verdict: Inconclusive, Severity: sev}
}

func comparesWithStable(pg *PrometheusGate) bool { return pg.MaxRatio != nil || pg.MaxIncrease != nil }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// formatNum renders a number as briefly as it round-trips: 0.995, 1.5, 120.
func formatNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/e2e/e2etest"
)

// wallTime logs a scenario's wall time when it ends: defer wallTime(t)().
func wallTime(t *testing.T) func() {
	start := time.Now()
	return func() { t.Logf("%s wall time %s", t.Name(), time.Since(start).Round(100*time.Millisecond)) }
}

// stringOf describes a value and an error for a failure message.
func stringOf(v any, err error) string {
	if err != nil {
		return fmt.Sprintf("%+v (error: %v)", v, err)
	}
	return fmt.Sprintf("%+v", v)
}

// describe is a ramp commit as "<action> <step> <weight>", e.g.
// "set-weight 1/4 20"; without a Ramp-Step trailer "<action> - <weight>".
func describe(c e2etest.Commit) string {
	step := c.Trailer("Ramp-Step")
	if step == "" {
		step = "-"
	}
	return c.Trailer("Ramp-Action") + " " + step + " " + c.Trailer("Ramp-Weight")
}

func describeAll(cs []e2etest.Commit) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = describe(c)
	}
	return out
}

// assertSigned checks with the system git that every commit after since
// on main is signed by a key of w.AllowedSigners (ramp, dev, alice, bob).
func assertSigned(t *testing.T, w *e2etest.World, since string) {
	t.Helper()
	for _, c := range w.Auditor.Log(since) {
		if err := w.Auditor.VerifyCommit(w.AllowedSigners, c.SHA); err != nil {
			t.Errorf("%s (%s): %v", c.Subject, c.Author, err)
		}
	}
}

// assertWindowAfterApply checks that the analysis step entered by commit
// analysis measured only after Flux had applied that commit: ramp's
// range queries for the canary version, as Prometheus logged them, start
// one measurement interval after the window opened, and the window must
// open no earlier than the Kustomization's Ready transition that
// reported the commit applied (and no earlier than the commit). until is
// the commit that ended the step.
func assertWindowAfterApply(t *testing.T, w *e2etest.World, analysis, until e2etest.Commit) {
	t.Helper()
	applied, ok := w.Applied.Find(analysis.SHA)
	if !ok {
		t.Errorf("Flux never reported the analysis commit %.10s (%s) applied; applied:\n%s", analysis.SHA, analysis.Subject, w.Applied)
		return
	}
	queries, err := w.Prom.RangeQueries(`version="` + e2etest.ReleaseVersion + `"`)
	if err != nil {
		t.Fatal(err)
	}
	var opened time.Time
	n := 0
	for _, q := range queries {
		open := q.Start.Add(-time.Duration(q.Step * float64(time.Second)))
		if open.Before(analysis.Time.Add(-time.Second)) || q.Start.After(until.Time.Add(time.Second)) {
			continue // another step's window
		}
		n++
		if opened.IsZero() || open.Before(opened) {
			opened = open
		}
	}
	if n == 0 {
		t.Errorf("no range query for the canary between %s and %s in Prometheus' query log", analysis.Time, until.Time)
		return
	}
	if opened.Before(applied.At) || opened.Before(analysis.Time) {
		t.Errorf("step %s: window opened at %s, before Flux reported its commit applied at %s (commit at %s)",
			analysis.Trailer("Ramp-Step"), opened.Format(time.StampMilli), applied.At.Format(time.StampMilli), analysis.Time.Format(time.StampMilli))
	}
	t.Logf("step %s: committed %s, Flux applied %s (seen %s), window opened %s; %d range queries",
		analysis.Trailer("Ramp-Step"), analysis.Time.Format(time.TimeOnly), applied.At.Format(time.TimeOnly),
		applied.Seen.Format("15:04:05.000"), opened.Format("15:04:05.000"), n)
}

// gateTrailer returns the Ramp-Gate trailer of gate name, "" when none.
func gateTrailer(c e2etest.Commit, name string) string {
	for _, g := range c.Trailers["Ramp-Gate"] {
		if strings.HasPrefix(g, "name="+name+" ") {
			return g
		}
	}
	return ""
}

// rate is a PromQL rate of version's requests over the last 5 seconds.
func rate(version string) string {
	return `sum(rate(http_requests_total{version="` + version + `"}[5s]))`
}

// hasAll reports whether s contains every one of subs.
func hasAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// errorsOf is the first non-nil error.
func errorsOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// field returns the value of key in a trailer of key=value fields, such
// as Ramp-Gate's, without quotes; "" when absent.
func field(trailer, key string) string {
	for _, f := range strings.Fields(trailer) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// releaseUntilApplied starts release e2etest.ReleaseVersion in w, waits
// (2 min at most) for ramp's commit that entered the step matching want,
// and for Flux to apply it. It returns the release's start commit and
// ramp's commit.
func releaseUntilApplied(w *e2etest.World, what string, want func(e2etest.Commit) bool) (string, e2etest.Commit) {
	start := w.StartRelease(e2etest.ReleaseVersion)
	c := w.WaitCommit(start, 2*time.Minute, what, want)
	w.WaitApplied(c.SHA, time.Minute)
	return start, c
}

// enteredStep matches ramp's commit that entered step (as "2/3").
func enteredStep(step string) func(e2etest.Commit) bool {
	return func(c e2etest.Commit) bool { return c.Author == e2etest.RampEmail && c.Trailer("Ramp-Step") == step }
}

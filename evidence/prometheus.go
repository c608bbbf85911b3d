// Package evidence gathers what gates are judged on: Prometheus
// measurements, firing alerts and webhook answers. It queries and
// reports; package policy decides. Missing evidence is reported as such
// (an inconclusive measurement with the reason), never as a pass.
package evidence

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ramp-dev/ramp/policy"
)

// DefaultQueryTimeout bounds one Prometheus query when no timeout is set.
const DefaultQueryTimeout = 30 * time.Second

// QueryVars are the values a gate's query template may use:
// {{.Rollout}}, {{.Release}}, {{.Stable}}, {{.Version}}, {{.Window}},
// {{.Interval}} (and {{.Step}}).
type QueryVars struct {
	Rollout string
	// Release is the canary's version, Stable the stable one's.
	Release string
	Stable  string
	// Version is the version being measured: Release for the value and
	// the sample count, Stable for the baseline. Measure sets it; set
	// before, it is the version Measure measures instead of Release (a
	// preflight measures Stable: before step 1 only stable has traffic).
	Version string
	// Window is the analysis window as a PromQL duration ("5m"), and
	// Interval the spacing of measurements ("1m").
	Window   string
	Interval string
	// Step is the rollout's 1-based step.
	Step int
	// Target and Cluster are, for a target of a rollout with waves, the
	// target's name and its cluster (Rollout is then the rollout's
	// name, not the target's own rollout's): one gate serves every target.
	Target  string
	Cluster string
}

// VarsOf are the query variables of rollout r in state s.
func VarsOf(r *policy.Rollout, s policy.State) QueryVars {
	v := QueryVars{Rollout: r.Name(), Release: s.Release, Stable: s.Stable, Step: s.Step}
	if rollout, target, cluster, _ := r.TargetInfo(); target != "" {
		v.Rollout, v.Target, v.Cluster = rollout, target, cluster
	}
	return v
}

// Prometheus measures gates with Prometheus' HTTP API.
type Prometheus struct {
	api     v1.API
	timeout time.Duration
}

// Option configures NewPrometheus.
type Option func(*promConfig)

type promConfig struct {
	timeout   time.Duration
	transport http.RoundTripper
	auth      func(*http.Request)
}

// WithBearerToken sends an Authorization: Bearer header with every query.
func WithBearerToken(token string) Option {
	return func(c *promConfig) {
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	}
}

// WithBasicAuth sends HTTP basic authentication with every query.
func WithBasicAuth(user, password string) Option {
	return func(c *promConfig) {
		c.auth = func(r *http.Request) { r.SetBasicAuth(user, password) }
	}
}

// WithQueryTimeout bounds each query (default DefaultQueryTimeout).
func WithQueryTimeout(d time.Duration) Option {
	return func(c *promConfig) { c.timeout = d }
}

// WithTransport sets the HTTP transport, e.g. for custom TLS.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *promConfig) { c.transport = rt }
}

// authTransport adds credentials to each request; they never appear in
// errors, which name only the request's URL.
type authTransport struct {
	next http.RoundTripper
	auth func(*http.Request)
}

func (t authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	t.auth(r)
	return t.next.RoundTrip(r)
}

// NewPrometheus returns a provider querying the Prometheus at address
// (http://host:port[/prefix]).
func NewPrometheus(address string, opts ...Option) (*Prometheus, error) {
	u, err := url.Parse(address)
	if err != nil {
		// The parse error quotes the address, which may hold a password.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("prometheus address is not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus address %q: want http(s)://host:port", u.Redacted())
	}
	cfg := promConfig{timeout: DefaultQueryTimeout, transport: api.DefaultRoundTripper}
	for _, o := range opts {
		o(&cfg)
	}
	rt := cfg.transport
	if cfg.auth != nil {
		rt = authTransport{next: rt, auth: cfg.auth}
	}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", u.Redacted(), err)
	}
	return &Prometheus{api: v1.NewAPI(c), timeout: cfg.timeout}, nil
}

// RenderQuery renders a gate's query template with q.
func RenderQuery(text string, q QueryVars) (string, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("query template: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, q); err != nil {
		return "", fmt.Errorf("query template: %w", err)
	}
	return b.String(), nil
}

// PromDuration renders d as a PromQL duration: "5m", "1h30m", "500ms".
func PromDuration(d time.Duration) string { return model.Duration(d).String() }

// Measure measures a Prometheus gate at each point of the range start,
// start+step, … up to end: the canary's value (q.Version = q.Release),
// the stable baseline of the same query (q.Version = q.Stable) when the
// gate compares with stable, and the sample query. Points are aligned by
// timestamp; a point a query has no value for stays without one. A query
// that fails, or returns more than one series, leaves its part of every
// point missing with the error as Err, so the points judge inconclusive.
// A query Prometheus refuses (bad_data: a syntax error, say), one that
// returns more than one series, or a template that does not render is
// marked a configuration error. Measure returns an error only when it
// cannot query at all (not a Prometheus gate, no step).
func (p *Prometheus) Measure(ctx context.Context, g policy.Gate, q QueryVars, start, end time.Time, step time.Duration) ([]policy.Measurement, error) {
	pg := g.Prometheus
	if pg == nil {
		return nil, fmt.Errorf("gate %s: not a prometheus gate", g.Name)
	}
	if step <= 0 {
		return nil, fmt.Errorf("gate %s: measurement step %s is not positive", g.Name, step)
	}
	if end.Before(start) {
		return nil, nil
	}
	ms := make([]policy.Measurement, int(end.Sub(start)/step)+1)
	for i := range ms {
		ms[i].At = start.Add(time.Duration(i) * step)
	}
	render := func(text, version string) (string, error) {
		vars := q
		vars.Version = version
		return RenderQuery(text, vars)
	}
	// fail marks every point missing with err: nothing else will answer.
	fail := func(err error) ([]policy.Measurement, error) {
		for i := range ms {
			ms[i].Err, ms[i].ConfigError = err.Error(), isConfigError(err)
		}
		return ms, nil
	}
	measured := q.Release
	if q.Version != "" {
		measured = q.Version // a preflight measures the stable version
	}
	value, err := render(pg.Query, measured)
	if err != nil {
		return fail(&configError{err})
	}
	var baseline, samples string
	if pg.MaxRatio != nil || pg.MaxIncrease != nil {
		if baseline, err = render(pg.Query, q.Stable); err != nil {
			return fail(&configError{err})
		}
	}
	if pg.SampleQuery != "" {
		if samples, err = render(pg.SampleQuery, measured); err != nil {
			return fail(&configError{fmt.Errorf("sampleQuery: %w", err)})
		}
	}
	r := v1.Range{Start: start, End: end, Step: step}

	points, err := p.rangeQuery(ctx, value, r)
	if err != nil {
		return fail(err) // Prometheus unreachable or refusing the query
	}
	for i, v := range points {
		ms[i].Value, ms[i].OK = v, true
	}
	if baseline != "" {
		points, err := p.rangeQuery(ctx, baseline, r)
		for i := range ms {
			v, ok := points[i]
			ms[i].Baseline, ms[i].HasBaseline = v, ok
			if err != nil {
				ms[i].Err = joinErr(ms[i].Err, "baseline: "+err.Error())
				ms[i].ConfigError = ms[i].ConfigError || isConfigError(err)
			}
		}
	}
	if samples != "" {
		points, err := p.rangeQuery(ctx, samples, r)
		for i := range ms {
			v, ok := points[i]
			ms[i].Samples, ms[i].HasSamples = v, ok
			if err != nil {
				ms[i].Err = joinErr(ms[i].Err, "samples: "+err.Error())
				ms[i].ConfigError = ms[i].ConfigError || isConfigError(err)
			}
		}
	}
	return ms, nil
}

// rangeQuery runs a range query that must return at most one series and
// returns its values by point index (start + index*step).
func (p *Prometheus) rangeQuery(ctx context.Context, query string, r v1.Range) (map[int]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	val, _, _, err := p.api.QueryRange(ctx, query, r, v1.WithTimeout(p.timeout))
	var apiErr *v1.Error
	if errors.As(err, &apiErr) && apiErr.Type == v1.ErrBadData {
		return nil, &configError{fmt.Errorf("Prometheus refused query_range %s: %w", query, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("query_range %s: %w", query, err)
	}
	matrix, ok := val.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("query_range %s: got a %s, want a matrix", query, val.Type())
	}
	switch len(matrix) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, &configError{fmt.Errorf("query %s returned %d series, want one: aggregate it (sum, max, …)", query, len(matrix))}
	}
	stepMs := r.Step.Milliseconds()
	startMs := r.Start.UnixMilli()
	// Prometheus works in milliseconds: a range whose ends are not whole
	// milliseconds may get a point past the last one asked for.
	last := int(r.End.Sub(r.Start) / r.Step)
	points := make(map[int]float64, len(matrix[0].Values))
	for _, sp := range matrix[0].Values {
		off := int64(sp.Timestamp) - startMs
		i := int(math.Round(float64(off) / float64(stepMs)))
		if d := off - int64(i)*stepMs; i >= 0 && i <= last && 2*max(d, -d) < stepMs {
			points[i] = float64(sp.Value)
		}
	}
	return points, nil
}

// FiringAlerts returns the names of the alerts matching selector that are
// firing at time at, sorted.
func (p *Prometheus) FiringAlerts(ctx context.Context, selector string, at time.Time) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	query := policy.AlertsQuery(selector)
	val, _, _, err := p.api.Query(ctx, query, at, v1.WithTimeout(p.timeout))
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", query, err)
	}
	vec, ok := val.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %s: got a %s, want a vector", query, val.Type())
	}
	var names []string
	for _, s := range vec {
		name := string(s.Metric[model.AlertNameLabel])
		if name == "" {
			name = s.Metric.String()
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// FiringPoints counts the points start, start+step, … up to end at which
// an alert matching selector was firing.
func (p *Prometheus) FiringPoints(ctx context.Context, selector string, start, end time.Time, step time.Duration) (int, error) {
	if step <= 0 || end.Before(start) {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	query := "count(" + policy.AlertsQuery(selector) + ")"
	val, _, _, err := p.api.QueryRange(ctx, query, v1.Range{Start: start, End: end, Step: step}, v1.WithTimeout(p.timeout))
	if err != nil {
		return 0, fmt.Errorf("query_range %s: %w", query, err)
	}
	matrix, ok := val.(model.Matrix)
	if !ok {
		return 0, fmt.Errorf("query_range %s: got a %s, want a matrix", query, val.Type())
	}
	n := 0
	for _, series := range matrix {
		for _, sp := range series.Values {
			if sp.Value > 0 {
				n++
			}
		}
	}
	return n, nil
}

// configError is a query's own fault: Prometheus refused it, it returned
// more than one series, or its template did not render.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func isConfigError(err error) bool {
	var cfg *configError
	return errors.As(err, &cfg)
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

package policy

// Gate is a named check an analysis step waits on. Exactly one of
// Prometheus, Alerts, Webhook or Schedule is set.
type Gate struct {
	Name string `yaml:"name"`
	// Severity is critical (default: a failure aborts) or warning (a
	// failure is recorded and reported, and does not abort).
	Severity string `yaml:"severity"`

	Prometheus *PrometheusGate `yaml:"prometheus"`
	Alerts     *AlertsGate     `yaml:"alerts"`
	Webhook    *WebhookGate    `yaml:"webhook"`
	Schedule   *ScheduleGate   `yaml:"schedule"`

	// WarmUp is skipped after the step goes live before measuring.
	WarmUp Duration `yaml:"warmUp"`
	// Interval between measurements over the window (range-query step).
	Interval Duration `yaml:"interval"`
	// Count is how many measurements a verdict needs (0: as many as fit the window).
	Count int `yaml:"count"`
	// FailureLimit is how many failed measurements are tolerated.
	FailureLimit int `yaml:"failureLimit"`
	// InconclusiveLimit is how many inconclusive evaluations hold the
	// rollout before it aborts (0: hold indefinitely).
	InconclusiveLimit int `yaml:"inconclusiveLimit"`
}

// PrometheusGate is a PromQL query judged against absolute bounds and/or
// the stable version's value of the same query. Queries are Go templates
// over .Rollout, .Release (canary version), .Stable (stable version),
// .Window and .Version (the version being measured).
type PrometheusGate struct {
	Query string   `yaml:"query"`
	Min   *float64 `yaml:"min"`
	Max   *float64 `yaml:"max"`
	// MaxRatio fails when canary/stable exceeds it.
	MaxRatio *float64 `yaml:"maxRatio"`
	// MaxIncrease fails when canary-stable exceeds it.
	MaxIncrease *float64 `yaml:"maxIncrease"`
	// SampleQuery counts the samples behind the value; below MinSamples
	// the verdict is inconclusive ("no sample, no signal").
	SampleQuery string  `yaml:"sampleQuery"`
	MinSamples  float64 `yaml:"minSamples"`
}

// AlertsGate holds while any alert matching Selector (PromQL label
// matchers, e.g. `service="demo"`) is firing.
type AlertsGate struct {
	Selector string `yaml:"selector"`
}

// WebhookGate POSTs {rollout, release, step} as JSON to URL: 2xx passes,
// 4xx/5xx fails, a timeout or connection error is inconclusive.
type WebhookGate struct {
	URL     string   `yaml:"url"`
	Timeout Duration `yaml:"timeout"`
	// SecretEnv names an environment variable holding an HMAC key; the
	// body's HMAC-SHA256 is sent in X-Ramp-Signature.
	SecretEnv string `yaml:"secretEnv"`
}

// ScheduleGate lets a step advance only inside allowed change windows.
type ScheduleGate struct {
	TimeZone string         `yaml:"timeZone"`
	Windows  []ChangeWindow `yaml:"windows"`
}

// ChangeWindow is a set of weekdays and an hour range, e.g.
// {days: [Mon, Tue, Wed, Thu], start: "09:00", end: "16:00"}.
type ChangeWindow struct {
	Days  []string `yaml:"days"`
	Start string   `yaml:"start"`
	End   string   `yaml:"end"`
}

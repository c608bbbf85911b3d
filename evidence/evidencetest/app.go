package evidencetest

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// App is an in-test application of one version, exporting real
// client_golang metrics on 127.0.0.1:
//
//	http_requests_total{version, code}              counter
//	http_request_duration_seconds{version}          histogram (default buckets)
//
// No load runs: each scrape first records Traffic simulated requests
// with the current error rate and latency, so a scraped App shows steady
// traffic while Prometheus scrapes it, and none when Traffic is 0.
type App struct {
	Version string
	// Target is the host:port Prometheus scrapes (/metrics).
	Target string

	mu        sync.Mutex
	errorRate float64
	latency   time.Duration
	traffic   int
	errCarry  float64

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewApp starts an App of version with no traffic, no errors and 100 ms
// latency; it stops when the test ends.
func NewApp(t testing.TB, version string) *App {
	t.Helper()
	reg := prometheus.NewRegistry()
	a := &App{
		Version: version,
		latency: 100 * time.Millisecond,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Requests served, by version and status code.",
		}, []string{"version", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Request latency, by version.",
			Buckets: prometheus.DefBuckets,
		}, []string{"version"}),
	}
	reg.MustRegister(a.requests, a.duration)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		n := a.traffic
		a.mu.Unlock()
		a.Simulate(n)
		metrics.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	a.Target = strings.TrimPrefix(srv.URL, "http://")
	return a
}

// SetErrorRate sets the share (0–1) of simulated requests answered 500.
func (a *App) SetErrorRate(r float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errorRate = r
}

// SetLatency sets the latency every simulated request observes.
func (a *App) SetLatency(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.latency = d
}

// SetTraffic sets how many requests are simulated before each scrape.
func (a *App) SetTraffic(perScrape int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.traffic = perScrape
}

// Simulate records n requests now: errorRate of them (carried over
// between calls, so the share is exact over time) with code 500, the rest
// 200, each observing the current latency.
func (a *App) Simulate(n int) {
	if n <= 0 {
		return
	}
	a.mu.Lock()
	exact := float64(n)*a.errorRate + a.errCarry
	errs := int(math.Floor(exact))
	a.errCarry = exact - float64(errs)
	latency := a.latency.Seconds()
	a.mu.Unlock()

	errs = min(errs, n)
	a.requests.WithLabelValues(a.Version, "500").Add(float64(errs))
	a.requests.WithLabelValues(a.Version, "200").Add(float64(n - errs))
	h := a.duration.WithLabelValues(a.Version)
	for range n {
		h.Observe(latency)
	}
}

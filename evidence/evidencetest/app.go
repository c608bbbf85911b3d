package evidencetest

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// App is one version of an application, an HTTP server on 127.0.0.1
// exporting real client_golang metrics on /metrics:
//
//	http_requests_total{version, code}              counter
//	http_request_duration_seconds{version}          histogram (default buckets)
//
// Its requests come two ways. Real ones: GET / is answered after the
// latency, with 500 for the error rate's share of requests. Simulated
// ones, for tests that run no load: each scrape first records Traffic
// requests with the current error rate and latency, so an App shows
// steady traffic while Prometheus scrapes it, and none when Traffic is 0;
// Simulate records some at once.
type App struct {
	Version string
	// URL is http://<Target>; Target is the host:port Prometheus scrapes.
	URL, Target string

	mu        sync.Mutex
	errorRate float64
	latency   time.Duration
	traffic   int
	served    int // requests, real and simulated, since the error rate was set
	failed    int // of which answered 500

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	srv      *http.Server
}

// StartApp starts an App of version with no errors, 100 ms latency and
// no simulated traffic. Close stops it.
func StartApp(version string) (*App, error) {
	reg := prometheus.NewRegistry()
	a := &App{
		Version: version,
		latency: 100 * time.Millisecond,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Requests answered, by version and status code.",
		}, []string{"version", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Time to answer a request, by version.",
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
	mux.HandleFunc("/", a.serve)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("app %s: listen: %w", version, err)
	}
	a.Target = l.Addr().String()
	a.URL = "http://" + a.Target
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.srv.Serve(l) }()
	return a, nil
}

// NewApp starts an App of version like StartApp, failing the test when
// it cannot, and stops it when the test ends.
func NewApp(t testing.TB, version string) *App {
	t.Helper()
	a, err := StartApp(version)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// Close stops the server.
func (a *App) Close() { _ = a.srv.Close() }

// InitSeries makes both codes' series exist now, at 0, so that a rate
// of errors is 0, not absent, while nothing fails.
func (a *App) InitSeries() {
	a.requests.WithLabelValues(a.Version, "200")
	a.requests.WithLabelValues(a.Version, "500")
}

// SetErrorRate sets the share (0–1) of requests answered with 500 from
// now on.
func (a *App) SetErrorRate(r float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errorRate = r
	// Count from here, so the new share holds from the next request.
	a.served, a.failed = 0, 0
}

// SetLatency sets how long each request takes.
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

// fails counts n more requests and returns how many of them are answered
// with 500: the failures since the error rate was set are always
// floor(requests × rate), so the share is exact and evenly spread. The
// caller holds a.mu.
func (a *App) fails(n int) int {
	a.served += n
	errs := int(math.Floor(float64(a.served)*a.errorRate)) - a.failed
	errs = max(0, min(errs, n))
	a.failed += errs
	return errs
}

// serve answers one real request: 500 or 200 (see fails), after the
// latency.
func (a *App) serve(w http.ResponseWriter, _ *http.Request) {
	start := time.Now()
	a.mu.Lock()
	fail := a.fails(1) == 1
	latency := a.latency
	a.mu.Unlock()
	time.Sleep(latency)
	code := http.StatusOK
	if fail {
		code = http.StatusInternalServerError
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, "demo %s\n", a.Version)
	a.requests.WithLabelValues(a.Version, strconv.Itoa(code)).Inc()
	a.duration.WithLabelValues(a.Version).Observe(time.Since(start).Seconds())
}

// Simulate records n requests now, without serving them: those the error
// rate fails (see fails) with code 500, the rest 200, each observing the
// current latency.
func (a *App) Simulate(n int) {
	if n <= 0 {
		return
	}
	a.mu.Lock()
	errs := a.fails(n)
	latency := a.latency.Seconds()
	a.mu.Unlock()

	a.requests.WithLabelValues(a.Version, "500").Add(float64(errs))
	a.requests.WithLabelValues(a.Version, "200").Add(float64(n - errs))
	h := a.duration.WithLabelValues(a.Version)
	for range n {
		h.Observe(latency)
	}
}

package e2etest

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// App is one version of the demo application: an HTTP server on
// 127.0.0.1 that answers GET / and exports, for Prometheus, on /metrics:
//
//	http_requests_total{version, code}        counter
//	http_request_duration_seconds{version}    histogram
//
// It can be told to fail a share of its requests or to slow down.
type App struct {
	Version string
	// URL is http://<Target>; Target is the host:port Prometheus scrapes.
	URL, Target string

	mu        sync.Mutex
	errorRate float64
	latency   time.Duration
	served    int // requests answered so far
	failed    int // of which with 500

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	srv      *http.Server
}

// StartApp starts an App of version that answers every request with 200
// after 2 ms.
func StartApp(version string) (*App, error) {
	reg := prometheus.NewRegistry()
	a := &App{
		Version: version,
		latency: 2 * time.Millisecond,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Requests answered, by version and status code.",
		}, []string{"version", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Time to answer a request, by version.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"version"}),
	}
	reg.MustRegister(a.requests, a.duration)
	// Both codes exist from the start, so that a rate of errors is 0, not
	// absent, while nothing fails.
	a.requests.WithLabelValues(version, "200")
	a.requests.WithLabelValues(version, "500")
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
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

// serve answers one request: 500 for the configured share of requests
// (spread evenly: request n fails when it brings the failures up to
// floor(n × rate)), 200 otherwise, after the configured latency.
func (a *App) serve(w http.ResponseWriter, _ *http.Request) {
	start := time.Now()
	a.mu.Lock()
	a.served++
	fail := a.failed < int(math.Floor(float64(a.served)*a.errorRate))
	if fail {
		a.failed++
	}
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

// SetErrorRate sets the share (0–1) of requests answered with 500 from now on.
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

// Close stops the server.
func (a *App) Close() { _ = a.srv.Close() }

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// app is one side of the demo service (stable or canary), serving real
// HTTP requests on 127.0.0.1 and exporting them to Prometheus:
//
//	http_requests_total{side, version, code}  counter
//
// Its version follows the release repository (see deployer); a version
// listed in faults answers that share of its requests with 500.
type app struct {
	side   string
	addr   string
	faults map[string]float64

	mu       sync.Mutex
	version  string
	served   int
	requests *prometheus.CounterVec
	srv      *http.Server
}

// startApp starts the side's server on a free loopback port.
func startApp(side string, faults map[string]float64) (*app, error) {
	a := &app{side: side, faults: faults, requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "Requests served by the demo app, by side, version and status code.",
	}, []string{"side", "version", "code"})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(a.requests)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", a.serve)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the %s app: %w", side, err)
	}
	a.addr = l.Addr().String()
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.srv.Serve(l) }()
	return a, nil
}

// setVersion switches the version the app runs (and labels metrics with);
// it reports whether it changed. Both codes' series exist from the start,
// so an error rate of 0 is a value, not an empty result.
func (a *app) setVersion(v string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v == a.version {
		return false
	}
	a.version, a.served = v, 0
	a.requests.WithLabelValues(a.side, v, "200")
	a.requests.WithLabelValues(a.side, v, "500")
	return true
}

// serve answers one request: every n-th request fails, n chosen from the
// version's fault rate, so the share of errors is exact and steady.
func (a *app) serve(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	v := a.version
	a.served++
	fail := false
	if rate := a.faults[v]; rate > 0 {
		every := 1 / rate
		fail = int(float64(a.served)/every) != int(float64(a.served-1)/every)
	}
	a.mu.Unlock()
	code := http.StatusOK
	if fail {
		code = http.StatusInternalServerError
	}
	a.requests.WithLabelValues(a.side, v, fmt.Sprint(code)).Inc()
	w.Header().Set("X-Demo-Version", v)
	w.WriteHeader(code)
	fmt.Fprintf(w, "demo %s (%s)\n", v, a.side)
}

func (a *app) stop(ctx context.Context) { _ = a.srv.Shutdown(ctx) }

// Package evidencetest runs real components for evidence tests: a real
// Prometheus server on a loopback port, and in-test applications that
// export real client_golang metrics for it to scrape.
package evidencetest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Prom is a Prometheus server run by a test. Stop and Start restart it on
// the same port with the same storage.
type Prom struct {
	// Addr is host:port and URL http://Addr.
	Addr string
	URL  string

	t       testing.TB
	bin     string
	dir     string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// StartPrometheus starts the Prometheus built into <module root>/bin on a
// free 127.0.0.1 port, with temporary storage, scraping targets (host:port)
// every second under job "apps" and evaluating the alerting rules (YAML of
// a rules file; none when empty) every second. It returns once Prometheus
// is ready and stops it when the test ends.
func StartPrometheus(t testing.TB, targets []string, rules string) *Prom {
	t.Helper()
	p := &Prom{t: t, bin: PrometheusBinary(t), dir: t.TempDir()}
	p.logPath = filepath.Join(p.dir, "prometheus.log")
	if err := os.WriteFile(filepath.Join(p.dir, "prometheus.yml"), []byte(promConfig(targets, rules != "")), 0o644); err != nil {
		t.Fatalf("write prometheus config: %v", err)
	}
	if rules != "" {
		if err := os.WriteFile(filepath.Join(p.dir, "rules.yml"), []byte(rules), 0o644); err != nil {
			t.Fatalf("write prometheus rules: %v", err)
		}
	}
	p.Addr = freeAddr(t)
	p.URL = "http://" + p.Addr
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(p.logPath)
			t.Logf("prometheus log (last 4 KiB):\n%s", tail(log, 4096))
		}
	})
	p.Start()
	return p
}

// PrometheusBinary returns <module root>/bin/prometheus, failing the test
// when it is missing.
func PrometheusBinary(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("find module root: %v", err)
	}
	bin := filepath.Join(root, "bin", "prometheus")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("prometheus not found at %s: run `make tools`", bin)
	}
	return bin
}

// Start starts (or restarts) Prometheus and waits until it is ready.
func (p *Prom) Start() {
	p.t.Helper()
	if p.cmd != nil {
		p.t.Fatalf("prometheus at %s is already running", p.Addr)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatalf("open prometheus log: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(p.bin,
		"--config.file="+filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(p.dir, "data"),
		"--web.listen-address="+p.Addr,
		"--log.level=warn",
	)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start prometheus: %v", err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(p.exited)
	p.waitReady(30 * time.Second)
}

// Stop stops Prometheus (SIGTERM, then SIGKILL after 10 s) and waits for
// it to exit. Stopping a stopped Prometheus does nothing.
func (p *Prom) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// waitReady polls /-/ready until it answers 200.
func (p *Prom) waitReady(timeout time.Duration) {
	p.t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.exited:
			log, _ := os.ReadFile(p.logPath)
			p.t.Fatalf("prometheus exited before it was ready:\n%s", tail(log, 4096))
		default:
		}
		resp, err := client.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("prometheus at %s not ready after %s (last: %v)", p.Addr, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Value runs an instant query and returns the value of its only sample;
// ok is false when the result is empty.
func (p *Prom) Value(query string) (v float64, ok bool, err error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(p.URL + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, false, fmt.Errorf("decode query answer: %w", err)
	}
	if body.Status != "success" {
		return 0, false, fmt.Errorf("query %s: %s", query, body.Error)
	}
	if len(body.Data.Result) == 0 {
		return 0, false, nil
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err = strconv.ParseFloat(s, 64)
	return v, err == nil, err
}

// WaitFor polls an instant query every 200 ms until its value is at least
// min, failing the test after timeout.
func (p *Prom) WaitFor(query string, min float64, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		v, ok, err := p.Value(query)
		if err == nil && ok && v >= min {
			return
		}
		last = fmt.Sprintf("value %v (present %v), error %v", v, ok, err)
		time.Sleep(200 * time.Millisecond)
	}
	p.t.Fatalf("prometheus: %s did not reach %v within %s: %s", query, min, timeout, last)
}

func promConfig(targets []string, rules bool) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	if rules {
		b.WriteString("rule_files: [rules.yml]\n")
	}
	b.WriteString("scrape_configs:\n  - job_name: apps\n    static_configs:\n      - targets: [")
	for i, tg := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(tg))
	}
	b.WriteString("]\n")
	return b.String()
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// moduleRoot walks up from the working directory to the go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Package evidencetest runs real components for the tests that need
// metrics (the evidence, controllers, gitsync and cmd tests, the e2e
// tests and `make demo`): a real Prometheus server on a loopback port,
// and applications that export real client_golang metrics for it to
// scrape.
package evidencetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

// PromOptions shape a Prometheus.
type PromOptions struct {
	// Bin is the Prometheus binary; PrometheusBinary() when empty.
	Bin string
	// Dir holds its configuration, storage, log and query log.
	Dir string
	// Targets are the host:port it scrapes every second, under job "apps".
	Targets []string
	// Rules is the YAML of a rules file it evaluates every second; none
	// when empty.
	Rules string
}

// Prom is a real Prometheus server on a free 127.0.0.1 port. It logs
// every query it answers to QueryLog, so a test can see which time ranges
// were measured. Stop and Start restart it on the same port with the same
// storage.
type Prom struct {
	// Addr is host:port and URL http://Addr.
	Addr string
	URL  string
	// QueryLog is the file Prometheus logs queries to (JSON lines).
	QueryLog string

	bin, dir, logPath string
	cmd               *exec.Cmd
	exited            chan struct{}
	err               error // how it exited, once exited is closed
}

// RunPrometheus writes Prometheus' configuration into o.Dir, starts it
// and returns once it is ready, or with an error when it exits first,
// when it is not ready within a minute, or when ctx ends. The caller
// stops it.
func RunPrometheus(ctx context.Context, o PromOptions) (*Prom, error) {
	bin := o.Bin
	if bin == "" {
		var err error
		if bin, err = PrometheusBinary(); err != nil {
			return nil, err
		}
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	p := &Prom{Addr: addr, URL: "http://" + addr, QueryLog: filepath.Join(o.Dir, "queries.log"),
		bin: bin, dir: o.Dir, logPath: filepath.Join(o.Dir, "prometheus.log")}
	if err := os.WriteFile(filepath.Join(o.Dir, "prometheus.yml"), []byte(promConfig(o.Targets, o.Rules != "", p.QueryLog)), 0o644); err != nil {
		return nil, fmt.Errorf("write the prometheus config: %w", err)
	}
	if o.Rules != "" {
		if err := os.WriteFile(filepath.Join(o.Dir, "rules.yml"), []byte(o.Rules), 0o644); err != nil {
			return nil, fmt.Errorf("write the prometheus rules: %w", err)
		}
	}
	return p, p.start(ctx)
}

// StartPrometheus runs Prometheus for a test, in a temporary directory,
// scraping targets (host:port) every second and evaluating the alerting
// rules (YAML of a rules file; none when empty) every second. It returns
// once Prometheus is ready, fails the test when it cannot start, and
// stops it when the test ends, logging the end of its log if the test
// failed.
func StartPrometheus(t testing.TB, targets []string, rules string) *Prom {
	t.Helper()
	p, err := RunPrometheus(context.Background(), PromOptions{Dir: t.TempDir(), Targets: targets, Rules: rules})
	if err != nil {
		t.Fatal(err) // with the end of its log
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("prometheus log (last 4 KiB):\n%s", p.Log())
		}
	})
	return p
}

// PrometheusBinary returns <module root>/bin/prometheus, or an error
// naming the make target that builds it when it is missing.
func PrometheusBinary() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	bin := filepath.Join(root, "bin", "prometheus")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("prometheus not found at %s: run `make tool-prometheus` (or `make tools`)", bin)
	}
	return bin, nil
}

// Start starts Prometheus again after Stop, on the same port with the
// same storage, and returns once it is ready.
func (p *Prom) Start() error { return p.start(context.Background()) }

func (p *Prom) start(ctx context.Context) error {
	if p.cmd != nil {
		return fmt.Errorf("prometheus at %s is already running", p.Addr)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open the prometheus log: %w", err)
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
	// Its own process group: a signal to the test (or the demo) does not
	// reach it; Stop ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.bin, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		p.err = cmd.Wait()
		close(exited)
	}(p.exited)
	if err := p.waitReady(ctx, time.Minute); err != nil {
		p.Stop()
		return err
	}
	return nil
}

// waitReady polls /-/ready until it answers 200.
func (p *Prom) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("prometheus exited before it was ready (%v):\n%s", p.err, p.Log())
		default:
		}
		resp, err := client.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus at %s not ready after %s (last: %v):\n%s", p.Addr, timeout, err, p.Log())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("prometheus at %s not ready: %w", p.Addr, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops Prometheus (SIGTERM, then SIGKILL after 10 s) and waits for
// it to exit; its port refuses connections until Start. Stopping a
// stopped Prometheus does nothing.
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

// Log returns the last 4 KiB of Prometheus' own log.
func (p *Prom) Log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// Value runs an instant query and returns the value of its first sample;
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
		return 0, false, fmt.Errorf("query %s: decode: %w", query, err)
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
// min, failing t after timeout.
func (p *Prom) WaitFor(t testing.TB, query string, min float64, timeout time.Duration) {
	t.Helper()
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
	t.Fatalf("prometheus: %s did not reach %v within %s: %s", query, min, timeout, last)
}

// RangeQuery is one range query Prometheus answered.
type RangeQuery struct {
	Query      string
	Start, End time.Time
	Step       float64 // seconds
}

// RangeQueries returns the range queries in the query log whose text
// contains substr, in the order they were answered.
func (p *Prom) RangeQueries(substr string) ([]RangeQuery, error) {
	f, err := os.Open(p.QueryLog)
	if err != nil {
		return nil, fmt.Errorf("open the query log: %w", err)
	}
	defer f.Close()
	var out []RangeQuery
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var entry struct {
			Params struct {
				Query string    `json:"query"`
				Start time.Time `json:"start"`
				End   time.Time `json:"end"`
				Step  float64   `json:"step"`
			} `json:"params"`
		}
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			continue
		}
		q := entry.Params
		if q.Step > 0 && strings.Contains(q.Query, substr) {
			out = append(out, RangeQuery{Query: q.Query, Start: q.Start, End: q.End, Step: q.Step})
		}
	}
	return out, sc.Err()
}

// promConfig is prometheus.yml: scrape and evaluate every second, log
// queries to queryLog, read rules.yml when rules.
func promConfig(targets []string, rules bool, queryLog string) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	b.WriteString("  query_log_file: " + strconv.Quote(queryLog) + "\n")
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

// FreeAddr returns a 127.0.0.1 address whose port is free right now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
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
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

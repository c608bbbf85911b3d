package e2etest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Prometheus is the real Prometheus server (bin/prometheus) scraping the
// demo apps every second. It logs every query it answers, so a test can
// see which time ranges ramp's gates measured. Stop and Start restart it
// on the same address with the same storage.
type Prometheus struct {
	Addr, URL string
	// QueryLog is the file Prometheus logs queries to (JSON lines).
	QueryLog string

	bin, dir string
	proc     *Process
}

// StartPrometheus starts bin/prometheus in dir, scraping targets
// (host:port) every second, and waits until it is ready.
func StartPrometheus(dir string, targets []string) (*Prometheus, error) {
	bin, err := Binary("prometheus", "tool-prometheus")
	if err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	p := &Prometheus{Addr: addr, URL: "http://" + addr, bin: bin, dir: dir, QueryLog: filepath.Join(dir, "queries.log")}
	quoted := make([]string, len(targets))
	for i, t := range targets {
		quoted[i] = strconv.Quote(t)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  query_log_file: %s
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: [%s]
`, strconv.Quote(p.QueryLog), strings.Join(quoted, ", "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("write prometheus.yml: %w", err)
	}
	return p, p.Start()
}

// Start starts Prometheus and waits until /-/ready answers.
func (p *Prometheus) Start() error {
	proc, err := StartProcess("prometheus", p.bin, []string{
		"--config.file=" + filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(p.dir, "data"),
		"--web.listen-address=" + p.Addr,
		"--log.level=warn",
	}, nil, p.dir, filepath.Join(p.dir, "prometheus.log"))
	if err != nil {
		return err
	}
	p.proc = proc
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		if done, err := proc.Exited(); done {
			return fmt.Errorf("prometheus exited before it was ready (%v):\n%s", err, proc.Tail(4096))
		}
		if resp, err := client.Get(p.URL + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus at %s not ready after a minute:\n%s", p.Addr, proc.Tail(4096))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops Prometheus; its address refuses connections until Start.
func (p *Prometheus) Stop() {
	if p.proc != nil {
		p.proc.Stop(10 * time.Second)
		p.proc = nil
	}
}

// Log returns the end of Prometheus' own log.
func (p *Prometheus) Log() string { return tailFile(filepath.Join(p.dir, "prometheus.log"), 4096) }

// Value runs an instant query and returns its first sample's value; ok
// is false when the result is empty.
func (p *Prometheus) Value(query string) (v float64, ok bool, err error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(p.URL + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var body struct {
		Status, Error string
		Data          struct {
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

// RangeQuery is one range query Prometheus answered.
type RangeQuery struct {
	Query      string
	Start, End time.Time
	Step       float64 // seconds
}

// RangeQueries returns the range queries in the query log whose text
// contains substr, in the order they were answered.
func (p *Prometheus) RangeQueries(substr string) ([]RangeQuery, error) {
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

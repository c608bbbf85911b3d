// Command demo is `make demo`: ramp's loop on a local default, no
// cluster. On 127.0.0.1 it starts a smart-HTTP git server holding a
// release repository, two instances of a demo app (stable and canary)
// exporting request metrics, the real Prometheus scraping them, a load
// generator that splits requests by the HTTPRoute weights at main, and
// `ramp run` against the repository. Release 1.1.0 passes its error-rate
// gates and an approval and is promoted; release 1.2.0 answers 30% of its
// requests with 500, fails its gate and is rolled back. It ends by
// printing `ramp audit` for both releases, writing an HTML report of each
// and saying where the release repository is. Every phase is bounded: a
// phase that does not happen in time fails the demo (exit 1).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
)

// options are the demo's flags.
type options struct {
	ramp, prometheus string
	dir              string
	phaseTimeout     time.Duration
	window           time.Duration
	rate             int
}

// faults are the demo app's error rates by version: every version answers
// a few requests with 500, and 1.2.0 has a bug.
var faults = map[string]float64{"1.0.0": 0.005, "1.1.0": 0.005, "1.2.0": 0.30}

func main() {
	var o options
	flag.StringVar(&o.ramp, "ramp", "bin/ramp", "the ramp binary (make build)")
	flag.StringVar(&o.prometheus, "prometheus", "bin/prometheus", "the Prometheus binary (make tool-prometheus)")
	flag.StringVar(&o.dir, "dir", "", "where the release repository, keys, logs and reports go (default: a new temporary directory, kept)")
	flag.DurationVar(&o.phaseTimeout, "phase-timeout", 3*time.Minute, "how long one phase may take before the demo fails")
	flag.DurationVar(&o.window, "window", 15*time.Second, "analysis window of each error-rate gate")
	flag.IntVar(&o.rate, "rate", 50, "requests per second the load generator sends")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := &console{w: os.Stdout}
	start := time.Now()
	err := run(ctx, o, out)
	took := time.Since(start).Round(time.Second)
	if err != nil {
		out.plain("\ndemo FAILED after %s: %v\n", took, err)
		os.Exit(1)
	}
	out.plain("\ndemo finished in %s\n", took)
}

// run sets the scene, plays the two releases and prints the audits.
func run(ctx context.Context, o options, out *console) (err error) {
	for _, bin := range []*string{&o.ramp, &o.prometheus} {
		if *bin, err = filepath.Abs(*bin); err != nil {
			return err
		}
		if _, err := os.Stat(*bin); err != nil {
			return fmt.Errorf("%s is missing: run `make build tool-prometheus` (or `make demo`, which builds both)", *bin)
		}
	}
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "ramp-demo-"); err != nil {
			return fmt.Errorf("create the demo directory: %w", err)
		}
	}
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	out.plain("── setting up in %s\n", o.dir)
	setup, cancel := context.WithTimeout(ctx, o.phaseTimeout)
	defer cancel()
	s, err := newScene(setup, o, out)
	if err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	stops = append(stops, s.stopServer)

	stable, err := startApp("stable", faults)
	if err != nil {
		return err
	}
	canary, err := startApp("canary", faults)
	if err != nil {
		return err
	}
	stops = append(stops, func() { stable.stop(context.Background()); canary.stop(context.Background()) })
	out.say("demo", "demo app: stable side on %s, canary side on %s; each runs the version main gives it and exports http_requests_total{version,code}; every version answers 0.5%% of requests with 500, 1.2.0 answers 30%%", stable.addr, canary.addr)
	prom, err := evidencetest.RunPrometheus(setup, evidencetest.PromOptions{
		Bin: o.prometheus, Dir: mkdir(o.dir, "prometheus"), Targets: []string{stable.addr, canary.addr}})
	if err != nil {
		return fmt.Errorf("start Prometheus: %w", err)
	}
	stops = append(stops, prom.Stop)
	out.say("demo", "Prometheus %s scrapes both apps every second (log: %s)", prom.URL, filepath.Join(o.dir, "prometheus", "prometheus.log"))

	loadCtx, stopLoad := context.WithCancel(ctx)
	tr := &traffic{bare: s.bare, stable: stable, canary: canary, rate: o.rate, say: out.say}
	loadDone := make(chan error, 1)
	go func() { loadDone <- tr.run(loadCtx) }()
	stopTraffic := sync.OnceFunc(func() {
		stopLoad()
		<-loadDone
	})
	stops = append(stops, stopTraffic)

	args := append([]string{"run", "--interval", "2s", "--signing-key", s.rampKey, "--prometheus", prom.URL}, s.repoFlags()...)
	out.say("demo", "starting: ramp %s", join(args))
	ramp, err := startChild("ramp", out.as("ramp"), s.env, o.ramp, args...)
	if err != nil {
		return err
	}
	stopRamp := func() { ramp.stop(10 * time.Second) }
	stops = append(stops, stopRamp)

	out.plain("\n── release 1.1.0: healthy; two analysis steps (error rate ≤ 5%% over %s), then an approval by sre\n", o.window)
	if err := s.release(ctx, "1.0.0", "1.1.0"); err != nil {
		return err
	}
	if err := s.waitFor(ctx, ramp, "1.1.0 reaches its approval step", `^ramp: demo 1\.1\.0 step 5/5 pause`, `^ramp: demo 1\.1\.0 .*abort`); err != nil {
		return err
	}
	time.Sleep(3 * time.Second) // let ramp say what it waits for
	if err := s.approve(ctx, "1.1.0"); err != nil {
		return err
	}
	if err := s.waitFor(ctx, ramp, "1.1.0 is promoted", `^ramp: demo 1\.1\.0 complete`, `^ramp: demo 1\.1\.0 .*abort`); err != nil {
		return err
	}

	out.plain("\n── release 1.2.0: 30%% of its requests answer 500; the gate fails, ramp aborts and rolls back\n")
	if err := s.release(ctx, "1.1.0", "1.2.0"); err != nil {
		return err
	}
	if err := s.waitFor(ctx, ramp, "1.2.0 is rolled back", `^ramp: demo 1\.2\.0 rollback`, `^ramp: demo 1\.2\.0 promote`); err != nil {
		return err
	}
	stopRamp()
	stopTraffic()

	end, cancelEnd := context.WithTimeout(ctx, o.phaseTimeout)
	defer cancelEnd()
	for _, v := range []string{"1.1.0", "1.2.0"} {
		if err := s.audit(end, v); err != nil {
			return fmt.Errorf("audit %s: %w", v, err)
		}
	}
	var reports []string
	for _, v := range []string{"1.1.0", "1.2.0"} {
		path, err := s.report(end, v)
		if err != nil {
			return fmt.Errorf("HTML report of %s: %w", v, err)
		}
		reports = append(reports, path)
	}
	if err := s.keep(end); err != nil {
		return err
	}
	out.plain("\n── done\n")
	out.plain("HTML reports (timeline and table of decisions; open in a browser):\n  %s\n  %s\n", reports[0], reports[1])
	out.plain("the release repository, a clone whose origin is the server's repository on disk (%s):\n  %s\n", s.bare, s.work)
	out.plain("  git -C %s log --format='%%h %%G? %%<(18,trunc)%%ae %%s'    (G: good signature)\n", s.work)
	out.plain("  git -C %s log -1 --format=%%B --grep='1.2.0 .*abort'    (the abort, with the gate's evidence)\n", s.work)
	out.plain("  %s audit demo --verify --repo %s --approvers %s\n", o.ramp, s.work, s.approvers)
	return nil
}

// errPhase is a phase that did not happen.
var errPhase = errors.New("phase did not happen")

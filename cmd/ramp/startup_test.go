package main

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartup times the start of a CLI command, `ramp help`, beside
// the same for the operator binary, `ramp-controller --help` (it links
// controller-runtime and client-go, 1,023 packages, as every ramp command
// did before the split), and beside `git --version`, the yardstick of a
// program that starts and prints. Each iteration runs the three in turn
// (paired, so that the machine's noise falls on all of them); the figures
// are medians over b.N iterations, in ms, and their ratios. init-ms is the
// time the Go runtime spends in package initialisers before main
// (GODEBUG=inittrace=1), measured once per binary. With
// RAMP_BENCH_BEFORE naming a ramp binary built before the split (e.g.
// `mkdir /tmp/old && git archive 35c7111 | tar -x -C /tmp/old && go -C
// /tmp/old build -o /tmp/ramp-old ./cmd/ramp`), its `help` is timed in
// the same turns too.
//
//	make build && go test -run '^$' -bench Startup -benchtime 50x ./cmd/ramp/
func BenchmarkStartup(b *testing.B) {
	ramp, controller := installed(b)
	git, err := exec.LookPath("git")
	if err != nil {
		b.Fatal("the yardstick needs the system git: ", err)
	}
	before := os.Getenv("RAMP_BENCH_BEFORE")
	initRamp, initController := initMillis(b, ramp, "help"), initMillis(b, controller, "--help")
	var initBefore float64
	if before != "" {
		initBefore = initMillis(b, before, "help")
	}
	var tRamp, tController, tGit, tBefore []float64
	b.ResetTimer()
	for b.Loop() {
		tRamp = append(tRamp, wall(b, ramp, "help"))
		tController = append(tController, wall(b, controller, "--help"))
		tGit = append(tGit, wall(b, git, "--version"))
		if before != "" {
			tBefore = append(tBefore, wall(b, before, "help"))
		}
	}
	if before != "" {
		mBefore := median(tBefore)
		b.ReportMetric(mBefore, "before-ms")
		b.ReportMetric(mBefore/median(tGit), "before/git")
		b.ReportMetric(mBefore/median(tRamp), "before/ramp")
		b.ReportMetric(initBefore, "before-init-ms")
	}
	mRamp, mController, mGit := median(tRamp), median(tController), median(tGit)
	b.ReportMetric(mRamp, "ramp-ms")
	b.ReportMetric(mController, "controller-ms")
	b.ReportMetric(mGit, "git-ms")
	b.ReportMetric(mRamp/mGit, "ramp/git")
	b.ReportMetric(mController/mGit, "controller/git")
	b.ReportMetric(mController/mRamp, "controller/ramp")
	b.ReportMetric(initRamp, "ramp-init-ms")
	b.ReportMetric(initController, "controller-init-ms")
}

// wall runs bin with args and returns its wall time in ms.
func wall(b *testing.B, bin string, args ...string) float64 {
	start := time.Now()
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		b.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
	return float64(time.Since(start).Microseconds()) / 1000
}

// initMillis runs bin with GODEBUG=inittrace=1 and sums the clock time
// of its package initialisers.
func initMillis(b *testing.B, bin string, args ...string) float64 {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cmd.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v", bin, args, err)
	}
	var ms float64
	var inits int
	for line := range strings.Lines(stderr.String()) {
		// init <package> @<since start> ms, <clock> ms clock, ...
		f := strings.Fields(line)
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		v, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			b.Fatalf("inittrace line %q: %v", line, err)
		}
		ms += v
		inits++
	}
	if inits == 0 {
		b.Fatalf("%s: no inittrace lines in its stderr", bin)
	}
	return ms
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

package gitsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/evidence"
	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// wavesSpec is policytest.WavesYAML("pay") with a soak of 3s, analysis
// windows of 3s and the gate of policytest.GatedYAML (real Prometheus);
// edit changes it further.
func wavesSpec(edit func(string) string) string {
	gated := policytest.GatedYAML("pay", "setWeight: 50")
	spec := policytest.WavesYAML("pay")
	spec = spec[:strings.Index(spec, "  gates:\n")] + gated[strings.Index(gated, "  gates:\n"):]
	spec = strings.NewReplacer("soak: 30m", "soak: 3s", "window: 5m", "window: 3s").Replace(spec)
	if edit != nil {
		spec = edit(spec)
	}
	return spec
}

// wavesWorld is a world whose repository also holds rollout pay with
// targets eu, us and ap at 1.0.0, gates measured by a real Prometheus
// scraping a stable and a healthy canary; it returns that Prometheus.
func wavesWorld(t *testing.T, spec string) (*world, *evidencetest.Prom) {
	t.Helper()
	w := newWorld(t)
	w.commitFiles("dev", "pay: rollout in waves", gittest.WavesFiles("pay", "1.0.0", spec, "eu", "us", "ap"))
	stable, canary := evidencetest.NewApp(t, "1.0.0"), evidencetest.NewApp(t, "2.0.0")
	stable.SetTraffic(50)
	canary.SetTraffic(50)
	p := evidencetest.StartPrometheus(t, []string{stable.Target, canary.Target}, "")
	prom, err := evidence.NewPrometheus(p.URL, evidence.WithQueryTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	g := &evidence.Gatherer{Prom: prom}
	w.cfg.Evidence = func(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence {
		return g.Evidence(ctx, r, s, policy.Evidence{AppliedUnknown: true}, time.Now())
	}
	w.cfg.WaveEvidence = func(ctx context.Context, r *policy.Rollout, wave policy.Wave, release string, from, to time.Time) map[string]policy.GateResult {
		return g.Soak(ctx, r, wave, release, from, to)
	}
	w.cfg.Now = time.Now
	w.loop = w.newLoop()
	return w, p
}

// releasePay starts release version of rollout pay.
func (w *world) releasePay(version string) string {
	return w.commitFiles("dev", "pay: release "+version, map[string]string{"releases/pay/release.yaml": gittest.Release(version)})
}

// passPay runs one pass and returns pay's outcome.
func (w *world) passPay() gitsync.Outcome {
	w.t.Helper()
	res, err := w.loop.Pass(context.Background())
	if err != nil {
		w.t.Fatalf("pass: %v", err)
	}
	w.snap = res.Snapshot
	for _, o := range res.Outcomes {
		if o.Fleet != nil {
			return o
		}
	}
	w.t.Fatalf("no outcome for pay in %+v", res.Outcomes)
	return gitsync.Outcome{}
}

// payUntil runs passes every 250ms until pay holds with a reason that
// contains want, for at most limit.
func (w *world) payUntil(want string, limit time.Duration) gitsync.Outcome {
	w.t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(250 * time.Millisecond) {
		o := w.passPay()
		if os.Getenv("WAVES_DEBUG") != "" {
			w.t.Logf("%s %s", o.Decision.Action, o.Decision.Reason)
		}
		w.coldEqualsWarm()
		if o.Decision.Holds() && strings.Contains(o.Decision.Reason, want) {
			return o
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no hold with %q within %s; last: %s %q", want, limit, o.Decision.Action, o.Decision.Reason)
		}
	}
}

// coldEqualsWarm checks that a derive from scratch at the loop's tip
// gives pay the state the loop derived incrementally: a restart at any
// point continues from git.
func (w *world) coldEqualsWarm() {
	w.t.Helper()
	cold, err := w.loop.Deriver().Derive(w.snap.Tip)
	if err != nil {
		w.t.Fatal(err)
	}
	a, _ := json.Marshal(w.snap.Fleets["pay"])
	b, _ := json.Marshal(cold.Fleets["pay"])
	if string(a) != string(b) {
		w.t.Fatalf("at %s the incremental state\n%s\ndiffers from a cold derive\n%s", w.snap.Tip, a, b)
	}
}

// targetFiles is what one target's files hold: canary and stable tags
// and the canary's weight in the route.
type targetFiles struct {
	canary, stable string
	weight         int
}

func (f targetFiles) String() string { return fmt.Sprintf("%s/%s@%d", f.canary, f.stable, f.weight) }

// rampCommits returns ramp's commits on the server's main since since,
// oldest first: "action wave target(s)" from their trailers as git reads
// them, and the files of each target at the commit.
func (w *world) rampCommits(since string) (lines []string, files []map[string]string) {
	w.t.Helper()
	bare := filepath.Join(w.server.Root(), "release.git")
	env := gittest.GitEnv(w.t.TempDir())
	out := gittest.Git(w.t, bare, env, "log", "--reverse", "--format=%H", since+"..main")
	for _, sha := range strings.Fields(out) {
		tr := gittest.Git(w.t, bare, env, "log", "-1", "--format=%(trailers:key=Ramp-Action,valueonly,separator=)|%(trailers:key=Ramp-Wave,valueonly,separator=)|%(trailers:key=Ramp-Target,valueonly,separator=%x2C)", sha)
		if !strings.HasPrefix(gittest.Git(w.t, bare, env, "log", "-1", "--format=%s", sha), "ramp:") {
			continue
		}
		lines = append(lines, strings.ReplaceAll(tr, "|", " "))
		at := map[string]string{}
		for _, t := range []string{"eu", "us", "ap"} {
			read := func(p string) string {
				return gittest.Git(w.t, bare, env, "show", sha+":clusters/"+t+"/pay/"+p)
			}
			tag := func(k string) string {
				_, v, _ := strings.Cut(k, "newTag: \"")
				v, _, _ = strings.Cut(v, "\"")
				return v
			}
			route := read("route.yaml")
			weight := 0
			for _, l := range strings.Split(route, "\n") {
				if strings.Contains(l, "weight:") && !strings.Contains(l, "#") {
					fmt.Sscanf(strings.TrimSpace(l), "weight: %d", &weight)
				}
			}
			at[t] = targetFiles{tag(read("canary/kustomization.yaml")), tag(read("stable/kustomization.yaml")), weight}.String()
		}
		files = append(files, at)
	}
	return lines, files
}

// checkCommits compares ramp's commits since since with want: one row per
// commit, "action wave targets | eu-files us-files ap-files".
func (w *world) checkCommits(since string, want []string) {
	w.t.Helper()
	lines, files := w.rampCommits(since)
	var got []string
	for i, l := range lines {
		got = append(got, fmt.Sprintf("%s | %s %s %s", l, files[i]["eu"], files[i]["us"], files[i]["ap"]))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		w.t.Errorf("ramp's commits (action wave targets | eu us ap as canary/stable@weight):\n got: %s\nwant: %s",
			strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func TestLoopTakesAReleaseThroughTwoWavesToPromotion(t *testing.T) {
	// ap analyses for 12s, us for 3s: us is promoted and completed while
	// ap still measures, whatever the speed of the passes (with equal
	// windows the order of us's complete and ap's promote would depend on
	// it).
	w, _ := wavesWorld(t, wavesSpec(func(s string) string {
		return strings.Replace(s, "      kustomizations: [{name: pay, namespace: flux-system, cluster: ap}]\n",
			"      kustomizations: [{name: pay, namespace: flux-system, cluster: ap}]\n"+
				"      strategy: {canary: {steps: [{setWeight: 50}, {analysis: {gates: [error-rate], window: 12s}}]}}\n", 1)
	}))
	start := w.releasePay("2.0.0")
	w.payUntil("release 2.0.0 runs in every wave (first, rest)", 90*time.Second)
	w.checkCommits(start, []string{
		"start-wave first eu | 2.0.0/1.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"set-weight first eu | 2.0.0/1.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"analysis first eu | 2.0.0/1.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"promote first eu | 2.0.0/2.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"complete first eu | 2.0.0/2.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"start-wave rest us,ap | 2.0.0/2.0.0@0 2.0.0/1.0.0@0 2.0.0/1.0.0@0",
		"set-weight rest us | 2.0.0/2.0.0@0 2.0.0/1.0.0@50 2.0.0/1.0.0@0",
		"set-weight rest ap | 2.0.0/2.0.0@0 2.0.0/1.0.0@50 2.0.0/1.0.0@50",
		"analysis rest us | 2.0.0/2.0.0@0 2.0.0/1.0.0@50 2.0.0/1.0.0@50",
		"analysis rest ap | 2.0.0/2.0.0@0 2.0.0/1.0.0@50 2.0.0/1.0.0@50",
		"promote rest us | 2.0.0/2.0.0@0 2.0.0/2.0.0@50 2.0.0/1.0.0@50",
		"complete rest us | 2.0.0/2.0.0@0 2.0.0/2.0.0@0 2.0.0/1.0.0@50",
		"promote rest ap | 2.0.0/2.0.0@0 2.0.0/2.0.0@0 2.0.0/2.0.0@50",
		"complete rest ap | 2.0.0/2.0.0@0 2.0.0/2.0.0@0 2.0.0/2.0.0@0",
	})
	t.Logf("git log --oneline:\n%s", gittest.Git(t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(t.TempDir()), "log", "--format=%s", start+"^..main"))
	// The soak: the hand-over to wave rest came at least 3s after eu's
	// promotion, as the commit times show.
	bare := filepath.Join(w.server.Root(), "release.git")
	env := gittest.GitEnv(t.TempDir())
	times := strings.Fields(gittest.Git(t, bare, env, "log", "--reverse", "--format=%ct", start+"..main"))
	subjects := strings.Split(gittest.Git(t, bare, env, "log", "--reverse", "--format=%s", start+"..main"), "\n")
	var promoted, handed string
	for i, s := range subjects {
		switch {
		case strings.Contains(s, "pay/eu") && strings.Contains(s, " promote"):
			promoted = times[i]
		case strings.Contains(s, "start-wave rest"):
			handed = times[i]
		}
	}
	var p, h int64
	fmt.Sscan(promoted, &p)
	fmt.Sscan(handed, &h)
	if h-p < 3 {
		t.Errorf("wave rest started %ds after eu's promotion, want the soak of 3s", h-p)
	}
	// Every commit ramp made verifies with the system git.
	verify := gittest.GitEnv(t.TempDir(), "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=gpg.ssh.allowedSignersFile",
		"GIT_CONFIG_VALUE_0="+filepath.Join(w.approvers, "ramp.allowed_signers"))
	for _, sha := range strings.Fields(gittest.Git(t, bare, env, "log", "--format=%H", "--author=ramp@localhost", start+"..main")) {
		if out, err := gittest.GitResult(t, bare, verify, "verify-commit", sha); err != nil {
			t.Errorf("git verify-commit %s: %v\n%s", sha, err, out)
		}
	}
	// A new ramp, derived from git alone, has the same state and plans
	// the same.
	warm := w.snap.Fleets["pay"]
	cold, err := w.newLoop().Deriver().Derive(w.snap.Tip)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", cold.Fleets["pay"]) != fmt.Sprintf("%+v", warm) {
		t.Errorf("cold derive\n%+v\ndiffers from the running loop's\n%+v", cold.Fleets["pay"], warm)
	}
}

func TestLoopStopsTheWavesWhenATargetOfTheSecondWaveFails(t *testing.T) {
	// Target us is judged by a Prometheus of its own, scraping a canary
	// that starts failing half its requests once both us and ap are in
	// their analysis step (so the sequence does not depend on how fast
	// the passes run); ap analyses for a minute, so us's failure comes
	// first.
	bad := evidencetest.NewApp(t, "2.0.0")
	bad.SetTraffic(50)
	badStable := evidencetest.NewApp(t, "1.0.0")
	badStable.SetTraffic(50)
	usProm := evidencetest.StartPrometheus(t, []string{bad.Target, badStable.Target}, "")
	spec := wavesSpec(func(s string) string {
		s = strings.Replace(s, "      kustomizations: [{name: pay, namespace: flux-system, cluster: us}]\n",
			"      kustomizations: [{name: pay, namespace: flux-system, cluster: us}]\n      prometheus: "+usProm.URL+"\n"+
				"      strategy: {canary: {steps: [{setWeight: 50}, {analysis: {gates: [error-rate], window: 40s}}]}}\n", 1)
		return strings.Replace(s, "      kustomizations: [{name: pay, namespace: flux-system, cluster: ap}]\n",
			"      kustomizations: [{name: pay, namespace: flux-system, cluster: ap}]\n"+
				"      strategy: {canary: {steps: [{setWeight: 50}, {analysis: {gates: [error-rate], window: 1m}}]}}\n", 1)
	})
	w, _ := wavesWorld(t, spec)
	start := w.releasePay("2.0.0")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if lines, _ := w.rampCommits(start); slices.Contains(lines, "analysis rest ap") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ap's analysis step did not start within 60s")
		}
		w.passPay()
	}
	bad.SetErrorRate(0.5)
	o := w.payUntil("release 2.0.0 stopped: wave rest: target us failed", 90*time.Second)
	if !strings.Contains(o.Decision.Reason, "error-rate") {
		t.Errorf("the stop does not say which gate failed: %q", o.Decision.Reason)
	}
	w.checkCommits(start, []string{
		"start-wave first eu | 2.0.0/1.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"set-weight first eu | 2.0.0/1.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"analysis first eu | 2.0.0/1.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"promote first eu | 2.0.0/2.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"complete first eu | 2.0.0/2.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"start-wave rest us,ap | 2.0.0/2.0.0@0 2.0.0/1.0.0@0 2.0.0/1.0.0@0",
		"set-weight rest us | 2.0.0/2.0.0@0 2.0.0/1.0.0@50 2.0.0/1.0.0@0",
		"set-weight rest ap | 2.0.0/2.0.0@0 2.0.0/1.0.0@50 2.0.0/1.0.0@50",
		"analysis rest us | 2.0.0/2.0.0@0 2.0.0/1.0.0@50 2.0.0/1.0.0@50",
		"analysis rest ap | 2.0.0/2.0.0@0 2.0.0/1.0.0@50 2.0.0/1.0.0@50",
		"abort rest us | 2.0.0/2.0.0@0 2.0.0/1.0.0@0 2.0.0/1.0.0@50",
		"abort rest ap | 2.0.0/2.0.0@0 2.0.0/1.0.0@0 2.0.0/1.0.0@0",
		"rollback rest us | 2.0.0/2.0.0@0 1.0.0/1.0.0@0 2.0.0/1.0.0@0",
		"rollback rest ap | 2.0.0/2.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
	})
	// Nothing more: the stop holds.
	if o := w.passPay(); !o.Decision.Holds() {
		t.Errorf("after the stop: %s %q", o.Decision.Action, o.Decision.Reason)
	}
}

func TestLoopRollsBackASupersededReleaseMidWaveBeforeTheNewOne(t *testing.T) {
	w, _ := wavesWorld(t, wavesSpec(nil))
	start := w.releasePay("2.0.0")
	for _, want := range []policy.Action{policy.ActionStartWave, policy.ActionSetWeight} {
		if o := w.passPay(); o.Decision.Action != want {
			t.Fatalf("pass: %s %q, want %s", o.Decision.Action, o.Decision.Reason, want)
		}
		w.coldEqualsWarm()
	}
	w.releasePay("3.0.0")
	// No canary of 3.0.0 serves: its analysis holds, inconclusive.
	w.payUntil("target eu: gate error-rate inconclusive", 60*time.Second)
	w.checkCommits(start, []string{
		"start-wave first eu | 2.0.0/1.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"set-weight first eu | 2.0.0/1.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"abort first eu | 2.0.0/1.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"rollback first eu | 1.0.0/1.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"start-wave first eu | 3.0.0/1.0.0@0 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"set-weight first eu | 3.0.0/1.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
		"analysis first eu | 3.0.0/1.0.0@50 1.0.0/1.0.0@0 1.0.0/1.0.0@0",
	})
}

func TestLoopJudgesAWavesGatesOverItsSoakBeforeTheHandOver(t *testing.T) {
	w, _ := wavesWorld(t, wavesSpec(func(s string) string {
		return strings.Replace(s, "soak: 3s}", "soak: 3s, gates: [error-rate]}", 1)
	}))
	start := w.releasePay("2.0.0")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		if d := w.passPay().Decision; d.Action == policy.ActionStartWave && d.Wave == "rest" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no hand-over to wave rest within 2m")
		}
	}
	bare := filepath.Join(w.server.Root(), "release.git")
	env := gittest.GitEnv(t.TempDir())
	var handOver string
	for _, sha := range strings.Fields(gittest.Git(t, bare, env, "log", "--format=%H", start+"..main")) {
		if strings.Contains(gittest.Git(t, bare, env, "log", "-1", "--format=%s", sha), "start-wave rest") {
			handOver = sha
		}
	}
	if handOver == "" {
		t.Fatal("no hand-over to wave rest")
	}
	tr := gittest.Git(t, bare, env, "log", "-1", "--format=%(trailers:key=Ramp-Gate,valueonly)", handOver)
	if !strings.Contains(tr, "name=error-rate verdict=pass") || !strings.Contains(tr, "scope=soak") || !strings.Contains(tr, "samples=") {
		t.Fatalf("the hand-over does not carry the wave's gate evidence over the soak: %q", tr)
	}
}

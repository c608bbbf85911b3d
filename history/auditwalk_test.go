package history

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
	"github.com/ramp-dev/ramp/signing"
)

// TestAuditScanGivesTheAuditOfTheFullWalk: on a history with releases,
// ramp's signed steps and an abort, commands (on the branch and merged
// from a side branch), hand edits, a spec edited, broken, deleted and
// restored, another rollout's steps and unrelated commits, the audit
// that skips the commits its scan proves of no interest is the audit
// that reads every commit in full (JSON compared byte for byte), for
// every rollout and release, with the objects loose and packed; and the
// scan does skip commits.
func TestAuditScanGivesTheAuditOfTheFullWalk(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"src/main.go": "package main\n"}
	for _, name := range []string{"demo", "web"} {
		for p, c := range gittest.RolloutFiles(name, "1.0.0") {
			files[p] = c
		}
	}
	gittest.InitRepo(t, dir, files)
	keyDir := t.TempDir()
	rampKey, _ := gittest.SSHKey(t, keyDir, "ramp")
	aliceKey, _ := gittest.SSHKey(t, keyDir, "alice")
	signer, err := signing.LoadSigner(rampKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := signing.NewKeyring()
	keys.Trust(policy.RampGroup, signer)
	sign := func(key, who string) []string {
		return []string{"GIT_CONFIG_COUNT=3", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh",
			"GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1=" + key,
			"GIT_CONFIG_KEY_2=commit.gpgsign", "GIT_CONFIG_VALUE_2=true",
			"GIT_AUTHOR_EMAIL=" + who, "GIT_COMMITTER_EMAIL=" + who}
	}
	ramp, alice := sign(rampKey, "ramp@localhost"), sign(aliceKey, "alice@example.com")
	commit := func(env []string, msg string, edits map[string]string) {
		t.Helper()
		gittest.WriteFiles(t, dir, edits)
		gittest.Git(t, dir, append(gittest.GitEnv(t.TempDir()), env...), "add", "--all")
		gittest.Git(t, dir, append(gittest.GitEnv(t.TempDir()), env...), "commit", "--quiet", "--allow-empty", "-m", msg)
	}
	sh := func(args ...string) string {
		t.Helper()
		return gittest.Git(t, dir, gittest.GitEnv(t.TempDir()), args...)
	}
	step := func(name, release, action string, weight int, extra string) {
		t.Helper()
		msg := "ramp: " + name + " " + release + " " + action + "\n\nRamp-Rollout: " + name + "\nRamp-Release: " + release +
			"\nRamp-Step: 1/4\nRamp-Action: " + action + "\nRamp-Weight: " + strconv.Itoa(weight) + "\n" + extra
		commit(ramp, msg, map[string]string{"apps/" + name + "/route.yaml": gittest.Route(name, weight)})
	}
	unrelated := func(n int) {
		for i := 0; i < n; i++ {
			commit(nil, "work "+strconv.Itoa(i)+"\n\nmentions nothing of ours", map[string]string{"src/main.go": "package main // " + strconv.Itoa(i) + "\n"})
		}
	}
	release := func(name, v string) {
		commit(nil, name+": release "+v, map[string]string{"apps/" + name + "/canary/kustomization.yaml": gittest.Kustomization(name, v)})
	}

	unrelated(3)
	release("demo", "2.0.0")
	unrelated(2)
	step("demo", "2.0.0", "set-weight", 10, "")
	release("web", "2.0.0")
	step("web", "2.0.0", "set-weight", 10, "")
	commit(alice, "approve demo\n\nRamp-Approve: rollout=demo release=2.0.0 step=2", nil)
	unrelated(2)
	commit(nil, "hand edit of demo's route", map[string]string{"apps/demo/route.yaml": gittest.Route("demo", 30)})
	commit(nil, "talks about ramp-rollout in prose, no trailer", map[string]string{"src/main.go": "package main // prose\n"})
	step("demo", "2.0.0", "abort", 0, "Ramp-Reason: gate error-rate fail\n")
	unrelated(2)
	// A side branch: a command and a hand edit, merged.
	sh("checkout", "--quiet", "-b", "side")
	commit(alice, "pause demo\n\nRamp-Pause: rollout=demo release=3.0.0 reason=\"look first\"", nil)
	commit(nil, "side work", map[string]string{"src/side.go": "package main\n"})
	sh("checkout", "--quiet", "main")
	release("demo", "3.0.0")
	unrelated(1)
	gittest.Git(t, dir, gittest.GitEnv(t.TempDir()), "merge", "--quiet", "--no-ff", "-m", "merge side", "side")
	step("demo", "3.0.0", "set-weight", 10, "")
	// The spec: edited, broken, deleted, restored.
	spec := policytest.CanaryYAML("demo", "setWeight: 20", "approval: {group: sre}")
	commit(nil, "demo: spec edit", map[string]string{"releases/demo/rollout.yaml": spec})
	unrelated(2)
	commit(nil, "demo: spec broken", map[string]string{"releases/demo/rollout.yaml": "not: [a spec\n"})
	unrelated(1)
	sh("rm", "--quiet", "releases/demo/rollout.yaml")
	commit(nil, "demo: spec deleted", nil)
	step("demo", "3.0.0", "set-weight", 20, "")
	commit(nil, "demo: spec restored", map[string]string{"releases/demo/rollout.yaml": spec})
	unrelated(3)
	step("web", "2.0.0", "set-weight", 50, "")
	unrelated(2)
	commit(nil, "web: route and demo's stable by hand", map[string]string{
		"apps/web/route.yaml":                 gittest.Route("web", 70),
		"apps/demo/stable/kustomization.yaml": gittest.Kustomization("demo", "3.0.0")})
	unrelated(20)

	for _, packed := range []bool{false, true} {
		if packed {
			sh("repack", "-adq")
		}
		repo, err := git.PlainOpen(dir)
		if err != nil {
			t.Fatal(err)
		}
		d := &Deriver{Repo: repo, Keys: keys, Guardrails: policy.DefaultGuardrails()}
		tip := plumbing.NewHash(gittest.Git(t, dir, nil, "rev-parse", "main"))
		snap, err := d.Specs(tip)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"demo", "web"} {
			r := snap.Rollouts[name]
			if r == nil {
				t.Fatalf("no rollout %s at the tip: %v", name, snap.Invalid[name])
			}
			for _, rel := range []string{"", "2.0.0", "3.0.0"} {
				full, err := d.auditRollout(tip, r, rel, true)
				if err != nil {
					t.Fatal(err)
				}
				scanned, err := d.auditRollout(tip, r, rel, false)
				if err != nil {
					t.Fatal(err)
				}
				want, got := mustJSON(t, full), mustJSON(t, scanned)
				if got != want {
					t.Errorf("packed %v, %s release %q: the scan's audit differs from the full walk's at byte %d\nscan: %.3000s\nfull: %.3000s",
						packed, name, rel, firstDiff(got, want), got, want)
				}
			}
		}
		// The history has what the test is about.
		full, err := d.auditRollout(tip, snap.Rollouts["demo"], "", true)
		if err != nil {
			t.Fatal(err)
		}
		text := mustJSON(t, full)
		for _, want := range []string{`"what":"start"`, `"what":"abort"`, `"what":"Ramp-Approve"`, `"what":"Ramp-Pause"`, "edited the traffic target", "changed the stable field"} {
			if !strings.Contains(text, want) {
				t.Errorf("packed %v: the audit of demo has no %s:\n%.3000s", packed, want, text)
			}
		}
		// The scan skips: most commits are read in full no more.
		w := d.walker()
		specs := &specReader{w: w, tip: snap.Rollouts["demo"], guardrails: d.Guardrails, seen: map[plumbing.Hash]*specAt{}}
		visited := 0
		if err := d.auditWalk(w, tip, func(c, parent rawCommit) bool { return w.scan().skips(specs, c, parent) }, func(l link) error {
			visited++
			specs.at(mustTree(t, w, l))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		total := strings.Count(sh("rev-list", "--first-parent", "main"), "\n") + 1
		if visited*2 > total {
			t.Errorf("packed %v: the scan read %d of %d commits in full, want at most half", packed, visited, total)
		}
	}
}

func mustTree(t *testing.T, w *walker, l link) *object.Tree {
	t.Helper()
	tree, err := w.rootTree(l.commit)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// TestFleetAuditScanGivesTheAuditOfTheFullWalk: for a rollout with
// targets, over a release started by hand, ramp's trailers for a target,
// hand edits of a target's route and canary, a command, another
// rollout's commits and unrelated ones, the fleet audit that skips what
// its scan proves of no interest is the one that reads every commit.
func TestFleetAuditScanGivesTheAuditOfTheFullWalk(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"src/main.go": "package main\n"}
	for p, c := range gittest.WavesFiles("pay", "1.0.0", policytest.WavesYAML("pay"), "eu", "us", "ap") {
		files[p] = c
	}
	for p, c := range gittest.RolloutFiles("demo", "1.0.0") {
		files[p] = c
	}
	gittest.InitRepo(t, dir, files)
	commit := func(msg string, edits map[string]string) {
		t.Helper()
		gittest.WriteFiles(t, dir, edits)
		gittest.CommitAll(t, dir, nil, msg)
	}
	unrelated := func(n int) {
		for i := 0; i < n; i++ {
			commit("work "+strconv.Itoa(i), map[string]string{"src/main.go": "package main // " + strconv.Itoa(i) + "\n"})
		}
	}
	unrelated(5)
	commit("pay: release 2.0.0", map[string]string{"releases/pay/release.yaml": gittest.Release("2.0.0")})
	unrelated(3)
	commit("ramp: pay/eu 2.0.0 step 1/2\n\nRamp-Rollout: pay/eu\nRamp-Wave: first\nRamp-Release: 2.0.0\nRamp-Step: 1/2\nRamp-Action: set-weight\nRamp-Weight: 50\n",
		map[string]string{"clusters/eu/pay/route.yaml": gittest.Route("pay", 50),
			"clusters/eu/pay/canary/kustomization.yaml": gittest.Kustomization("pay", "2.0.0")})
	commit("demo: release 2.0.0", map[string]string{"apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "2.0.0")})
	unrelated(3)
	commit("hand edit of eu's route", map[string]string{"clusters/eu/pay/route.yaml": gittest.Route("pay", 70)})
	commit("us canary by hand", map[string]string{"clusters/us/pay/canary/kustomization.yaml": gittest.Kustomization("pay", "2.0.0")})
	gittest.Git(t, dir, gittest.GitEnv(t.TempDir()), "commit", "--quiet", "--allow-empty", "-m", "pause pay\n\nRamp-Pause: rollout=pay release=2.0.0 reason=\"wait\"")
	unrelated(20)

	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := &Deriver{Repo: repo, Guardrails: policy.DefaultGuardrails()}
	tip := plumbing.NewHash(gittest.Git(t, dir, nil, "rev-parse", "main"))
	snap, err := d.Specs(tip)
	if err != nil {
		t.Fatal(err)
	}
	r := snap.Rollouts["pay"]
	if r == nil || !r.HasTargets() {
		t.Fatalf("no rollout pay with targets at the tip: %v", snap.Invalid["pay"])
	}
	for _, packed := range []bool{false, true} {
		if packed {
			gittest.Git(t, dir, nil, "repack", "-adq")
			if repo, err = git.PlainOpen(dir); err != nil {
				t.Fatal(err)
			}
			d = &Deriver{Repo: repo, Guardrails: policy.DefaultGuardrails()}
		}
		full, err := d.auditFleet(tip, r, "", true)
		if err != nil {
			t.Fatal(err)
		}
		scanned, err := d.auditFleet(tip, r, "", false)
		if err != nil {
			t.Fatal(err)
		}
		want, got := mustJSON(t, full), mustJSON(t, scanned)
		if got != want {
			t.Errorf("packed %v: the scan's fleet audit differs from the full walk's at byte %d\nscan: %.3000s\nfull: %.3000s",
				packed, firstDiff(got, want), got, want)
		}
		if len(full.Rows) < 3 || !strings.Contains(want, `"eu":`) || !strings.Contains(want, `"us":`) {
			t.Errorf("packed %v: the fleet audit lacks the rows the history has:\n%.3000s", packed, want)
		}
	}
}

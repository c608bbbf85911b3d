package gitsync_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// Drift beyond the canary weight: each field a spec names, changed by a
// commit ramp did not make while no release is in flight, holds the
// rollout and the next release until the resume quorum accepts it, or is
// written back by spec.onDrift: restore. Every commit is made with the
// system git; mallory's are unsigned.

const stableFile = "apps/demo/stable/kustomization.yaml"

// driftCase is one managed field edited by hand while demo is idle.
type driftCase struct {
	name string
	spec string
	// setup are the files people commit before the first release.
	setup map[string]string
	// edit are the files mallory's unsigned commit writes; want the words
	// the hold says after the commit's hash.
	edit map[string]string
	want string
	// restored are the files as ramp's restore commit must leave them.
	restored map[string]string
}

func capacitySpec(spec string) string {
	return strings.Replace(spec, "  kustomizations:",
		"    canaryReplicas: {file: apps/demo/canary/deployment.yaml, path: spec.replicas, minReplicas: 0}\n"+
			"    stableReplicas: {file: apps/demo/stable/deployment.yaml, path: spec.replicas}\n  kustomizations:", 1)
}

func driftCases() []driftCase {
	deployments := map[string]string{
		"apps/demo/canary/deployment.yaml": deployment("canary", "0"),
		"apps/demo/stable/deployment.yaml": deployment("stable", "10"),
	}
	return []driftCase{{
		name: "stable field, with the release field (a full deployment that skipped every step)",
		spec: policytest.CanaryYAML("demo", "setWeight: 10"),
		edit: map[string]string{stableFile: gittest.Kustomization("demo", "1.2.0"), "apps/demo/canary/kustomization.yaml": gittest.Kustomization("demo", "1.2.0")},
		want: "(unsigned, author mallory@example.com) changed the stable field " + stableFile +
			" images[name=demo].newTag from 1.1.0 to 1.2.0 without a ramp decision",
		restored: map[string]string{stableFile: gittest.Kustomization("demo", "1.1.0")},
	}, {
		name: "stable field alone",
		spec: policytest.CanaryYAML("demo", "setWeight: 10"),
		edit: map[string]string{stableFile: gittest.Kustomization("demo", "0.9.0")},
		want: "(unsigned, author mallory@example.com) changed the stable field " + stableFile +
			" images[name=demo].newTag from 1.1.0 to 0.9.0 without a ramp decision",
		restored: map[string]string{stableFile: gittest.Kustomization("demo", "1.1.0")},
	}, {
		name:  "a cohort rule to the canary",
		spec:  policytest.LadderYAML("demo"),
		setup: map[string]string{"apps/demo/route.yaml": ladderRoute},
		edit:  map[string]string{"apps/demo/route.yaml": ladder(0, false, internalRule)},
		want: "(unsigned, author mallory@example.com) changed the route rules field apps/demo/route.yaml spec.rules from none to " +
			"ramp-cohort-internal [{path: {type: PathPrefix, value: /}, headers: [{name: x-user-group, value: internal}]}] without a ramp decision",
		restored: map[string]string{"apps/demo/route.yaml": ladderRoute},
	}, {
		name:  "a mirror filter to the canary",
		spec:  policytest.LadderYAML("demo"),
		setup: map[string]string{"apps/demo/route.yaml": ladderRoute},
		edit:  map[string]string{"apps/demo/route.yaml": ladder(0, true)},
		want: "(unsigned, author mallory@example.com) changed the mirror field apps/demo/route.yaml " +
			"spec.rules[].filters[type=RequestMirror] from none to 10% without a ramp decision",
		restored: map[string]string{"apps/demo/route.yaml": ladderRoute},
	}, {
		name:  "the canary's replica count",
		spec:  capacitySpec(policytest.CanaryYAML("demo", "setWeight: 10")),
		setup: deployments,
		edit:  map[string]string{"apps/demo/canary/deployment.yaml": deployment("canary", "4")},
		want: "(unsigned, author mallory@example.com) changed the canary replicas field apps/demo/canary/deployment.yaml " +
			"spec.replicas from 0 to 4 without a ramp decision",
		restored: map[string]string{"apps/demo/canary/deployment.yaml": deployment("canary", "0")},
	}}
}

// idleAfterARelease makes a world with c's spec and files and takes
// release 1.1.0 through to completion: demo is idle, stable 1.1.0.
func idleAfterARelease(t *testing.T, c driftCase, onDrift string) *world {
	t.Helper()
	spec := c.spec
	if onDrift != "" {
		spec += "  onDrift: " + onDrift + "\n"
	}
	w := newWorldWithSpec(t, spec)
	if c.setup != nil {
		w.commitFiles("dev", "demo: files people own", c.setup)
	}
	w.release("1.1.0")
	for o := w.pass(); o.Decision.Action != policy.ActionComplete; o = w.pass() {
		if o.Decision.Holds() {
			t.Fatalf("release 1.1.0 held: %s", o.Decision.Reason)
		}
	}
	w.expect(policy.ActionNone, 0, 0)
	return w
}

// handEdit writes files as mallory, unsigned, and returns the commit.
func handEdit(w *world, files map[string]string) string {
	w.t.Helper()
	w.pull()
	gittest.WriteFiles(w.t, w.work, files)
	w.git("mallory", "add", "-A")
	return commitAs(w, "mallory", "-m", "by hand")
}

func TestAManagedFieldChangedWhileIdleHoldsTheRolloutAndTheNextRelease(t *testing.T) {
	for _, c := range driftCases() {
		t.Run(c.name, func(t *testing.T) {
			w := idleAfterARelease(t, c, "")
			edit := handEdit(w, c.edit)
			want := "commit " + edit[:10] + " " + c.want
			o := w.expect(policy.ActionNone, 0, 0)
			if !strings.Contains(o.Decision.Reason, want) || !strings.Contains(o.Decision.WaitingFor, "Ramp-Resume") {
				t.Fatalf("hold %q (waiting for %q), want it to say %q", o.Decision.Reason, o.Decision.WaitingFor, want)
			}
			if len(o.State.Drift) != 1 {
				t.Fatalf("drift %+v, want the one field", o.State.Drift)
			}
			// audit --verify fails on it.
			audit, err := w.loop.Deriver().AuditRollout(w.snap.Tip, w.snap.Rollouts["demo"], "")
			if err != nil {
				t.Fatal(err)
			}
			if audit.Findings != 1 || !strings.Contains(fmt.Sprint(audit.Rows[len(audit.Rows)-1].Findings), want) {
				t.Fatalf("audit found %d findings, want 1 saying %q: %+v", audit.Findings, want, audit.Rows[len(audit.Rows)-1])
			}
			if c.name != driftCases()[0].name {
				// A cold start sees the same drift (the full deployment
				// leaves release and stable equal at the tip: see the README).
				w.loop = w.newLoop()
				if o := w.expect(policy.ActionNone, 0, 0); !strings.Contains(o.Decision.Reason, want) {
					t.Fatalf("after a restart: %q, want the drift held", o.Decision.Reason)
				}
			}
			// The next release does not start on top of it.
			w.release("1.3.0")
			if o := w.expect(policy.ActionNone, 0, 0); !strings.Contains(o.Decision.Reason, want) {
				t.Fatalf("next release: %q, want it held on the drift", o.Decision.Reason)
			}
			// Two people of sre who did not make the edit accept it.
			w.command("alice", true, "resume demo", `Ramp-Resume: rollout=demo release=1.3.0 reason="hotfix, reviewed"`)
			if o := w.expect(policy.ActionNone, 0, 0); !strings.Contains(o.Decision.WaitingFor, "1 so far") {
				t.Fatalf("after one resume: waiting for %q, want a second person", o.Decision.WaitingFor)
			}
			w.command("bob", true, "resume demo", `Ramp-Resume: rollout=demo release=1.3.0 reason="hotfix, reviewed"`)
			o = w.pass()
			if o.Decision.Holds() || len(o.State.Drift) != 0 {
				t.Fatalf("after the quorum: %s (%s), drift %+v: want release 1.3.0 to move", o.Decision.Action, o.Decision.Reason, o.State.Drift)
			}
		})
	}
}

func TestAManagedFieldChangedWhileIdleIsRestoredWhenTheSpecSaysSo(t *testing.T) {
	for _, c := range driftCases() {
		t.Run(c.name, func(t *testing.T) {
			w := idleAfterARelease(t, c, "restore")
			edit := handEdit(w, c.edit)
			o := w.expect(policy.ActionRestore, 0, 0)
			if !strings.Contains(o.Decision.Reason, "commit "+edit[:10]+" "+c.want) {
				t.Fatalf("restore %q, want it to say why: %s", o.Decision.Reason, c.want)
			}
			for path, want := range c.restored {
				if got := w.show(path); got != want {
					t.Fatalf("after the restore %s is\n%s\nwant ramp's\n%s", path, got, want)
				}
			}
			body := gittest.Git(t, filepath.Join(w.server.Root(), "release.git"), gittest.GitEnv(t.TempDir()), "log", "-1", "--format=%B", "main")
			if !strings.Contains(body, "Ramp-Action: restore") || !strings.Contains(body, "Ramp-Reason: onDrift: restore: ") || !strings.Contains(body, edit[:10]) {
				t.Fatalf("the restore commit:\n%s\nwant Ramp-Action: restore and a Ramp-Reason naming %s", body, edit[:10])
			}
			o = w.pass()
			if len(o.State.Drift) != 0 || len(o.State.Holds) != 0 {
				t.Fatalf("after the restore: drift %+v, holds %+v", o.State.Drift, o.State.Holds)
			}
			if c.name == driftCases()[0].name {
				// The release field the deployment set is a release like
				// any other now: ramp exposes it step by step.
				if o.Decision.Action != policy.ActionSetWeight || o.Decision.Release != "1.2.0" || o.Decision.Weight != 10 {
					t.Fatalf("after the stable field is back: %s %s %d%% (%s), want 1.2.0's step 1 at 10%%",
						o.Decision.Action, o.Decision.Release, o.Decision.Weight, o.Decision.Reason)
				}
				return
			}
			if !o.Decision.Holds() {
				t.Fatalf("after the restore: %s (%s), want nothing to do", o.Decision.Action, o.Decision.Reason)
			}
			w.release("1.3.0") // the next release starts normally
			if o := w.pass(); o.Decision.Holds() {
				t.Fatalf("next release after the restore: held: %s", o.Decision.Reason)
			}
		})
	}
}

package history

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// TestSpecReadsOneRolloutAsSpecsReadsThemAll: for a valid rollout, one
// with targets, one whose spec does not parse, one that does not
// validate, one whose target file is missing, a file (not a folder) in
// releases/ and a name that is not there, Spec gives what Specs has for
// that name in Rollouts and Invalid.
func TestSpecReadsOneRolloutAsSpecsReadsThemAll(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"releases/README.md": "not a rollout\n"}
	for _, set := range []map[string]string{
		gittest.RolloutFiles("demo", "1.0.0"),
		gittest.RolloutFiles("nofile", "1.0.0"),
		gittest.WavesFiles("pay", "1.0.0", policytest.WavesYAML("pay"), "eu", "us", "ap"),
	} {
		for p, c := range set {
			files[p] = c
		}
	}
	delete(files, "apps/nofile/route.yaml")
	files["releases/broken/rollout.yaml"] = "not: [a spec\n"
	files["releases/bad/rollout.yaml"] = policytest.CanaryYAML("bad", "setWeight: 120")
	gittest.InitRepo(t, dir, files)
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
	if len(snap.Rollouts) < 3 || len(snap.Invalid) < 3 {
		t.Fatalf("test setup: Specs has %d rollouts and %d invalid, want at least 3 and 3: %v", len(snap.Rollouts), len(snap.Invalid), snap.Invalid)
	}
	for _, name := range []string{"demo", "pay", "nofile", "broken", "bad", "README.md", "absent"} {
		r, invalid, err := d.Spec(tip, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(r, snap.Rollouts[name]) {
			t.Errorf("%s: Spec gives rollout %v, Specs %v", name, r, snap.Rollouts[name])
		}
		if fmt.Sprint(invalid) != fmt.Sprint(snap.Invalid[name]) {
			t.Errorf("%s: Spec gives invalid %v, Specs %v", name, invalid, snap.Invalid[name])
		}
	}
}

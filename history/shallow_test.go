package history_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// TestShallowCloneDeepenedOnDemandGivesTheAnswersOfAFullClone: over smart
// HTTP, a clone of the 100 newest commits, deepened when a walk reaches
// its boundary, derives the same states and the same audits as a full
// clone, for a release aborted by ramp and a release in flight that both
// started ~1,500 commits below the tip. The derive fetches only what it
// walks (the clone is still shallow after it); the audit, which reads the
// whole history, fetches the rest.
func TestShallowCloneDeepenedOnDemandGivesTheAnswersOfAFullClone(t *testing.T) {
	src := filepath.Join(t.TempDir(), "release.git")
	mid, err := gittest.Generate(src, gittest.History{Commits: 2000, Rollouts: 20, Releases: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	keyPath, _ := gittest.SSHKey(t, t.TempDir(), "ramp")
	signer, err := signing.LoadSigner(keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := signing.NewKeyring()
	keys.Trust(policy.RampGroup, signer)

	repo, err := git.PlainOpen(src)
	if err != nil {
		t.Fatal(err)
	}
	at := plumbing.NewHash(mid)
	step := func(name, release, action string, weight int) {
		msg := "ramp: " + name + " " + release + " " + action + "\n\nRamp-Rollout: " + name + "\nRamp-Release: " + release +
			"\nRamp-Step: 1/4\nRamp-Action: " + action + "\nRamp-Weight: " + map[int]string{0: "0", 10: "10"}[weight] + "\n"
		at = signedCommit(t, repo, at, signer, "ramp@localhost", msg,
			map[string]string{"apps/" + name + "/route.yaml": gittest.Route(name, weight)})
	}
	start := func(name, release string) {
		at = signedCommit(t, repo, at, nil, "dev@example.com", name+": release "+release,
			map[string]string{"apps/" + name + "/canary/kustomization.yaml": gittest.Kustomization(name, release)})
	}
	start("r000", "9.0.0")
	step("r000", "9.0.0", "set-weight", 10)
	step("r000", "9.0.0", "abort", 0)
	start("r001", "9.1.0")
	step("r001", "9.1.0", "set-weight", 10)
	tip := extend(t, src, at, 1500, 2100)

	server := gittest.NewServer(t)
	if err := os.Symlink(src, filepath.Join(server.Root(), "release.git")); err != nil {
		t.Fatal(err)
	}
	url := server.URL("release.git")
	ctx := context.Background()
	full, err := gitsync.Open(ctx, url, filepath.Join(t.TempDir(), "full"), "main", gitsync.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	shallow, err := gitsync.OpenShallow(ctx, url, filepath.Join(t.TempDir(), "shallow"), "main", gitsync.Auth{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := shallow.Fetch(ctx); err != nil || got != tip {
		t.Fatalf("fetch into the shallow clone: %s, %v; want %s", got, err, tip)
	}
	if boundary(t, shallow) == 0 {
		t.Fatal("the clone of 100 commits is not shallow")
	}
	deepened := 0
	dFull := &history.Deriver{Repo: full.Git(), Keys: keys, Guardrails: policy.DefaultGuardrails()}
	dShallow := &history.Deriver{Repo: shallow.Git(), Keys: keys, Guardrails: policy.DefaultGuardrails(),
		Deepen: func() (bool, error) { deepened++; return shallow.Deepen(ctx) }}
	// Without Deepen, the shallow clone's missing commits are an error,
	// never the start of history.
	if _, err := (&history.Deriver{Repo: shallow.Git(), Keys: keys, Guardrails: policy.DefaultGuardrails()}).Derive(tip); err == nil {
		t.Fatal("a derive past the shallow boundary without Deepen succeeded")
	}

	want, err := dFull.Derive(tip)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dShallow.Derive(tip)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.States, want.States) || got.Walked != want.Walked {
		t.Fatalf("shallow derive (walked %d):\n%+v\nfull (walked %d):\n%+v", got.Walked, got.States, want.Walked, want.States)
	}
	if s := want.States["r000"]; s.Phase != policy.PhaseAborted || want.States["r001"].Phase != policy.PhaseProgressing {
		t.Fatalf("r000 %s, r001 %s: want Aborted and Progressing", s.Phase, want.States["r001"].Phase)
	}
	if deepened == 0 || boundary(t, shallow) == 0 {
		t.Fatalf("deepened %d times, shallow afterwards: %v; want the derive to fetch only what it walked", deepened, boundary(t, shallow) != 0)
	}
	for _, name := range []string{"r000", "r001", "r002"} {
		a, err := dFull.AuditRollout(tip, want.Rollouts[name], "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := dShallow.AuditRollout(tip, got.Rollouts[name], "")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) || len(a.Rows) == 0 {
			t.Fatalf("audit of %s: shallow\n%+v\nfull\n%+v", name, b, a)
		}
	}
	if boundary(t, shallow) != 0 {
		t.Fatal("after an audit of the whole history the clone is still shallow")
	}
}

// boundary returns how many shallow boundary commits repo has.
func boundary(t *testing.T, repo *gitsync.Repo) int {
	t.Helper()
	s, err := repo.Git().Storer.Shallow()
	if err != nil {
		t.Fatal(err)
	}
	return len(s)
}

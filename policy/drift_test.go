package policy

import (
	"strings"
	"testing"
)

// handChange is an unsigned commit by mallory changing managed fields of
// demo (and, with release set, its release field).
func handChange(commit, release string, fcs ...FieldChange) *Record {
	ch := Change{Fields: (*FieldChanges)(&fcs)}
	for _, fc := range fcs {
		if fc.Field == FieldStable {
			ch.Stable = str(fc.New)
		}
		if fc.File == "apps/demo/route.yaml" {
			ch.Target, ch.Weight = true, intp(0)
		}
	}
	if release != "" {
		ch.Release = str(release)
	}
	return &Record{Commit: commit, Author: "mallory@example.com", SignatureError: "unsigned", Changes: map[string]Change{"demo": ch}}
}

var (
	stableTo11 = FieldChange{Field: FieldStable, File: "apps/demo/stable/k.yaml", Path: "images[name=demo].newTag", Old: "1.0", New: "1.1"}
	cohortRule = FieldChange{Field: FieldRouteRules, File: "apps/demo/route.yaml", Path: "spec.rules", New: "ramp-cohort-x [{headers: [{name: x, value: y}]}]"}
	replicas3  = FieldChange{Field: FieldCanaryReplicas, File: "apps/demo/canary/d.yaml", Path: "spec.replicas", Old: "0", New: "3"}
)

func TestFoldHoldsOnEveryManagedFieldChangedWhileIdle(t *testing.T) {
	idle := Base("demo", "1.0", "1.0", 0)
	g := DefaultGuardrails()
	for _, tc := range []struct {
		name string
		rec  *Record
		want string
	}{
		{"a full deployment: release and stable together", handChange("deploy", "1.1", stableTo11),
			"commit deploy (unsigned, author mallory@example.com) changed the stable field apps/demo/stable/k.yaml images[name=demo].newTag from 1.0 to 1.1 without a ramp decision"},
		{"a cohort rule", handChange("cohort", "", cohortRule),
			"commit cohort (unsigned, author mallory@example.com) changed the route rules field apps/demo/route.yaml spec.rules from none to ramp-cohort-x [{headers: [{name: x, value: y}]}] without a ramp decision"},
		{"a release started with a cohort rule to its canary", handChange("both", "1.1", cohortRule),
			"commit both (unsigned, author mallory@example.com) changed the route rules field"},
		{"canary replicas, signed by an approver", signedBy(handChange("scale", "", replicas3), alice),
			"commit scale (signed by alice@example.com, author mallory@example.com) changed the canary replicas field apps/demo/canary/d.yaml spec.replicas from 0 to 3 without a ramp decision"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Fold(idle, planRollout(), tc.rec, g)
			if len(s.Drift) != 1 || len(s.Holds) == 0 || !strings.HasPrefix(s.Holds[len(s.Holds)-1].Reason, tc.want) {
				t.Fatalf("drift %+v, holds %+v, want a hold saying %q", s.Drift, s.Holds, tc.want)
			}
			if d := Plan(planRollout(), s, live, t0, g); !d.Holds() || !strings.Contains(d.Reason, tc.want) {
				t.Fatalf("plan %s (%s), want a hold on the drift", d.Action, d.Reason)
			}
		})
	}
}

func TestFoldStartsAReleaseFromItsReleaseFieldAloneWithoutDrift(t *testing.T) {
	s := Fold(Base("demo", "1.0", "1.0", 0), planRollout(), handChange("start", "1.1"), DefaultGuardrails())
	if s.Drifted() || len(s.Holds) != 0 || s.Phase != PhaseProgressing || s.Release != "1.1" {
		t.Fatalf("state %+v, want release 1.1 started with no drift", s)
	}
}

func TestDriftOfAFieldEndsWhenItsValueIsPutBack(t *testing.T) {
	g := DefaultGuardrails()
	s := Fold(Base("demo", "1.0", "1.0", 0), planRollout(), handChange("edit", "", replicas3), g)
	back := replicas3
	back.Old, back.New = "3", "0"
	s = Fold(s, planRollout(), handChange("undo", "", back), g)
	if s.Drifted() || len(s.Holds) != 0 {
		t.Fatalf("drift %+v, holds %+v, want none once ramp's value is back", s.Drift, s.Holds)
	}
}

func TestResumeQuorumAcceptsAStableFieldDrift(t *testing.T) {
	g := DefaultGuardrails()
	s := Fold(Base("demo", "1.0", "1.0", 0), planRollout(), handChange("deploy", "1.1", stableTo11), g)
	resume := Command{Kind: CommandResume, Release: "1.1", Reason: "hotfix"}
	s = Fold(s, planRollout(), cmd("r1", alice, resume), g)
	if !s.Drifted() || len(s.Resumes) != 1 {
		t.Fatalf("after one resume: drift %+v, resumes %+v, want a second person awaited", s.Drift, s.Resumes)
	}
	s = Fold(s, planRollout(), cmd("r2", carol, resume), g)
	if s.Drifted() || len(s.Holds) != 0 || s.Stable != "1.1" || len(s.Rejected) != 0 {
		t.Fatalf("after the quorum: %+v, want stable 1.1 accepted", s)
	}
}

func TestOnDriftRestorePutsTheStableFieldBackAndTheReleaseMovesOn(t *testing.T) {
	g := DefaultGuardrails()
	r := planRollout()
	r.Spec.OnDrift = OnDriftRestore
	s := Fold(Base("demo", "1.0", "1.0", 0), r, handChange("deploy", "1.1", stableTo11), g)
	d := Plan(r, s, live, t0, g)
	if d.Action != ActionRestore || d.SetStable != "1.0" || !strings.Contains(d.Reason, "stable field back to 1.0") || !strings.Contains(d.Reason, "commit deploy") {
		t.Fatalf("plan %s stable %q (%s), want a restore of stable 1.0 naming the commit", d.Action, d.SetStable, d.Reason)
	}
	back := stableTo11
	back.Old, back.New = "1.1", "1.0"
	restore := rampStep("restore", "1.1", 0, ActionRestore, 0)
	restore.Changes = map[string]Change{"demo": {Stable: str("1.0"), Fields: &FieldChanges{back}}}
	s = Fold(s, r, restore, g)
	if s.Drifted() || len(s.Holds) != 0 || s.Phase != PhaseProgressing || s.Stable != "1.0" || s.Release != "1.1" {
		t.Fatalf("after the restore: %+v, want release 1.1 in progress over stable 1.0", s)
	}
	if d := Plan(r, s, live, t0, g); d.Action != ActionSetWeight || d.Step != 1 {
		t.Fatalf("then: %s step %d (%s), want step 1", d.Action, d.Step, d.Reason)
	}
}

func TestARestoreThatDidNotPutAFieldBackLeavesItToPeople(t *testing.T) {
	g := DefaultGuardrails()
	r := planRollout()
	r.Spec.OnDrift = OnDriftRestore
	handRule := cohortRule
	handRule.New = "canary-for-me [{headers: [{name: x, value: y}]}]"
	s := Fold(Base("demo", "1.0", "1.0", 0), r, handChange("rule", "", handRule), g)
	restore := rampStep("restore", "1.0", 0, ActionRestore, 0)
	restore.Changes = nil // ramp removes only the rules it wrote
	s = Fold(s, r, restore, g)
	if len(s.Drift) != 1 || !s.Drift[0].Unrestored || len(s.Holds) == 0 {
		t.Fatalf("drift %+v, holds %+v, want the rule still drifted", s.Drift, s.Holds)
	}
	if d := Plan(r, s, live, t0, g); !d.Holds() || !strings.Contains(d.Reason, "ramp's restore did not put the route rules field") {
		t.Fatalf("plan %s (%s), want a hold, not another restore", d.Action, d.Reason)
	}
}

func TestAtRestIsRampsIdleValues(t *testing.T) {
	r := planRollout()
	r.Spec.Target.CanaryReplicas = &ReplicasRef{File: "c.yaml", Path: "spec.replicas", MinReplicas: intp(1)}
	rest := []FieldChange{{Field: FieldRouteRules}, {Field: FieldMirror}, {Field: FieldCanaryReplicas, New: "1"}}
	if !r.AtRest(rest, 10) {
		t.Fatalf("%+v not at rest", rest)
	}
	for i, v := range []string{"ramp-cohort-x []", "10%", "2"} {
		moved := append([]FieldChange(nil), rest...)
		moved[i].New = v
		if r.AtRest(moved, 10) {
			t.Errorf("%+v at rest, want %s = %q seen", moved, moved[i].Field, v)
		}
	}
}

func TestFoldHoldsAReleaseWhoseCanaryReplicasWereChangedByHand(t *testing.T) {
	g := DefaultGuardrails()
	s := Fold(Base("demo", "1.0", "1.0", 0), planRollout(), startRelease("1.1"), g)
	s = Fold(s, planRollout(), rampStep("step1", "1.1", 1, ActionSetWeight, 10), g)
	s = Fold(s, planRollout(), handChange("scale", "", replicas3), g)
	want := "commit scale (unsigned, author mallory@example.com) changed the canary replicas field apps/demo/canary/d.yaml spec.replicas from 0 to 3 while release 1.1 is in flight"
	if s.Drifted() || len(s.Holds) != 1 || s.Holds[0].Reason != want {
		t.Fatalf("drift %+v, holds %+v, want one hold saying %q", s.Drift, s.Holds, want)
	}
}

func TestRampsOwnCommitsChangeManagedFieldsWithoutDrift(t *testing.T) {
	rec := handChange("ramp-step", "", replicas3)
	rec.Signer, rec.SignatureError = rampKey, ""
	if s := Fold(Base("demo", "1.0", "1.0", 0), planRollout(), rec, DefaultGuardrails()); s.Drifted() || len(s.Holds) != 0 {
		t.Fatalf("drift %+v, holds %+v, want none for ramp's commit", s.Drift, s.Holds)
	}
}

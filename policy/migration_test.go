package policy

import (
	"strings"
	"testing"
)

func TestPlanHoldsAReleaseThatShipsMigrationsUntilItsRulesAreMet(t *testing.T) {
	migrating := func(kind string) func(*State) {
		return func(s *State) { s.Migration, s.MigrationPaths = kind, []string{"db/migrations/**"} }
	}
	dbaApproved := func(s *State) {
		s.Approvals = append(s.Approvals, Approval{Migration: MigrationExpand, Principal: "dan@example.com", Key: "SHA256:dan", Groups: []string{"dba"}, Commit: "c-dan"})
	}
	inFlight := func(s *State) {
		s.StartedInFlight = "release 1.5 still had 20% of traffic (or a bake or rollback window open) when 2.0 started"
	}
	tests := []struct {
		name    string
		state   *State
		spec    string // spec.migration
		want    Action
		reason  string
		waiting string
	}{
		{"no migration paths changed: step 1", at(0, 0), "", ActionSetWeight, "started by", ""},
		{"migrations without a declaration: refused", at(0, 0, migrating("")), "", ActionNone,
			"release 2.0's start commit start changes db/migrations/** (guardrail migrations.paths) but declares no migration", "a Ramp-Abort"},
		{"a declaration that is neither: refused", at(0, 0, migrating("drop")), "", ActionNone, `Ramp-Migration trailer says "drop": not expand or contract`, "a Ramp-Abort"},
		{"expand without the dba's approval: hold", at(0, 0, migrating(MigrationExpand)), "", ActionNone, "expand migration",
			"an approval of the expand migration from dba (Ramp-Approve: rollout=demo release=2.0 migration=expand)"},
		{"expand approved by the dba: step 1", at(0, 0, migrating(MigrationExpand), dbaApproved), "", ActionSetWeight, "expand migration approved by dan@example.com", ""},
		{"expand declared in the spec: same rule", at(0, 0, migrating("")), MigrationExpand, ActionNone, "expand migration", "migration=expand"},
		{"contract after the previous release completed: step 1", at(0, 0, migrating(MigrationContract)), "", ActionSetWeight, "started by", ""},
		{"contract while the old version has traffic: its traffic returns first", at(0, 20, migrating(MigrationContract), inFlight,
			func(s *State) { s.Superseded = "1.5" }), "", ActionRollback, "release 1.5 superseded by 2.0", ""},
		{"contract started while the old version had traffic: refused", at(0, 0, migrating(MigrationContract), inFlight), "", ActionNone,
			"contract migration refused: release 1.5 still had 20% of traffic (or a bake or rollback window open) when 2.0 started", "a Ramp-Abort"},
		{"a refused contract can be aborted", at(0, 0, migrating(MigrationContract), inFlight, func(s *State) {
			s.AbortBy = &Rejection{Commit: "abc", Author: "sre@example.com", Command: &Command{Kind: CommandAbort}}
		}), "", ActionAbort, "aborted by", ""},
	}
	g := DefaultGuardrails()
	g.Migrations = MigrationRules{Paths: []string{"db/migrations/**"}, ExpandGroups: []string{"dba"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := planRollout()
			r.Spec.Migration = tt.spec
			d := Plan(r, *tt.state, live, t0.Add(1), g)
			if d.Action != tt.want || !strings.Contains(d.Reason, tt.reason) || !strings.Contains(d.WaitingFor, tt.waiting) {
				t.Fatalf("got %q (%s) waiting for %q, want %q saying %q waiting for %q", d.Action, d.Reason, d.WaitingFor, tt.want, tt.reason, tt.waiting)
			}
			if strings.Contains(tt.name, "approved by the dba") && (len(d.Approved) != 1 || d.Approved[0].Commit != "c-dan") {
				t.Errorf("approved %+v, want the dba's approval recorded in step 1", d.Approved)
			}
		})
	}
}

func TestFoldRecordsWhatAReleaseStartDeclaresAndWhoApprovesItsExpand(t *testing.T) {
	g := DefaultGuardrails()
	g.Migrations = MigrationRules{Paths: []string{"db/migrations/**"}, ExpandGroups: []string{"dba"}}
	start := startRelease("2.0")
	start.Migration, start.MigrationPaths = MigrationExpand, []string{"db/migrations/**"}
	s := Fold(Base("demo", "1.0", "1.0", 0), foldRollout(), start, g)
	if s.Migration != MigrationExpand || len(s.MigrationPaths) != 1 || s.StartedInFlight != "" {
		t.Fatalf("after the start: %+v, want the expand and its paths, nothing in flight", s)
	}
	approve := Command{Kind: CommandApprove, Release: "2.0", Migration: MigrationExpand}
	s = Fold(s, foldRollout(), cmd("a1", alice, approve), g)
	if len(s.Approvals) != 0 || len(s.Rejected) != 1 || !strings.Contains(s.Rejected[0].Reason, "which may approve expand migrations") {
		t.Fatalf("alice (sre) approving: approvals %+v rejected %+v, want it refused", s.Approvals, s.Rejected)
	}
	s = Fold(s, foldRollout(), cmd("a2", dba, approve), g)
	if len(s.Approvals) != 1 || s.Approvals[0].Migration != MigrationExpand {
		t.Fatalf("dan (dba) approving: approvals %+v, want his approval", s.Approvals)
	}

	// A release started while another still has traffic says so.
	s = Fold(Base("demo", "1.5", "1.0", 20), foldRollout(), startRelease("2.0"), g)
	if s.StartedInFlight != "release 1.5 still had 20% of traffic (or a bake or rollback window open) when 2.0 started" {
		t.Fatalf("StartedInFlight %q", s.StartedInFlight)
	}
}

func TestParseGuardrailsChecksTheMigrationRules(t *testing.T) {
	_, err := ParseGuardrails("guardrails.yaml", []byte("migrations:\n  paths: [db/migrations/**, \"sql/*.sql\", /abs]\n"))
	want := "guardrails.yaml:1: migrations.expandGroups: required with migrations.paths: the groups that approve an expand (e.g. [dba])\n" +
		"guardrails.yaml:2: migrations.paths[1]: \"sql/*.sql\": only a directory as dir/** or a file path, no other wildcards\n" +
		"guardrails.yaml:2: migrations.paths[2]: \"/abs\" is not a clean relative path"
	if err == nil || err.Error() != want {
		t.Fatalf("ParseGuardrails:\n%v\nwant:\n%s", err, want)
	}
}
